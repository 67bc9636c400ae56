#include "tests/integration/etcd_fixture.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>
#include <vector>

#include "certs/ca.h"
#include "runtime/common/bytes.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

// A socket bound to a free loopback port; the port stays reserved while the socket is open.
struct ReservedPort {
  int fd = -1;
  std::uint16_t port = 0;
  ReservedPort() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port = ntohs(address.sin_port);
  }
  ~ReservedPort() { ::close(fd); }
};

std::string EtcdBinary() {
  const char* path = std::getenv("ETCD_BINARY");
  return path && *path ? path : "/usr/bin/etcd";
}

}  // namespace

EtcdCluster::EtcdCluster(int members, std::vector<std::string> flags) : flags_(std::move(flags)) {
  REQUIRE_MESSAGE(::access(EtcdBinary().c_str(), X_OK) == 0, "etcd is not installed at " << EtcdBinary());
  auto ca = Must(certs::CertificateAuthority::Init(dir_.Join("ca"), "chainE", false));
  MustOk(Must(ca.IssueEcert(crypto::Role::kEtcd, "etcd", 30, {"127.0.0.1"}))
             .Save(dir_.Join("server-cert.pem"), dir_.Join("server-key.pem")));
  MustOk(Must(ca.IssueEcert(crypto::Role::kRelay, "relay", 30)).Save(client_cert_file(), client_key_file()));
  {
    std::vector<std::unique_ptr<ReservedPort>> reserved;
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "etcd" + std::to_string(i);
      reserved.push_back(std::make_unique<ReservedPort>());
      m.client_port = reserved.back()->port;
      reserved.push_back(std::make_unique<ReservedPort>());
      m.peer_port = reserved.back()->port;
      members_.push_back(std::move(m));
    }
  }
  http::ClientOptions options;
  options.port = members_.front().client_port;
  options.tls = {client_cert_file(), client_key_file(), {ca_file()}};
  options.timeout = std::chrono::milliseconds(10000);
  client_ = std::make_unique<http::Client>(options);
  // Every member must run before any has a quorum.
  for (int i = 0; i < members; ++i) Launch(i, "new");
  for (int i = 0; i < members; ++i) AwaitHealthy(i);
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) {
    if (m.process && m.process->running()) {
      m.process->Signal(SIGCONT, /*wait=*/false);
      m.process->Signal(SIGKILL);
    }
  }
}

std::string EtcdCluster::endpoint(int i) const {
  return "https://127.0.0.1:" + std::to_string(members_.at(i).client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> all;
  for (int i = 0; i < size(); ++i) all.push_back(endpoint(i));
  return all;
}

std::string EtcdCluster::Log(int i) const {
  const Member& m = members_.at(i);
  return m.process ? m.process->Log() : "";
}

void EtcdCluster::Launch(int i, const std::string& state) {
  Member& m = members_.at(i);
  const std::string client_url = endpoint(i);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::string initial_cluster;
  for (const Member& other : members_) {
    initial_cluster += (initial_cluster.empty() ? "" : ",") + other.name + "=http://127.0.0.1:" +
                       std::to_string(other.peer_port);
  }
  std::vector<std::string> argv{EtcdBinary(), "--name", m.name, "--data-dir", dir_.Join(m.name + "-data")};
  argv.insert(argv.end(), {"--listen-client-urls", client_url, "--advertise-client-urls", client_url});
  argv.insert(argv.end(), {"--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url});
  argv.insert(argv.end(), {"--initial-cluster", initial_cluster, "--initial-cluster-state", state});
  argv.insert(argv.end(), {"--heartbeat-interval", "150", "--election-timeout", "1500", "--logger", "zap"});
  argv.insert(argv.end(), {"--cert-file", dir_.Join("server-cert.pem"), "--key-file", dir_.Join("server-key.pem")});
  argv.insert(argv.end(), {"--client-cert-auth", "--trusted-ca-file", ca_file()});
  argv.insert(argv.end(), flags_.begin(), flags_.end());
  m.process = std::make_unique<Process>(argv, dir_.Join(m.name + "-" + std::to_string(++m.starts) + ".log"));
}

void EtcdCluster::AwaitHealthy(int i) {
  Member& m = members_.at(i);
  // A client with a short timeout, so that the wait polls often.
  http::ClientOptions options;
  options.port = m.client_port;
  options.tls = {client_cert_file(), client_key_file(), {ca_file()}};
  options.timeout = std::chrono::milliseconds(1000);
  http::Client probe(options);
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    REQUIRE_MESSAGE(m.process->running(), m.name << " exited:\n" << m.process->Log());
    auto health = probe.Get("/health");
    if (health.ok() && health->status == 200 && health->body.find("true") != std::string::npos) return;
    last = health.ok() ? "HTTP " + std::to_string(health->status) + " " + health->body : health.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL(m.name << " did not answer /health within 30 s; last: " << last << "\n" << m.process->Log());
}

void EtcdCluster::Start(int i) {
  Launch(i, members_.at(i).starts == 0 ? "new" : "existing");
  AwaitHealthy(i);
}

void EtcdCluster::Signal(int i, int signal) {
  Member& m = members_.at(i);
  REQUIRE(m.process);
  m.process->Signal(signal, /*wait=*/signal == SIGKILL || signal == SIGTERM);
}

Json EtcdCluster::Call(const std::string& path, const Json& body) {
  auto response = client_->Post(path, body.dump());
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  REQUIRE_MESSAGE(response->status == 200, response->body);
  auto parsed = ParseJson(response->body);
  REQUIRE_MESSAGE(parsed.ok(), response->body);
  return *parsed;
}

int EtcdCluster::Leader() const {
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].process || !members_[i].process->running()) continue;
    http::ClientOptions options;
    options.host = "127.0.0.1";
    options.port = members_[i].client_port;
    options.tls = {client_cert_file(), client_key_file(), {ca_file()}};
    options.timeout = std::chrono::milliseconds(5000);
    http::Client client(options);
    auto response = client.Post("/v3/maintenance/status", "{}");
    if (!response.ok() || response->status != 200) continue;
    auto status = ParseJson(response->body);
    if (!status.ok() || !status->contains("leader") || !status->contains("header")) continue;
    if ((*status)["header"].value("member_id", "") == status->value("leader", "")) return i;
  }
  FAIL("no member of the etcd cluster says it leads");
  return -1;
}

void EtcdServer::Kill() { cluster_.Signal(0, SIGKILL); }
void EtcdServer::Stop() { cluster_.Signal(0, SIGTERM); }

std::uint64_t EtcdServer::ModRevision(const std::string& stored_key) {
  Json answer = Call("/v3/kv/range", {{"key", Base64Encode(AsBytes(stored_key))}});
  if (!answer.contains("kvs") || answer["kvs"].empty()) return 0;
  return std::stoull(answer["kvs"][0]["mod_revision"].get<std::string>());
}

}  // namespace entente::testing
