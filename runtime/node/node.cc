// The node: alliance and contracts, endorsement, submission and the block pullers.
#include "runtime/node/node.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "adapters/adapter.h"
#include "adapters/entente/entente_adapter.h"
#include "runtime/alliance/alliance.h"
#include "runtime/common/address.h"
#include "runtime/common/file.h"
#include "runtime/common/log.h"
#include "runtime/common/waiters.h"
#include "runtime/node/internal/contracts.h"
#include "runtime/validation/validation.h"

namespace entente::node {
namespace {

using Clock = std::chrono::steady_clock;
using validation::PolicyOutcome;

constexpr std::size_t kPullBatch = 50;
// "host:port" (or "https://host:port", with an optional trailing "/") -> Peer; nullopt when it is not that.
std::optional<Peer> ParseEndpoint(std::string_view endpoint) {
  if (endpoint.ends_with("/")) endpoint.remove_suffix(1);
  std::optional<Address> address = ParseAddress(endpoint);
  if (!address) return std::nullopt;
  return Peer{address->host, address->port};
}

// The node's answer to a refusal of its own simulation of a client's proposal.
Rejection RefusalRejection(endorser::Refusal refusal, const std::string& message) {
  auto with_code = [&](int http_status, ValidationCode code) {
    return Rejection{http_status, std::string(ValidationCodeName(code)), message, static_cast<int>(code)};
  };
  switch (refusal) {
    case endorser::Refusal::kBadCertificate:
      if (message.find("revoked") != std::string::npos) return with_code(403, ValidationCode::kCertificateRevoked);
      if (message.find("expired") != std::string::npos || message.find("not yet valid") != std::string::npos) {
        return with_code(403, ValidationCode::kCertificateExpired);
      }
      return with_code(403, ValidationCode::kCertificateUntrusted);
    case endorser::Refusal::kBadSignature:
      return with_code(400, ValidationCode::kBadCreatorSignature);
    case endorser::Refusal::kProposalExpired:
      return with_code(400, ValidationCode::kProposalExpired);
    case endorser::Refusal::kInternal:
      return Rejection{500, "INTERNAL", message, std::nullopt};
    default:
      return Rejection{400, std::string(endorser::RefusalName(refusal)), message, std::nullopt};
  }
}

// Reads of other chains for one simulation, remembering a read that no route of the alliance allowed
// (so that the request is refused as ROUTE_NOT_ALLOWED rather than as a contract error).
// A contract's error answer (status >= 400) to a request: nothing is submitted.
Rejection ContractError(const shim::Response& response) {
  Rejection r{422, "CONTRACT_ERROR",
              "the contract answered status " + std::to_string(response.status) + ": " + response.message, std::nullopt};
  r.response = response;
  return r;
}

// The relay's refusal of an envelope (any answer but 202), with what it answered.
Rejection RelayRefused(const http::Response& answer) {
  Rejection r{answer.status == 400 || answer.status == 413 ? answer.status : 502, "RELAY_REFUSED",
              "the relay refused the envelope with status " + std::to_string(answer.status), std::nullopt};
  r.upstream_status = answer.status;
  auto problem = ParseJson(answer.body);
  if (problem.ok() && problem->is_object()) {
    if (problem->contains("detail") && (*problem)["detail"].is_string()) {
      r.message += ": " + (*problem)["detail"].get<std::string>();
    }
    r.upstream = std::move(*problem);
  } else {
    r.upstream = Json{{"body", answer.body.substr(0, 4096)}};
  }
  return r;
}

class RouteWatch : public endorser::RemoteState {
 public:
  explicit RouteWatch(endorser::RemoteState* reads) : reads_(reads) {}

  Result<std::optional<endorser::RemoteValue>> Read(std::string_view from_channel, std::string_view from_contract,
                                                    std::string_view channel, std::string_view contract,
                                                    std::string_view key) override {
    if (reads_ == nullptr) return Status::Unavailable("this node reads no other chain");
    auto value = reads_->Read(from_channel, from_contract, channel, contract, key);
    if (!value.ok() && value.status().code() == StatusCode::kPermissionDenied && denied_.empty()) {
      denied_ = value.status().message();
    }
    return value;
  }
  Status CheckWrite(std::string_view from_channel, std::string_view from_contract, std::string_view channel,
                    std::string_view contract) override {
    if (reads_ == nullptr) return Status::Unavailable("this node writes no other chain");
    Status allowed = reads_->CheckWrite(from_channel, from_contract, channel, contract);
    if (allowed.code() == StatusCode::kPermissionDenied && denied_.empty()) denied_ = allowed.message();
    return allowed;
  }
  // Why a read or write was refused for want of a route; "" when none was.
  const std::string& denied() const { return denied_; }

 private:
  endorser::RemoteState* reads_;
  std::string denied_;
};

Json TransientJson(const std::map<std::string, Bytes>& transient) {
  Json j = Json::object();
  for (const auto& [k, v] : transient) j[k] = Base64Encode(v);
  return j;
}

}  // namespace

struct Node::State {
  NodeOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<ledger::Ledger> ledger;
  internal::Contracts contracts;
  std::unique_ptr<HeightWaiters> waiters;  // event streams waiting for blocks, by channel

  std::mutex reload_mu;  // serializes LoadAlliance (a config block, a CRL reload) and options.crl_pems
  mutable std::shared_mutex alliance_mu;
  chaincode::AllianceConfig config;                        // GUARDED_BY(alliance_mu)
  std::shared_ptr<const alliance::Membership> membership;  // GUARDED_BY(alliance_mu)
  std::shared_ptr<endorser::RemoteState> remote;            // GUARDED_BY(alliance_mu): other chains' state
  // Memberships of earlier alliance heights that blocks named, built from the recorded configurations.
  std::unique_ptr<alliance::MembershipHistory> past_memberships;

  mutable std::mutex tcerts_mu;  // guards options.tcerts, which SIGHUP replaces
  std::size_t next_tcert = 0;    // GUARDED_BY(tcerts_mu)
  std::atomic<bool> tcerts_low{false};
  std::atomic<std::size_t> next_client_tcert{0};

  // HTTP clients (each a pool of connections): the relay (submissions), and peer nodes by id.
  std::unique_ptr<http::Client> relay_client;
  mutable std::mutex peers_mu;
  std::map<std::string, std::shared_ptr<http::Client>> peers;  // "<id>@<endpoint>" -> its client

  http::Client& Relay() { return *relay_client; }

  // Block pullers, one per channel.
  std::atomic<bool> stopping{false};
  std::mutex pullers_mu;
  std::map<std::string, std::thread> pullers;
  mutable std::mutex commit_mu;
  std::map<std::string, std::string> halted;  // GUARDED_BY(commit_mu)

  // Metrics.
  std::atomic<std::uint64_t> submitted{0}, endorsed{0}, refused{0}, blocks_committed{0};
  std::atomic<std::uint64_t> refused_relay_signatures{0};  // relays' signatures of another block

  explicit State(NodeOptions o)
      : options(std::move(o)),
        contracts(options.data_dir + "/contracts"),
        waiters(std::make_unique<HeightWaiters>(options.max_waits, options.max_waits_per_member)) {}

  // How this node's endorsers simulate: refusing proposals outside the validators' window.
  endorser::SimulationOptions EndorsingOptions() const {
    endorser::SimulationOptions o;
    o.proposal_window = options.proposal_window;
    return o;
  }

  std::shared_ptr<const alliance::Membership> Members() const {
    std::shared_lock lock(alliance_mu);
    return membership;
  }

  std::shared_ptr<endorser::RemoteState> Remote() const {
    std::shared_lock lock(alliance_mu);
    return remote;
  }

  // Reads of other chains during simulation, behind the alliance's routes: the configured adapters
  // (chains without Entente nodes), and an Entente adapter per other member chain with nodes, reaching
  // the first of its nodes in the alliance.
  Result<std::shared_ptr<endorser::RemoteState>> MakeRemote(const chaincode::AllianceConfig& alliance,
                                                            std::shared_ptr<const alliance::Membership> members) {
    std::vector<std::shared_ptr<adapters::ChainAdapter>> chains;
    for (const auto& configured : options.adapters) {
      if (configured->chain() != options.chain) chains.push_back(configured);
    }
    for (const chaincode::Member& member : alliance.members) {
      if (member.name == options.chain) continue;
      bool configured = std::any_of(chains.begin(), chains.end(), [&](const auto& a) { return a->chain() == member.name; });
      if (configured) continue;
      for (const chaincode::Node& n : alliance.nodes) {
        if (n.chain != member.name) continue;
        adapters::EntenteAdapterOptions o;
        o.chain = member.name;
        o.endpoint = n.endpoint;
        o.cert_file = options.tls.cert_file;
        o.key_file = options.tls.key_file;
        o.ca_files = options.tls.ca_files;
        auto adapter = adapters::EntenteAdapter::Create(std::move(o));
        if (!adapter.ok()) {
          logger->warn("no reads of {} through node {}: {}", member.name, n.id, adapter.status().ToString());
          continue;
        }
        chains.push_back(std::move(adapter).value());
        break;
      }
    }
    auto view = std::shared_ptr<const validation::AllianceView>(members, &members->view);
    ENTENTE_ASSIGN_OR_RETURN(auto routed, adapters::RoutedRemoteState::Create(std::move(chains), [view] { return view; }));
    return std::shared_ptr<endorser::RemoteState>(std::move(routed));
  }

  // Rebuilds the membership from the committed config and options.crl_pems.
  Status LoadAlliance() {
    std::lock_guard reload(reload_mu);
    auto snapshot = ledger->GetSnapshot();
    ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig loaded, alliance::ReadConfig(*snapshot));
    ENTENTE_ASSIGN_OR_RETURN(alliance::Membership m, alliance::BuildMembership(loaded, options.crl_pems));
    m.alliance_height = snapshot->GetSavepoint(chaincode::kAllianceChannel).height;
    ENTENTE_RETURN_IF_ERROR(alliance::RecordConfigAt(*ledger, m.alliance_height, loaded));
    for (const std::string& issuer : m.trust->StaleCrls(crypto::Clock::now())) {
      logger->warn("the CRL of {} is past its nextUpdate; its revocations stay in force until its chain publishes a "
                   "newer one (entente alliance update-crl)", issuer);
    }
    past_memberships->Clear();  // built with the CRL files of their time; rebuilt on demand
    auto shared = std::make_shared<const alliance::Membership>(std::move(m));
    ENTENTE_ASSIGN_OR_RETURN(std::shared_ptr<endorser::RemoteState> reads, MakeRemote(loaded, shared));
    {
      std::unique_lock lock(alliance_mu);
      config = std::move(loaded);
      membership = shared;
      remote = std::move(reads);
    }
    contracts.SetAlliance(std::shared_ptr<const validation::AllianceView>(shared, &shared->view));
    for (const std::string& channel : shared->view.channels) {
      if (shared->view.external_channels.count(channel) == 0) StartPuller(channel);
    }
    return Status::Ok();
  }

  // The next TCert of the batch that is valid now (the next one at all when none is: its
  // endorsements then fail as CERTIFICATE_EXPIRED, which says what to do).
  endorser::Signer NextTcert() {
    std::lock_guard lock(tcerts_mu);
    const std::vector<endorser::Signer>& batch = options.tcerts;
    const crypto::TimePoint now = crypto::Clock::now();
    for (std::size_t tried = 0; tried < batch.size(); ++tried) {
      const endorser::Signer& candidate = batch[next_tcert++ % batch.size()];
      if (candidate.certificate.NotBefore() <= now && now <= candidate.certificate.NotAfter()) return candidate;
    }
    return batch[next_tcert++ % batch.size()];
  }

  // TCerts of the batch valid now.
  std::size_t ValidTcerts() const {
    std::lock_guard lock(tcerts_mu);
    const crypto::TimePoint now = crypto::Clock::now();
    return static_cast<std::size_t>(std::count_if(options.tcerts.begin(), options.tcerts.end(), [&](const auto& t) {
      return t.certificate.NotBefore() <= now && now <= t.certificate.NotAfter();
    }));
  }

  // Warns in the log when fewer than 10% of the batch remain valid; returns whether that is so.
  bool CheckTcerts() {
    std::size_t valid = ValidTcerts(), total;
    {
      std::lock_guard lock(tcerts_mu);
      total = options.tcerts.size();
    }
    bool low = valid * 10 < total;
    if (low && !tcerts_low.exchange(true)) {
      logger->warn("only {} of {} TCerts remain valid (fewer than 10%): issue a new batch "
                   "(entente ca issue-tcerts) and send this node SIGHUP", valid, total);
    }
    if (!low) tcerts_low = false;
    return low;
  }

  http::ClientOptions ClientOptionsFor(const Peer& peer) const {
    http::ClientOptions o;
    o.host = peer.host;
    o.port = peer.port;
    o.tls = options.tls;
    o.timeout = std::chrono::milliseconds(options.pull_wait.count() + 30000);
    return o;
  }

  std::shared_ptr<http::Client> PeerClient(const std::string& node_id) {
    std::string endpoint;
    {
      std::shared_lock lock(alliance_mu);
      for (const auto& n : config.nodes) {
        if (n.id == node_id) endpoint = n.endpoint;
      }
    }
    auto peer = ParseEndpoint(endpoint);
    if (!peer) return nullptr;
    std::lock_guard lock(peers_mu);
    auto& client = peers[node_id + "@" + endpoint];
    if (!client) client = std::make_shared<http::Client>(ClientOptionsFor(*peer));
    return client;
  }

  // ---- Commit (DESIGN.md §7 step 5) ----

  void StartPuller(const std::string& channel) {
    std::lock_guard lock(pullers_mu);
    if (stopping || pullers.count(channel) > 0) return;
    pullers.emplace(channel, std::thread([this, channel] { PullLoop(channel); }));
  }

  // Where blocks can be pulled from: the relay this node's configuration names, then the alliance's
  // replicated relays.
  std::vector<Peer> RelayPeers() const {
    std::vector<Peer> peers{options.relay};
    std::shared_lock lock(alliance_mu);
    for (const chaincode::AllianceRelay& relay : config.relays) {
      auto peer = ParseEndpoint(relay.endpoint);
      bool known = std::any_of(peers.begin(), peers.end(),
                               [&](const Peer& p) { return peer && p.host == peer->host && p.port == peer->port; });
      if (peer && !known) peers.push_back(*peer);
    }
    return peers;
  }

  void PullLoop(const std::string& channel) {
    // With several relays, a relay that fails or has nothing new makes the next pull go to the next one:
    // one that is down, behind, or builds blocks the others do not certify holds nothing up for long.
    std::size_t current = 0;
    Peer peer = options.relay;
    // A relay that does not answer a long-poll soon after its wait is as good as down (frozen, or cut
    // off): the pull moves on rather than wait out the general timeout.
    auto pull_client = [&](const Peer& p) {
      http::ClientOptions o = ClientOptionsFor(p);
      o.timeout = options.pull_wait + std::chrono::seconds(5);
      return std::make_unique<http::Client>(o);
    };
    auto client = pull_client(peer);
    auto backoff = std::chrono::milliseconds(100);
    auto next_relay = [&] {
      std::vector<Peer> peers = RelayPeers();
      if (peers.size() < 2) return;
      current = (current + 1) % peers.size();
      peer = peers[current];
      client = pull_client(peer);
    };
    while (!stopping) {
      {
        std::lock_guard lock(commit_mu);
        if (halted.count(channel) > 0) return;
      }
      std::uint64_t from = ledger->GetSavepoint(channel).height;
      std::string target = "/v1/channels/" + channel + "/blocks?from=" + std::to_string(from) +
                           "&max=" + std::to_string(kPullBatch) + "&wait_ms=" + std::to_string(options.pull_wait.count());
      auto response = client->Get(target);
      Status status = Status::Ok();
      if (!response.ok()) {
        status = response.status();
      } else if (response->status != 200) {
        status = Status::Unavailable("relay answered " + std::to_string(response->status) + ": " + response->body);
      } else {
        status = ApplyBlocks(channel, response->body);
      }
      if (status.ok() && ledger->GetSavepoint(channel).height == from) next_relay();
      if (!status.ok()) {
        if (stopping) return;
        logger->warn("pulling blocks of {} from the relay at {}:{}: {}", channel, peer.host, peer.port, status.ToString());
        next_relay();
        for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stopping; waited += std::chrono::milliseconds(50)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      backoff = std::chrono::milliseconds(100);
    }
  }

  Status ApplyBlocks(const std::string& channel, const std::string& body) {
    ENTENTE_ASSIGN_OR_RETURN(Json j, ParseJson(body));
    if (!j.is_object() || !j.contains("blocks") || !j["blocks"].is_array()) {
      return Status::InvalidArgument("the relay's answer has no blocks array");
    }
    for (const Json& b : j["blocks"]) {
      ENTENTE_ASSIGN_OR_RETURN(ledger::Block block, ledger::Block::FromJson(b));
      if (block.header.number < ledger->GetSavepoint(channel).height) continue;  // already committed
      Status s = ValidateAndCommit(channel, block);
      if (!s.ok()) return s;
      if (stopping) break;
    }
    return Status::Ok();
  }

  void Halt(const std::string& channel, const std::string& why) {
    logger->critical("HALTING channel {}: {}", channel, why);
    {
      std::lock_guard lock(commit_mu);
      halted.emplace(channel, why);
    }
    waiters->Advance(CommitKey(channel), std::numeric_limits<std::uint64_t>::max());
    waiters->AdvancePrefix(TxCommitPrefix(channel), std::numeric_limits<std::uint64_t>::max());
  }

  // The membership a block cut at alliance height `height` is validated with: the current one, or the
  // one recorded at that height. When this node's alliance channel is behind, waits for it a while and
  // then answers Unavailable (the block is fetched again); FailedPrecondition when none was recorded.
  Result<std::shared_ptr<const alliance::Membership>> MembershipAt(std::uint64_t height) {
    auto current = Members();
    for (int waited = 0; height > current->alliance_height && waited < 100 && !stopping; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      current = Members();
    }
    if (height == 0 || height == current->alliance_height) return current;
    if (height > current->alliance_height) {
      return Status::Unavailable("the block was cut at alliance height " + std::to_string(height) +
                                 "; this node's alliance channel is at " + std::to_string(current->alliance_height));
    }
    return past_memberships->At(height, options.crl_pems);
  }

  // Re-validates `block` as the relay should have, and commits it when every code agrees.
  Status ValidateAndCommit(const std::string& channel, const ledger::Block& block) {
    if (block.header.channel != channel) {
      return Status::InvalidArgument("the relay answered block " + std::to_string(block.header.number) + " of " +
                                     block.header.channel + " for " + channel);
    }
    Status follows = alliance::CheckBlockFollows(ledger->GetSavepoint(channel), block);
    if (follows.IsCorruption()) {
      Halt(channel, follows.message());
      return Status::Ok();
    }
    ENTENTE_RETURN_IF_ERROR(follows);
    auto members_at = MembershipAt(block.metadata.alliance_height);
    if (!members_at.ok()) {
      if (members_at.status().code() == StatusCode::kUnavailable) return members_at.status();
      Halt(channel, "block " + std::to_string(block.header.number) + ": " + members_at.status().message());
      return Status::Ok();
    }
    const std::shared_ptr<const alliance::Membership> members = *members_at;
    if (!members->relays.empty()) {
      // Replicated relays: relays of more than half their weight must have signed exactly this block.
      alliance::CertificateCheck check = alliance::CheckBlockCertificate(*members, block);
      for (const std::string& relay : check.refused) {
        ++refused_relay_signatures;
        logger->error("relay {} signed another block {} of {} than the relays certified: its signature is refused",
                      relay, block.header.number, channel);
      }
      if (!check.certified()) {
        return Status::Unavailable("block " + std::to_string(block.header.number) + " of " + channel +
                                   " is signed by relays of weight " + std::to_string(check.weight) + " of " +
                                   std::to_string(check.total) + ", not more than " +
                                   std::to_string(check.quorum_percent) + "%");
      }
    } else if (!options.relay_key ||
               !options.relay_key->Verify(block.SignedMetadataBytes(), block.metadata.relay_signature)) {
      Halt(channel, "block " + std::to_string(block.header.number) + ": the relay's signature does not verify");
      return Status::Ok();
    }
    // Validation runs at the block's time and membership, so that a node catching up decides as the relay did.
    auto snapshot = ledger->GetSnapshot();
    ENTENTE_ASSIGN_OR_RETURN(alliance::Replay replay,
                             alliance::ReplayBlock(*members, *snapshot, block, options.proposal_window));
    if (!replay.disagreement.empty()) {
      Halt(channel, "block " + std::to_string(block.header.number) + " " + replay.disagreement);
      return Status::Ok();
    }
    const validation::BlockVerdict& verdict = replay.verdict;
    ENTENTE_RETURN_IF_ERROR(ledger->Commit(block, verdict.txs));
    waiters->Advance(channel, block.header.number + 1);
    waiters->Advance(CommitKey(channel), block.header.number + 1);
    for (const ledger::CommittedTx& tx : verdict.txs) waiters->Advance(TxCommitPrefix(channel) + tx.tx_id, 1);
    ++blocks_committed;
    logger->debug("committed block {} of {} ({} transactions)", block.header.number, channel, block.envelopes.size());
    if (channel == chaincode::kAllianceChannel) {
      Status s = LoadAlliance();
      if (!s.ok()) logger->error("cannot reload the alliance after block {}: {}", block.header.number, s.ToString());
    }
    return Status::Ok();
  }

  // `tx_id`'s status when this node committed it (with the reason of an invalid one), else nullopt.
  std::optional<TxStatus> CommittedHere(std::string_view tx_id) const {
    auto snapshot = ledger->GetSnapshot();
    for (const std::string& channel : ledger->Channels()) {
      auto found = snapshot->FindTx(channel, tx_id);
      if (found.ok() && *found) {
        TxStatus status;
        status.state = TxStatus::State::kCommitted;
        status.channel = channel;
        status.block = (*found)->block;
        status.index = (*found)->index;
        status.code = (*found)->code;
        if (status.code != ValidationCode::kValid) {
          auto message = snapshot->TxMessage(channel, status.block, status.index);
          if (message.ok()) status.message = std::move(*message);
        }
        return status;
      }
    }
    return std::nullopt;
  }

  // ---- Submission (DESIGN.md §7 steps 1-3, 6) ----

  // The endorsements of `peers` for a proposal; `identities` receives who endorsed.
  struct Collected {
    std::vector<endorser::Endorsement> endorsements;
    std::vector<validation::EndorserIdentity> identities;
    std::vector<std::string> refusals;  // "<node>: <reason>: <message>"
    bool mismatched = false;            // an endorser simulated other state (ENDORSEMENT_MISMATCH)
  };

  Collected CollectEndorsements(const std::vector<std::string>& node_ids, const SignedBytes& signed_proposal,
                                const std::map<std::string, Bytes>& transient, ByteView suggestion,
                                const validation::EndorsementPolicy* stop_when) {
    Collected out;
    std::vector<std::string> chains;
    {
      std::shared_lock lock(alliance_mu);
      for (const std::string& id : node_ids) {
        std::string chain;
        for (const auto& n : config.nodes) {
          if (n.id == id) chain = n.chain;
        }
        chains.push_back(chain);
      }
    }
    for (std::size_t i = 0; i < node_ids.size(); ++i) {
      const std::string& id = node_ids[i];
      std::optional<endorser::Endorsement> endorsement;
      if (id == options.id) {
        endorser::EndorseOutcome outcome = EndorseHere(signed_proposal, transient, suggestion);
        if (outcome.ok()) {
          endorsement = outcome.endorsement;
        } else {
          out.refusals.push_back(id + ": " + std::string(endorser::RefusalName(outcome.refusal)) + ": " + outcome.message);
          out.mismatched |= outcome.refusal == endorser::Refusal::kEndorsementMismatch;
        }
      } else {
        bool mismatch = false;
        auto asked = AskPeer(id, signed_proposal, transient, suggestion, &mismatch);
        if (asked.ok()) {
          endorsement = std::move(asked).value();
        } else {
          out.refusals.push_back(id + ": " + asked.status().message());
          out.mismatched |= mismatch;
        }
      }
      if (!endorsement) continue;
      out.endorsements.push_back(std::move(*endorsement));
      out.identities.push_back({chains[i], "node", id});
      if (stop_when != nullptr && stop_when->Evaluate(out.identities).satisfied) break;
    }
    return out;
  }

  endorser::EndorseOutcome EndorseHere(const SignedBytes& signed_proposal, const std::map<std::string, Bytes>& transient,
                                       ByteView suggestion) {
    auto members = Members();
    auto reads = Remote();
    CheckTcerts();
    auto signer = std::make_shared<const endorser::Signer>(NextTcert());
    endorser::Endorser e(*ledger, contracts, *members->trust, signer, reads.get(), EndorsingOptions());
    endorser::EndorseOutcome outcome = e.EndorseProposal(signed_proposal, transient, suggestion);
    ++(outcome.ok() ? endorsed : refused);
    return outcome;
  }

  // Node `node_id`'s endorsement of the proposal, or why it refused; `mismatch` (when given) tells
  // whether it refused with ENDORSEMENT_MISMATCH, having simulated other state.
  Result<endorser::Endorsement> AskPeer(const std::string& node_id, const SignedBytes& signed_proposal,
                                        const std::map<std::string, Bytes>& transient, ByteView suggestion,
                                        bool* mismatch = nullptr) {
    auto client = PeerClient(node_id);
    if (!client) return Status::NotFound("node " + node_id + " has no endpoint in the alliance");
    Json body{{"signed_proposal", signed_proposal.ToJson()},
              {"transient", TransientJson(transient)},
              {"suggestion", Base64Encode(suggestion)}};
    ENTENTE_ASSIGN_OR_RETURN(http::Response r, client->Post("/v1/proposals", DumpJson(body)));
    auto answer = ParseJson(r.body);
    if (r.status != 200) {
      std::string why = answer.ok() && answer->is_object() ? answer->value("detail", r.body) : r.body;
      std::string reason = answer.ok() && answer->is_object() ? answer->value("refusal", "") : "";
      if (mismatch != nullptr) *mismatch = reason == endorser::RefusalName(endorser::Refusal::kEndorsementMismatch);
      return Status::FailedPrecondition((reason.empty() ? "" : reason + ": ") + why);
    }
    if (!answer.ok() || !answer->is_object() || !answer->contains("endorsement")) {
      return Status::Internal("node " + node_id + " answered without an endorsement");
    }
    return endorser::Endorsement::FromJson((*answer)["endorsement"]);
  }

  // Nodes to ask for an endorsement on `channel` when the request names none: the nodes of that
  // chain, this node first when it is one of them, then the heaviest.
  std::vector<std::string> EndorsersFor(const std::string& channel) const {
    std::vector<chaincode::Node> nodes;
    {
      std::shared_lock lock(alliance_mu);
      for (const auto& n : config.nodes) {
        if (n.chain == channel) nodes.push_back(n);
      }
    }
    std::stable_sort(nodes.begin(), nodes.end(), [&](const auto& a, const auto& b) {
      if ((a.id == options.id) != (b.id == options.id)) return a.id == options.id;
      return a.weight > b.weight;
    });
    std::vector<std::string> ids;
    for (const auto& n : nodes) ids.push_back(n.id);
    return ids;
  }

  // The next wallet TCert of the client whose ECert is `client`, or with an idempotency `key` the one
  // that key picks (the same while the wallet's TCerts stay, so that a repeat makes the same tx ids);
  // nullptr when the wallet holds none.
  const endorser::Signer* ClientSigner(const crypto::Certificate& client, std::string_view key = {}) {
    for (auto& [id, signers] : options.wallet) {
      if (signers.empty() || signers.front().intermediates.empty()) continue;
      if (signers.front().intermediates.front().Fingerprint() != client.Fingerprint()) continue;
      if (key.empty()) return &signers[next_client_tcert++ % signers.size()];
      const crypto::Digest picked = crypto::Sha256(AsBytes(key));
      return &signers[(std::size_t{picked[0]} << 8 | picked[1]) % signers.size()];
    }
    return nullptr;
  }

  // The nonce of attempt `attempt` of `client`'s submission with idempotency key `key` (printable
  // ASCII, so that the parts cannot run into each other).
  static Bytes KeyedNonce(const crypto::Certificate& client, std::string_view key, int attempt) {
    const std::string parts = "entente idempotency key\n" + HexEncode(client.Fingerprint()) + "\n" +
                              std::string(key) + "\n" + std::to_string(attempt);
    const crypto::Digest digest = crypto::Sha256(AsBytes(parts));
    return Bytes(digest.begin(), digest.end());
  }

  // Node::StatusOf.
  Result<TxStatus> StatusOf(std::string_view tx_id, std::optional<Json>* delivery) {
    std::optional<TxStatus> here = CommittedHere(tx_id);
    // The relay keeps the delivery records and knows what is pending or was rejected before any block.
    if (here && delivery == nullptr) return *here;
    auto asked = Relay().Get("/v1/transactions/" + std::string(tx_id));
    if (!asked.ok() || (asked->status != 200 && asked->status != 404)) {
      if (here) return *here;
      return Status::Unavailable("the relay cannot be asked about " + std::string(tx_id) + ": " +
                                 (asked.ok() ? "it answered " + std::to_string(asked->status) : asked.status().message()));
    }
    if (asked->status == 404) return here.value_or(TxStatus{});
    ENTENTE_ASSIGN_OR_RETURN(Json answer, ParseJson(asked->body));
    ENTENTE_ASSIGN_OR_RETURN(TxStatus at_relay, TxStatusFromJson(answer));
    if (delivery != nullptr && answer.contains("delivery")) *delivery = answer["delivery"];
    if (here) return *here;
    if (at_relay.state == TxStatus::State::kCommitted && ledger->GetSavepoint(at_relay.channel).height > at_relay.block) {
      // Committed here too, in a place that owns no id (an envelope whose creator signature does not
      // verify claims none): the reason as this node's validation recorded it.
      auto message = ledger->GetSnapshot()->TxMessage(at_relay.channel, at_relay.block, at_relay.index);
      if (message.ok() && !message->empty()) at_relay.message = std::move(*message);
      return at_relay;
    }
    if (at_relay.state == TxStatus::State::kCommitted) {
      // Committed by the relay, not yet here: pending on this node until its puller commits the block.
      TxStatus pending;
      pending.state = TxStatus::State::kPending;
      pending.channel = at_relay.channel;
      pending.message = "committed by the relay in block " + std::to_string(at_relay.block) + " of " + at_relay.channel +
                        "; this node has not committed that block yet";
      return pending;
    }
    return at_relay;
  }

  // What an earlier submission of `request`'s idempotency key made as `tx_id` in attempt `attempt`,
  // when it made anything: its outcome (the contract's response read from its block), or the rejection
  // of a key reused for another request. Nullopt when that attempt's tx id is unknown.
  std::optional<std::variant<TxOutcome, Rejection>> Repeated(const TxRequest& request, const std::string& tx_id,
                                                            int attempt) {
    // As GET /v1/transactions answers it; a relay that cannot be asked leaves it unknown here.
    Result<TxStatus> status = StatusOf(tx_id, nullptr);
    if (!status.ok() || status->state == TxStatus::State::kUnknown) return std::nullopt;
    TxOutcome outcome;
    outcome.tx_id = tx_id;
    outcome.status = *status;
    outcome.attempts = attempt;
    if (status->state == TxStatus::State::kPending) {
      outcome.status.message = "a submission with this idempotency key is pending; GET /v1/transactions/" + tx_id +
                               " tells when it is committed";
      return {outcome};
    }
    if (status->state != TxStatus::State::kCommitted) return {outcome};
    auto block = ledger->GetBlock(status->channel, status->block);
    if (!block.ok() || status->index >= block->envelopes.size()) return {outcome};
    validation::ParsedEnvelope parsed = validation::ParseEnvelope(block->envelopes[status->index]);
    if (parsed.proposal && (parsed.proposal->contract != request.contract ||
                            parsed.proposal->function != request.function || parsed.proposal->args != request.args)) {
      return {Rejection{422, "IDEMPOTENCY_KEY_REUSED",
                        "the idempotency key was used for another request (" + parsed.proposal->contract + "." +
                            parsed.proposal->function + " with other arguments), committed as " + tx_id,
                        std::nullopt}};
    }
    if (parsed.envelope) {
      if (auto result = endorser::SimulationResult::Parse(parsed.envelope->result); result.ok()) {
        outcome.response = result->response;
      }
    }
    return {outcome};
  }

  // The answer for a client the wallet holds no identity for.
  static Rejection NoIdentity(const crypto::Certificate& client) {
    return Rejection{403, "NO_IDENTITY", "this node holds no identity for the client certificate " + client.SubjectText(),
                     std::nullopt};
  }

  // A proposal endorsed as the policy (or the request's endorsers) asks, ready to be sealed.
  struct Prepared {
    endorser::Envelope envelope;
    std::string tx_id;
    std::string channel;
    shim::Response response;
  };

  // Steps 1-2 of DESIGN.md §7 for a signed proposal: this node's suggestion result, with the
  // definition of the contract it runs.
  struct Suggested {
    Simulated simulated;
    validation::ContractDef definition;
    std::shared_ptr<const alliance::Membership> members;
  };
  // The refusal for `caller` running `contract` on `channel` here, if it may not: a simulation's answer
  // is a read of that channel, so only its own chain, the alliance channel, or a write route may.
  std::optional<Rejection> Refuses(const crypto::Subject& caller, const std::string& channel,
                                   const std::string& contract) const {
    if (Members()->view.MayPropose(caller.chain, channel, contract)) return std::nullopt;
    return Rejection{403, "ROUTE_NOT_ALLOWED",
                     "a member of " + caller.chain + " may not run '" + contract + "' on channel '" + channel +
                         "': no write route from " + caller.chain + " to " + channel + "/" + contract,
                     static_cast<int>(ValidationCode::kRouteNotAllowed)};
  }

  // `caller` (who sent a client-signed proposal) must be allowed on its channel; null for a proposal the
  // node signed itself from its wallet, checked before.
  Result<std::variant<Suggested, Rejection>> Suggest(const SignedBytes& signed_proposal,
                                                     const std::map<std::string, Bytes>& transient,
                                                     const crypto::Subject* caller) {
    auto members = Members();
    auto proposal_json = ParseJson(ToString(signed_proposal.payload));
    if (!proposal_json.ok()) return {Rejection{400, "BAD_PROPOSAL", "the proposal is not JSON", std::nullopt}};
    auto proposal = endorser::Proposal::FromJson(*proposal_json);
    if (!proposal.ok()) return {Rejection{400, "BAD_PROPOSAL", proposal.status().message(), std::nullopt}};
    const std::string& channel = proposal->channel;
    if (caller != nullptr) {
      if (auto refused = Refuses(*caller, channel, proposal->contract)) return {*refused};
    }
    const validation::ContractDef* def = members->view.FindContract(channel, proposal->contract);
    if (def == nullptr) {
      return {Rejection{404, "INVALID_CHAINCODE",
                        "contract '" + proposal->contract + "' is not defined on channel '" + channel + "'",
                        static_cast<int>(ValidationCode::kInvalidChaincode)}};
    }
    endorser::Refusal refusal = endorser::Refusal::kNone;
    auto reads = Remote();
    RouteWatch watch(reads.get());
    auto signer = std::make_shared<const endorser::Signer>(NextTcert());
    endorser::Endorser local(*ledger, contracts, *members->trust, signer, &watch, EndorsingOptions());
    auto suggestion = local.SimulateProposal(signed_proposal, transient, &refusal);
    if (!suggestion.ok()) {
      if (refusal == endorser::Refusal::kUnknownContract) {
        return {Rejection{404, "INVALID_CHAINCODE", contracts.WhyNot(channel, proposal->contract),
                          static_cast<int>(ValidationCode::kInvalidChaincode)}};
      }
      return {RefusalRejection(refusal, suggestion.status().message())};
    }
    if (!watch.denied().empty()) {
      return {Rejection{403, "ROUTE_NOT_ALLOWED", watch.denied(), static_cast<int>(ValidationCode::kRouteNotAllowed)}};
    }
    if (!suggestion->response.ok()) {
      return {ContractError(suggestion->response)};
    }
    return {Suggested{Simulated{suggestion->tx_id, channel, suggestion->Serialize(), suggestion->response}, *def,
                      std::move(members)}};
  }

  // The size of the sealed envelope of `signed_proposal` and `result` with `endorsements` endorsements
  // like this node's own: what the relay will measure, to within a few bytes per endorsement.
  std::size_t SealedEnvelopeEstimate(const SignedBytes& signed_proposal, const Bytes& result,
                                     std::size_t endorsements) const {
    auto bare = CanonicalJson(endorser::Envelope{signed_proposal, result, {}}.ToJson());
    auto one = CanonicalJson(endorser::Endorsement{options.tcerts.front().ChainPem(), Bytes(72, 0)}.ToJson());
    std::size_t payload = (bare.ok() ? bare->size() : 0) + endorsements * ((one.ok() ? one->size() : 0) + 1);
    // Sealed: {"payload": base64 of those bytes, "signature": base64 of a DER signature}.
    return (payload + 2) / 3 * 4 + 160;
  }

  // Steps 1-3 of DESIGN.md §7 for a signed proposal: the suggestion result, then the endorsements.
  Result<std::variant<Prepared, Rejection>> Prepare(const SignedBytes& signed_proposal,
                                                    const std::map<std::string, Bytes>& transient,
                                                    const std::vector<std::string>& requested_endorsers,
                                                    const crypto::Subject* caller) {
    ENTENTE_ASSIGN_OR_RETURN(auto suggested, Suggest(signed_proposal, transient, caller));
    if (auto* rejection = std::get_if<Rejection>(&suggested)) return {*rejection};
    const auto& [simulated, definition, members] = std::get<Suggested>(suggested);
    const std::string& channel = simulated.channel;
    const Bytes& result = simulated.result;
    auto policy = validation::ParsePolicy(definition.policy, channel, members->view);
    if (!policy.ok()) return {Rejection{500, "BAD_POLICY", policy.status().message(), std::nullopt}};
    std::vector<std::string> endorsers =
        requested_endorsers.empty() ? EndorsersFor(channel) : requested_endorsers;
    // Refused before anyone else endorses when the sealed envelope would pass the alliance's limit.
    const std::size_t estimate = SealedEnvelopeEstimate(signed_proposal, result, endorsers.size());
    if (estimate > validation::kMaxEnvelopeBytes) {
      Rejection too_large{413, "PAYLOAD_TOO_LARGE",
                          "the sealed envelope would be about " + std::to_string(estimate) +
                              " bytes, larger than the alliance's limit of " +
                              std::to_string(validation::kMaxEnvelopeBytes) +
                              " bytes (proposal and result travel base64-encoded); nothing was endorsed or submitted",
                          std::nullopt};
      too_large.limit = validation::kMaxEnvelopeBytes;
      return {too_large};
    }
    Collected collected = CollectEndorsements(endorsers, signed_proposal, transient, result,
                                              requested_endorsers.empty() ? policy->get() : nullptr);
    PolicyOutcome verdict = (*policy)->Evaluate(collected.identities);
    if ((requested_endorsers.empty() && !verdict.satisfied) || collected.endorsements.empty()) {
      std::string why = collected.endorsements.empty() ? "no endorser endorsed" : verdict.explanation;
      for (const std::string& r : collected.refusals) why += "; " + r;
      Rejection failed{409, "ENDORSEMENT_POLICY_FAILURE", why, static_cast<int>(ValidationCode::kEndorsementPolicyFailure)};
      failed.endorsers_disagreed = collected.mismatched;
      return {failed};
    }
    return {Prepared{endorser::Envelope{signed_proposal, result, std::move(collected.endorsements)},
                     simulated.tx_id, channel, simulated.response}};
  }

  // One submitted envelope whose commit on this node a request waits for (step 6).
  struct CommitWait {
    std::string hash;  // of the sealed envelope
    TxOutcome outcome;
    bool follow_relay = false;           // another envelope owns the tx id here: ask the relay about this one
    std::optional<TxStatus> at_relay;    // the relay's verdict on this envelope, once settled
    bool block_named_tx = false;         // a committed block held an envelope of this tx id
    Clock::time_point deadline;
    std::chrono::milliseconds timeout;
    std::string member;  // whose waits max_waits_per_member counts
    Node::Resume resume;
    Node::SubmitDone done;
  };

  // The key of commit waits on `channel` in `waiters`, apart from the event streams' key (the channel)
  // so that a halt wakes the commit waits only.
  static std::string CommitKey(const std::string& channel) { return "commit " + channel; }
  // The keys of waits for one transaction of `channel` start with this (channel names hold no '/'):
  // the commit of a block wakes the waits of its transactions only.
  static std::string TxCommitPrefix(const std::string& channel) { return "commit/" + channel + "/"; }
  // What commit waits compare with: the channel's height, or the most there is once nothing more will
  // be committed (the channel halted, the node stops).
  std::uint64_t CommitHeight(const std::string& channel) const {
    if (stopping) return std::numeric_limits<std::uint64_t>::max();
    {
      std::lock_guard lock(commit_mu);
      if (halted.count(channel) > 0) return std::numeric_limits<std::uint64_t>::max();
    }
    return ledger->GetSavepoint(channel).height;
  }

  // Step 4's hand-off and step 6: submits `sealed` to the relay and, when `wait`, answers `done` once
  // this node committed exactly that envelope (a second envelope of a committed tx id is
  // DUPLICATE_TXID, not the first's code), holding no thread while it waits.
  void SendAndAwait(const Bytes& sealed, TxOutcome outcome, bool wait, std::chrono::milliseconds timeout,
                    const std::string& member, Node::Resume resume, Node::SubmitDone done) {
    auto accepted = SubmitToRelays(ToString(sealed));
    if (!accepted.ok()) return done(accepted.status());
    if (accepted->status != 202) {
      return done({RelayRefused(*accepted)});
    }
    ++submitted;
    if (!wait) return done({std::move(outcome)});
    auto pending = std::make_shared<CommitWait>();
    pending->hash = crypto::Sha256Hex(sealed);
    pending->outcome = std::move(outcome);
    pending->deadline = Clock::now() + timeout;
    pending->timeout = timeout;
    pending->member = member;
    pending->resume = std::move(resume);
    pending->done = std::move(done);
    AwaitCommit(std::move(pending));
  }

  // One step of a commit wait: answers when this node committed the envelope, the relay settled it
  // otherwise, the channel halted, the node stops or the deadline passed; else waits for the channel's
  // next block (or the deadline) and takes the next step then, through `resume`.
  void AwaitCommit(std::shared_ptr<CommitWait> pending) {
    CommitWait& w = *pending;
    const std::string& channel = w.outcome.status.channel;
    const std::uint64_t height = ledger->GetSavepoint(channel).height;
    if (!w.follow_relay) {
      if (auto committed = CommittedHere(w.outcome.tx_id)) {
        if (IsEnvelopeAt(w.outcome.tx_id, *committed, w.hash)) {
          w.outcome.status = std::move(*committed);
          return w.done({w.outcome});
        }
        w.follow_relay = true;
      } else if (w.block_named_tx) {
        // A block held an envelope of this tx id that owns no entry (an invalid creator signature
        // claims no id): the relay's record of this envelope says what it was.
        w.follow_relay = true;
      }
    }
    if (w.follow_relay && !w.at_relay) w.at_relay = RelayVerdict(w.hash);
    // Answer once this node has the verdict's block too.
    if (w.at_relay && (w.at_relay->state != TxStatus::State::kCommitted || height > w.at_relay->block)) {
      w.outcome.status = *w.at_relay;
      return w.done({w.outcome});
    }
    std::string halted_why;
    {
      std::lock_guard lock(commit_mu);
      if (auto it = halted.find(channel); it != halted.end()) halted_why = it->second;
    }
    if (stopping || !halted_why.empty() || Clock::now() >= w.deadline) {
      w.outcome.status.message = stopping ? "the node stopped before it committed the transaction"
                          : !halted_why.empty()
                              ? "channel " + channel + " is halted on this node: " + halted_why
                              : "not committed on this node within " + std::to_string(w.timeout.count()) + " ms";
      return w.done({w.outcome});
    }
    // Following the relay, whose answer may have failed for a moment: asks it again soon, block or not.
    const auto wake = w.follow_relay && !w.at_relay ? std::min(w.deadline, Clock::now() + std::chrono::milliseconds(200))
                                                    : w.deadline;
    auto next_step = [this, pending](HeightWaiters::Outcome outcome) {
      if (outcome == HeightWaiters::Outcome::kReached && !pending->follow_relay) pending->block_named_tx = true;
      pending->resume([this, pending] { AwaitCommit(pending); });
    };
    // Until the relay is followed, the wait is for this transaction's id: 1 once committed here, the
    // most there is when nothing more will be (as CommitHeight).
    Status waiting = w.follow_relay
                         ? waiters->Wait(CommitKey(channel), height, [this, &channel] { return CommitHeight(channel); },
                                         wake, w.member, std::move(next_step))
                         : waiters->Wait(
                               TxCommitPrefix(channel) + w.outcome.tx_id, 0,
                               [this, &channel, &w]() -> std::uint64_t {
                                 const std::uint64_t most = CommitHeight(channel);
                                 if (most == std::numeric_limits<std::uint64_t>::max()) return most;
                                 return CommittedHere(w.outcome.tx_id) ? 1 : 0;
                               },
                               wake, w.member, std::move(next_step));
    if (!waiting.ok()) {
      w.outcome.status.message = "submitted, but this node does not wait for its commit (" + waiting.message() +
                          "); GET /v1/transactions/" + w.outcome.tx_id + " tells when it is committed";
      w.done({w.outcome});
    }
  }

  // POSTs `envelope` to the relay this node names and, when it cannot be reached or answers 503, to the
  // alliance's other relays in turn (replicated relays all order the same log). Returns the last answer.
  Result<http::Response> SubmitToRelays(const std::string& envelope) {
    auto accepted = Relay().Post("/v1/envelopes", envelope);
    if (accepted.ok() && accepted->status != 503) return accepted;
    std::vector<Peer> peers = RelayPeers();
    for (std::size_t i = 1; i < peers.size(); ++i) {
      logger->warn("the relay at {}:{} did not take an envelope ({}); trying {}:{}", peers[i - 1].host,
                   peers[i - 1].port, accepted.ok() ? "503" : accepted.status().ToString(), peers[i].host, peers[i].port);
      accepted = http::Client(ClientOptionsFor(peers[i])).Post("/v1/envelopes", envelope);
      if (accepted.ok() && accepted->status != 503) return accepted;
    }
    return accepted;
  }

  // The relay's verdict on the envelope of `hash` (GET /v1/envelopes/{hash}), or nullopt while it is
  // pending, the relay does not know it (yet: a replicated relay may not have read it) or does not answer.
  std::optional<TxStatus> RelayVerdict(const std::string& hash) {
    auto r = Relay().Get("/v1/envelopes/" + hash);
    auto j = r.ok() && r->status == 200 ? ParseJson(r->body) : Result<Json>(Status::Unavailable("no answer"));
    auto status = j.ok() ? TxStatusFromJson(*j) : Result<TxStatus>(j.status());
    if (!status.ok()) return std::nullopt;
    if (status->state != TxStatus::State::kCommitted && status->state != TxStatus::State::kRejected) return std::nullopt;
    return *status;
  }

  // Whether the envelope of SHA-256 `hash` (hex) is the one committed as `tx_id` at `at`: from the tx
  // index's hash, or from the block for entries written before the index held it.
  bool IsEnvelopeAt(const std::string& tx_id, const TxStatus& at, const std::string& hash) const {
    auto found = ledger->GetSnapshot()->FindTx(at.channel, tx_id);
    if (!found.ok() || !*found) return false;
    if ((*found)->envelope_hash != ledger::Hash{}) return HexEncode((*found)->envelope_hash) == hash;
    auto block = ledger->GetBlock(at.channel, at.block);
    return block.ok() && at.index < block->envelopes.size() && crypto::Sha256Hex(block->envelopes[at.index]) == hash;
  }

  // A request of Node::Submit, kept across its attempts.
  struct Submission {
    crypto::Certificate client;  // the client's ECert
    TxRequest request;
    std::string channel;
    Node::Resume resume;
    Node::SubmitDone done;
  };

  // Attempt `attempt` of `submission`: steps 1-4 on this thread, then step 6 through SendAndAwait; on
  // MVCC_READ_CONFLICT, or endorsers that simulated other state, the next attempt while retries last.
  void Attempt(std::shared_ptr<Submission> submission, int attempt) {
    const TxRequest& request = submission->request;
    const endorser::Signer* client = ClientSigner(submission->client, request.idempotency_key);
    if (client == nullptr) return submission->done({NoIdentity(submission->client)});
    Result<SignedBytes> signed_proposal = Status::Internal("no proposal");
    if (request.idempotency_key.empty()) {
      signed_proposal = endorser::MakeSignedProposal(*client, submission->channel, request.contract, request.function,
                                                     request.args, request.transient);
    } else {
      // A repeat of a keyed submission makes the same tx ids: an attempt that exists is answered, not
      // made again (one that ended in MVCC_READ_CONFLICT goes on to the next attempt while retries last).
      endorser::Proposal p;
      p.channel = submission->channel;
      p.contract = request.contract;
      p.function = request.function;
      p.args = request.args;
      p.transient_hash = endorser::TransientHash(request.transient);
      p.nonce = KeyedNonce(submission->client, request.idempotency_key, attempt);
      p.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      const std::string tx_id = endorser::ComputeTxId(p.nonce, client->certificate.Der(), p.channel);
      if (auto earlier = Repeated(request, tx_id, attempt)) {
        auto* outcome = std::get_if<TxOutcome>(&*earlier);
        const bool conflict = outcome != nullptr && outcome->status.state == TxStatus::State::kCommitted &&
                              outcome->status.code == ValidationCode::kMvccReadConflict;
        if (!conflict || attempt > request.retry) return submission->done({std::move(*earlier)});
        return Attempt(submission, attempt + 1);
      }
      signed_proposal = endorser::SignProposal(*client, std::move(p));
    }
    if (!signed_proposal.ok()) return submission->done(signed_proposal.status());
    auto prepared = Prepare(*signed_proposal, request.transient, request.endorsers, nullptr);
    if (!prepared.ok()) return submission->done(prepared.status());
    auto next = [this, submission, attempt](Result<std::variant<TxOutcome, Rejection>> result) {
      auto* outcome = result.ok() ? std::get_if<TxOutcome>(&*result) : nullptr;
      if (outcome != nullptr) outcome->attempts = attempt;
      // A keyed submission that lost the race to the same key's other submission (both made this tx
      // id): the first one's status is the answer.
      if (outcome != nullptr && !submission->request.idempotency_key.empty() &&
          outcome->status.state == TxStatus::State::kCommitted && outcome->status.code == ValidationCode::kDuplicateTxid) {
        if (auto first = Repeated(submission->request, outcome->tx_id, attempt)) return submission->done({std::move(*first)});
      }
      bool conflict = outcome != nullptr && outcome->status.state == TxStatus::State::kCommitted &&
                      outcome->status.code == ValidationCode::kMvccReadConflict;
      // Endorsers a block behind or ahead of this node simulate on other state: a mismatch that passes.
      auto* rejection = result.ok() ? std::get_if<Rejection>(&*result) : nullptr;
      bool lagging = rejection != nullptr && rejection->endorsers_disagreed;
      if ((!conflict && !lagging) || attempt > submission->request.retry) return submission->done(std::move(result));
      logger->info("{}; endorsing again (attempt {})", conflict ? "MVCC_READ_CONFLICT" : "endorsement mismatch",
                   attempt + 1);
      if (lagging) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Attempt(submission, attempt + 1);
    };
    if (auto* rejection = std::get_if<Rejection>(&*prepared)) return next({*rejection});
    Prepared& p = std::get<Prepared>(*prepared);
    auto sealed = endorser::SealEnvelope(*client, p.envelope);
    if (!sealed.ok()) return submission->done(sealed.status());
    TxOutcome outcome;
    outcome.tx_id = p.tx_id;
    outcome.status.channel = p.channel;
    outcome.status.state = TxStatus::State::kPending;  // until its commit here
    outcome.response = p.response;
    SendAndAwait(*sealed, std::move(outcome), request.wait, request.timeout, submission->client.subject().chain,
                 submission->resume, std::move(next));
  }

};

Node::Node(std::unique_ptr<State> state) : state_(std::move(state)) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Open(NodeOptions options) {
  if (options.tcerts.empty()) return Status::InvalidArgument("the node needs at least one TCert");
  if (!options.relay_key) return Status::InvalidArgument("the node needs the relay's key to verify blocks");
  auto state = std::make_unique<State>(std::move(options));
  State& s = *state;
  s.logger = Logger("node");
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(s.options.data_dir, 0700));
  ENTENTE_ASSIGN_OR_RETURN(s.ledger, ledger::Ledger::Open(s.options.data_dir + "/ledger"));
  s.past_memberships = std::make_unique<alliance::MembershipHistory>(*s.ledger);
  ENTENTE_RETURN_IF_ERROR(alliance::CommitGenesis(*s.ledger, s.options.genesis));
  ENTENTE_RETURN_IF_ERROR(s.contracts.LoadInstalled());
  if (s.options.tls.ca_files.empty()) {
    // Trust, for TLS, every member CA of the alliance as this ledger knows it.
    auto snapshot = s.ledger->GetSnapshot();
    ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig config, alliance::ReadConfig(*snapshot));
    std::string cas;
    for (const auto& member : config.members) {
      for (const std::string& pem : member.ca_certs) cas += pem;
    }
    std::string ca_file = s.options.data_dir + "/alliance-cas.pem";
    ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(ca_file, cas, 0644));
    s.options.tls.ca_files = {ca_file};
  }
  s.relay_client = std::make_unique<http::Client>(s.ClientOptionsFor(s.options.relay));
  ENTENTE_RETURN_IF_ERROR(s.LoadAlliance());
  s.CheckTcerts();
  return std::unique_ptr<Node>(new Node(std::move(state)));
}

Status Node::ReloadCrls(std::vector<std::string> crl_pems) {
  State& s = *state_;
  std::vector<std::string> previous;
  {
    std::lock_guard reload(s.reload_mu);
    previous = std::exchange(s.options.crl_pems, std::move(crl_pems));
  }
  Status loaded = s.LoadAlliance();
  if (!loaded.ok()) {
    std::lock_guard reload(s.reload_mu);
    s.options.crl_pems = std::move(previous);
  }
  return loaded;
}

Status Node::VerifyPeer(const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates) const {
  return alliance::CheckPeerCertificate(*state_->Members(), leaf, intermediates, crypto::Clock::now(),
                                       *state_->options.relay_key);
}

bool Node::MayRead(const crypto::Subject& reader, std::string_view channel, std::optional<std::string_view> ns) const {
  return alliance::MayRead(*state_->Members(), reader, channel, ns);
}

Status Node::ReloadTcerts(std::vector<endorser::Signer> tcerts) {
  State& s = *state_;
  if (tcerts.empty()) return Status::InvalidArgument("no TCerts to sign with");
  {
    std::lock_guard lock(s.tcerts_mu);
    s.options.tcerts = std::move(tcerts);
    s.next_tcert = 0;
  }
  s.logger->info("signing with {} TCerts ({} valid now)", s.options.tcerts.size(), s.ValidTcerts());
  s.CheckTcerts();
  return Status::Ok();
}

void Node::Stop() {
  State& s = *state_;
  s.stopping = true;
  s.waiters->Stop();
  std::map<std::string, std::thread> pullers;
  {
    std::lock_guard lock(s.pullers_mu);
    pullers.swap(s.pullers);
  }
  for (auto& [channel, t] : pullers) {
    if (t.joinable()) t.join();
  }
}

const std::string& Node::id() const { return state_->options.id; }
const std::string& Node::chain() const { return state_->options.chain; }

Result<ContractInfo> Node::Install(ByteView package, const crypto::Certificate* installer) {
  if (installer != nullptr) {
    const crypto::Subject& who = installer->subject();
    if (who.role != crypto::Role::kAdmin || who.chain != chain()) {
      return Status::PermissionDenied("contracts are installed on " + chain() + "'s nodes by " + chain() +
                                      "'s admins only, not by " + installer->SubjectText());
    }
  }
  std::string dir = state_->options.data_dir + "/uploads";
  ENTENTE_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  std::string path = dir + "/" + crypto::Sha256Hex(package) + ".tar.gz";
  ENTENTE_RETURN_IF_ERROR(WriteFileAtomic(path, ToString(package), 0600));
  auto installed = state_->contracts.Install(path);
  std::remove(path.c_str());
  return installed;
}

std::vector<ContractInfo> Node::Contracts() const { return state_->contracts.List(); }

endorser::EndorseOutcome Node::Endorse(const SignedBytes& signed_proposal, const std::map<std::string, Bytes>& transient,
                                       ByteView suggestion) const {
  return state_->EndorseHere(signed_proposal, transient, suggestion);
}

void Node::Submit(const crypto::Certificate& client_ecert, const TxRequest& request, Resume resume, SubmitDone done) {
  State& s = *state_;
  if (s.ClientSigner(client_ecert) == nullptr) return done({State::NoIdentity(client_ecert)});
  std::string channel = request.channel.empty() ? s.options.chain : request.channel;
  if (auto refused = s.Refuses(client_ecert.subject(), channel, request.contract)) return done({*refused});
  s.Attempt(std::make_shared<State::Submission>(
                State::Submission{client_ecert, request, std::move(channel), std::move(resume), std::move(done)}),
            1);
}

Result<std::variant<shim::Response, Rejection>> Node::Query(const crypto::Certificate& client_ecert, const TxRequest& request) {
  State& s = *state_;
  const endorser::Signer* client = s.ClientSigner(client_ecert);
  if (client == nullptr) return {State::NoIdentity(client_ecert)};
  std::string channel = request.channel.empty() ? s.options.chain : request.channel;
  if (auto refused = s.Refuses(client_ecert.subject(), channel, request.contract)) return {*refused};
  ENTENTE_ASSIGN_OR_RETURN(SignedBytes signed_proposal,
                           endorser::MakeSignedProposal(*client, channel, request.contract, request.function,
                                                        request.args, request.transient));
  auto members = s.Members();
  auto reads = s.Remote();
  auto signer = std::make_shared<const endorser::Signer>(s.NextTcert());
  endorser::Endorser local(*s.ledger, s.contracts, *members->trust, signer, reads.get(), s.EndorsingOptions());
  endorser::Refusal refusal = endorser::Refusal::kNone;
  auto result = local.SimulateProposal(signed_proposal, request.transient, &refusal);
  if (!result.ok()) {
    if (refusal == endorser::Refusal::kUnknownContract) {
      return {Rejection{404, "INVALID_CHAINCODE", s.contracts.WhyNot(channel, request.contract),
                       static_cast<int>(ValidationCode::kInvalidChaincode)}};
    }
    return {Rejection{400, std::string(endorser::RefusalName(refusal)), result.status().message(), std::nullopt}};
  }
  if (!result->response.ok()) return {ContractError(result->response)};
  return {result->response};
}

Result<std::variant<Endorsed, Rejection>> Node::EndorseSigned(const SignedBytes& signed_proposal,
                                                              const std::map<std::string, Bytes>& transient,
                                                              const std::vector<std::string>& endorsers,
                                                              const crypto::Subject& caller) {
  ENTENTE_ASSIGN_OR_RETURN(auto prepared, state_->Prepare(signed_proposal, transient, endorsers, &caller));
  if (auto* rejection = std::get_if<Rejection>(&prepared)) return {*rejection};
  State::Prepared& p = std::get<State::Prepared>(prepared);
  ENTENTE_ASSIGN_OR_RETURN(std::string payload, CanonicalJson(p.envelope.ToJson()));
  return {Endorsed{p.tx_id, p.channel, ToBytes(payload), p.response}};
}

Result<std::variant<Simulated, Rejection>> Node::Simulate(const SignedBytes& signed_proposal,
                                                          const std::map<std::string, Bytes>& transient,
                                                          const crypto::Subject& caller) {
  ENTENTE_ASSIGN_OR_RETURN(auto suggested, state_->Suggest(signed_proposal, transient, &caller));
  if (auto* rejection = std::get_if<Rejection>(&suggested)) return {*rejection};
  return {std::move(std::get<State::Suggested>(suggested).simulated)};
}

void Node::SubmitSigned(ByteView sealed, bool wait, std::chrono::milliseconds timeout, const std::string& member,
                        Resume resume, SubmitDone done) {
  validation::ParsedEnvelope parsed = validation::ParseEnvelope(sealed);
  if (!parsed.proposal) return done({Rejection{400, "BAD_PAYLOAD", parsed.message, static_cast<int>(parsed.code)}});
  TxOutcome outcome;
  outcome.tx_id = parsed.proposal->tx_id;
  outcome.status.channel = parsed.proposal->channel;
  outcome.status.state = TxStatus::State::kPending;  // until its commit here
  if (parsed.envelope) {
    if (auto result = endorser::SimulationResult::Parse(parsed.envelope->result); result.ok()) {
      outcome.response = result->response;
    }
  }
  state_->SendAndAwait(Bytes(sealed.begin(), sealed.end()), std::move(outcome), wait, timeout, member,
                       std::move(resume), std::move(done));
}

Result<TxStatus> Node::StatusOf(std::string_view tx_id, std::optional<Json>* delivery) const {
  return state_->StatusOf(tx_id, delivery);
}

Result<ledger::Block> Node::GetBlock(std::string_view channel, std::uint64_t number) const {
  return state_->ledger->GetBlock(channel, number);
}

Result<std::optional<ledger::VersionedValue>> Node::GetState(std::string_view channel, std::string_view contract,
                                                             std::string_view key) const {
  return state_->ledger->GetSnapshot()->Get(channel, contract, key);
}

Result<ledger::RangePage> Node::GetStateRange(std::string_view channel, std::string_view contract,
                                              std::string_view start, std::string_view end, std::size_t page_size,
                                              std::string_view bookmark) const {
  return state_->ledger->GetSnapshot()->Range(channel, contract, start, end, page_size, bookmark);
}

ledger::Savepoint Node::Height(std::string_view channel) const { return state_->ledger->GetSavepoint(channel); }

bool Node::KnowsChannel(std::string_view channel) const {
  return state_->Members()->view.channels.count(std::string(channel)) > 0;
}

Status Node::WhenBlocks(std::string_view channel, std::uint64_t from, std::chrono::milliseconds wait,
                        const std::string& member, std::function<void()> ready) const {
  const State& s = *state_;
  std::string name(channel);
  return s.waiters->Wait(
      name, from, [&] { return s.ledger->GetSavepoint(name).height; }, HeightWaiters::Clock::now() + wait, member,
      [ready = std::move(ready)](HeightWaiters::Outcome) { ready(); });
}

chaincode::AllianceConfig Node::Alliance() const {
  std::shared_lock lock(state_->alliance_mu);
  return state_->config;
}

std::map<std::string, std::string> Node::Halted() const {
  std::lock_guard lock(state_->commit_mu);
  return state_->halted;
}

std::string Node::Metrics() const {
  const State& s = *state_;
  std::ostringstream out;
  out << "# HELP entente_node_transactions_submitted_total Envelopes this node submitted to the relay.\n"
      << "# TYPE entente_node_transactions_submitted_total counter\n"
      << "entente_node_transactions_submitted_total " << s.submitted.load() << "\n"
      << "# HELP entente_node_endorsements_total Proposals this node endorsed, and refused.\n"
      << "# TYPE entente_node_endorsements_total counter\n"
      << "entente_node_endorsements_total{outcome=\"endorsed\"} " << s.endorsed.load() << "\n"
      << "entente_node_endorsements_total{outcome=\"refused\"} " << s.refused.load() << "\n"
      << "# HELP entente_node_block_height Blocks committed per channel.\n"
      << "# TYPE entente_node_block_height gauge\n";
  for (const std::string& channel : s.ledger->Channels()) {
    out << "entente_node_block_height{channel=\"" << channel << "\"} " << s.ledger->GetSavepoint(channel).height << "\n";
  }
  out << "# HELP entente_node_refused_relay_signatures_total Relays' signatures of blocks other than the certified ones.\n"
      << "# TYPE entente_node_refused_relay_signatures_total counter\n"
      << "entente_node_refused_relay_signatures_total " << s.refused_relay_signatures.load() << "\n"
      << "# HELP entente_node_channel_halted 1 when re-validation differed from the relay's codes.\n"
      << "# TYPE entente_node_channel_halted gauge\n";
  for (const auto& [channel, why] : Halted()) out << "entente_node_channel_halted{channel=\"" << channel << "\"} 1\n";
  std::size_t total;
  {
    std::lock_guard lock(s.tcerts_mu);
    total = s.options.tcerts.size();
  }
  std::size_t valid = s.ValidTcerts();
  out << "# HELP entente_node_tcerts Transaction certificates this node signs with, and those valid now.\n"
      << "# TYPE entente_node_tcerts gauge\n"
      << "entente_node_tcerts " << total << "\n"
      << "entente_node_tcerts_valid " << valid << "\n"
      << "# HELP entente_node_tcerts_low 1 when fewer than 10% of the TCerts remain valid.\n"
      << "# TYPE entente_node_tcerts_low gauge\n"
      << "entente_node_tcerts_low " << (valid * 10 < total ? 1 : 0) << "\n"
      << "# HELP entente_node_waiting_requests Requests waiting for blocks (event streams), holding no thread.\n"
      << "# TYPE entente_node_waiting_requests gauge\n"
      << "entente_node_waiting_requests " << s.waiters->waiting() << "\n"
      << "# HELP entente_node_crls_stale Installed CRLs past their nextUpdate (still in force), due for a newer one.\n"
      << "# TYPE entente_node_crls_stale gauge\n"
      << "entente_node_crls_stale " << s.Members()->trust->StaleCrls(crypto::Clock::now()).size() << "\n";
  return out.str();
}

}  // namespace entente::node
