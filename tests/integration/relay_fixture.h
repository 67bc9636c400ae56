// A small alliance for relay tests, made in a temporary directory: CAs of chainA and chainB (and of
// chainX, outside the alliance), nodes with weights, clients (one revoked, one expired), the relay's
// identity, a genesis and relay.yaml; and a builder of signed envelopes over hand-made read-write sets.
// Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certs/ca.h"
#include "runtime/common/json.h"
#include "runtime/endorser/endorser.h"
#include "runtime/http/http.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/support.h"

namespace entente::testing {

// An identity with files for TLS and a TCert signer bound to its ECert (presented beside the TCert).
struct Member {
  std::string dir;  // cert.pem, key.pem
  std::shared_ptr<certs::IssuedCertificate> ecert;
  std::shared_ptr<endorser::Signer> signer;
};

struct EnvelopeSpec {
  std::string channel = "chainA";
  std::string contract = "asset";
  ledger::RwSet rwset;
  std::vector<const Member*> endorsers;
  std::optional<std::int64_t> timestamp_ms;  // overrides the proposal's time
  bool alter_tx_id = false;                  // a tx id that is not SHA-256(nonce || creator || channel)
  std::optional<Bytes> nonce;                // reuses a nonce (the tx id follows from it)
  std::optional<std::string> tx_id;          // claims this tx id, whatever the nonce
  bool garbage_result = false;               // result bytes that do not parse
  bool tamper_endorsement = false;           // flips a byte of the first endorsement's signature
  const Member* seal_with = nullptr;         // signs the envelope with another key than the creator's
};

struct BuiltEnvelope {
  std::string tx_id;
  Bytes nonce;       // the proposal's
  std::string hash;  // hex SHA-256 of the bytes
  std::string bytes;
};

// A relay process of a RelayAlliance, listening on `port`.
struct RunningRelay {
  std::unique_ptr<Process> process;
  std::uint16_t port = 0;
};

class RelayAlliance {
 public:
  RelayAlliance();
  const std::string& dir() const { return dir_.path(); }

  // relay.yaml's `blocks:` for most tests: at most 100 transactions, or 20 ms while more keep coming.
  static constexpr const char* kBlocks = "{max_tx: 100, max_wait_ms: 20}";
  // Writes relay.yaml for a relay with data in `data_dir`, listening on port 0, with `blocks` as its
  // `blocks:`; `extra` is appended (more top-level keys).
  std::string WriteRelayConfig(const std::string& data_dir, const std::string& blocks = kBlocks,
                               const std::string& extra = "") const;
  // Starts a relay (WriteRelayConfig's) and waits until it listens. `launcher` goes before the
  // command line (e.g. {"bash", "-c", "ulimit -f 64; exec \"$@\"", "relay"}).
  RunningRelay StartRelay(const std::string& data_dir, const std::string& blocks = kBlocks,
                          const std::string& extra = "", const std::vector<std::string>& launcher = {}) const;
  // Starts replicated relay `index` (0-2: r1 of chainA, r2 of chainB, r3 of chainA) of this alliance
  // with a genesis that lists the three (weight 1 each), cutting blocks at 10 transactions or 50 ms;
  // `extra` holds its id and ordering keys.
  RunningRelay StartReplica(int index, const std::string& data_dir, const std::string& extra,
                            const std::vector<std::string>& launcher = {}) const;
  // A client of the relay authenticating with `who`'s ECert.
  std::unique_ptr<http::Client> ClientFor(const Member& who, std::uint16_t port) const;

  BuiltEnvelope Build(const Member& creator, const EnvelopeSpec& spec) const;

  // A new client `id` of chainA, issued now.
  Member AddClient(const std::string& id);
  // Revokes `who` at chainA's CA, rewriting the CRL file every relay.yaml names (read on SIGHUP).
  void Revoke(const Member& who);

  // Namespace rwset helpers.
  static ledger::RwSet Writes(const std::string& channel, const std::string& contract,
                              const std::vector<std::string>& keys);

  Member node_a1, node_a2, node_a3, node_b1;  // weights 2, 1, 1 on chainA; 1 on chainB
  Member client_a, client_b, revoked_client, expired_client, foreign_client, relay;
  Member replicas[3];  // the replicated relays r1, r2, r3
  crypto::PublicKey relay_key() const { return relay.ecert->key.Public(); }

 private:
  std::string WriteConfig(const std::string& data_dir, const std::string& blocks, const std::string& extra,
                          const std::string& genesis, const Member& identity) const;
  RunningRelay Launch(const std::string& config, const std::string& data_dir,
                      const std::vector<std::string>& launcher) const;
  Member MakeMember(certs::CertificateAuthority& ca, crypto::Role role, const std::string& id,
                    std::vector<std::string> hosts = {});
  TempDir dir_;
  std::string ca_bundle_;
};

// The one RelayAlliance of a test binary, made on first use.
RelayAlliance& Fixture();

// The JSON body of `response`; REQUIREs that it parses.
Json Body(const http::Response& response);

// Sends a request with a JSON content type; REQUIREs an answer (whatever its status).
http::Response Send(http::Client& client, std::string_view method, std::string_view target, std::string_view body = {});
// Polls `target` (a transaction's or an envelope's status) until it is no longer pending; FAILs after
// about 10 s. Returns the last answer.
Json WaitSettled(http::Client& client, const std::string& target);
// Posts `e` to /v1/envelopes; REQUIREs 202.
void Submit(http::Client& client, const BuiltEnvelope& e);

}  // namespace entente::testing
