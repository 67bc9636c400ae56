// Catching up from peers (docs/relay.md): a replicated relay that was down while the ordered log it
// needs was compacted takes the blocks its peers certified instead, checks each one's certificate
// and validates it again as a node does, commits it, and reads the log on from the revision the
// last of them names.
#include "runtime/relay/internal/pipeline.h"

#include <algorithm>
#include <set>
#include <thread>

#include "runtime/common/address.h"
#include "runtime/http/http.h"

namespace entente::relay {

using namespace internal;

namespace {

// Blocks asked of a peer at a time.
constexpr std::size_t kPage = 100;
// How long a relay waits for its peers' certified blocks to reach the compacted log.
constexpr auto kCatchUpDeadline = std::chrono::minutes(5);

}  // namespace

Status Relay::State::CatchUp() {
  const EtcdOrderingOptions& etcd = *options.etcd;
  ENTENTE_ASSIGN_OR_RETURN(auto client, etcd::Client::Create(EtcdClientOptions(etcd)));
  std::int64_t resume = 1;
  ENTENTE_ASSIGN_OR_RETURN(auto stored, ledger->GetMeta(std::string(kResumeKey)));
  if (stored) resume = std::stoll(ToString(*stored));
  const auto deadline = Clock::now() + kCatchUpDeadline;
  for (bool first = true;; first = false) {
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t compacted, CompactedRevision(*client, etcd.prefix));
    if (resume >= compacted) return Status::Ok();
    if (first) {
      logger->warn("the ordered log before revision {} was compacted while this relay stood at {}: catching up from "
                   "its peers' certified blocks", compacted, resume);
    }
    // The alliance channel first: the other channels' blocks name memberships it records (and it may
    // add chains).
    ENTENTE_ASSIGN_OR_RETURN(std::size_t fetched, FetchFromPeers(std::string(alliance::kAllianceChannel)));
    std::set<std::string> channels;
    {
      std::shared_lock lock(alliance_mu);
      for (const chaincode::Member& member : config.members) channels.insert(member.name);
    }
    for (const std::string& channel : ledger->Channels()) channels.insert(channel);
    channels.erase(std::string(alliance::kAllianceChannel));
    for (const std::string& channel : channels) {
      ENTENTE_ASSIGN_OR_RETURN(std::size_t n, FetchFromPeers(channel));
      fetched += n;
    }
    channels.insert(std::string(alliance::kAllianceChannel));
    // Where the last block cut names the log's unblocked envelopes to start: the latest of them.
    std::int64_t named = resume;
    for (const std::string& channel : channels) {
      std::uint64_t height = ledger->GetSavepoint(channel).height;
      if (height == 0) continue;
      ENTENTE_ASSIGN_OR_RETURN(ledger::Block last, ledger->GetBlock(channel, height - 1));
      named = std::max(named, last.metadata.resume_revision);
    }
    if (named > resume) {
      ENTENTE_RETURN_IF_ERROR(ledger->PutMeta({{std::string(kResumeKey), ToBytes(std::to_string(named))}}));
      resume = named;
    }
    logger->info("caught up {} blocks from peers; the log resumes at revision {} (compacted at {})", fetched, resume,
                 compacted);
    if (resume >= compacted) return Status::Ok();
    if (Clock::now() > deadline) {
      return Status::FailedPrecondition(
          "the ordered log before revision " + std::to_string(compacted) + " was compacted and the peers' certified "
          "blocks reach only revision " + std::to_string(resume) + "; start this relay from a copy of a peer relay's "
          "data directory (docs/relay.md)");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Result<std::size_t> Relay::State::FetchFromPeers(const std::string& channel) {
  std::vector<chaincode::AllianceRelay> peers;
  {
    std::shared_lock lock(alliance_mu);
    for (const chaincode::AllianceRelay& relay : config.relays) {
      if (relay.id != options.etcd->relay_id) peers.push_back(relay);
    }
  }
  std::size_t fetched = 0;
  for (const chaincode::AllianceRelay& peer : peers) {
    std::optional<Address> address = ParseAddress(peer.endpoint);
    if (!address) continue;
    http::ClientOptions client_options;
    client_options.host = address->host;
    client_options.port = address->port;
    client_options.tls = {options.etcd->peer_cert_file, options.etcd->peer_key_file, {CaFile()}};
    client_options.timeout = std::chrono::seconds(30);
    http::Client client(client_options);
    for (;;) {
      std::uint64_t from = CertifiedHeight(channel);
      auto response = client.Get("/v1/channels/" + channel + "/blocks?from=" + std::to_string(from) +
                                 "&max=" + std::to_string(kPage));
      if (response.ok() && response->status == 404) break;  // a channel without blocks there
      if (!response.ok() || response->status != 200) {
        logger->warn("catching up {} from relay {}: {}", channel, peer.id,
                     response.ok() ? "it answered " + std::to_string(response->status) : response.status().ToString());
        break;
      }
      auto page = ParseJson(response->body);
      if (!page.ok() || !page->is_object() || !page->contains("blocks") || !(*page)["blocks"].is_array()) {
        logger->warn("catching up {} from relay {}: its answer holds no blocks array", channel, peer.id);
        break;
      }
      std::size_t taken = 0;
      Status s = Status::Ok();
      for (const Json& j : (*page)["blocks"]) {
        auto block = ledger::Block::FromJson(j);
        s = block.ok() ? TakeCertifiedBlock(channel, *block) : block.status();
        if (!s.ok()) break;
        ++taken;
      }
      fetched += taken;
      if (!s.ok()) {
        // A peer that serves something else than certified blocks is passed over, never followed.
        logger->warn("catching up {} from relay {}: {}", channel, peer.id, s.ToString());
        if (s.IsCorruption()) return s;
        break;
      }
      if (taken == 0) break;
    }
  }
  return fetched;
}

std::uint64_t Relay::State::CertifiedHeight(const std::string& channel) const {
  auto stored = ledger->GetMeta(CertifiedKey(channel));
  if (stored.ok() && *stored) return std::stoull(ToString(**stored));
  return channel == alliance::kAllianceChannel ? 1 : 0;
}

Status Relay::State::TakeCertifiedBlock(const std::string& channel, const ledger::Block& block) {
  const std::uint64_t n = block.header.number;
  const std::string name = "block " + std::to_string(n) + " of " + channel;
  if (block.header.channel != channel || n != CertifiedHeight(channel)) {
    return Status::InvalidArgument("the peer answered " + name + " out of turn");
  }
  // Certified by relays of the membership the block names.
  std::shared_ptr<const alliance::Membership> members = Members();
  if (block.metadata.alliance_height != members->alliance_height) {
    ENTENTE_ASSIGN_OR_RETURN(members, past_memberships->At(block.metadata.alliance_height, options.crl_pems));
  }
  if (!alliance::CheckBlockCertificate(*members, block).certified()) {
    return Status::InvalidArgument(name + " is not certified by relays of more than the alliance's relay_quorum_percent");
  }
  Json certificate = Json::object();
  for (const auto& [relay, signature] : block.metadata.certificate) certificate[relay] = Base64Encode(signature);
  ledger::MetaEntries certified{{CertificateKey(channel, n), JsonBytes(certificate)},
                                {CertifiedKey(channel), ToBytes(std::to_string(n + 1))}};
  ledger::Savepoint savepoint = ledger->GetSavepoint(channel);
  if (n < savepoint.height) {
    // This relay committed it before it stopped: the certificate is for exactly its block, or its
    // ledger left the alliance's chain.
    ENTENTE_ASSIGN_OR_RETURN(ledger::Block mine, ledger->GetBlock(channel, n));
    if (mine.SignedMetadataBytes() != block.SignedMetadataBytes()) {
      return Status::Corruption("this relay's " + name + " is not the one its peers certified: start it from a copy "
                                "of a peer relay's data directory (docs/relay.md)");
    }
    return ledger->PutMeta(certified);
  }
  Status follows = alliance::CheckBlockFollows(savepoint, block);
  if (!follows.ok()) return Status::InvalidArgument(follows.message());
  auto snapshot = ledger->GetSnapshot();
  ENTENTE_ASSIGN_OR_RETURN(alliance::Replay replay,
                           alliance::ReplayBlock(*members, *snapshot, block, options.proposal_window));
  if (!replay.disagreement.empty()) {
    return Status::Corruption("the relays certified " + name + " and this relay decides otherwise: " +
                              replay.disagreement);
  }
  // Recorded as this relay would have committed it, but for the positions of its envelopes but the
  // last, which the block does not carry (0).
  ledger::Block mine = block;
  mine.metadata.certificate.clear();
  ENTENTE_ASSIGN_OR_RETURN(mine.metadata.relay_signature, options.signing_key->Sign(mine.SignedMetadataBytes()));
  std::vector<const validation::CheckedEnvelope*> checked;
  for (const auto& c : replay.checked) checked.push_back(&c);
  std::vector<std::uint64_t> seqs(block.envelopes.size(), 0);
  if (!seqs.empty()) seqs.back() = block.metadata.log_position;
  auto [meta, deliveries_of_block] =
      RecordsOf(mine, replay.verdict, checked, replay.hashes, seqs, members->view.external_channels);
  meta.insert(meta.end(), certified.begin(), certified.end());
  meta.emplace_back(OrderedKey(channel), ToBytes(std::to_string(block.metadata.log_position)));
  ENTENTE_RETURN_IF_ERROR(ledger->Commit(mine, replay.verdict.txs, meta));
  deliveries->Enqueue(std::move(deliveries_of_block));
  if (channel == alliance::kAllianceChannel) {
    std::lock_guard reload(reload_mu);
    ENTENTE_RETURN_IF_ERROR(LoadAlliance());
  }
  return Status::Ok();
}

}  // namespace entente::relay
