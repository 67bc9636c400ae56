// `entente bench ...`: throughput figures next to the machine's own limit measured in the same run.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

#include "runtime/cli/commands.h"
#include "runtime/common/json.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"

namespace entente::cli {
namespace {

constexpr std::size_t kTxPerBlock = 1000;
constexpr std::size_t kWritesPerTx = 3;
constexpr std::size_t kKeySize = 16;
constexpr std::size_t kValueSize = 100;
constexpr char kChannel[] = "bench";
constexpr char kContract[] = "assets";

struct BenchOptions {
  bool json = false;
  std::string data;
  double seconds = 4.0;
};

// Makes the next block of the bench channel: 1000 valid txs of 3 writes each over 100k keys.
std::pair<ledger::Block, std::vector<ledger::CommittedTx>> MakeBlock(std::uint64_t number, const ledger::Hash& prev,
                                                                     std::mt19937_64& rng) {
  ledger::Block block;
  block.header.channel = kChannel;
  block.header.number = number;
  block.header.prev_hash = prev;
  std::vector<ledger::CommittedTx> txs;
  txs.reserve(kTxPerBlock);
  Bytes value(kValueSize);
  for (std::size_t i = 0; i < kTxPerBlock; ++i) {
    ledger::CommittedTx tx;
    tx.tx_id = HexEncode(crypto::Sha256(AsBytes(std::to_string(number) + "/" + std::to_string(i))));
    ledger::NamespaceRwSet ns{kChannel, kContract, {}, {}, {}};
    for (std::size_t w = 0; w < kWritesPerTx; ++w) {
      char key[32];
      std::snprintf(key, sizeof key, "asset%011llu", static_cast<unsigned long long>(rng() % 100000));
      for (auto& b : value) b = static_cast<std::uint8_t>(rng());
      ns.writes.push_back({std::string(key, kKeySize), false, value});
    }
    tx.rwset.namespaces.push_back(std::move(ns));
    // The envelope stands in for the signed transaction the relay would have stored.
    block.envelopes.push_back(ToBytes(tx.rwset.ToJson().dump()));
    block.metadata.validation_codes.push_back(ValidationCode::kValid);
    txs.push_back(std::move(tx));
  }
  block.header.data_hash = block.ComputeDataHash();
  return {std::move(block), std::move(txs)};
}

struct LedgerRun {
  std::uint64_t blocks = 0;
  double seconds = 0;
};

// Commits pre-built blocks for at least `seconds` of commit time.
Result<LedgerRun> CommitFor(ledger::Ledger& ledger, double seconds, std::mt19937_64& rng) {
  LedgerRun run;
  while (run.seconds < seconds || run.blocks < 2) {
    ledger::Savepoint sp = ledger.GetSavepoint(kChannel);
    auto [block, txs] = MakeBlock(sp.height, sp.last_hash, rng);
    auto start = std::chrono::steady_clock::now();
    ENTENTE_RETURN_IF_ERROR(ledger.Commit(block, txs));
    run.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++run.blocks;
  }
  return run;
}

int BenchLedger(const BenchOptions& o) {
  std::string scratch = (std::filesystem::temp_directory_path() / ("entente-bench-" + std::to_string(::getpid()))).string();
  std::string data = o.data.empty() ? scratch + "/ledger" : o.data;
  auto fail = [&](const Status& s) {
    std::cerr << "entente bench ledger: " << s.message() << "\n";
    std::filesystem::remove_all(scratch);
    return 1;
  };
  auto opened = ledger::Ledger::Open(data);
  if (!opened.ok()) return fail(opened.status());
  ledger::Ledger& ledger = **opened;
  std::mt19937_64 rng(ledger.GetSavepoint(kChannel).height + 1);

  // A first block tells the shape of a commit's WriteBatch; the raw baseline writes batches of that
  // shape, into one scratch database that grows as the ledger does. The two alternate in short
  // rounds so that both see the same machine (these machines are shared and noisy).
  constexpr int kRounds = 4;
  double half = o.seconds / (2 * kRounds);
  auto warmup = CommitFor(ledger, 0, rng);
  if (!warmup.ok()) return fail(warmup.status());
  ledger::Ledger::CommitStats shape = ledger.LastCommitStats();
  LedgerRun total;
  double raw_batches = 0, raw_seconds = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto raw = ledger::MeasureRawSyncedBatchRate(scratch + "/raw", shape.batch_entries,
                                                 shape.batch_bytes, half);
    if (!raw.ok()) return fail(raw.status());
    raw_batches += *raw * half;
    raw_seconds += half;
    auto run = CommitFor(ledger, half, rng);
    if (!run.ok()) return fail(run.status());
    total.blocks += run->blocks;
    total.seconds += run->seconds;
  }
  std::filesystem::remove_all(scratch);

  double writes_per_block = static_cast<double>(kTxPerBlock * kWritesPerTx);
  double blocks_per_s = total.blocks / total.seconds;
  double raw_per_s = raw_batches / raw_seconds;
  double value = blocks_per_s * writes_per_block;
  double bound = raw_per_s * writes_per_block;
  double ratio = value / bound;
  std::uint64_t height = ledger.GetSavepoint(kChannel).height;
  if (o.json) {
    Json j{{"metric", "ledger_state_writes_per_s"},
           {"value", value},
           {"bound", bound},
           {"ratio", ratio},
           {"blocks_per_s", blocks_per_s},
           {"raw_synced_batches_per_s", raw_per_s},
           {"batch_entries", shape.batch_entries},
           {"batch_bytes", shape.batch_bytes},
           {"blocks", total.blocks},
           {"tx_per_block", kTxPerBlock},
           {"writes_per_tx", kWritesPerTx},
           {"height", height}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("ledger commit: %llu blocks of %zu tx x %zu writes (synced), ledger height now %llu\n",
                static_cast<unsigned long long>(total.blocks), kTxPerBlock, kWritesPerTx,
                static_cast<unsigned long long>(height));
    std::printf("  state writes/s            %12.0f\n", value);
    std::printf("  blocks/s                  %12.2f\n", blocks_per_s);
    std::printf("  raw LevelDB synced batches/s %9.2f  (same shape: %llu puts, %llu bytes; bound %.0f writes/s)\n",
                raw_per_s, static_cast<unsigned long long>(shape.batch_entries),
                static_cast<unsigned long long>(shape.batch_bytes), bound);
    std::printf("  ratio                     %12.2f\n", ratio);
  }
  return 0;
}

}  // namespace

void AddBenchCommands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks, reported next to the machine's own limit");
  bench->require_subcommand(1);

  CLI::App* ledger = bench->add_subcommand("ledger", "Synced block commits of 1000 tx x 3 writes");
  ledger->add_flag("--json", options->json, "Print one JSON object line");
  ledger->add_option("--data", options->data, "Ledger directory to continue (default: a temporary one)");
  ledger->add_option("--seconds", options->seconds, "Measuring time")->capture_default_str()->check(CLI::PositiveNumber);
  ledger->callback([options, &exit_code] { exit_code = BenchLedger(*options); });
}

}  // namespace entente::cli
