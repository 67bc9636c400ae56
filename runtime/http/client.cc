// The HTTPS client on Beast and Asio SSL (or plain HTTP over a Beast tcp_stream): a pool of keep-alive
// connections, each driven on the calling thread by its own io_context, every step bounded by the
// call's deadline. The only client translation unit that includes Beast.
#include <poll.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "runtime/common/log.h"
#include "runtime/http/http.h"
#include "runtime/http/internal/syntax.h"
#include "runtime/http/internal/tls.h"

namespace entente::http {
namespace {

using internal::IsHeaderValue;
using internal::IsToken;

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 64 * 1024;

// An origin-form target: "/" then visible ASCII only.
bool IsTarget(std::string_view target) {
  return !target.empty() && target.front() == '/' &&
         std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

// What every connection to the server shares: the options, the names, the TLS context (OpenSSL
// makes connections from one context on any thread).
struct Origin {
  explicit Origin(ClientOptions o) : options(std::move(o)) {
    host = options.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(options.port);
    if (options.plain_http) return;
    try {
      ssl_ctx.emplace(ssl::context::tls_client);
      tls_status = internal::ConfigureTls(ssl_ctx->native_handle(), options.tls, internal::TlsSide::kClient, true);
    } catch (const std::exception& e) {
      tls_status = Status::Internal(std::string("cannot create a TLS context: ") + e.what());
    }
  }

  const ClientOptions options;
  std::string host;   // without IPv6 brackets
  std::string where;  // host:port, for the Host header and messages
  std::optional<ssl::context> ssl_ctx;
  Status tls_status;
};

// One keep-alive connection (or none yet), driven on the calling thread by its own io_context. Used by
// one thread at a time.
struct Connection {
  explicit Connection(Origin& o)
      : options(o.options), host(o.host), where(o.where), ssl_ctx(o.ssl_ctx), tls_status(o.tls_status) {}

  bool Connected() const { return stream.has_value() || plain.has_value(); }

  // The TCP layer of the open connection. REQUIRES: Connected().
  beast::tcp_stream& Tcp() { return plain ? *plain : beast::get_lowest_layer(*stream); }

  ~Connection() { Disconnect(); }

  // Runs the io_context until the pending operations finish or `deadline` passes; then calls `cancel`
  // and lets the cancelled operations finish. Returns true if the deadline passed.
  bool RunUntil(SteadyClock::time_point deadline, const std::function<void()>& cancel) {
    ioc.restart();
    ioc.run_until(deadline);
    if (ioc.stopped()) return false;
    cancel();
    ioc.restart();
    ioc.run();
    return true;
  }

  void CloseSocket() {
    if (!Connected()) return;
    error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().socket().close(ec);
  }

  void Disconnect() {
    CloseSocket();
    stream.reset();
    plain.reset();
    buffer.clear();
  }

  // True if the idle connection cannot carry a request: the server closed it or sent something unasked.
  bool IsStale() {
    if (buffer.size() > 0) return true;
    pollfd fd{};
    fd.fd = Tcp().socket().native_handle();
    fd.events = POLLIN | POLLRDHUP;
    return ::poll(&fd, 1, 0) != 0;
  }

  std::string TimeoutText() const { return "timed out after " + std::to_string(options.timeout.count()) + " ms"; }

  Status Connect(SteadyClock::time_point deadline) {
    tcp::resolver resolver(ioc);
    error_code ec;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(host, std::to_string(options.port), [&](error_code e, tcp::resolver::results_type results) {
      ec = e;
      endpoints = std::move(results);
    });
    if (RunUntil(deadline, [&] { resolver.cancel(); })) {
      return Status::Unavailable("cannot resolve " + host + ": " + TimeoutText());
    }
    if (ec) return Status::Unavailable("cannot resolve " + host + ": " + ec.message());

    if (options.plain_http) {
      plain.emplace(ioc);
    } else {
      stream.emplace(ioc, *ssl_ctx);
      if (Status named = internal::ExpectServerName(stream->native_handle(), host); !named.ok()) {
        Disconnect();
        return named;
      }
    }
    Tcp().async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; });
    if (RunUntil(deadline, [&] { CloseSocket(); })) {
      Disconnect();
      return Status::Unavailable("cannot connect to " + where + ": " + TimeoutText());
    }
    if (ec) {
      Disconnect();
      return Status::Unavailable("cannot connect to " + where + ": " + ec.message());
    }
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    if (plain) {
      buffer.clear();
      return Status::Ok();
    }
    stream->async_handshake(ssl::stream_base::client, [&](error_code e) { ec = e; });
    if (RunUntil(deadline, [&] { CloseSocket(); })) {
      Disconnect();
      return Status::Unavailable("TLS handshake with " + where + " failed: " + TimeoutText());
    }
    if (ec) {
      std::string reason = internal::VerifyFailure(stream->native_handle());
      Disconnect();
      return Status::Unavailable("TLS handshake with " + where + " failed: " + ec.message() +
                                 (reason.empty() ? "" : " (server certificate: " + reason + ")"));
    }
    buffer.clear();
    return Status::Ok();
  }

  struct Exchanged {
    Response response;
    bool keep_alive = false;
  };

  // Sends `request` on the open connection `connection` (the TLS or the plain stream) and reads the
  // response. Sets `response_started` when any byte of a response arrived.
  template <typename Stream>
  Result<Exchanged> Exchange(Stream& connection, bhttp::request<bhttp::string_body>& request, bool head,
                             SteadyClock::time_point deadline, bool& response_started) {
    error_code ec;
    bhttp::async_write(connection, request, [&](error_code e, std::size_t) { ec = e; });
    if (RunUntil(deadline, [&] { CloseSocket(); })) {
      return Status::Unavailable("sending the request to " + where + " " + TimeoutText());
    }
    if (ec) return Status::Unavailable("cannot send the request to " + where + ": " + ec.message());

    while (true) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(kHeaderLimit);
      parser.skip(head);
      bhttp::async_read(connection, buffer, parser, [&](error_code e, std::size_t) { ec = e; });
      bool timed_out = RunUntil(deadline, [&] { CloseSocket(); });
      response_started = response_started || parser.got_some();
      if (timed_out) return Status::Unavailable("waiting for the response from " + where + " " + TimeoutText());
      if (ec == bhttp::error::body_limit) {
        return Status::Unavailable("the response from " + where + " exceeds the limit of " +
                                   std::to_string(options.body_limit) + " bytes");
      }
      if (ec) return Status::Unavailable("cannot read the response from " + where + ": " + ec.message());
      bhttp::response<bhttp::string_body> message = parser.release();
      unsigned status = message.result_int();
      if (status >= 100 && status < 200 && status != 101) continue;  // interim (100 Continue): read on
      Exchanged out;
      out.response.status = static_cast<int>(status);
      out.response.content_type = std::string(message[bhttp::field::content_type]);
      for (const auto& field : message) {
        out.response.headers.emplace_back(Lowercase(field.name_string()), std::string(field.value()));
      }
      out.response.body = std::move(message.body());
      out.keep_alive = message.keep_alive();
      return out;
    }
  }

  // The request to send, or InvalidArgument for what cannot be sent.
  Result<bhttp::request<bhttp::string_body>> MakeRequest(std::string_view method, std::string_view target,
                                                         std::string_view body,
                                                         const std::vector<std::pair<std::string, std::string>>& headers) {
    if (!tls_status.ok()) return tls_status;
    if (!IsToken(method)) return Status::InvalidArgument("'" + std::string(method) + "' is not an HTTP method");
    if (!IsTarget(target)) {
      return Status::InvalidArgument("'" + std::string(target) +
                                     "' is not a request target (an absolute path of visible ASCII characters)");
    }
    if (options.port == 0) return Status::InvalidArgument("the client has no server port");
    bhttp::request<bhttp::string_body> request;
    request.version(11);
    bhttp::verb verb = bhttp::string_to_verb(method);
    if (verb == bhttp::verb::unknown) {
      request.method_string(method);
    } else {
      request.method(verb);
    }
    request.target(target);
    request.set(bhttp::field::host, where);
    request.set(bhttp::field::user_agent, "entente");
    for (const auto& [name, value] : headers) {
      if (!IsToken(name) || !IsHeaderValue(value)) {
        return Status::InvalidArgument("the header '" + name + "' cannot be sent");
      }
      request.set(name, value);
    }
    request.body() = std::string(body);
    request.keep_alive(true);
    request.prepare_payload();
    return request;
  }

  Result<Response> Send(std::string_view method, std::string_view target, std::string_view body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
    ENTENTE_ASSIGN_OR_RETURN(bhttp::request<bhttp::string_body> request, MakeRequest(method, target, body, headers));
    const bool head = request.method() == bhttp::verb::head;

    const SteadyClock::time_point deadline = SteadyClock::now() + options.timeout;
    for (int attempt = 0;; ++attempt) {
      bool reused = Connected();
      if (reused && IsStale()) {
        Disconnect();
        reused = false;
      }
      if (!Connected()) ENTENTE_RETURN_IF_ERROR(Connect(deadline));
      bool response_started = false;
      Result<Exchanged> exchanged = plain ? Exchange(*plain, request, head, deadline, response_started)
                                          : Exchange(*stream, request, head, deadline, response_started);
      if (exchanged.ok()) {
        if (!exchanged->keep_alive) Disconnect();
        return std::move(exchanged->response);
      }
      Disconnect();
      if (reused && !response_started && attempt == 0 && IsIdempotent(method) && SteadyClock::now() < deadline) {
        Logger("http")->debug("retrying {} {} on a new connection to {}: {}", method, target, where,
                              exchanged.status().message());
        continue;
      }
      return exchanged.status();
    }
  }

  // Sends `request` on a new connection and hands the response body to `on_data` as it arrives, until
  // it ends, `on_data` returns false or `until` passes; returns the response's status. The connection
  // is closed afterwards.
  template <typename Stream>
  Result<int> ReadStream(Stream& connection, bhttp::request<bhttp::string_body>& request,
                         const std::function<bool(std::string_view)>& on_data, SteadyClock::time_point until) {
    error_code ec;
    bhttp::async_write(connection, request, [&](error_code e, std::size_t) { ec = e; });
    if (RunUntil(SteadyClock::now() + options.timeout, [&] { CloseSocket(); })) {
      return Status::Unavailable("sending the request to " + where + " " + TimeoutText());
    }
    if (ec) return Status::Unavailable("cannot send the request to " + where + ": " + ec.message());
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);  // a stream has no end but its deadline
    bhttp::async_read_header(connection, buffer, parser, [&](error_code e, std::size_t) { ec = e; });
    if (RunUntil(std::min(until, SteadyClock::now() + options.timeout), [&] { CloseSocket(); })) {
      return Status::Unavailable("waiting for the response from " + where + " " + TimeoutText());
    }
    if (ec) return Status::Unavailable("cannot read the response from " + where + ": " + ec.message());
    const int status = static_cast<int>(parser.get().result_int());
    char piece[16384];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      bhttp::async_read_some(connection, buffer, parser, [&](error_code e, std::size_t) { ec = e; });
      if (RunUntil(until, [&] { CloseSocket(); })) return status;  // the stream lasted its time
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Status::Unavailable("the response from " + where + " broke off: " + ec.message());
      std::size_t got = sizeof piece - parser.get().body().size;
      if (got > 0 && !on_data(std::string_view(piece, got))) return status;
    }
    return status;
  }

  Result<int> Stream(std::string_view method, std::string_view target, std::string_view body,
                     const std::function<bool(std::string_view)>& on_data, SteadyClock::time_point until) {
    ENTENTE_ASSIGN_OR_RETURN(bhttp::request<bhttp::string_body> request,
                             MakeRequest(method, target, body, {{"Content-Type", "application/json"}}));
    Disconnect();
    ENTENTE_RETURN_IF_ERROR(Connect(SteadyClock::now() + options.timeout));
    Result<int> status = plain ? ReadStream(*plain, request, on_data, until) : ReadStream(*stream, request, on_data, until);
    Disconnect();
    return status;
  }

  const ClientOptions& options;
  const std::string& host;
  const std::string& where;
  std::optional<ssl::context>& ssl_ctx;
  const Status& tls_status;
  net::io_context ioc{1};
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;  // the open TLS connection, if any
  std::optional<beast::tcp_stream> plain;                      // the open plain connection (plain_http)
  beast::flat_buffer buffer;
};

// A pool of connections: a call takes an idle one or opens another, and puts it back when it still
// carries keep-alive; no lock is held across a round trip.
struct Client::Impl {
  explicit Impl(ClientOptions o) : origin(std::move(o)) {}

  std::unique_ptr<Connection> Take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        std::unique_ptr<Connection> c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return std::make_unique<Connection>(origin);
  }

  void PutBack(std::unique_ptr<Connection> c) {
    if (!c->Connected()) return;
    std::lock_guard lock(mu);
    if (idle.size() < origin.options.max_idle_connections) idle.push_back(std::move(c));
  }

  Origin origin;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;  // GUARDED_BY(mu); most recently used last
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

Result<Response> Client::Send(std::string_view method, std::string_view target, std::string_view body,
                              std::vector<std::pair<std::string, std::string>> headers) {
  std::unique_ptr<Connection> connection = impl_->Take();
  try {
    Result<Response> response = connection->Send(method, target, body, headers);
    impl_->PutBack(std::move(connection));
    return response;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("HTTP client failed: ") + e.what());
  }
}

Result<int> Client::Stream(std::string_view method, std::string_view target, std::string_view body,
                           const std::function<bool(std::string_view)>& on_data,
                           std::chrono::steady_clock::time_point until) {
  Connection connection(impl_->origin);  // a stream has a connection of its own, closed afterwards
  try {
    return connection.Stream(method, target, body, on_data, until);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("HTTP client failed: ") + e.what());
  }
}

Result<Response> Client::Get(std::string_view target) { return Send("GET", target); }

Result<Response> Client::Post(std::string_view target, std::string_view body) {
  return Send("POST", target, body, {{"Content-Type", "application/json"}});
}

}  // namespace entente::http
