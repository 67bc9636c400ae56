// Block certificates of replicated relays (docs/relay.md): publishes this relay's signature of each
// block it commits at `<prefix>/sig/<channel>/<number, 20 digits>/<relay>` in etcd, gathers the other
// relays' signatures of the same blocks, and certifies a block once relays holding more than half of
// the relays' weight signed exactly the block this relay built. A signature that does not verify on it
// is a disagreement: its relay built another block (logged, counted, never followed). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "runtime/alliance/alliance.h"
#include "runtime/common/bytes.h"
#include "runtime/common/status.h"
#include "runtime/etcd/etcd.h"
#include "runtime/ledger/ledger.h"

namespace entente::relay::internal {

// A relay whose signature of a block does not verify on the block the others certified.
struct Disagreement {
  std::string relay;
  std::string channel;
  std::uint64_t block = 0;
};

class Certifier {
 public:
  struct Options {
    etcd::ClientOptions client;
    std::string prefix;
    std::string relay;  // this relay's id
  };
  struct Hooks {
    // Block `number` of `channel` as this relay committed it; nullopt when it has not (yet).
    std::function<std::optional<ledger::Block>(const std::string& channel, std::uint64_t number)> block;
    // The membership whose relays certify blocks now.
    std::function<std::shared_ptr<const alliance::Membership>()> members;
    // Block `number` of `channel` is certified by `signatures` (every signature published for it,
    // the ones that do not verify included: a node counts the valid ones itself). Called in block order.
    std::function<void(const std::string& channel, std::uint64_t number, const std::map<std::string, Bytes>& signatures)>
        certified;
  };

  // Starts publishing and gathering; `certified` holds each channel's certified height (the number of
  // its first block without a certificate) and `pending` this relay's signatures of the blocks from
  // there that it committed already (published again: a crash may have come first).
  static Result<std::unique_ptr<Certifier>> Open(Options options, Hooks hooks,
                                                 std::map<std::string, std::uint64_t> certified,
                                                 std::map<std::string, std::map<std::uint64_t, Bytes>> pending);
  ~Certifier();  // Stop()s
  Certifier(const Certifier&) = delete;
  Certifier& operator=(const Certifier&) = delete;

  // Publishes this relay's `signature` of block `number` of `channel`, which it just committed.
  void Committed(const std::string& channel, std::uint64_t number, Bytes signature);
  // The disagreements seen so far, oldest first (at most the last 100).
  std::vector<Disagreement> disagreements() const;
  std::uint64_t disagreement_count() const;
  // The revision the signatures are watched from: this relay needs none written before it.
  std::int64_t watch_revision() const;
  void Stop();

 private:
  struct Impl;
  explicit Certifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::relay::internal
