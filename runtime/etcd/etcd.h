// A client of an etcd v3 cluster through its JSON gateway over mutual TLS (DESIGN.md §11): the key-value
// calls the replicated relays order and store with. Keys and values are bytes (the gateway carries them
// in base64 and int64 fields as strings; this library hides both). A call goes to the member that
// answered last and, when that member cannot be reached, to the next one in turn, so a minority of
// members down costs no more than a failed connection. Thread-safe: calls are serialized per member.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::etcd {

struct ClientOptions {
  std::vector<std::string> endpoints;  // "https://host:port" or "host:port" of each member's client URL
  std::string cert_file;               // the client certificate and key etcd requires
  std::string key_file;
  std::vector<std::string> ca_files;   // CAs trusted for the members' server certificates
  std::chrono::milliseconds timeout{5000};  // per call to one member
};

struct KeyValue {
  std::string key;
  Bytes value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // in key order
  bool more = false;          // the limit cut the answer
  std::int64_t count = 0;     // keys in the range
  std::int64_t revision = 0;  // the store's revision when it answered
};

// What Range reads: `key` alone, or [key, range_end) when range_end is set (PrefixEnd(key) for a prefix).
struct RangeRequest {
  std::string key;
  std::optional<std::string> range_end;
  std::int64_t limit = 0;         // 0: no limit
  std::int64_t revision = 0;      // 0: the latest
  std::int64_t min_mod_revision = 0;
  std::int64_t max_mod_revision = 0;  // 0: no bound
  bool keys_only = false;             // values left out
};

// A change a watch saw.
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // after a put; for a delete, the key and the deleting revision (mod_revision)
};

// The range end that makes [prefix, PrefixEnd(prefix)) every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

class Client {
 public:
  // InvalidArgument for no endpoint or an endpoint that is not host:port.
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Writes `value` at `key`; returns the revision of the write.
  Result<std::int64_t> Put(std::string_view key, ByteView value, std::int64_t lease = 0);
  // Writes `value` at `key` only if no such key exists (create_revision == 0): an idempotent append.
  // Returns the revision of the write, or nullopt when the key existed (nothing written).
  // With `lease`, the key goes when the lease expires.
  Result<std::optional<std::int64_t>> PutIfAbsent(std::string_view key, ByteView value, std::int64_t lease = 0);
  Result<RangeResult> Range(const RangeRequest& request);
  // Deletes [key, range_end) (the key alone without range_end); returns how many keys it deleted.
  Result<std::int64_t> DeleteRange(std::string_view key, std::optional<std::string_view> range_end = std::nullopt);
  // Deletes each of `keys` (at most 128, etcd's limit of operations per transaction) in one transaction.
  Status DeleteKeys(const std::vector<std::string>& keys);
  // Discards the history before `revision` (the keys' current values stay).
  Status Compact(std::int64_t revision);
  // Defragments every member in turn, returning the space compaction freed to the file system; the
  // members that could not, with why (Unavailable), once all were tried.
  Status Defragment();
  // A lease of `ttl_seconds`; returns its id.
  Result<std::int64_t> GrantLease(std::int64_t ttl_seconds);
  // Renews lease `id`; NotFound once it expired.
  Status KeepAlive(std::int64_t id);
  Status RevokeLease(std::int64_t id);
  // Watches `range` (its key and range_end) from `start_revision` on, handing each batch of events
  // to `on_events` in revision order as etcd sends them, until `on_events` returns false or `duration`
  // has passed. Returns the revision to watch from next (one past the last event seen, or
  // `start_revision`); FailedPrecondition when `start_revision` was compacted away (read the range
  // instead).
  Result<std::int64_t> Watch(const RangeRequest& range, std::int64_t start_revision,
                             const std::function<bool(const std::vector<WatchEvent>&)>& on_events,
                             std::chrono::milliseconds duration);

  // Every call fails with Unavailable naming each member tried and why, once no member answered;
  // an error etcd gave is FailedPrecondition (or NotFound, ResourceExhausted for its space alarm) with
  // etcd's message.

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::etcd
