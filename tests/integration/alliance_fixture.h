// A running alliance on loopback for scenario tests: chainA with nodes a1, a2, a3 (weights 2, 1, 1) and
// chainB with nodes b1, b2, b3 (weight 1 each; b3's ECert is revoked), one relay (or three replicated
// ones, r1, r2, r3), data_exchange deployed on both chains (chainB's
// may read chainA's) and asset_transfer on chainA. Every node holds a custodial identity for the client
// of its chain (alice on chainA, bob on chainB). Real processes, real HTTPS; stopped by the destructor.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaincode/alliance/alliance.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/endorser/endorser.h"
#include "runtime/http/http.h"
#include "tests/support/support.h"

namespace entente::testing {

// Additions to the standard alliance: member chains without Entente nodes (reached through adapters),
// routes, an `adapters:` block appended to relay.yaml and every node.yaml, and the relay's block cutting.
struct AllianceExtras {
  std::vector<chaincode::Member> members;
  std::vector<chaincode::Route> routes;
  std::string adapters_yaml;  // "adapters:\n  - {...}\n", paths absolute
  std::string relay_blocks = "{max_wait_ms: 20}";  // relay.yaml's `blocks:`
  // Replicated relays instead of the one relay: r1 (chainA), r2 (chainB) and r3 (chainA), weight 1
  // each, ordering through the etcd cluster at these endpoints (TLS files as EtcdCluster makes them).
  struct Ordering {
    std::vector<std::string> endpoints;
    std::string ca_file, cert_file, key_file;
    std::string node_relay;  // the relay every node.yaml names; empty: r1, r2, r3 in turn
    // What goes before a relay's command line, by relay (e.g. an environment for a fault).
    std::map<std::string, std::vector<std::string>> launchers;
    std::string etcd_keys;  // more keys of every relay's ordering: {etcd: ...} (", key: value" pairs)
  };
  std::optional<Ordering> ordering;
};

class RunningAlliance {
 public:
  explicit RunningAlliance(AllianceExtras extras = {});
  ~RunningAlliance();

  // A client of node `node_id` ("a1", ...) or of the relay ("relay") with `who`'s ECert
  // ("alice", "bob", "admin-a", or a node id).
  std::unique_ptr<http::Client> Client(const std::string& node_id, const std::string& who) const;

  // POST /v1/transactions to `node_id` as `who`; returns the HTTP status and the JSON body.
  std::pair<int, Json> Submit(const std::string& node_id, const std::string& who, const Json& request) const;
  // Sends `method` `target` (with `body`, when not empty) to `node_id` ("relay" for the relay) as `who`;
  // returns the HTTP status and the JSON body (null when the body is not JSON).
  std::pair<int, Json> Call(const std::string& node_id, const std::string& who, const std::string& method,
                            const std::string& target, const std::string& body = "",
                            std::vector<std::pair<std::string, std::string>> headers = {}) const;
  // `who` signed `proposal` itself: node `node_id` endorses it (POST /v1/transactions with the signed
  // proposal) and returns the envelope for `who` to seal.
  endorser::Envelope EndorseSigned(const std::string& node_id, const std::string& who, const SignedBytes& proposal) const;
  // Seals `envelope` with `sealer` and POSTs it to `node_id`'s /v1/envelopes as `who`; returns the HTTP
  // status and the JSON body.
  std::pair<int, Json> SealAndSubmit(const std::string& node_id, const std::string& who, const endorser::Signer& sealer,
                                     const endorser::Envelope& envelope) const;
  // Waits until every node of `chain` has `height` blocks of it; returns their {height, last_hash} answers.
  // b3 is left out: its ECert is revoked, so the relay no longer serves it blocks.
  std::vector<Json> WaitForHeight(const std::string& chain, std::uint64_t height) const;

  // Issues one more identity `who` (an ECert of `role` from `chain`'s CA, CN = `id`, and two TCerts),
  // for Client and SignerOf; the alliance's processes learn nothing of it.
  void Enroll(const std::string& who, const std::string& chain, crypto::Role role, const std::string& id);
  // Revokes `who`'s ECert at its chain's CA and rewrites that CA's CRL file, which every node.yaml
  // and relay.yaml names (the processes read it on SIGHUP).
  void Revoke(const std::string& who, const std::string& chain);

  // `who`'s TCert number `index` with its key, presenting `who`'s ECert: to sign as a client itself.
  endorser::Signer SignerOf(const std::string& who, int index) const;

  std::vector<std::string> NodesOf(const std::string& chain) const;
  std::uint16_t port(const std::string& name) const { return ports_.at(name); }
  // The directory with `who`'s cert.pem and key.pem.
  const std::string& IdentityDir(const std::string& who) const { return identities_.at(who); }
  const std::string& dir() const { return dir_.path(); }
  Process& process(const std::string& name) { return *processes_.at(name); }
  // Stops process `name` with `signal` and starts it again from its config (same data).
  void Restart(const std::string& name, int signal);
  // Stops process `name` with `signal` and waits for it to end.
  void Stop(const std::string& name, int signal);
  // Starts process `name`, which Stop stopped, again from its config (same data).
  void StartAgain(const std::string& name);

 private:
  void Start(const std::string& name, const std::vector<std::string>& args);
  TempDir dir_;
  std::map<std::string, std::string> chain_of_;     // node id -> chain
  std::map<std::string, std::uint16_t> ports_;      // process name -> port
  std::map<std::string, std::string> identities_;  // who -> directory with cert.pem, key.pem
  std::map<std::string, std::vector<std::string>> commands_;
  std::map<std::string, std::unique_ptr<Process>> processes_;
};

// The alliance the scenario tests of one test binary share, started on first use.
RunningAlliance& SharedAlliance();

}  // namespace entente::testing
