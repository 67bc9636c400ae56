// Adapters (DESIGN.md §8): a ChainAdapter reaches one member chain through that chain's own API, to
// read its state with versions during simulation, to check at commit that a version read is still
// current, and to deliver committed cross-chain writes to it. RoutedRemoteState is the endorser's
// RemoteState over a set of adapters: it lets a contract read another chain only along a route of the
// alliance. Thread-safety: ChainAdapter implementations and RoutedRemoteState are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/endorser/endorser.h"
#include "runtime/ledger/ledger.h"
#include "runtime/validation/validation.h"

namespace entente::adapters {

// One write of a committed cross-chain transaction, to apply on the chain it targets.
struct CrossChainWrite {
  std::string tx_id;     // the committed transaction's id: what makes delivery idempotent
  std::string channel;   // the target chain (the adapter's chain())
  std::string contract;  // the namespace written on that chain
  std::string key;
  Bytes value;  // empty when is_delete
  bool is_delete = false;
  // The data-consistency check of the write: when set, the write applies only while the key's version
  // on the target chain is still `expected_version` (what the transaction read there during
  // simulation; nullopt: it read the key as absent). When not set, the write is blind.
  bool check_version = false;
  std::optional<ledger::Version> expected_version;
};

// The prefix of the message of a delivery refused because the key's version on the target chain is no
// longer the one the transaction read (returned as FailedPrecondition): "consistency failure: ...".
inline constexpr char kConsistencyFailure[] = "consistency failure";

// What a chain answered to a delivery.
struct Receipt {
  std::string tx_id;
  bool applied = false;  // false when the write had been applied before (by an earlier delivery or the relay)
  std::string detail;    // in words, e.g. "committed by the relay in block 7"
  // What the chain answered that proves it, as facts: {"transaction", "block"} of an Ethereum
  // transaction, {"status", "answer"} of a REST service (etcd's answer holds its revision), {"block"}
  // of an Entente chain. Empty when there is nothing to show (applied before).
  Json evidence = Json::object();
};

// A bridge to one member chain. Every method may block on the network; none throws. The Status codes
// mean the same for every implementation:
//   Unavailable       the chain cannot be reached (after the implementation's retries) or answered that
//                     it cannot serve now; retrying later may help;
//   PermissionDenied  the chain refused this adapter's identity;
//   InvalidArgument   the request cannot be sent (an empty key, a write for another chain, ...);
//   Internal          the chain answered something that is not its API's shape (not JSON, a missing
//                     field, bad base64): a bug there, or another service at that endpoint.
// Implementations are thread-safe.
class ChainAdapter {
 public:
  virtual ~ChainAdapter() = default;

  // The name of the chain (its channel in the alliance) this adapter reaches.
  virtual const std::string& chain() const = 0;

  // Returns the committed value of `key` in namespace `contract` on this chain with its version
  // there, or nullopt when the key does not exist.
  virtual Result<std::optional<endorser::RemoteValue>> Read(std::string_view contract, std::string_view key) = 0;

  // Returns true if `version` is still the committed version of `key` in `contract` on this chain,
  // false if the key was written again or deleted since (the data-consistency check at commit).
  virtual Result<bool> StillCurrent(std::string_view contract, std::string_view key,
                                    const ledger::Version& version) = 0;

  // Applies `write` of a committed cross-chain transaction on this chain, idempotently by its tx id
  // (a transaction writes a key once, so tx id, contract and key name one write): a second delivery of
  // the same write changes nothing and returns a receipt with applied = false. Returns
  // FailedPrecondition when the chain cannot accept the write: the message starts with
  // kConsistencyFailure when write.check_version is set and the key's version there differs (nothing
  // is applied), else says why (e.g. the transaction is not committed valid where the implementation
  // expects it); InvalidArgument for a write addressed to another chain. Unavailable means the outcome
  // is unknown and the delivery may be retried (idempotency makes that safe).
  virtual Result<Receipt> Deliver(const CrossChainWrite& write) = 0;

  // Returns the chain's height: the number of blocks it has committed.
  virtual Result<std::uint64_t> Height() = 0;
};

// Gives the alliance as it is now (the relay and nodes rebuild the view when the alliance changes);
// nullptr while none is loaded. Called on every read, from any thread.
using AllianceSource = std::function<std::shared_ptr<const validation::AllianceView>()>;

// The endorser's RemoteState over adapters: a contract `from_contract` on `from_channel` may read
// namespace `contract` on chain `channel` only if a route of the current alliance allows it (a read or
// a write route); the read then goes to the adapter of that chain.
class RoutedRemoteState : public endorser::RemoteState {
 public:
  // Returns InvalidArgument for a null adapter, two adapters of the same chain, or an empty source.
  static Result<std::unique_ptr<RoutedRemoteState>> Create(std::vector<std::shared_ptr<ChainAdapter>> adapters,
                                                           AllianceSource alliance);

  // Returns the value and version of `key` on `channel`, nullopt when it does not exist there.
  // PermissionDenied (naming both ends) when no route of the alliance lets `from_contract` on
  // `from_channel` read `contract` on `channel`; NotFound when this process has no adapter for
  // `channel` (a configuration gap, not a transient failure: retrying will not help);
  // FailedPrecondition while the alliance source has no view; else whatever the adapter returns
  // (Unavailable when the chain cannot be reached).
  Result<std::optional<endorser::RemoteValue>> Read(std::string_view from_channel, std::string_view from_contract,
                                                    std::string_view channel, std::string_view contract,
                                                    std::string_view key) override;

  // Ok when a write route of the current alliance lets `from_contract` on `from_channel` write
  // `contract` on `channel` and `channel` is reached through adapters (it has no Entente nodes: its
  // writes are delivered after commit); PermissionDenied naming both ends otherwise.
  Status CheckWrite(std::string_view from_channel, std::string_view from_contract, std::string_view channel,
                    std::string_view contract) override;

  // The adapter of `chain`, or nullptr.
  ChainAdapter* AdapterFor(std::string_view chain) const;

 private:
  RoutedRemoteState(std::map<std::string, std::shared_ptr<ChainAdapter>, std::less<>> adapters,
                    AllianceSource alliance);

  const std::map<std::string, std::shared_ptr<ChainAdapter>, std::less<>> adapters_;  // immutable
  const AllianceSource alliance_;
};

}  // namespace entente::adapters
