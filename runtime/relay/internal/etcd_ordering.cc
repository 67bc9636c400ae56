#include "runtime/relay/internal/etcd_ordering.h"

#include "runtime/validation/validation.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/common/log.h"
#include "runtime/relay/internal/batch_log.h"
#include "runtime/validation/validation.h"

namespace entente::relay::internal {
namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A batch's bytes besides its envelopes, and each envelope's length field (batch_log.cc).
constexpr std::size_t kBatchOverhead = 4 + 1 + 8 + 4;
constexpr std::size_t kLengthBytes = 4;

// An envelope waiting for its batch to be acknowledged.
struct Pending {
  Bytes envelope;
  std::promise<Result<std::uint64_t>> done;
};

}  // namespace

std::size_t MaxEnvelopeBytes() { return kMaxBatchBytes - kBatchOverhead - kLengthBytes; }
static_assert(validation::kMaxEnvelopeBytes <= kMaxBatchBytes - kBatchOverhead - kLengthBytes,
              "an envelope of the alliance's limit must fit one batch of the replicated log");

struct EtcdOrdering::Impl {
  OrderingOptions options;
  Callbacks callbacks;
  std::shared_ptr<spdlog::logger> logger;
  // Separate clients: a watch holds its member's connection for as long as it reads.
  std::unique_ptr<etcd::Client> append_client;
  std::unique_ptr<etcd::Client> read_client;
  std::unique_ptr<BatchLog> append_log;
  std::unique_ptr<BatchLog> read_log;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Pending>> pending;  // GUARDED_BY(mu)
  bool cut_requested = false;                    // GUARDED_BY(mu)
  bool stopping = false;                         // GUARDED_BY(mu)
  std::string last_error;                        // GUARDED_BY(mu)
  std::uint64_t next_seq = 0;                    // owned by the appender thread
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::int64_t> read_from{1};
  std::atomic<std::uint64_t> batches_appended{0};
  std::atomic<std::uint64_t> append_ns{0};

  std::thread appender;
  std::thread reader;

  void NoteError(const Status& status) {
    ++errors;
    std::lock_guard lock(mu);
    last_error = status.ToString();
  }

  // Appends what is pending as batches, as many envelopes per batch as fit; marks a batch cut-after
  // when nothing else waits behind it.
  void AppendLoop() {
    auto backoff = std::chrono::milliseconds(0);  // after a failed append: etcd is down or refuses
    for (;;) {
      if (backoff.count() > 0) {
        std::unique_lock lock(mu);
        if (cv.wait_for(lock, backoff, [&] { return stopping; })) continue;
      }
      std::vector<std::shared_ptr<Pending>> taken;
      bool cut_after = false;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !pending.empty() || cut_requested; });
        if (stopping) {
          for (auto& p : pending) p->done.set_value(Status::Unavailable("the relay is stopping"));
          pending.clear();
          return;
        }
        std::size_t size = kBatchOverhead;
        while (!pending.empty() && size + kLengthBytes + pending.front()->envelope.size() <= kMaxBatchBytes) {
          size += kLengthBytes + pending.front()->envelope.size();
          taken.push_back(std::move(pending.front()));
          pending.pop_front();
        }
        cut_after = pending.empty() && (cut_requested || options.cut_when_idle);
        cut_requested = false;
      }
      std::vector<Bytes> envelopes;
      envelopes.reserve(taken.size());
      for (auto& p : taken) envelopes.push_back(std::move(p->envelope));
      Result<std::uint64_t> outcome = AppendBatch(envelopes, cut_after);
      backoff = outcome.ok() ? std::chrono::milliseconds(0)
                             : std::clamp(backoff * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(400));
      for (std::size_t i = 0; i < taken.size(); ++i) {
        if (outcome.ok()) {
          taken[i]->done.set_value(PositionOf(RevisionOf(*outcome), i));
        } else {
          taken[i]->done.set_value(outcome.status());
        }
      }
    }
  }

  // Appends one batch as this relay's next number; returns the position of its first envelope.
  Result<std::uint64_t> AppendBatch(const std::vector<Bytes>& envelopes, bool cut_after) {
    for (;;) {
      const auto start = std::chrono::steady_clock::now();
      auto appended = append_log->Append(next_seq, envelopes, cut_after, NowMs());
      append_ns += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
      if (!appended.ok()) {
        // The batch may have landed with its answer lost: the next batch finds the number taken by
        // other bytes and moves on, and these envelopes are ordered as they stand.
        NoteError(appended.status());
        logger->warn("cannot append batch {} to the ordered log: {}", next_seq, appended.status().ToString());
        return Status::Unavailable("etcd did not take the batch: " + appended.status().message());
      }
      ++next_seq;
      if (*appended) {
        ++batches_appended;
        return PositionOf(**appended, 0);
      }
      // The number held other bytes: an earlier try's whose answer was lost, or another writer's.
    }
  }

  // Reads every batch from read_from on and hands its entries to the pipeline, until it stops.
  void ReadLoop() {
    std::chrono::milliseconds backoff{100};
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
      }
      bool stop = false;
      auto read = read_log->Read(read_from.load(), [&](const Batch& batch) {
        if (!batch.malformed.empty()) {
          logger->warn("batch {} of relay {} at revision {} is malformed ({}): it orders nothing", batch.seq,
                       batch.relay, batch.revision, batch.malformed);
        }
        if (batch.envelopes.empty()) {
          LogEntry marker{PositionOf(batch.revision, 0), batch.time_ms, batch.cut_after, std::nullopt, batch.relay};
          if (!batch.malformed.empty()) marker.cut_after = false;
          stop = !callbacks.on_entry(std::move(marker));
        }
        for (std::size_t i = 0; i < batch.envelopes.size() && !stop; ++i) {
          bool last = i + 1 == batch.envelopes.size();
          stop = !callbacks.on_entry(LogEntry{PositionOf(batch.revision, i), batch.time_ms, last && batch.cut_after,
                                              batch.envelopes[i], batch.relay});
        }
        if (!stop) read_from = batch.revision + 1;
        return !stop;
      }, std::chrono::seconds(1));
      if (stop) return;
      if (read.ok()) {
        read_from = std::max(read_from.load(), *read);
        backoff = std::chrono::milliseconds(100);
        continue;
      }
      if (read.status().code() == StatusCode::kFailedPrecondition) {
        callbacks.on_failure(read.status().WithContext("the ordered log cannot be read from revision " +
                                                       std::to_string(read_from.load())));
        return;
      }
      NoteError(read.status());
      logger->warn("cannot read the ordered log: {}", read.status().ToString());
      std::unique_lock lock(mu);
      cv.wait_for(lock, backoff, [&] { return stopping; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
};

EtcdOrdering::EtcdOrdering(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdOrdering::~EtcdOrdering() { Stop(); }

Result<std::unique_ptr<EtcdOrdering>> EtcdOrdering::Open(OrderingOptions options, std::int64_t resume_revision,
                                                         Callbacks callbacks) {
  if (options.relay.empty() || options.relay.find('/') != std::string::npos) {
    return Status::InvalidArgument("the relay id must be a non-empty name without '/', got '" + options.relay + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->logger = Logger("relay");
  ENTENTE_ASSIGN_OR_RETURN(impl->append_client, etcd::Client::Create(options.client));
  ENTENTE_ASSIGN_OR_RETURN(impl->read_client, etcd::Client::Create(options.client));
  impl->append_log = std::make_unique<BatchLog>(*impl->append_client, options.prefix, options.relay);
  impl->read_log = std::make_unique<BatchLog>(*impl->read_client, options.prefix, options.relay);
  ENTENTE_ASSIGN_OR_RETURN(impl->next_seq, impl->append_log->NextSeq());
  impl->read_from = std::max<std::int64_t>(resume_revision, 1);
  impl->options = std::move(options);
  impl->callbacks = std::move(callbacks);
  return std::unique_ptr<EtcdOrdering>(new EtcdOrdering(std::move(impl)));
}

void EtcdOrdering::Start() {
  Impl* raw = impl_.get();
  raw->appender = std::thread([raw] { raw->AppendLoop(); });
  raw->reader = std::thread([raw] { raw->ReadLoop(); });
}

Result<std::uint64_t> EtcdOrdering::Append(Bytes envelope) {
  Impl& impl = *impl_;
  if (envelope.size() > MaxEnvelopeBytes()) {
    return Status::InvalidArgument("an envelope of " + std::to_string(envelope.size()) +
                                   " bytes does not fit in a batch of the ordered log (at most " +
                                   std::to_string(MaxEnvelopeBytes()) + ")");
  }
  auto pending = std::make_shared<Pending>();
  pending->envelope = std::move(envelope);
  std::future<Result<std::uint64_t>> done = pending->done.get_future();
  {
    std::lock_guard lock(impl.mu);
    if (impl.stopping) return Status::Unavailable("the relay is stopping");
    if (impl.pending.size() >= impl.options.max_pending) {
      return Status::ResourceExhausted(std::to_string(impl.pending.size()) + " envelopes wait for etcd already");
    }
    impl.pending.push_back(std::move(pending));
  }
  impl.cv.notify_all();
  if (done.wait_for(impl.options.append_timeout) != std::future_status::ready) {
    return Status::Unavailable("etcd did not acknowledge the batch within " +
                               std::to_string(impl.options.append_timeout.count()) + " ms" +
                               (last_error().empty() ? "" : " (last error: " + last_error() + ")"));
  }
  return done.get();
}

void EtcdOrdering::RequestCut() {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->pending.empty()) return;
    impl_->cut_requested = true;
  }
  impl_->cv.notify_all();
}

std::uint64_t EtcdOrdering::errors() const { return impl_->errors.load(); }

std::string EtcdOrdering::last_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_error;
}

std::int64_t EtcdOrdering::read_revision() const { return impl_->read_from.load(); }

std::uint64_t EtcdOrdering::appends() const { return impl_->batches_appended.load(); }

double EtcdOrdering::append_seconds() const { return static_cast<double>(impl_->append_ns.load()) / 1e9; }

void EtcdOrdering::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->appender.joinable()) impl_->appender.join();
  if (impl_->reader.joinable()) impl_->reader.join();
}

}  // namespace entente::relay::internal
