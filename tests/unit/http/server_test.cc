// Server and Client over real TLS on loopback ports. The raw connections (a TCP socket, or TLS through
// OpenSSL directly) play misbehaving clients that the Client would never be.
#include "runtime/http/http.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certs/ca.h"
#include "runtime/common/json.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::http;
using crypto::Role;
using entente::testing::TempDir;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Two CAs in a temporary directory: chainA's, which the server and clients trust, and chainB's,
// which nobody trusts. Certificates and keys as files, the way nodes and the relay load them.
struct Pki {
  Pki() {
    auto a = certs::CertificateAuthority::Init(dir.Join("ca-a"), "chainA", /*with_intermediate=*/true);
    auto b = certs::CertificateAuthority::Init(dir.Join("ca-b"), "chainB", false);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    ca_a_file = dir.Join("ca-a/ca.pem");
    server = Issue(*a, Role::kNode, "node-1", {"127.0.0.1"}, "server", ca_a_file);
    wrong_host = Issue(*a, Role::kNode, "node-2", {"127.0.0.2", "other.example"}, "wrong-host", ca_a_file);
    client = Issue(*a, Role::kClient, "client-1", {}, "client", ca_a_file);
    node = Issue(*a, Role::kNode, "node-3", {}, "node", ca_a_file);
    stranger = Issue(*b, Role::kClient, "stranger", {}, "stranger", ca_a_file);
    untrusted_server = Issue(*b, Role::kNode, "node-b", {"127.0.0.1"}, "server-b", dir.Join("ca-b/ca.pem"));
  }

  TlsFiles Issue(const certs::CertificateAuthority& ca, Role role, const std::string& id,
                 const std::vector<std::string>& hosts, const std::string& name, const std::string& trust) {
    auto issued = ca.IssueEcert(role, id, 30, hosts);
    REQUIRE(issued.ok());
    TlsFiles files{dir.Join(name + ".pem"), dir.Join(name + "-key.pem"), {trust}};
    REQUIRE(issued->Save(files.cert_file, files.key_file).ok());
    return files;
  }

  TempDir dir;
  std::string ca_a_file;
  TlsFiles server, wrong_host, client, node, stranger, untrusted_server;
};

// Issuing certificates costs a few hundred milliseconds (files are synced), so the tests share them.
const Pki& SharedPki() {
  static const Pki pki;  // its directory is removed at exit
  return pki;
}

ServerOptions FastOptions(const TlsFiles& tls) {
  ServerOptions options;
  options.tls = tls;
  options.read_timeout = milliseconds(2000);
  options.idle_timeout = milliseconds(2000);
  options.stop_timeout = milliseconds(2000);
  return options;
}

std::unique_ptr<Server> StartServer(ServerOptions options, Handler handler) {
  auto server = Server::Start(std::move(options), std::move(handler));
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  CHECK(server.value()->port() != 0);
  return std::move(server).value();
}

ClientOptions ClientFor(const Server& server, const TlsFiles& tls) {
  ClientOptions options;
  options.port = server.port();
  options.tls = tls;
  options.timeout = milliseconds(3000);
  return options;
}

// Answers /whoami with the peer's role and remote address, /echo with the body, /slow after a pause.
Router TestRouter() {
  Router router;
  router.Add("GET", "/whoami", {}, [](const Request& request) {
    return JsonResponse(200, {{"role", std::string(crypto::RoleName(request.peer->subject().role))},
                              {"id", request.peer->subject().id},
                              {"intermediates", request.peer_chain.size()},
                              {"remote", request.remote_address}});
  });
  router.Add("POST", "/echo", {}, [](const Request& request) { return TextResponse(200, request.body); });
  router.Add("GET", "/items/{id}", {}, [](const Request& request) {
    return TextResponse(200, request.path_params.at("id") + ":" + request.Query("n").value_or(""));
  });
  router.Add("GET", "/nodes-only", {Role::kNode}, [](const Request&) { return TextResponse(200, "hello node"); });
  return router;
}

Json BodyJson(const Response& response) {
  auto json = ParseJson(response.body);
  REQUIRE_MESSAGE(json.ok(), response.body);
  return *json;
}

// A TCP connection to 127.0.0.1:`port` whose reads give up after 3 s.
int ConnectTcp(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// A TLS connection made with OpenSSL directly, writing whatever bytes it is given.
class RawTls {
 public:
  RawTls(std::uint16_t port, const TlsFiles& files) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx_, files.cert_file.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_, files.key_file.c_str(), SSL_FILETYPE_PEM) == 1);
    fd_ = ConnectTcp(port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    REQUIRE(SSL_connect(ssl_) == 1);
  }
  ~RawTls() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
  }

  void Write(std::string_view bytes) {
    REQUIRE(SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size()));
  }

  // Reads until `marker` has arrived, the connection closes or 3 s pass.
  std::string ReadUntil(std::string_view marker) {
    while (received_.find(marker) == std::string::npos) {
      char buf[4096];
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  // Reads until the connection closes (or 3 s pass).
  std::string ReadAll() { return ReadUntil(std::string_view("\x01\x02\x03never", 8)); }

  // How long until the server closes the connection (at most 3 s).
  milliseconds TimeToClose() {
    auto start = SteadyClock::now();
    ReadAll();
    return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  std::string received_;
};

// Checks that a fresh Client with a valid certificate is still served.
void CheckStillServing(const Server& server, const Pki& pki) {
  Client client(ClientFor(server, pki.client));
  auto response = client.Get("/whoami");
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  CHECK(response->status == 200);
}

}  // namespace

TEST_CASE("A request over mutual TLS reaches the handler with the client certificate's role") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());

  Client client(ClientFor(*server, pki.client));
  auto response = client.Get("/whoami");
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  CHECK(response->status == 200);
  CHECK(response->content_type == "application/json");
  Json body = BodyJson(*response);
  CHECK(body["role"] == "client");
  CHECK(body["id"] == "client-1");
  CHECK(body["intermediates"] == 1);  // chainA's CA has an intermediate, sent after the leaf

  auto echoed = client.Post("/echo", R"({"a":1})");
  REQUIRE(echoed.ok());
  CHECK(echoed->body == R"({"a":1})");

  auto item = client.Get("/items/a%20b?n=5");
  REQUIRE(item.ok());
  CHECK(item->body == "a b:5");

  auto forbidden = client.Get("/nodes-only");
  REQUIRE(forbidden.ok());
  CHECK(forbidden->status == 403);
  CHECK(forbidden->content_type == "application/problem+json");
  Client node(ClientFor(*server, pki.node));
  auto allowed = node.Get("/nodes-only");
  REQUIRE(allowed.ok());
  CHECK(allowed->body == "hello node");

  auto missing = client.Get("/nothing");
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(BodyJson(*missing)["status"] == 404);
}

TEST_CASE("A Client sends several requests over one kept-alive connection") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());
  Client client(ClientFor(*server, pki.client));
  auto first = client.Get("/whoami");
  auto second = client.Get("/whoami");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(BodyJson(*first)["remote"] == BodyJson(*second)["remote"]);
}

TEST_CASE("A Client reconnects after the server closed its idle connection") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  ServerOptions options = FastOptions(pki.server);
  options.idle_timeout = milliseconds(200);
  auto server = StartServer(options, router.AsHandler());
  Client client(ClientFor(*server, pki.client));
  auto first = client.Get("/whoami");
  REQUIRE(first.ok());
  std::this_thread::sleep_for(milliseconds(500));
  auto second = client.Get("/whoami");
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(second->status == 200);
  CHECK(BodyJson(*first)["remote"] != BodyJson(*second)["remote"]);
  auto posted = client.Post("/echo", "{}");  // the connection is fresh again: a POST is fine too
  REQUIRE(posted.ok());
}

TEST_CASE("A streamed answer sends each piece as it is queued, ends, and leaves the connection serving") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  std::vector<std::thread> producers;
  std::mutex mu;
  router.AddDeferred("GET", "/stream", {}, [&](const Request&, std::shared_ptr<Responder> responder) {
    Response head;
    head.content_type = "text/event-stream";
    auto out = responder->Stream(std::move(head));
    REQUIRE(out != nullptr);
    CHECK(out->Send("one\n"));
    std::lock_guard lock(mu);
    producers.emplace_back([out] {
      std::this_thread::sleep_for(milliseconds(300));
      out->Send("two\n");
      out->End();
      CHECK_FALSE(out->Send("after the end\n"));
    });
  });
  auto started = Server::Start(FastOptions(pki.server), router.AsDeferredHandler());
  REQUIRE_MESSAGE(started.ok(), started.status().ToString());
  auto server = std::move(started).value();
  Client client(ClientFor(*server, pki.client));

  // Read piece by piece: "one" arrives while the answer is still open.
  std::vector<std::pair<std::string, SteadyClock::time_point>> pieces;
  auto status = client.Stream("GET", "/stream", "", [&](std::string_view data) {
    pieces.emplace_back(std::string(data), SteadyClock::now());
    return true;
  }, SteadyClock::now() + std::chrono::seconds(5));
  REQUIRE_MESSAGE(status.ok(), status.status().ToString());
  CHECK(*status == 200);
  std::string body;
  for (const auto& [piece, at] : pieces) body += piece;
  CHECK(body == "one\ntwo\n");
  REQUIRE(pieces.size() >= 2);
  CHECK(pieces.back().second - pieces.front().second >= milliseconds(200));

  // Read whole, then the same connection answers the next request.
  auto whole = client.Get("/stream");
  REQUIRE_MESSAGE(whole.ok(), whole.status().ToString());
  CHECK(whole->body == "one\ntwo\n");
  CHECK(whole->content_type == "text/event-stream");
  auto first = client.Get("/whoami");
  auto next = client.Get("/whoami");
  REQUIRE(first.ok());
  REQUIRE(next.ok());
  CHECK(BodyJson(*first)["remote"] == BodyJson(*next)["remote"]);
  std::lock_guard lock(mu);
  for (std::thread& t : producers) t.join();
}

TEST_CASE("A body over the limit gets a 413 problem and the server keeps serving") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  ServerOptions options = FastOptions(pki.server);
  options.body_limit = 1024;
  auto server = StartServer(options, router.AsHandler());
  Client client(ClientFor(*server, pki.client));

  auto small = client.Post("/echo", std::string(1024, 'x'));
  REQUIRE(small.ok());
  CHECK(small->status == 200);

  for (size_t size : {size_t{1025}, size_t{3} << 20}) {
    CAPTURE(size);
    auto large = client.Post("/echo", std::string(size, 'x'));
    REQUIRE_MESSAGE(large.ok(), large.status().ToString());
    CHECK(large->status == 413);
    CHECK(large->content_type == "application/problem+json");
    CHECK(BodyJson(*large)["detail"].get<std::string>().find("1024") != std::string::npos);
  }
  auto again = client.Post("/echo", "after");
  REQUIRE(again.ok());
  CHECK(again->body == "after");
}

TEST_CASE("Garbage instead of HTTP after the TLS handshake gets a 400 problem and the server keeps serving") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());
  for (std::string garbage : {std::string("\x01\x02\x03 garbage\r\n\r\n"), std::string("GET /x\r\n\r\n"),
                              std::string("GET /x HTTP/1.1\r\nBad Header\r\n\r\n"),
                              std::string("POST /echo HTTP/1.1\r\nContent-Length: zz\r\n\r\n")}) {
    CAPTURE(garbage);
    RawTls raw(server->port(), pki.client);
    raw.Write(garbage);
    std::string answer = raw.ReadAll();
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find("application/problem+json") != std::string::npos);
    CHECK(answer.find("malformed HTTP request") != std::string::npos);
  }
  {
    RawTls raw(server->port(), pki.client);
    raw.Write("GET http://elsewhere/x HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(raw.ReadUntil("}").rfind("HTTP/1.1 400", 0) == 0);
  }
  {
    RawTls raw(server->port(), pki.client);
    raw.Write("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(raw.ReadAll().rfind("HTTP/1.1 431", 0) == 0);
  }
  {
    // Not TLS at all: the handshake fails and the connection is closed.
    int fd = ConnectTcp(server->port());
    std::string plain = "GET /whoami HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(::write(fd, plain.data(), plain.size()) == static_cast<ssize_t>(plain.size()));
    char buf[256];
    [[maybe_unused]] ssize_t ignored = ::read(fd, buf, sizeof buf);  // a close, or an alert then a close
    ::close(fd);
  }
  CheckStillServing(*server, pki);
}

TEST_CASE("Pipelined requests are answered in order, and Expect: 100-continue is honoured") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());
  {
    RawTls raw(server->port(), pki.client);
    raw.Write(
        "GET /items/one HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /items/two HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /items/three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    std::string answer = raw.ReadAll();
    size_t one = answer.find("one:");
    size_t two = answer.find("two:");
    size_t three = answer.find("three:");
    CHECK(one != std::string::npos);
    CHECK(two != std::string::npos);
    CHECK(three != std::string::npos);
    CHECK(one < two);
    CHECK(two < three);
  }
  {
    RawTls raw(server->port(), pki.client);
    raw.Write("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    CHECK(raw.ReadUntil("\r\n\r\n").rfind("HTTP/1.1 100", 0) == 0);
    raw.Write("hello");
    CHECK(raw.ReadUntil("hello").find("HTTP/1.1 200") != std::string::npos);
  }
}

TEST_CASE("A client without a certificate or with one from an untrusted CA is refused") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());

  TlsFiles anonymous{"", "", {pki.ca_a_file}};
  Client without(ClientFor(*server, anonymous));
  auto refused = without.Get("/whoami");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kUnavailable);
  MESSAGE(refused.status().message());

  Client stranger(ClientFor(*server, pki.stranger));
  auto untrusted = stranger.Get("/whoami");
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.status().code() == StatusCode::kUnavailable);
  MESSAGE(untrusted.status().message());

  CheckStillServing(*server, pki);
}

TEST_CASE("Without required client certificates an anonymous client reaches public routes only") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  router.AddPublic("GET", "/healthz", [](const Request&) { return TextResponse(200, "ok"); });
  ServerOptions options = FastOptions(pki.server);
  options.require_client_certificate = false;
  auto server = StartServer(options, router.AsHandler());
  Client anonymous(ClientFor(*server, TlsFiles{"", "", {pki.ca_a_file}}));
  auto health = anonymous.Get("/healthz");
  REQUIRE_MESSAGE(health.ok(), health.status().ToString());
  CHECK(health->body == "ok");
  auto whoami = anonymous.Get("/whoami");
  REQUIRE(whoami.ok());
  CHECK(whoami->status == 401);
  // A certificate, when sent, must still be trusted.
  Client stranger(ClientFor(*server, pki.stranger));
  CHECK_FALSE(stranger.Get("/healthz").ok());
}

TEST_CASE("A connection that sends nothing is closed after read_timeout") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  ServerOptions options = FastOptions(pki.server);
  options.read_timeout = milliseconds(300);
  auto server = StartServer(options, router.AsHandler());

  // No TLS handshake at all.
  int fd = ConnectTcp(server->port());
  auto start = SteadyClock::now();
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  auto waited = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  ::close(fd);
  CHECK(n == 0);
  CHECK(waited >= milliseconds(200));
  CHECK(waited < milliseconds(2000));

  // A handshake, then no request.
  RawTls idle(server->port(), pki.client);
  milliseconds closed_after = idle.TimeToClose();
  CHECK(closed_after >= milliseconds(200));
  CHECK(closed_after < milliseconds(2000));

  // A request that starts but never finishes.
  RawTls slow(server->port(), pki.client);
  slow.Write("GET /whoami HTTP/1.1\r\nHost:");
  CHECK(slow.TimeToClose() < milliseconds(2000));

  CheckStillServing(*server, pki);
}

TEST_CASE("The client refuses a server whose certificate names another host or comes from an unknown CA") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto wrong_host = StartServer(FastOptions(pki.wrong_host), router.AsHandler());
  Client client(ClientFor(*wrong_host, pki.client));
  auto mismatch = client.Get("/whoami");
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.status().code() == StatusCode::kUnavailable);
  CHECK(mismatch.status().message().find("TLS handshake") != std::string::npos);
  MESSAGE(mismatch.status().message());

  ServerOptions options = FastOptions(pki.untrusted_server);
  options.tls.ca_files = {pki.ca_a_file};  // it trusts our clients, but we do not trust it
  auto unknown_ca = StartServer(options, router.AsHandler());
  Client client_b(ClientFor(*unknown_ca, pki.client));
  auto untrusted = client_b.Get("/whoami");
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.status().message().find("TLS handshake") != std::string::npos);
  MESSAGE(untrusted.status().message());
}

TEST_CASE("Stop while a slow handler runs lets it answer, and a second Stop is harmless") {
  const Pki& pki = SharedPki();
  std::atomic<bool> started{false};
  Router router;
  router.Add("GET", "/slow", {}, [&](const Request&) {
    started = true;
    std::this_thread::sleep_for(milliseconds(500));
    return TextResponse(200, "finally");
  });
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());
  Client client(ClientFor(*server, pki.client));
  std::optional<Result<Response>> result;
  std::thread caller([&] { result.emplace(client.Get("/slow")); });
  while (!started) std::this_thread::sleep_for(milliseconds(5));

  auto start = SteadyClock::now();
  server->Stop();
  auto stopping = SteadyClock::now() - start;
  caller.join();
  CHECK(stopping < std::chrono::seconds(3));
  REQUIRE(result.has_value());
  REQUIRE_MESSAGE(result->ok(), result->status().ToString());
  CHECK((*result)->status == 200);
  CHECK((*result)->body == "finally");
  server->Stop();
  CHECK_FALSE(client.Get("/slow").ok());  // nobody listens any more
}

TEST_CASE("The server's destructor does not wait for clients that keep connections open") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  ServerOptions options = FastOptions(pki.server);
  options.read_timeout = milliseconds(30000);
  options.idle_timeout = milliseconds(60000);
  auto server = StartServer(options, router.AsHandler());
  Client client(ClientFor(*server, pki.client));
  REQUIRE(client.Get("/whoami").ok());  // now idle, kept alive
  RawTls idle(server->port(), pki.client);
  int fd = ConnectTcp(server->port());

  auto start = SteadyClock::now();
  server.reset();
  CHECK(SteadyClock::now() - start < std::chrono::seconds(3));
  ::close(fd);
}

TEST_CASE("A handler that throws gives a 500 problem and the connection stays usable") {
  const Pki& pki = SharedPki();
  auto server = StartServer(FastOptions(pki.server), [](const Request& request) -> Response {
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/bad-status") return TextResponse(42, "?");
    return TextResponse(200, "fine", "text/plain");
  });
  Client client(ClientFor(*server, pki.client));
  auto thrown = client.Get("/throw");
  REQUIRE(thrown.ok());
  CHECK(thrown->status == 500);
  CHECK(thrown->content_type == "application/problem+json");
  auto bad = client.Get("/bad-status");
  REQUIRE(bad.ok());
  CHECK(bad->status == 500);
  auto fine = client.Get("/ok");
  REQUIRE(fine.ok());
  CHECK(fine->body == "fine");
}

TEST_CASE("Concurrent clients from several threads all get their own answers") {
  const Pki& pki = SharedPki();
  Router router = TestRouter();
  auto server = StartServer(FastOptions(pki.server), router.AsHandler());
  constexpr int kThreads = 8;
  constexpr int kRequests = 20;
  std::atomic<int> correct{0};
  Client shared(ClientFor(*server, pki.client));  // one Client used by every thread, too
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client own(ClientFor(*server, pki.client));
      for (int i = 0; i < kRequests; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        Client& client = i % 4 == 0 ? shared : own;
        auto response = client.Get("/items/" + id + "?n=" + std::to_string(i));
        if (response.ok() && response->status == 200 && response->body == id + ":" + std::to_string(i)) ++correct;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(correct == kThreads * kRequests);
}

TEST_CASE("Start reports unusable TLS files and addresses") {
  const Pki& pki = SharedPki();
  Handler handler = [](const Request&) { return TextResponse(200, "x"); };

  ServerOptions missing = FastOptions(pki.server);
  missing.tls.cert_file = pki.dir.Join("nope.pem");
  auto no_cert = Server::Start(missing, handler);
  REQUIRE_FALSE(no_cert.ok());
  CHECK(no_cert.status().code() == StatusCode::kInvalidArgument);
  CHECK(no_cert.status().message().find("nope.pem") != std::string::npos);

  ServerOptions mismatched = FastOptions(pki.server);
  mismatched.tls.key_file = pki.client.key_file;
  auto wrong_key = Server::Start(mismatched, handler);
  REQUIRE_FALSE(wrong_key.ok());
  CHECK(wrong_key.status().message().find("does not belong") != std::string::npos);

  ServerOptions bad_address = FastOptions(pki.server);
  bad_address.address = "not-an-ip";
  CHECK(Server::Start(bad_address, handler).status().code() == StatusCode::kInvalidArgument);

  auto first = StartServer(FastOptions(pki.server), handler);
  ServerOptions taken = FastOptions(pki.server);
  taken.port = first->port();
  CHECK(Server::Start(taken, handler).status().code() == StatusCode::kIOError);

  Client no_trust(ClientOptions{.host = "127.0.0.1", .port = first->port(), .tls = {}, .timeout = milliseconds(1000)});
  CHECK(no_trust.Get("/").status().code() == StatusCode::kInvalidArgument);
  Client client(ClientFor(*first, pki.client));
  CHECK(client.Get("no-slash").status().code() == StatusCode::kInvalidArgument);
  CHECK(client.Send("BAD METHOD", "/").status().code() == StatusCode::kInvalidArgument);
  auto injected = client.Send("GET", "/", "", {{"X-Evil", "a\r\nInjected: 1"}});
  CHECK(injected.status().code() == StatusCode::kInvalidArgument);
}
