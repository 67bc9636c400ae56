// The alliance's configuration as the relay and the nodes use it (DESIGN.md §2): the operator's
// alliance.yaml spec, the genesis block of the `alliance` channel made from it (as Fabric's configtxgen
// makes one), committing that genesis into a ledger by running the `alliance` contract's Init, and
// reading the current configuration back from a ledger snapshot through the contract's GetAlliance;
// and following blocks another service cut (the memberships recorded at each alliance height, and
// validating a block again as its relay should have). Functions are thread-compatible; Membership is a
// value, MembershipHistory thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chaincode/alliance/alliance.h"
#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"
#include "runtime/ledger/ledger.h"
#include "runtime/validation/validation.h"

namespace entente::alliance {

using chaincode::kAllianceChannel;
// The alliance contract's name on the alliance channel.
inline constexpr char kAllianceContract[] = "alliance";

// The contracts every relay and node hosts in-process: the alliance contract on the alliance channel.
const endorser::ChaincodeRegistry& BuiltinContracts();

// Loads an alliance.yaml spec:
//   chains:   [{name, ca: [PEM file, ...], admins: [{id, weight}]}]
//   nodes:    [{id, chain, weight, endpoint, ecert: PEM file}]
//   routes:   [{id, from, contract, to, namespace, access: read|write}]
//   contracts: [{channel, name, version, sha256, policy}]
// File paths are relative to the spec's folder. Returns the configuration the alliance contract's Init
// takes; InvalidArgument "file:line: key ...: ..." for a malformed spec or an unreadable certificate.
// Unknown keys are errors, so that typos are not silently ignored.
Result<chaincode::AllianceConfig> LoadSpec(const std::string& path);

// Returns block 0 of the alliance channel: one envelope, the canonical JSON
// {"type":"genesis","config":<config>}, marked VALID. It carries no relay signature: an alliance is
// identified by its genesis block's hash, which operators hand to every relay and node.
Result<ledger::Block> MakeGenesisBlock(const chaincode::AllianceConfig& config, std::int64_t timestamp_ms);

// Commits `genesis` as block 0 of the alliance channel when the ledger has none, with the writes of
// the alliance contract's Init. With a genesis already committed, checks that it is the same block and
// changes nothing. InvalidArgument when the block is not a genesis block or the contract refuses its
// configuration (with the contract's message); FailedPrecondition when the ledger belongs to another
// alliance.
Status CommitGenesis(ledger::Ledger& ledger, const ledger::Block& genesis);

// Returns the configuration committed on the alliance channel as of `snapshot`. NotFound before the
// genesis is committed.
Result<chaincode::AllianceConfig> ReadConfig(const ledger::Snapshot& snapshot);

// The policy of config transactions of the alliance contract: more than half of the admins' weight.
inline constexpr char kAlliancePolicy[] = "Admins(0.5)";

// The alliance as a service sees it: the view (with the alliance contract defined on the alliance
// channel under kAlliancePolicy), and TrustStores of every member's CAs with the nodes' ECerts
// registered. Of two CRLs of one CA a store keeps the newer.
struct Membership {
  validation::AllianceView view;
  // Who may connect and whom this service endorses for: the CRLs the members published and the
  // service's own CRL files (`crl_pems`), which take effect at once.
  std::shared_ptr<crypto::TrustStore> trust;
  // What validation of envelopes and blocks uses: the published CRLs only, which are part of the
  // ledger, so that every node and relay decides alike (a CRL file of one service cannot make it
  // disagree with a block).
  std::shared_ptr<crypto::TrustStore> validation_trust;
  std::vector<std::string> ca_pems;  // every member's CA certificates, for TLS
  // The height of the alliance channel whose configuration this is (0 when built from a spec).
  std::uint64_t alliance_height = 0;
  // The replicated relays and their block signing keys; empty for an alliance of one relay.
  struct RelayKey {
    std::string id;
    std::int64_t weight = 0;
    crypto::PublicKey key;
  };
  std::vector<RelayKey> relays;
  // The percentage of their weight a certificate must exceed.
  std::int64_t relay_quorum_percent = chaincode::kDefaultRelayQuorumPercent;
};
// InvalidArgument naming the member, node or CRL that does not load.
Result<Membership> BuildMembership(const chaincode::AllianceConfig& config, const std::vector<std::string>& crl_pems);

// The configuration as of alliance height `alliance_height` (the channel's savepoint height), recorded
// in `ledger`'s meta by a service that reached that height, so that it can validate a block of another
// channel with the membership the block was cut with (docs/ledger.md).
Status RecordConfigAt(ledger::Ledger& ledger, std::uint64_t alliance_height, const chaincode::AllianceConfig& config);
// The configuration recorded at `alliance_height`; nullopt when none was.
Result<std::optional<chaincode::AllianceConfig>> RecordedConfigAt(const ledger::Ledger& ledger,
                                                                  std::uint64_t alliance_height);

// What a block's certificate (BlockMetadata::certificate) proves against `members`' relays.
struct CertificateCheck {
  std::int64_t weight = 0;        // of the relays whose signature verifies
  std::int64_t total = 0;         // of all the relays
  std::vector<std::string> refused;  // relays whose signature does not verify (they signed another block)
  std::vector<std::string> unknown;  // signers that are no relay of the alliance
  std::int64_t quorum_percent = chaincode::kDefaultRelayQuorumPercent;  // the alliance's
  // Relays of more than `quorum_percent` of the relays' weight signed exactly this block.
  bool certified() const { return total > 0 && 100 * weight > quorum_percent * total; }
};
CertificateCheck CheckBlockCertificate(const Membership& members, const ledger::Block& block);

// Decides whether the certificate a connection presents (`leaf`, then the `intermediates` it sent)
// identifies a member at `at`: it chains to a member's CA, is within its validity and on no CRL of
// `members`; its role is client or admin, node for an ECert the alliance registers as a node's, or
// relay for the certificate whose key is `relay_key` or the key of one of the alliance's replicated
// relays (any other OU=relay certificate is refused). A
// TCert or a CA certificate never authenticates a connection. OK, or PermissionDenied with the reason.
Status CheckPeerCertificate(const Membership& members, const crypto::Certificate& leaf,
                            const std::vector<crypto::Certificate>& intermediates, crypto::TimePoint at,
                            const crypto::PublicKey& relay_key);

// Whether the member identity `reader` (the subject of a certificate CheckPeerCertificate accepted)
// may read `channel` through the APIs (docs/security.md, the access matrix): every channel for the
// relay and for nodes (which replicate them all); for clients and admins their own chain, the alliance
// channel, and, for the state of namespace `ns`, another chain along a route from their chain to it.
bool MayRead(const Membership& members, const crypto::Subject& reader, std::string_view channel,
             std::optional<std::string_view> ns = std::nullopt);

// Reads a genesis.json (Block::ToJson) file; InvalidArgument naming what is wrong.
Result<ledger::Block> LoadGenesisFile(const std::string& path);

// ---- Following blocks another service cut (replay.cc) ----

// The memberships recorded in a ledger (RecordConfigAt), by alliance height, each built once with the
// service's CRL files `crl_pems`. Thread-safe.
class MembershipHistory {
 public:
  explicit MembershipHistory(const ledger::Ledger& ledger) : ledger_(ledger) {}
  // The membership recorded at `height`; FailedPrecondition when none was recorded.
  Result<std::shared_ptr<const Membership>> At(std::uint64_t height, const std::vector<std::string>& crl_pems);
  // Forgets what was built (the CRL files changed).
  void Clear();

 private:
  const ledger::Ledger& ledger_;
  std::mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<const Membership>> built_;  // GUARDED_BY(mu_)
};

// Whether `block` can be committed after `savepoint` of its channel: FailedPrecondition when it is not
// the next block (another channel, number or previous hash), Corruption when it is damaged (its data
// hash, or its number of codes, does not match its envelopes).
Status CheckBlockFollows(const ledger::Savepoint& savepoint, const ledger::Block& block);

// A block validated again.
struct Replay {
  validation::BlockVerdict verdict;
  std::vector<validation::CheckedEnvelope> checked;  // each envelope as checked, in block order
  std::vector<std::string> hashes;                   // hex SHA-256 of each envelope
  // The first transaction whose code differs from the block's, in words ("" when every code agrees).
  std::string disagreement;
};
// Validates `block` against `snapshot` with `members` at the block's time, as the relay that cut it
// should have (the same steps, so equal inputs give equal codes), and compares the codes.
Result<Replay> ReplayBlock(const Membership& members, const ledger::Snapshot& snapshot, const ledger::Block& block,
                           std::chrono::milliseconds proposal_window);

}  // namespace entente::alliance
