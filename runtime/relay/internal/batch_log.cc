#include "runtime/relay/internal/batch_log.h"

#include <algorithm>
#include <cstdio>

namespace entente::relay::internal {
namespace {

constexpr char kMagic[] = "EBT1";
constexpr std::size_t kFixed = 4 + 1 + 8 + 4;  // magic, flag, time, count

void PutU32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void PutI64(Bytes& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(u >> shift));
}
std::uint64_t GetBig(ByteView in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[at + static_cast<std::size_t>(i)];
  return v;
}

// "<relay>/<seq>" of a key under `log_prefix`, or nullopt for another shape.
std::optional<std::pair<std::string, std::uint64_t>> RelayAndSeq(std::string_view key, std::string_view log_prefix) {
  if (!key.starts_with(log_prefix)) return std::nullopt;
  std::string_view rest = key.substr(log_prefix.size());
  auto slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::string_view digits = rest.substr(slash + 1);
  if (digits.size() != 20 || digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, slash)), std::stoull(std::string(digits)));
}

}  // namespace

Result<Bytes> EncodeBatch(const std::vector<Bytes>& envelopes, bool cut_after, std::int64_t time_ms) {
  std::size_t size = kFixed;
  for (const Bytes& e : envelopes) size += 4 + e.size();
  if (size > kMaxBatchBytes) {
    return Status::InvalidArgument("a batch of " + std::to_string(size) + " bytes exceeds the limit of " +
                                   std::to_string(kMaxBatchBytes));
  }
  Bytes out(kMagic, kMagic + 4);
  out.reserve(size);
  out.push_back(cut_after ? 1 : 0);
  PutI64(out, time_ms);
  PutU32(out, static_cast<std::uint32_t>(envelopes.size()));
  for (const Bytes& e : envelopes) {
    PutU32(out, static_cast<std::uint32_t>(e.size()));
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

void DecodeBatch(ByteView value, Batch& batch) {
  batch.envelopes.clear();
  auto malformed = [&](std::string why) {
    batch.envelopes.clear();
    batch.malformed = std::move(why);
  };
  if (value.size() > kMaxBatchBytes) return malformed("the batch exceeds " + std::to_string(kMaxBatchBytes) + " bytes");
  if (value.size() < kFixed || !std::equal(kMagic, kMagic + 4, value.begin())) return malformed("not a batch");
  if (value[4] > 1) return malformed("the cut flag is neither 0 nor 1");
  batch.cut_after = value[4] == 1;
  batch.time_ms = static_cast<std::int64_t>(GetBig(value, 5, 8));
  std::uint64_t count = GetBig(value, 13, 4);
  std::size_t at = kFixed;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (value.size() - at < 4) return malformed("envelope " + std::to_string(i) + " has no length");
    std::uint64_t length = GetBig(value, at, 4);
    at += 4;
    if (value.size() - at < length) return malformed("envelope " + std::to_string(i) + " runs past the batch");
    batch.envelopes.emplace_back(value.begin() + static_cast<std::ptrdiff_t>(at),
                                 value.begin() + static_cast<std::ptrdiff_t>(at + length));
    at += length;
  }
  if (at != value.size()) return malformed("bytes follow the last envelope");
  batch.malformed.clear();
}

BatchLog::BatchLog(etcd::Client& client, std::string prefix, std::string relay)
    : client_(client), prefix_(std::move(prefix)), relay_(std::move(relay)) {}

std::string BatchLog::KeyOf(const std::string& relay, std::uint64_t seq) const {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return prefix_ + "/log/" + relay + "/" + digits;
}

Result<std::optional<std::int64_t>> BatchLog::Append(std::uint64_t seq, const std::vector<Bytes>& envelopes,
                                                     bool cut_after, std::int64_t time_ms) {
  ENTENTE_ASSIGN_OR_RETURN(Bytes value, EncodeBatch(envelopes, cut_after, time_ms));
  const std::string key = KeyOf(relay_, seq);
  ENTENTE_ASSIGN_OR_RETURN(auto written, client_.PutIfAbsent(key, value));
  if (written) return written;
  // The key exists: an earlier try of this append whose answer was lost, or another writer's.
  ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult found, client_.Range({key}));
  if (found.kvs.size() == 1 && found.kvs[0].value == value && found.kvs[0].version == 1) {
    return std::optional<std::int64_t>(found.kvs[0].mod_revision);
  }
  return std::optional<std::int64_t>();
}

Result<std::uint64_t> BatchLog::NextSeq() {
  // The highest key of this relay: its keys sort by number (20 digits).
  const std::string mine = prefix_ + "/log/" + relay_ + "/";
  std::uint64_t next = 0;
  etcd::RangeRequest request{mine, etcd::PrefixEnd(mine)};
  ENTENTE_ASSIGN_OR_RETURN(etcd::RangeResult keys, client_.Range(request));
  for (const etcd::KeyValue& kv : keys.kvs) {
    if (auto parsed = RelayAndSeq(kv.key, prefix_ + "/log/"); parsed && parsed->first == relay_) {
      next = std::max(next, parsed->second + 1);
    }
  }
  return next;
}

Result<std::int64_t> BatchLog::Read(std::int64_t revision, const std::function<bool(const Batch&)>& on_batch,
                                    std::chrono::milliseconds duration) {
  const std::string log_prefix = prefix_ + "/log/";
  std::int64_t next = revision;  // one past the last event handled (Watch's answer may run past a stop)
  auto watched = client_.Watch(
      {log_prefix, etcd::PrefixEnd(log_prefix)}, revision,
      [&](const std::vector<etcd::WatchEvent>& events) {
        for (const etcd::WatchEvent& event : events) {
          next = std::max(next, event.kv.mod_revision + 1);
          // Batches are written once: a deletion is the log's compaction, and a rewrite (version > 1)
          // is no batch; every reader skips both alike.
          if (event.type != etcd::WatchEvent::Type::kPut || event.kv.version != 1) continue;
          Batch batch;
          batch.revision = event.kv.mod_revision;
          if (auto parsed = RelayAndSeq(event.kv.key, log_prefix)) {
            batch.relay = parsed->first;
            batch.seq = parsed->second;
            DecodeBatch(event.kv.value, batch);
          } else {
            batch.malformed = "the key " + event.kv.key + " names no relay and batch";
          }
          if (!on_batch(batch)) return false;
        }
        return true;
      },
      duration);
  if (!watched.ok()) return watched.status();
  return next;
}

}  // namespace entente::relay::internal
