// `entente bench ...`: throughput figures next to the machine's own limit measured in the same run.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "certs/ca.h"
#include "runtime/alliance/alliance.h"
#include "runtime/cli/bench_util.h"
#include "runtime/cli/commands.h"
#include "runtime/common/cores.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"
#include "runtime/ledger/ledger.h"
#include "runtime/relay/relay.h"

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
    auto raw = ledger::MeasureRawSyncedBatchRate(scratch + "/raw", shape.batch_entries, shape.batch_bytes,
                                                 shape.file_bytes, half);
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
           {"block_file_bytes", shape.file_bytes},
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
    std::printf("  raw synced commits/s      %12.2f  (same shape: %llu bytes to a file, then %llu puts of %llu bytes;\n"
                "                                          bound %.0f writes/s)\n",
                raw_per_s, static_cast<unsigned long long>(shape.file_bytes),
                static_cast<unsigned long long>(shape.batch_entries),
                static_cast<unsigned long long>(shape.batch_bytes), bound);
    std::printf("  ratio                     %12.2f\n", ratio);
  }
  return 0;
}

// ---- bench relay ----

constexpr char kRelayChain[] = "chainA";
constexpr char kRelayContract[] = "bench";

struct RelayBenchOptions {
  bool json = false;
  std::size_t tx = 5000;  // about 10 s in all on 2 shared cores
  int endorsements = 2;
  double seconds = 1.0;
  int submitters = 8;  // threads calling Relay::Submit, as concurrent clients would
  int threads = 0;     // > 0: the whole process, bound included, runs on this many cores
};

// Runs body(i) for every i in [0, n) on `threads` threads; returns the first error.
Status ParallelFor(std::size_t n, int threads, const std::function<Status(std::size_t)>& body) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first = Status::Ok();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < n && !failed; i = next++) {
        Status s = body(i);
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (!failed.exchange(true)) first = s;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return first;
}

// Verifications of one fixed P-256 signature over `message` on every core for `seconds`.
using VerifyRun = RateRun;

VerifyRun MeasureVerifyRate(ByteView message, const crypto::PrivateKey& key, double seconds) {
  auto signature = key.Sign(message);
  if (!signature.ok()) return {};
  crypto::PublicKey public_key = key.Public();
  return MeasureRate([&] { return public_key.Verify(message, *signature); }, seconds);
}

// An ECert for `id` and one TCert bound to it; the signer presents the TCert, then the ECert (so that
// verifiers need no registration of the ECert).
Result<std::pair<certs::IssuedCertificate, endorser::Signer>> Enroll(const certs::CertificateAuthority& ca,
                                                                     crypto::Role role, const std::string& id) {
  ENTENTE_ASSIGN_OR_RETURN(certs::IssuedCertificate ecert, ca.IssueEcert(role, id, 1));
  ENTENTE_ASSIGN_OR_RETURN(std::vector<certs::IssuedCertificate> tcerts, ca.IssueTcerts(ecert.certificate, 1, 1));
  std::vector<crypto::Certificate> intermediates{ecert.certificate};
  intermediates.insert(intermediates.end(), tcerts[0].intermediates.begin(), tcerts[0].intermediates.end());
  endorser::Signer signer{tcerts[0].certificate, std::move(intermediates), tcerts[0].key};
  return std::make_pair(std::move(ecert), std::move(signer));
}

// The alliance of the benchmark: chainA with its CA, one admin, `nodes` of weight 1, and the bench
// contract under Weighted(0.5), which the endorsements of all the nodes satisfy.
chaincode::AllianceConfig BenchAlliance(const certs::CertificateAuthority& ca,
                                        const std::vector<certs::IssuedCertificate>& node_ecerts) {
  chaincode::AllianceConfig config;
  config.members.push_back({kRelayChain, {ca.root().Pem()}, {{"admin1", 1}}});
  for (std::size_t i = 0; i < node_ecerts.size(); ++i) {
    config.nodes.push_back({"node" + std::to_string(i + 1), kRelayChain, 1, "127.0.0.1:" + std::to_string(7051 + i),
                            node_ecerts[i].certificate.Pem()});
  }
  config.contracts.push_back({kRelayChain, kRelayContract, "1", std::string(64, 'a'), "Weighted(0.5)"});
  return config;
}

// Envelope `i`: a fresh proposal by `client`, a result writing 1-3 keys of chainA/bench (blind writes,
// so that MVCC passes), endorsed by every node, sealed by the client.
Result<Bytes> MakeBenchEnvelope(std::size_t i, const endorser::Signer& client,
                                const std::vector<endorser::Signer>& nodes) {
  ENTENTE_ASSIGN_OR_RETURN(SignedBytes proposal, endorser::MakeSignedProposal(client, kRelayChain, kRelayContract,
                                                                              "Put", {"asset" + std::to_string(i)}));
  ENTENTE_ASSIGN_OR_RETURN(Json proposal_json, ParseJson(ToString(proposal.payload)));
  ENTENTE_ASSIGN_OR_RETURN(endorser::Proposal parsed, endorser::Proposal::FromJson(proposal_json));
  endorser::SimulationResult result;
  result.tx_id = parsed.tx_id;
  result.proposal_hash = crypto::Sha256Hex(proposal.payload);
  ledger::NamespaceRwSet ns{kRelayChain, kRelayContract, {}, {}, {}};
  std::size_t writes = 1 + i % 3;
  for (std::size_t w = 0; w < writes; ++w) {
    ns.writes.push_back({"asset" + std::to_string(i) + "/" + std::to_string(w), false,
                         ToBytes("value " + std::to_string(i) + "/" + std::to_string(w))});
  }
  result.rwset.namespaces.push_back(std::move(ns));
  result.response.status = 200;
  endorser::Envelope envelope;
  envelope.result = result.Serialize();
  for (const endorser::Signer& node : nodes) {
    ENTENTE_ASSIGN_OR_RETURN(endorser::Endorsement endorsement, endorser::Endorse(node, envelope.result));
    envelope.endorsements.push_back(std::move(endorsement));
  }
  envelope.signed_proposal = std::move(proposal);
  return endorser::SealEnvelope(client, envelope);
}

// Returns the value of the Prometheus sample `name` in `metrics`, 0 when absent.
double MetricValue(const std::string& metrics, const std::string& name) {
  std::size_t at = 0;
  while ((at = metrics.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') return std::strtod(metrics.c_str() + at + name.size() + 1, nullptr);
    at += name.size();
  }
  return 0;
}

int BenchRelay(const RelayBenchOptions& o) {
  std::string scratch =
      (std::filesystem::temp_directory_path() / ("entente-bench-relay-" + std::to_string(::getpid()))).string();
  std::unique_ptr<relay::Relay> relay;
  auto fail = [&](const std::string& message) {
    std::cerr << "entente bench relay: " << message << "\n";
    relay.reset();
    std::filesystem::remove_all(scratch);
    return 1;
  };
  if (o.endorsements < 1) return fail("--endorsements must be at least 1");
  if (o.threads > 0 && !PinToCores(o.threads)) {
    return fail("--threads " + std::to_string(o.threads) + ": this process may use " + std::to_string(Threads()) +
                " cores");
  }
  if (o.tx < 1) return fail("--tx must be at least 1");
  std::filesystem::remove_all(scratch);

  // Identities: chainA's CA, the nodes, the client, the relay's key.
  auto ca = certs::CertificateAuthority::Init(scratch + "/ca", kRelayChain, false);
  if (!ca.ok()) return fail(ca.status().message());
  std::vector<certs::IssuedCertificate> node_ecerts;
  std::vector<endorser::Signer> nodes;
  for (int i = 0; i < o.endorsements; ++i) {
    auto enrolled = Enroll(*ca, crypto::Role::kNode, "node" + std::to_string(i + 1));
    if (!enrolled.ok()) return fail(enrolled.status().message());
    node_ecerts.push_back(std::move(enrolled->first));
    nodes.push_back(std::move(enrolled->second));
  }
  auto client = Enroll(*ca, crypto::Role::kClient, "client1");
  if (!client.ok()) return fail(client.status().message());
  const endorser::Signer& client_signer = client->second;
  auto relay_key = crypto::PrivateKey::Generate();
  if (!relay_key.ok()) return fail(relay_key.status().message());

  // The alliance and the relay.
  chaincode::AllianceConfig config = BenchAlliance(*ca, node_ecerts);
  std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto genesis = alliance::MakeGenesisBlock(config, now_ms);
  if (!genesis.ok()) return fail(genesis.status().message());
  relay::RelayOptions relay_options;
  relay_options.data_dir = scratch + "/relay";
  relay_options.genesis = std::move(genesis).value();
  relay_options.signing_key = *relay_key;
  relay_options.cutting.max_tx = 500;
  relay_options.verify_workers = 0;
  auto opened = relay::Relay::Open(std::move(relay_options));
  if (!opened.ok()) return fail("cannot open the relay: " + opened.status().message());
  relay = std::move(opened).value();

  // Pre-generation (not timed), on every core.
  std::vector<Bytes> envelopes(o.tx);
  auto generation_start = std::chrono::steady_clock::now();
  Status generated = ParallelFor(o.tx, Threads(), [&](std::size_t i) -> Status {
    ENTENTE_ASSIGN_OR_RETURN(envelopes[i], MakeBenchEnvelope(i, client_signer, nodes));
    return Status::Ok();
  });
  if (!generated.ok()) return fail("cannot make the envelopes: " + generated.message());
  double generation_seconds = SecondsSince(generation_start);
  std::size_t envelope_bytes = 0;
  for (const Bytes& e : envelopes) envelope_bytes += e.size();

  // The bound: P-256 verifications per second on every core, over a signed proposal's payload.
  Bytes message;
  {
    auto outer = SignedBytes::Parse(ToString(envelopes[0]));
    auto json = outer.ok() ? ParseJson(ToString(outer->payload)) : Result<Json>(outer.status());
    auto envelope = json.ok() ? endorser::Envelope::FromJson(*json) : Result<endorser::Envelope>(json.status());
    if (!envelope.ok()) return fail("cannot read back an envelope: " + envelope.status().message());
    message = envelope->signed_proposal.payload;
  }
  // Half before the relay runs and half after, so that both see the same machine (it is shared).
  VerifyRun verify_run = MeasureVerifyRate(message, client_signer.key, o.seconds / 2);

  // Timed: submit everything from several threads, then wait until every envelope is committed.
  std::vector<std::string> tx_ids(o.tx);
  std::atomic<std::uint64_t> submit_ns{0};
  double cpu_start = ProcessCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  Status submitted = ParallelFor(o.tx, o.submitters, [&](std::size_t i) -> Status {
    auto call = std::chrono::steady_clock::now();
    ENTENTE_ASSIGN_OR_RETURN(relay::Acceptance acceptance, relay->Submit(envelopes[i]));
    submit_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - call).count());
    if (acceptance.resubmitted) return Status::Internal("envelope " + std::to_string(i) + " was accepted twice");
    tx_ids[i] = std::move(acceptance.tx_id);
    return Status::Ok();
  });
  if (!submitted.ok()) return fail("submit failed: " + submitted.message());
  double submit_seconds = SecondsSince(start);
  if (!relay->WaitIdle(std::chrono::minutes(10))) return fail("the relay did not finish within 10 minutes");
  double elapsed = SecondsSince(start);
  // How busy the cores were: well below 1 means the relay waits (on the disk, on locks), not computes.
  double relay_cpu = ProcessCpuSeconds() - cpu_start;
  double cpu_use = relay_cpu / (elapsed * Threads());

  // Every transaction must be committed VALID: a benchmark of rejected transactions measures nothing.
  std::size_t valid = 0;
  std::set<std::uint64_t> blocks;
  std::map<std::string, std::size_t> problems;
  std::string example;
  for (const std::string& tx_id : tx_ids) {
    TxStatus status = relay->StatusOf(tx_id);
    if (status.state == TxStatus::State::kCommitted && status.code == ValidationCode::kValid) {
      ++valid;
      blocks.insert(status.block);
      continue;
    }
    std::string what =
        std::string(TxStateName(status.state)) + " " + std::string(ValidationCodeName(status.code));
    if (problems[what]++ == 0 && example.empty()) example = tx_id + ": " + what + ": " + status.message;
  }
  verify_run += MeasureVerifyRate(message, client_signer.key, o.seconds / 2);
  if (verify_run.ops == 0) return fail("the P-256 verify rate could not be measured");
  double verify_per_s = verify_run.ops / verify_run.seconds;
  double verify_per_cpu_s = verify_run.ops / verify_run.cpu_seconds;
  std::string metrics = relay->Metrics();
  double verify_sum = MetricValue(metrics, "entente_relay_verification_seconds_sum");
  double verify_count = MetricValue(metrics, "entente_relay_verification_seconds_count");
  relay.reset();
  std::filesystem::remove_all(scratch);
  if (valid != o.tx) {
    std::cerr << "entente bench relay: " << o.tx - valid << " of " << o.tx << " transactions are not committed VALID:";
    for (const auto& [what, n] : problems) std::cerr << " " << n << " " << what << ";";
    std::cerr << " e.g. " << example << "\n";
    return 1;
  }

  int signatures_per_tx = 2 + o.endorsements;
  double value = static_cast<double>(o.tx) / elapsed;
  double bound = verify_per_s / signatures_per_tx;
  double ratio = value / bound;
  // The share of the relay's CPU time that went into the signature checks the bound counts: the ratio
  // it would reach with the whole machine to itself, if CPU-bound.
  double cpu_ms_per_tx = relay_cpu * 1000 / static_cast<double>(o.tx);
  double signature_share = signatures_per_tx / verify_per_cpu_s * 1000 / cpu_ms_per_tx;
  double verify_ms = verify_count > 0 ? verify_sum / verify_count * 1000 : 0;
  if (o.json) {
    Json j{{"metric", "relay_tx_per_s"},
           {"value", value},
           {"bound", bound},
           {"ratio", ratio},
           {"signatures_per_tx", signatures_per_tx},
           {"verify_per_s", verify_per_s},
           {"tx", o.tx},
           {"endorsements", o.endorsements},
           {"submitters", o.submitters},
           {"blocks", blocks.size()},
           {"seconds", elapsed},
           {"submit_seconds", submit_seconds},
           {"submit_ms_mean", static_cast<double>(submit_ns) / 1e6 / static_cast<double>(o.tx)},
           {"check_envelope_ms_mean", verify_ms},
           {"cpu_use", cpu_use},
           {"cpu_ms_per_tx", cpu_ms_per_tx},
           {"verify_per_cpu_s", verify_per_cpu_s},
           {"signature_cpu_share", signature_share},
           {"envelope_bytes_mean", static_cast<double>(envelope_bytes) / static_cast<double>(o.tx)},
           {"threads", Threads()}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("relay: %zu envelopes (%d endorsements each, %.0f bytes mean) submitted from %d threads,\n", o.tx,
                o.endorsements, static_cast<double>(envelope_bytes) / static_cast<double>(o.tx), o.submitters);
    std::printf("  all committed VALID in %zu blocks in %.2f s (made in %.2f s beforehand, not timed)\n", blocks.size(),
                elapsed, generation_seconds);
    std::printf("  tx/s                      %12.0f\n", value);
    std::printf("  P-256 verifies/s          %12.0f  (%d threads)\n", verify_per_s, Threads());
    std::printf("  signatures per tx         %12d  (proposal + envelope + %d endorsements)\n", signatures_per_tx,
                o.endorsements);
    std::printf("  bound tx/s                %12.0f\n", bound);
    std::printf("  ratio                     %12.2f\n", ratio);
    std::printf("  submit phase %.2f s (%.3f ms per Submit call), CheckEnvelope %.3f ms per envelope,\n",
                submit_seconds, static_cast<double>(submit_ns) / 1e6 / static_cast<double>(o.tx), verify_ms);
    std::printf("  process CPU use %.0f%% of %d cores: %.3f CPU ms per tx, of which signature checks %.0f%%\n",
                cpu_use * 100, Threads(), cpu_ms_per_tx, signature_share * 100);
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

  auto relay_options = std::make_shared<RelayBenchOptions>();
  CLI::App* relay = bench->add_subcommand("relay", "Signed envelopes through an in-process relay, to VALID commits");
  relay->add_flag("--json", relay_options->json, "Print one JSON object line");
  relay->add_option("--tx", relay_options->tx, "Envelopes to submit")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  relay->add_option("--endorsements", relay_options->endorsements, "Nodes of the chain, each endorsing every tx")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  relay->add_option("--seconds", relay_options->seconds, "Measuring time of the P-256 verify rate (the bound)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  relay->add_option("--submitters", relay_options->submitters, "Threads submitting concurrently")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  relay->add_option("--threads", relay_options->threads,
                    "Run the whole benchmark, the bound included, on this many cores (default: every usable core)")
      ->check(CLI::Range(1, 4096));
  relay->callback([relay_options, &exit_code] { exit_code = BenchRelay(*relay_options); });

  AddBenchE2e(bench, exit_code);
}

}  // namespace entente::cli
