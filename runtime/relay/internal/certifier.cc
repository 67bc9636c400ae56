#include "runtime/relay/internal/certifier.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "runtime/common/log.h"

namespace entente::relay::internal {
namespace {

std::string Number(std::uint64_t n) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(n));
  return digits;
}

// Block 0 of the alliance channel is the genesis, which no relay signs.
std::uint64_t FirstSigned(const std::string& channel) { return channel == alliance::kAllianceChannel ? 1 : 0; }

struct SignatureKey {
  std::string channel;
  std::uint64_t number = 0;
  std::string relay;
};

// "<channel>/<number, 20 digits>/<relay>" under `sig_prefix`; nullopt for any other shape.
std::optional<SignatureKey> ParseSignatureKey(std::string_view key, std::string_view sig_prefix) {
  if (!key.starts_with(sig_prefix)) return std::nullopt;
  std::string_view rest = key.substr(sig_prefix.size());
  auto last = rest.rfind('/');
  if (last == std::string_view::npos || last + 1 == rest.size()) return std::nullopt;
  auto middle = rest.rfind('/', last - 1);
  if (last == 0 || middle == std::string_view::npos || middle == 0) return std::nullopt;
  std::string_view digits = rest.substr(middle + 1, last - middle - 1);
  if (digits.size() != 20 || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return SignatureKey{std::string(rest.substr(0, middle)), std::stoull(std::string(digits)),
                      std::string(rest.substr(last + 1))};
}

}  // namespace

struct Certifier::Impl {
  Options options;
  Hooks hooks;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<etcd::Client> publish_client;
  std::unique_ptr<etcd::Client> watch_client;
  std::string sig_prefix;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::tuple<std::string, std::uint64_t, Bytes>> to_publish;  // GUARDED_BY(mu)
  bool stopping = false;                                                 // GUARDED_BY(mu)
  std::map<std::string, std::uint64_t> next;                             // GUARDED_BY(mu): certified heights
  std::map<std::pair<std::string, std::uint64_t>, std::map<std::string, Bytes>> seen;  // GUARDED_BY(mu)
  std::set<std::tuple<std::string, std::string, std::uint64_t>> reported;  // GUARDED_BY(mu)
  std::deque<Disagreement> recent;                                          // GUARDED_BY(mu)
  std::atomic<std::uint64_t> disagreement_count{0};
  std::atomic<std::int64_t> watched_from{1};

  std::thread publisher;
  std::thread watcher;

  std::uint64_t& NextOf(const std::string& channel) {
    auto it = next.find(channel);
    if (it == next.end()) it = next.emplace(channel, FirstSigned(channel)).first;
    return it->second;
  }

  // Records that `relay` signed another block than this relay's `number` of `channel`. REQUIRES mu.
  void Report(const std::string& relay, const std::string& channel, std::uint64_t number) {
    if (!reported.insert({relay, channel, number}).second) return;
    ++disagreement_count;
    recent.push_back({relay, channel, number});
    if (recent.size() > 100) recent.pop_front();
    logger->error("relay {} signed another block {} of {} than this relay built: its signature is refused", relay,
                  number, channel);
  }

  // Certifies the blocks of `channel` that have a quorum of signatures now, in order. REQUIRES mu.
  void TryCertify(const std::string& channel) {
    auto members = hooks.members();
    for (;;) {
      std::uint64_t& n = NextOf(channel);
      auto found = seen.find({channel, n});
      if (found == seen.end()) return;
      std::optional<ledger::Block> block = hooks.block(channel, n);
      if (!block) return;
      block->metadata.certificate = found->second;
      alliance::CertificateCheck check = alliance::CheckBlockCertificate(*members, *block);
      for (const std::string& relay : check.refused) Report(relay, channel, n);
      if (!check.certified()) return;
      hooks.certified(channel, n, found->second);
      seen.erase(found);
      ++n;
    }
  }

  // Takes a signature seen in etcd. REQUIRES mu.
  void Take(const SignatureKey& key, Bytes signature) {
    if (key.number < NextOf(key.channel)) {
      // Late for the certificate: still checked, so that a relay that built another block is reported.
      std::optional<ledger::Block> block = hooks.block(key.channel, key.number);
      if (!block) return;
      block->metadata.certificate = {{key.relay, std::move(signature)}};
      if (!alliance::CheckBlockCertificate(*hooks.members(), *block).refused.empty()) {
        Report(key.relay, key.channel, key.number);
      }
      return;
    }
    seen[{key.channel, key.number}][key.relay] = std::move(signature);
    TryCertify(key.channel);
  }

  void PublishLoop() {
    for (;;) {
      std::tuple<std::string, std::uint64_t, Bytes> item;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !to_publish.empty(); });
        if (stopping) return;
        item = to_publish.front();
      }
      const auto& [channel, number, signature] = item;
      auto put = publish_client->PutIfAbsent(sig_prefix + channel + "/" + Number(number) + "/" + options.relay, signature);
      std::unique_lock lock(mu);
      if (!put.ok()) {
        logger->warn("cannot publish the signature of block {} of {}: {}", number, channel, put.status().ToString());
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping; });
        continue;
      }
      to_publish.pop_front();
    }
  }

  // Takes every signature still stored (after a compaction passed where the watch stood); returns the
  // revision to watch from next.
  Result<std::int64_t> ReadStored() {
    ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult stored, watch_client->Range({sig_prefix, etcd::PrefixEnd(sig_prefix)}));
    std::lock_guard lock(mu);
    for (const etcd::KeyValue& kv : stored.kvs) {
      auto key = ParseSignatureKey(kv.key, sig_prefix);
      if (key && kv.value.size() <= 256) Take(*key, kv.value);
    }
    return stored.revision + 1;
  }

  void WatchLoop() {
    std::int64_t from = 1;
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
      }
      auto watched = watch_client->Watch(
          {sig_prefix, etcd::PrefixEnd(sig_prefix)}, from,
          [&](const std::vector<etcd::WatchEvent>& events) {
            std::lock_guard lock(mu);
            for (const etcd::WatchEvent& event : events) {
              from = std::max(from, event.kv.mod_revision + 1);
              if (event.type != etcd::WatchEvent::Type::kPut) continue;
              auto key = ParseSignatureKey(event.kv.key, sig_prefix);
              if (!key || event.kv.value.size() > 256) continue;  // not a signature of a block
              Take(*key, event.kv.value);
            }
            return !stopping;
          },
          std::chrono::seconds(1));
      if (watched.ok()) {
        from = std::max(from, *watched);
        watched_from = from;
        backoff = std::chrono::milliseconds(100);
        continue;
      }
      if (watched.status().code() == StatusCode::kFailedPrecondition) {
        // Compacted past where the watch stood: what is stored is read, and the watch goes on after it.
        auto next = ReadStored();
        if (next.ok()) {
          from = *next;
          watched_from = from;
          continue;
        }
        watched = next.status();
      }
      logger->warn("cannot watch the relays' signatures: {}", watched.status().ToString());
      std::unique_lock lock(mu);
      cv.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
};

Certifier::Certifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Certifier::~Certifier() { Stop(); }

Result<std::unique_ptr<Certifier>> Certifier::Open(Options options, Hooks hooks,
                                                   std::map<std::string, std::uint64_t> certified,
                                                   std::map<std::string, std::map<std::uint64_t, Bytes>> pending) {
  auto impl = std::make_unique<Impl>();
  impl->logger = Logger("relay");
  ENTENTE_ASSIGN_OR_RETURN(impl->publish_client, etcd::Client::Create(options.client));
  ENTENTE_ASSIGN_OR_RETURN(impl->watch_client, etcd::Client::Create(options.client));
  impl->sig_prefix = options.prefix + "/sig/";
  impl->options = std::move(options);
  impl->hooks = std::move(hooks);
  impl->next = std::move(certified);
  for (auto& [channel, signatures] : pending) {
    for (auto& [number, signature] : signatures) {
      impl->seen[{channel, number}][impl->options.relay] = signature;
      impl->to_publish.emplace_back(channel, number, std::move(signature));
    }
  }
  Impl* raw = impl.get();
  impl->publisher = std::thread([raw] { raw->PublishLoop(); });
  impl->watcher = std::thread([raw] { raw->WatchLoop(); });
  return std::unique_ptr<Certifier>(new Certifier(std::move(impl)));
}

void Certifier::Committed(const std::string& channel, std::uint64_t number, Bytes signature) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->seen[{channel, number}][impl_->options.relay] = signature;
    impl_->to_publish.emplace_back(channel, number, std::move(signature));
    impl_->TryCertify(channel);
  }
  impl_->cv.notify_all();
}

std::vector<Disagreement> Certifier::disagreements() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->recent.begin(), impl_->recent.end()};
}

std::uint64_t Certifier::disagreement_count() const { return impl_->disagreement_count.load(); }

std::int64_t Certifier::watch_revision() const { return impl_->watched_from.load(); }

void Certifier::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->publisher.joinable()) impl_->publisher.join();
  if (impl_->watcher.joinable()) impl_->watcher.join();
}

}  // namespace entente::relay::internal
