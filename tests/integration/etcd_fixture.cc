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

EtcdServer::EtcdServer() {
  REQUIRE_MESSAGE(::access(EtcdBinary().c_str(), X_OK) == 0, "etcd is not installed at " << EtcdBinary());
  auto ca = Must(certs::CertificateAuthority::Init(dir_.Join("ca"), "chainE", false));
  MustOk(Must(ca.IssueEcert(crypto::Role::kNode, "etcd", 30, {"127.0.0.1"}))
             .Save(dir_.Join("server-cert.pem"), dir_.Join("server-key.pem")));
  MustOk(Must(ca.IssueEcert(crypto::Role::kRelay, "relay", 30)).Save(client_cert_file(), client_key_file()));
  {
    ReservedPort client, peer;
    client_port_ = client.port;
    peer_port_ = peer.port;
  }
  http::ClientOptions options;
  options.port = client_port_;
  options.tls = {client_cert_file(), client_key_file(), {ca_file()}};
  options.timeout = std::chrono::milliseconds(10000);
  client_ = std::make_unique<http::Client>(options);
  Start();
}

EtcdServer::~EtcdServer() {
  if (process_ && process_->running()) process_->Signal(SIGTERM);
}

std::string EtcdServer::endpoint() const { return "https://127.0.0.1:" + std::to_string(client_port_); }

std::string EtcdServer::Log() const { return process_ ? process_->Log() : ""; }

void EtcdServer::Start() {
  const std::string client_url = endpoint();
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv{EtcdBinary(), "--name", "default", "--data-dir", dir_.Join("data")};
  argv.insert(argv.end(), {"--listen-client-urls", client_url, "--advertise-client-urls", client_url});
  argv.insert(argv.end(), {"--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url});
  argv.insert(argv.end(), {"--initial-cluster", "default=" + peer_url, "--logger", "zap"});
  argv.insert(argv.end(), {"--cert-file", dir_.Join("server-cert.pem"), "--key-file", dir_.Join("server-key.pem")});
  argv.insert(argv.end(), {"--client-cert-auth", "--trusted-ca-file", ca_file()});
  process_ = std::make_unique<Process>(argv, dir_.Join("etcd-" + std::to_string(++starts_) + ".log"));
  // A client with a short timeout, so that the wait polls often.
  http::ClientOptions options;
  options.port = client_port_;
  options.tls = {client_cert_file(), client_key_file(), {ca_file()}};
  options.timeout = std::chrono::milliseconds(1000);
  http::Client probe(options);
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    REQUIRE_MESSAGE(process_->running(), "etcd exited:\n" << process_->Log());
    auto health = probe.Get("/health");
    if (health.ok() && health->status == 200 && health->body.find("true") != std::string::npos) return;
    last = health.ok() ? "HTTP " + std::to_string(health->status) + " " + health->body : health.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("etcd did not answer /health within 30 s; last: " << last << "\n" << process_->Log());
}

void EtcdServer::Kill() {
  REQUIRE(process_);
  process_->Signal(SIGKILL);
}

void EtcdServer::Stop() {
  REQUIRE(process_);
  process_->Signal(SIGTERM);
}

Json EtcdServer::Call(const std::string& path, const Json& body) {
  auto response = client_->Post(path, body.dump());
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  REQUIRE_MESSAGE(response->status == 200, response->body);
  auto parsed = ParseJson(response->body);
  REQUIRE_MESSAGE(parsed.ok(), response->body);
  return *parsed;
}

std::uint64_t EtcdServer::ModRevision(const std::string& stored_key) {
  Json answer = Call("/v3/kv/range", {{"key", Base64Encode(AsBytes(stored_key))}});
  if (!answer.contains("kvs") || answer["kvs"].empty()) return 0;
  return std::stoull(answer["kvs"][0]["mod_revision"].get<std::string>());
}

}  // namespace entente::testing
