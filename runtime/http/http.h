// HTTPS for Entente's REST APIs (DESIGN.md §9): requests and responses as plain values, problem+json
// errors, a Router that dispatches by method, path pattern and the client certificate's role, an
// HTTP/1.1 server over TLS 1.3 with mutual authentication, and a keep-alive client. Beast, Asio and
// OpenSSL stay behind this header. Request, Response and Router are values (a Router is safe to use
// from many threads once built); Server and Client are thread-safe. No function throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/common/json.h"
#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::http {

// ---- Messages ----

struct Request {
  std::string method;                          // "GET", "POST", ... (case-sensitive, as sent)
  std::string target;                          // raw target, e.g. "/v1/x?from=3"
  std::string path;                            // percent-decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters; a repeated one keeps its last value
  std::map<std::string, std::string> headers;  // lowercase names; repeated headers joined with ", "
  std::string body;
  std::map<std::string, std::string> path_params;  // filled by Router: "/v1/transactions/{id}" -> {"id": ...}
  std::optional<crypto::Certificate> peer;         // the client's TLS certificate (leaf), when it sent one
  std::vector<crypto::Certificate> peer_chain;     // the intermediates it sent, if any
  std::string remote_address;                      // "ip:port" of the client, for logs

  // Returns the header's value (`name` in lowercase), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  // Returns the query parameter's value, or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
};

// Fills `request.path` and `request.query` from `request.target`. Returns InvalidArgument naming the
// problem for a target that is not an absolute path ("/..."), bad percent-encoding, or a NUL byte.
Status ParseTarget(Request& request);

struct Response {
  int status = 200;
  std::string content_type = "application/json";  // "" sends no Content-Type
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. {"Allow", "GET"}
};

// A JSON response (application/json). Invalid UTF-8 in strings is replaced by U+FFFD.
Response JsonResponse(int status, const Json& body);
// A plain-text response, e.g. Prometheus metrics with content type "text/plain; version=0.0.4".
Response TextResponse(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");

// The problem type URI of a title: "urn:entente:problem:" + the title in lowercase with every run of
// other characters than letters and digits as one "-" ("Not Found" -> "urn:entente:problem:not-found").
std::string ProblemType(std::string_view title);

// An RFC 7807 application/problem+json response {type, title, status, detail}, with the members of
// the JSON object `members` added: the problem's extension members (docs/api.md lists them: "reason",
// "code", "limit", "upstream", ...). A "code" is a validation code number (DESIGN.md §3) and gets its
// "code_name" when the number is known.
Response Problem(int status, std::string title, std::string detail, const Json& members = Json::object());

// Answers a request. May block briefly (a call to a peer); may throw, which the Router and the Server
// turn into a 500 problem. A request that waits for news uses a DeferredHandler instead.
using Handler = std::function<Response(const Request&)>;

// The body of a streamed answer (Responder::Stream), sent piece by piece as news arrives: server-sent
// events. Thread-safe.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Queues `piece` to be sent as it is (one chunk). Returns false, sending nothing, once the client left,
  // a write failed or the server stops: the producer should stop then.
  virtual bool Send(std::string piece) = 0;
  // Ends the body; the connection then serves its next request (or closes, as the head said).
  virtual void End() = 0;
  // Runs `work` on the server's handler pool while the stream is open: for news that arrives on a
  // thread that must not build the next piece.
  virtual void Resume(std::function<void()> work) = 0;
};

// The answer to a request, given later, once, from any thread: a handler that waits for news (a
// long-poll, an event stream) returns at once and hands its Responder to whatever brings the news,
// so that no thread is held while it waits. Thread-safe.
class Responder {
 public:
  virtual ~Responder() = default;
  // Sends `response`. Calls after the first do nothing, as does one after the client left.
  virtual void Reply(Response response) = 0;
  // Runs `make` on the server's handler pool and sends what it returns: for an answer that takes work
  // to build, when the news arrives on a thread that must not do that work.
  virtual void ReplyWith(std::function<Response()> make) = 0;
  // Runs `work` on the server's handler pool, which then replies or hands this Responder to another
  // wait: for news that calls for more work than building the answer (a retry). Nothing runs when the
  // request was answered already.
  virtual void Resume(std::function<void()> work) = 0;
  // Answers with a streamed body instead of Reply: sends `head`'s status and headers now, with chunked
  // transfer encoding (its body is ignored), and returns the stream for the body. Null when the
  // request was answered already or the client left. The stream keeps its connection alive: release
  // it (the producer's last reference) before the Server is destroyed.
  virtual std::shared_ptr<ResponseStream> Stream(Response head) = 0;
};

// A handler that answers through its Responder, now or later. It runs on the handler pool and, like a
// Handler, may block briefly (a call to a peer), but never waits for news: it hands its Responder on.
using DeferredHandler = std::function<void(const Request&, std::shared_ptr<Responder>)>;

// ---- Routing ----

// Dispatches requests by method and path pattern, after checking the client certificate's role. A
// pattern is an absolute path whose segments are literals or "{name}" parameters, each matching one
// non-empty segment ("/v1/channels/{ch}/blocks/{n}"). When several patterns match, the one with a
// literal earliest wins. Matching uses the path of `target`, segment by segment, each percent-decoded
// (so "%2F" inside a parameter stays inside it). Build it before serving; Handle is const and thread-safe.
class Router {
 public:
  // Routes `method` on `pattern` to `handler` for clients whose certificate role (crypto::Role of
  // the ECert's OU) is in `roles`; empty `roles` admits any member identity: a client certificate of
  // the role node, client, admin or relay (never a TCert or a CA certificate).
  // Adding the same method and pattern again replaces the earlier route.
  void Add(std::string method, std::string pattern, std::set<crypto::Role> roles, Handler handler);
  // Routes `method` on `pattern` to `handler` for every client, with or without a certificate
  // (for /healthz on a server that does not require client certificates).
  void AddPublic(std::string method, std::string pattern, Handler handler);
  // As Add, for a handler that answers later through its Responder (a long-poll).
  void AddDeferred(std::string method, std::string pattern, std::set<crypto::Role> roles, DeferredHandler handler);

  // Returns the handler's response with `request.path_params` filled, or a problem: 400 for bad
  // percent-encoding in the path, 404 for a path no pattern matches, 405 with an Allow header for a
  // path routed only for other methods, 401 when the route needs a certificate and the client sent
  // none, 403 when the certificate's role is not allowed, and 500 when the handler throws (the
  // exception is logged, not sent).
  Response Handle(Request request) const;
  // As Handle, answering through `responder`: at once, or later for a deferred route.
  void Dispatch(Request request, std::shared_ptr<Responder> responder) const;

  // What Dispatch answered: the request's method, the pattern of the route that answered ("" when no
  // route matched) and the response (for a streamed answer, its head). Called on the thread that
  // answers; must be thread-safe.
  using Recorder = std::function<void(const std::string& method, const std::string& pattern, const Response& response)>;
  // Records every answer Dispatch gives (for conformance tests of the API's documents).
  void Record(Recorder recorder) { recorder_ = std::move(recorder); }

  // Returns a Handler that calls Handle on this Router (a deferred route answers 500 there), which
  // must outlive it and stay where it is.
  Handler AsHandler() const;
  // Returns a DeferredHandler that calls Dispatch on this Router, for Server::Start.
  DeferredHandler AsDeferredHandler() const;

 private:
  struct Route {
    std::string pattern;
    std::vector<std::string> segments;  // literal text, or "{name}" for a parameter
    std::string method;
    bool is_public = false;
    std::set<crypto::Role> roles;
    Handler handler;            // one of these two
    DeferredHandler deferred;
  };
  void AddRoute(Route route);
  // The route for `request` with its path_params filled, or the problem that answers it instead.
  std::variant<const Route*, Response> Match(Request& request) const;

  std::vector<Route> routes_;
  Recorder recorder_;
};

// ---- Server ----

// PEM files for one side of a TLS connection.
struct TlsFiles {
  std::string cert_file;              // this side's certificate, followed by its intermediates
  std::string key_file;               // its private key (unencrypted PEM)
  std::vector<std::string> ca_files;  // CA certificates trusted for the other side's certificate
};

// Decides whether a client certificate (the leaf and the intermediates the client sent) identifies a
// member now: OK, or the reason it does not. Must be thread-safe and quick (no I/O).
using PeerVerifier =
    std::function<Status(const crypto::Certificate& leaf, const std::vector<crypto::Certificate>& intermediates)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: ephemeral, see Server::port()
  TlsFiles tls;            // server cert+key; ca_files = CAs trusted for client certificates
  // Mutual TLS: a client without a certificate (or with an untrusted one) fails the handshake. When
  // false, a certificate is still verified against ca_files if the client sends one.
  bool require_client_certificate = true;
  // When set, decides client certificates instead of ca_files: at the TLS handshake (a refused
  // certificate fails it), and again before every request on the connection, since a keep-alive
  // connection outlives a CRL update (a refused one gets 403 and the connection is closed). Its trust
  // anchors and CRLs may change while the server runs.
  PeerVerifier verify_peer;
  std::size_t body_limit = 1 << 20;  // larger bodies: 413 problem, connection closed
  // The TLS handshake, and each request (headers+body) from its first byte, must arrive within this;
  // else the connection is closed.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive connections idle this long are closed
  std::chrono::milliseconds write_timeout{30000};  // a response must be written within this
  std::chrono::milliseconds stop_timeout{5000};    // how long Stop waits for running handlers
  int io_threads = 2;
  int handler_threads = 8;  // handlers run on their own pool and may block briefly (a call to a peer)
  // Bounds, past which a request gets 503 with Retry-After (and a connection past max_connections is
  // closed after that answer): open connections, and requests running or queued for a handler thread.
  // Deferred requests waiting for news are bounded by whoever holds their Responders.
  std::size_t max_connections = 1024;
  std::size_t max_requests = 256;
};

// An HTTPS/1.1 server, TLS 1.3 only, on the model of Beast's advanced server: a listener, a session
// per connection, keep-alive, graceful stop. Each connection answers its requests in order, one
// handler at a time; pipelined requests wait in the socket (TCP flow control bounds them). Malformed
// requests get a 400 problem (431 for oversized headers, 413 for an oversized body) and the connection
// is closed. Thread-safe.
class Server {
 public:
  // Listens on options.address:port and serves `handler` (often Router::AsDeferredHandler). Returns
  // InvalidArgument for bad options or unreadable/mismatched TLS files (naming the file), IOError when
  // the address cannot be bound.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, DeferredHandler handler);
  // The same for a handler that answers at once.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, Handler handler);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port listened on (the ephemeral one when options.port was 0).
  std::uint16_t port() const;

  // Stops accepting, waits up to options.stop_timeout for running handlers (whose responses are
  // still sent), closes every connection and joins the threads. Safe to call twice. Handlers still
  // running after stop_timeout are waited for when joining, so a handler that blocks (long-poll)
  // must watch its own stop signal and be woken before Stop. REQUIRES: not called from a handler.
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- Client ----

struct ClientOptions {
  std::string host = "127.0.0.1";  // also the name checked against the server certificate (IP SAN or DNS SAN)
  std::uint16_t port = 0;
  TlsFiles tls;  // client cert+key (both empty for no client certificate); ca_files = CAs trusted for the server
  bool plain_http = false;  // HTTP/1.1 without TLS (e.g. a local Ethereum node); tls is ignored
  std::chrono::milliseconds timeout{30000};  // for a whole Send, connecting included
  std::size_t body_limit = 64 << 20;         // larger response bodies fail the call
  std::size_t max_idle_connections = 16;     // kept open between calls; more are opened while all are busy
};

// A keep-alive HTTPS client of one server, TLS 1.3 only (plain HTTP with options.plain_http).
// Thread-safe and concurrent: each call takes an idle connection or opens another, and keeps it for
// the next call when the server keeps it alive. A GET (or other idempotent method) that fails on a
// reused connection before any response arrived is retried once on a new connection.
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and returns the response whatever its status. Returns InvalidArgument for a
  // method or target that cannot be sent, or unreadable TLS files; Unavailable when connecting, the
  // TLS handshake (e.g. the server's certificate is untrusted or names another host), sending or
  // receiving fails or the timeout expires, with a message that says which.
  Result<Response> Send(std::string_view method, std::string_view target, std::string_view body = {},
                        std::vector<std::pair<std::string, std::string>> headers = {});
  Result<Response> Get(std::string_view target);
  // Sends `body` with content type application/json.
  Result<Response> Post(std::string_view target, std::string_view body);
  // Sends `body` (application/json) on a connection of its own and hands the response body to
  // `on_data`, piece by piece as it arrives (a streamed answer, such as etcd's watch), until the body
  // ends, `on_data` returns false or `until` passes; then closes that connection. Returns the
  // response's status (its body went to `on_data` whatever the status); Unavailable as Send when
  // connecting, sending or the headers fail within the timeout, or when the body breaks off.
  Result<int> Stream(std::string_view method, std::string_view target, std::string_view body,
                     const std::function<bool(std::string_view)>& on_data, std::chrono::steady_clock::time_point until);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace entente::http
