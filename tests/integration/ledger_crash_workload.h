// The deterministic workload that ledger_crash_writer commits and ledger_crash_test replays: block n of
// channel "crash" has 3 valid transactions "tx-<n>-<i>"; tx i writes "k<(3n+i) % 50>" = "v<n>-<i>" in
// contract "cc", and in every 7th block tx 2 also deletes "k<n % 50>" (when that is the key tx 2 writes,
// the delete replaces the write, so that a write set names each key once). Header-only, pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger::crash_workload {

inline constexpr const char* kChannel = "crash";
inline constexpr const char* kContract = "cc";
inline constexpr std::uint64_t kTxPerBlock = 3;
inline constexpr std::uint64_t kKeys = 50;

// The committed transactions of block n.
inline std::vector<CommittedTx> Transactions(std::uint64_t n) {
  std::vector<CommittedTx> txs;
  for (std::uint64_t i = 0; i < kTxPerBlock; ++i) {
    NamespaceRwSet ns;
    ns.channel = kChannel;
    ns.contract = kContract;
    const std::string key = "k" + std::to_string((n * kTxPerBlock + i) % kKeys);
    const std::string deleted = "k" + std::to_string(n % kKeys);
    const bool deletes = i == 2 && n % 7 == 0;
    if (!(deletes && key == deleted)) {
      ns.writes.push_back(KeyWrite{key, false, ToBytes("v" + std::to_string(n) + "-" + std::to_string(i))});
    }
    if (deletes) ns.writes.push_back(KeyWrite{deleted, true, {}});
    CommittedTx tx;
    tx.tx_id = "tx-" + std::to_string(n) + "-" + std::to_string(i);
    tx.code = ValidationCode::kValid;
    tx.rwset.namespaces.push_back(std::move(ns));
    txs.push_back(std::move(tx));
  }
  return txs;
}

// Block n chained to `prev_hash`, holding `txs`.
inline Block MakeBlock(std::uint64_t n, const Hash& prev_hash, const std::vector<CommittedTx>& txs) {
  Block block;
  block.header.channel = kChannel;
  block.header.number = n;
  block.header.prev_hash = prev_hash;
  for (const CommittedTx& tx : txs) {
    block.envelopes.push_back(ToBytes("{\"envelope\":\"" + tx.tx_id + "\"}"));
    block.metadata.validation_codes.push_back(tx.code);
  }
  block.header.data_hash = block.ComputeDataHash();
  block.metadata.timestamp_ms = static_cast<std::int64_t>(1700000000000 + n);
  return block;
}

// The state of contract "cc" and the last header hash after blocks 0..height-1.
struct Replay {
  std::map<std::string, VersionedValue> state;
  Hash last_hash{};
};

inline Replay ReplayBlocks(std::uint64_t height) {
  Replay replay;
  for (std::uint64_t n = 0; n < height; ++n) {
    std::vector<CommittedTx> txs = Transactions(n);
    for (std::uint64_t i = 0; i < txs.size(); ++i) {
      for (const KeyWrite& w : txs[i].rwset.namespaces[0].writes) {
        if (w.is_delete) {
          replay.state.erase(w.key);
        } else {
          replay.state[w.key] = VersionedValue{w.value, Version{n, i}};
        }
      }
    }
    replay.last_hash = MakeBlock(n, replay.last_hash, txs).header.ComputeHash();
  }
  return replay;
}

}  // namespace entente::ledger::crash_workload
