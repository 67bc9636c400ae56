// Client with plain_http against a tiny HTTP/1.1 server on a loopback port, written on raw POSIX
// sockets so that the test does not share the client's HTTP code.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/http/http.h"

using namespace entente;
using namespace entente::http;

namespace {

// One request as the server received it.
struct SeenRequest {
  std::string head;  // request line and headers
  std::string body;
};

// Answers every request with 200 and "echo:" + its body, keeping connections open until the client
// closes them; a request to /hold is answered only once Release() was called. Serves each connection
// on a thread of its own; counts the connections accepted.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 8) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (std::thread& t : connection_threads_) t.join();
    ::close(listen_fd_);
  }

  void Release() { released_ = true; }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  // Waits up to 50 ms for `fd` to be readable.
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 50) > 0;
  }

  void Serve() {
    while (!stop_) {
      if (!Readable(listen_fd_)) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      connection_threads_.emplace_back([this, fd] {
        ServeConnection(fd);
        ::close(fd);
      });
    }
  }

  void ServeConnection(int fd) {
    std::string in;
    while (!stop_) {
      std::size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = in.substr(0, end + 2);
        std::size_t length = 0;
        if (std::size_t at = head.find("Content-Length: "); at != std::string::npos) {
          length = std::strtoul(head.c_str() + at + 16, nullptr, 10);
        }
        if (in.size() >= end + 4 + length) {
          std::string body = in.substr(end + 4, length);
          in.erase(0, end + 4 + length);
          {
            std::lock_guard lock(mu_);
            requests_.push_back({head, body});
          }
          if (head.rfind("POST /hold ", 0) == 0) {
            while (!released_ && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          std::string answer = "echo:" + body;
          std::string response =
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(answer.size()) +
              "\r\n\r\n" + answer;
          if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(response.size())) {
            return;
          }
          continue;
        }
      }
      if (!Readable(fd)) continue;
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;  // the client closed the connection
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> released_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<SeenRequest> requests_;
  std::thread thread_;
  std::vector<std::thread> connection_threads_;  // touched by the accepting thread only
};

ClientOptions PlainOptions(std::uint16_t port) {
  ClientOptions options;
  options.port = port;
  options.plain_http = true;
  options.timeout = std::chrono::milliseconds(5000);
  return options;
}

}  // namespace

TEST_CASE("A plain HTTP client posts a JSON body and reads the server's answer") {
  EchoServer server;
  Client client(PlainOptions(server.port()));
  auto response = client.Post("/rpc", R"({"jsonrpc":"2.0"})");
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  CHECK(response->status == 200);
  CHECK(response->content_type == "text/plain");
  CHECK(response->body == R"(echo:{"jsonrpc":"2.0"})");
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].head.rfind("POST /rpc HTTP/1.1\r\n", 0) == 0);
  CHECK(seen[0].head.find("Content-Type: application/json\r\n") != std::string::npos);
  CHECK(seen[0].body == R"({"jsonrpc":"2.0"})");
}

TEST_CASE("A plain HTTP client sends its second request over the same keep-alive connection") {
  EchoServer server;
  Client client(PlainOptions(server.port()));
  auto first = client.Post("/", "one");
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  auto second = client.Post("/", "two");
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(first->body == "echo:one");
  CHECK(second->body == "echo:two");
  CHECK(server.requests().size() == 2);
  CHECK(server.connections() == 1);
}

TEST_CASE("A client's calls run at once: one waiting for its answer holds up no other call") {
  EchoServer server;
  Client client(PlainOptions(server.port()));
  std::atomic<bool> held_answered{false};
  std::thread held([&] {
    auto r = client.Post("/hold", "slow");
    held_answered = r.ok() && r->body == "echo:slow";
  });
  while (server.requests().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto quick = client.Post("/quick", "fast");
  REQUIRE_MESSAGE(quick.ok(), quick.status().ToString());
  CHECK(quick->body == "echo:fast");
  CHECK_FALSE(held_answered);  // answered on a second connection while the first still waits
  server.Release();
  held.join();
  CHECK(held_answered);
  CHECK(server.connections() == 2);
  // Both connections stay for later calls.
  REQUIRE(client.Post("/", "again").ok());
  CHECK(server.connections() == 2);
}

TEST_CASE("Stream hands a response body to its reader as it arrives and stops when the reader says so") {
  EchoServer server;
  Client client(PlainOptions(server.port()));
  std::string got;
  auto status = client.Stream("POST", "/watch", "streamed", [&](std::string_view data) {
    got.append(data);
    return true;
  }, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  REQUIRE_MESSAGE(status.ok(), status.status().ToString());
  CHECK(*status == 200);
  CHECK(got == "echo:streamed");
  // A reader that has enough ends the stream: the call returns at once with the status.
  int pieces = 0;
  auto stopped = client.Stream("POST", "/watch", "again", [&](std::string_view) { return ++pieces < 1; },
                               std::chrono::steady_clock::now() + std::chrono::seconds(5));
  REQUIRE(stopped.ok());
  CHECK(pieces == 1);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("A plain HTTP client ignores TLS files it was given") {
  EchoServer server;
  ClientOptions options = PlainOptions(server.port());
  options.tls.ca_files = {"/nonexistent/ca.pem"};
  Client client(options);
  auto response = client.Get("/healthz");
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  CHECK(response->body == "echo:");
}

TEST_CASE("A plain HTTP client reports Unavailable naming the server when nothing listens") {
  std::uint16_t port = 0;
  {
    EchoServer gone;
    port = gone.port();
  }
  Client client(PlainOptions(port));
  auto response = client.Post("/", "{}");
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == StatusCode::kUnavailable);
  CHECK(response.status().message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
