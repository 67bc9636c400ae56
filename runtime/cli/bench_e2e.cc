// `entente bench e2e`: transactions through the nodes' REST API to their commit, on a temporary
// alliance this command brings up on loopback with deploy/alliance.sh (chainA with two nodes of weight
// 1, so every transaction carries both endorsements, and one relay), or on a running alliance that
// alliance.sh brought up (--spec, --chain), next to the crypto bound of that topology measured in the
// same run.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/alliance/alliance.h"
#include "runtime/common/address.h"
#include "runtime/cli/bench_util.h"
#include "runtime/cli/commands.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/crypto/crypto.h"
#include "runtime/http/http.h"
#include "runtime/shim/package/package.h"

namespace entente::cli {
namespace {

// Signatures each transaction costs with E endorsing nodes, N nodes in the alliance (every node
// re-validates every channel) and R relays (each verifies every envelope), for a custodial client:
//   signs:    the proposal, E endorsements, the envelope;
//   verifies: the proposal by the initiating node's simulation and by each endorser (1 + E), each
//             relay's 2 + E (proposal, envelope, endorsements), and the same 2 + E on each node.
// Block signatures and certificates are per block, not per transaction, and left out.
// The temporary alliance has E = N = 2 and R = 1: 4 signs and 15 verifies.
int SignsPerTx(int endorsers) { return 2 + endorsers; }
int VerifiesPerTx(int endorsers, int nodes, int relays) { return 1 + endorsers + (2 + endorsers) * (relays + nodes); }

// The nodes the clients call, and the topology the bound is computed for.
struct Target {
  std::vector<std::pair<std::string, std::uint16_t>> nodes;  // host, port of the chain's nodes
  std::string client_dir;  // cert.pem and key.pem of the chain's client identity the nodes hold
  std::string ca_file;     // CAs the nodes' certificates chain to
  int endorsers = 2;
  int alliance_nodes = 2;
  int relays = 1;
};

struct E2eOptions {
  bool json = false;
  std::size_t tx = 300;
  int concurrency = 8;
  double seconds = 1.0;
  bool keep = false;
  std::string spec;  // a running alliance's alliance.yaml
  std::string chain = "chainA";
  double rate = 0;   // > 0: open loop, submissions start at this many per second whatever the answers
};

// The alliance's processes (deploy/alliance.sh's run/NAME.pid beside the spec), by name.
std::map<std::string, int> AllianceProcesses(const std::string& spec_dir) {
  std::map<std::string, int> processes;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(spec_dir + "/run", ec)) {
    if (entry.path().extension() != ".pid") continue;
    auto pid = ReadFile(entry.path().string());
    if (pid.ok()) processes[entry.path().stem().string()] = std::atoi(pid->c_str());
  }
  return processes;
}

// CPU seconds each of `processes` has used so far (those gone are left out).
std::map<std::string, double> CpuSeconds(const std::map<std::string, int>& processes) {
  std::map<std::string, double> seconds;
  for (const auto& [name, pid] : processes) {
    if (auto s = ProcessCpuSeconds(pid)) seconds[name] = *s;
  }
  return seconds;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string SelfPath() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

// Brings up the temporary alliance under `state`: asset_transfer on chainA, two nodes of weight 1, the
// relay, on free loopback ports; fills `target`.
Status BringUp(const std::string& state, const std::string& spec, const std::string& script,
               const std::string& contracts, Target& target) {
  // The alliance: asset_transfer on chainA, two nodes of weight 1, free loopback ports.
  Status made = MakeDirectories(state + "/packages", 0700);
  ENTENTE_RETURN_IF_ERROR(made);
  package::PackageMetadata metadata;
  metadata.name = "asset_transfer";
  metadata.version = "1";
  metadata.policy = "Weighted(0.5)";
  auto packaged = package::CreatePackage(contracts + "/libasset_transfer.so", metadata,
                                         state + "/packages/asset_transfer.tar.gz");
  if (!packaged.ok()) return packaged.status().WithContext("cannot package asset_transfer");
  std::uint16_t ports[3] = {FreePort(), FreePort(), FreePort()};
  Status written = WriteFileAtomic(
      spec,
      "chains:\n  - {name: chainA, ca: [crypto/chainA/ca/ca.pem], admins: [{id: admin1, weight: 1}]}\n"
      "nodes:\n"
      "  - {id: node1, chain: chainA, weight: 1, endpoint: \"https://127.0.0.1:" + std::to_string(ports[1]) +
          "\", ecert: crypto/chainA/nodes/node1/cert.pem}\n"
          "  - {id: node2, chain: chainA, weight: 1, endpoint: \"https://127.0.0.1:" + std::to_string(ports[2]) +
          "\", ecert: crypto/chainA/nodes/node2/cert.pem}\n"
          "relay: \"https://127.0.0.1:" + std::to_string(ports[0]) + "\"\n"
          "contracts:\n  - {channel: chainA, name: asset_transfer, version: \"1\", sha256: " + packaged->sha256 +
          ", policy: \"Weighted(0.5)\"}\n",
      0600);
  ENTENTE_RETURN_IF_ERROR(written);
  if (std::system((script + "up '" + spec + "' >'" + state + "/up.log' 2>&1").c_str()) != 0) {
    std::cerr << ReadFile(state + "/up.log").value_or("");
    return Status::Unavailable("alliance.sh up failed; its output is above and in " + state + "/up.log");
  }
  target.nodes = {{"127.0.0.1", ports[1]}, {"127.0.0.1", ports[2]}};
  target.client_dir = state + "/crypto/chainA/clients/client1";
  target.ca_file = state + "/crypto/chainA/ca/ca.pem";
  return Status::Ok();

}

// The chain `o.chain` of a running alliance that deploy/alliance.sh brought up from `o.spec`: its
// nodes, its client identity, and E = the chain's nodes (each endorses, at worst).
Result<Target> RunningTarget(const E2eOptions& o) {
  ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig config, alliance::LoadSpec(o.spec));
  const std::string dir = std::filesystem::path(o.spec).parent_path().string();
  Target t;
  t.client_dir = dir + "/crypto/" + o.chain + "/clients/client1";
  t.ca_file = dir + "/crypto/alliance-cas.pem";
  t.alliance_nodes = static_cast<int>(config.nodes.size());
  t.relays = std::max<int>(1, static_cast<int>(config.relays.size()));
  for (const chaincode::Node& n : config.nodes) {
    if (n.chain != o.chain) continue;
    std::optional<Address> address = ParseAddress(n.endpoint);
    if (!address) return Status::InvalidArgument("node " + n.id + ": endpoint " + n.endpoint + " is not https://host:port");
    t.nodes.emplace_back(address->host, address->port);
  }
  if (t.nodes.empty()) return Status::InvalidArgument(o.spec + " has no node of chain " + o.chain);
  t.endorsers = static_cast<int>(t.nodes.size());
  return t;
}

int BenchE2e(const E2eOptions& o) {
  const std::string source = EnvOr("ENTENTE_SOURCE_DIR", ENTENTE_DEFAULT_SOURCE_DIR);
  const std::string contracts = EnvOr("ENTENTE_CONTRACT_DIR", ENTENTE_DEFAULT_CONTRACT_DIR);
  const std::string state =
      (std::filesystem::temp_directory_path() / ("entente-bench-e2e-" + std::to_string(::getpid()))).string();
  const std::string spec = state + "/alliance.yaml";
  const std::string script = "ENTENTE_BIN='" + SelfPath() + "' bash '" + source + "/deploy/alliance.sh' ";
  auto down = [&] {
    if (!o.spec.empty()) return;  // a running alliance stays up
    if (std::system((script + "down '" + spec + "' >/dev/null 2>&1").c_str()) != 0) {
      std::cerr << "entente bench e2e: alliance.sh down failed; see " << state << "\n";
    }
    if (!o.keep) std::filesystem::remove_all(state);
  };
  auto fail = [&](const std::string& why) {
    std::cerr << "entente bench e2e: " << why << "\n";
    down();
    return 1;
  };
  Target target;
  if (!o.spec.empty()) {
    auto running = RunningTarget(o);
    if (!running.ok()) {
      std::cerr << "entente bench e2e: " << running.status().message() << "\n";
      return 1;
    }
    target = std::move(*running);
  } else if (!std::filesystem::exists(source + "/deploy/alliance.sh")) {
    std::cerr << "entente bench e2e: no deploy/alliance.sh under " << source << " (set ENTENTE_SOURCE_DIR)\n";
    return 1;
  } else {
    Status up = BringUp(state, spec, script, contracts, target);
    if (!up.ok()) return fail(up.message());
  }

  // The bound: P-256 signs and verifies per second on every core, half before and half after.
  auto key = crypto::PrivateKey::Generate();
  if (!key.ok()) return fail(key.status().message());
  Bytes message(2048, 0x5a);
  auto signature = key->Sign(message);
  crypto::PublicKey public_key = key->Public();
  auto measure = [&](RateRun& signs, RateRun& verifies) {
    signs += MeasureRate([&] { return key->Sign(message).ok(); }, o.seconds / 4);
    verifies += MeasureRate([&] { return public_key.Verify(message, *signature); }, o.seconds / 4);
  };
  RateRun signs, verifies;
  measure(signs, verifies);

  // Clients: the chain's client identity (held by both nodes), requests spread over both nodes.
  auto client_for = [&](int i) {
    http::ClientOptions options;
    const auto& [host, port] = target.nodes[static_cast<std::size_t>(i) % target.nodes.size()];
    options.host = host;
    options.port = port;
    options.tls = {target.client_dir + "/cert.pem", target.client_dir + "/key.pem", {target.ca_file}};
    options.timeout = std::chrono::seconds(60);
    return std::make_unique<http::Client>(options);
  };
  auto submit = [&](http::Client& client, const std::string& id) -> Result<bool> {
    Json body{{"contract", "asset_transfer"}, {"function", "CreateAsset"}, {"args", {id, "blue", "5", "bench", "10"}}};
    ENTENTE_ASSIGN_OR_RETURN(http::Response r, client.Post("/v1/transactions", body.dump()));
    if (r.status != 200) return Status::Internal("node answered " + std::to_string(r.status) + ": " + r.body);
    auto answer = ParseJson(r.body);
    return answer.ok() && (*answer)["code_name"] == "VALID";
  };
  // Asset ids unique to this run, so that a running alliance can be measured again.
  const std::string run = "bench-" + std::to_string(::getpid()) + "-" +
                          std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";
  {
    auto warm = client_for(0);
    auto ok = submit(*warm, run + "warmup");
    if (!ok.ok()) return fail("the first transaction failed: " + ok.status().message());
  }
  const std::string spec_dir =
      std::filesystem::absolute(o.spec.empty() ? spec : o.spec).parent_path().string();
  std::optional<double> fsync_ms = MedianFsyncMs(spec_dir);
  std::map<std::string, int> processes = AllianceProcesses(spec_dir);
  std::vector<double> latencies_ms(o.tx, 0);
  std::atomic<std::size_t> next{0}, valid{0};
  std::mutex error_mu;
  std::string error;
  std::vector<std::unique_ptr<http::Client>> clients;
  for (int t = 0; t < o.concurrency; ++t) clients.push_back(client_for(t));
  std::map<std::string, double> cpu_before = CpuSeconds(processes);
  double own_cpu_before = ProcessCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < o.concurrency; ++t) {
    pool.emplace_back([&, t] {
      http::Client& client = *clients[static_cast<std::size_t>(t)];
      for (std::size_t i = next++; i < o.tx; i = next++) {
        // Open loop: transaction i is due at start + i / rate, and its latency counts from then, so
        // that a late start (every client busy) shows in it.
        auto call = o.rate > 0 ? start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                             std::chrono::duration<double>(static_cast<double>(i) / o.rate))
                               : std::chrono::steady_clock::now();
        std::this_thread::sleep_until(call);
        auto ok = submit(client, run + std::to_string(i));
        latencies_ms[i] = SecondsSince(call) * 1000;
        if (ok.ok() && *ok) ++valid;
        if (!ok.ok()) {
          std::lock_guard lock(error_mu);
          if (error.empty()) error = ok.status().message();
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  double elapsed = SecondsSince(start);
  // CPU per transaction of each process of the alliance, and of this client.
  Json cpu_ms_per_tx = Json::object();
  double cpu_total = 0;
  for (const auto& [name, after] : CpuSeconds(processes)) {
    if (!cpu_before.contains(name)) continue;
    double ms = (after - cpu_before[name]) * 1000 / static_cast<double>(o.tx);
    cpu_ms_per_tx[name] = ms;
    cpu_total += ms;
  }
  cpu_ms_per_tx["bench"] = (ProcessCpuSeconds() - own_cpu_before) * 1000 / static_cast<double>(o.tx);
  measure(signs, verifies);
  down();
  if (!error.empty()) return fail("a transaction failed: " + error);

  double value = static_cast<double>(o.tx) / elapsed;
  double sign_per_s = signs.per_second(), verify_per_s = verifies.per_second();
  const int signs_per_tx = SignsPerTx(target.endorsers);
  const int verifies_per_tx = VerifiesPerTx(target.endorsers, target.alliance_nodes, target.relays);
  double bound = 1.0 / (signs_per_tx / sign_per_s + verifies_per_tx / verify_per_s);
  double ratio = value / bound;
  double p50 = Percentile(latencies_ms, 0.50), p95 = Percentile(latencies_ms, 0.95), p99 = Percentile(latencies_ms, 0.99);
  if (o.json) {
    Json j{{"metric", "e2e_tx_per_s"}, {"value", value}, {"bound", bound}, {"ratio", ratio},
           {"p50_ms", p50}, {"p95_ms", p95}, {"p99_ms", p99}, {"tx", o.tx}, {"valid", valid.load()},
           {"concurrency", o.concurrency}, {"nodes", target.nodes.size()}, {"signs_per_tx", signs_per_tx},
           {"verifies_per_tx", verifies_per_tx}, {"relays", target.relays}, {"sign_per_s", sign_per_s},
           {"verify_per_s", verify_per_s}, {"rate", o.rate}, {"cpu_ms_per_tx", cpu_ms_per_tx},
           {"alliance_cpu_ms_per_tx", cpu_total},
           {"fsync_p50_ms", fsync_ms ? Json(*fsync_ms) : Json(nullptr)},
           {"seconds", elapsed}, {"threads", Threads()}};
    std::cout << j.dump() << "\n";
  } else {
    std::printf("e2e: %zu transactions (%zu VALID) from %d concurrent clients through %zu nodes and %d relay(s)\n",
                o.tx, valid.load(), o.concurrency, target.nodes.size(), target.relays);
    if (o.rate > 0) std::printf("  offered open loop at %.1f tx/s\n", o.rate);
    std::printf("  tx/s                      %12.1f\n", value);
    std::printf("  commit latency ms         p50 %.1f  p95 %.1f  p99 %.1f\n", p50, p95, p99);
    std::printf("  P-256 signs/s, verifies/s %12.0f %12.0f  (%d threads)\n", sign_per_s, verify_per_s, Threads());
    std::printf("  bound tx/s                %12.1f  (%d signs + %d verifies per tx)\n", bound, signs_per_tx,
                verifies_per_tx);
    std::printf("  ratio                     %12.2f\n", ratio);
    std::printf("  fsync p50 ms (data disk)  %12.2f\n", fsync_ms.value_or(0));
    std::printf("  CPU ms per tx             %12.2f  (alliance) ", cpu_total);
    for (const auto& [name, ms] : cpu_ms_per_tx.items()) std::printf(" %s %.2f", name.c_str(), ms.get<double>());
    std::printf("\n");
  }
  return valid == o.tx ? 0 : 1;
}

}  // namespace

void AddBenchE2e(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<E2eOptions>();
  CLI::App* e2e = bench->add_subcommand("e2e", "Transactions over REST to their commit on a temporary alliance");
  e2e->add_flag("--json", o->json, "Print one JSON object line");
  e2e->add_option("--tx", o->tx, "Transactions")->capture_default_str()->check(CLI::PositiveNumber);
  e2e->add_option("--concurrency", o->concurrency, "Concurrent clients")->capture_default_str()->check(CLI::Range(1, 256));
  e2e->add_option("--seconds", o->seconds, "Measuring time of the crypto bound")->capture_default_str();
  e2e->add_option("--rate", o->rate, "Open loop: start this many transactions per second whatever the answers "
                                     "(at most --concurrency in flight; latency counts from each one's due time)")
      ->check(CLI::PositiveNumber);
  e2e->add_flag("--keep", o->keep, "Keep the temporary alliance's files (logs) afterwards");
  e2e->add_option("--spec", o->spec, "Measure a running alliance that deploy/alliance.sh brought up from this spec "
                                     "(asset_transfer deployed on --chain) instead of a temporary one")
      ->check(CLI::ExistingFile);
  e2e->add_option("--chain", o->chain, "With --spec: the chain whose nodes take the transactions")->capture_default_str();
  e2e->callback([o, &exit_code] { exit_code = BenchE2e(*o); });
}

}  // namespace entente::cli
