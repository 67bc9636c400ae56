// The HTTPS server on Beast and Asio SSL, on the model of Beast's advanced server: a listener on one
// strand, a Session per connection on its own strand, handlers on a separate thread pool. The only
// server translation unit that includes Beast.
#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

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

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::size_t kReadChunk = 4096;
// After an error response the connection is half-closed and the client's remaining input (e.g. the
// rest of an oversized body) is read and dropped for at most this long and this much, so that the
// client receives the response instead of a reset.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = 4 << 20;
// How long Stop waits for connections to close by themselves before closing them.
constexpr std::chrono::milliseconds kCloseWait{1000};

class Session;

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The answer past a bound: 503 with Retry-After.
Response Busy(std::string detail) {
  Response response = Problem(503, "Service Unavailable", std::move(detail));
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

// The Beast message for `response`. A response the handler got wrong (status outside 200-599, a header
// that cannot be sent) is replaced by a 500 problem or loses that header, and is logged.
bhttp::response<bhttp::string_body> ToBeast(Response response, unsigned version, bool keep_alive, bool head,
                                            spdlog::logger& log) {
  if (response.status < 200 || response.status > 599) {
    log.error("a handler answered with the invalid status {}", response.status);
    response = Problem(500, "Internal Server Error",
                       "the server produced the invalid status " + std::to_string(response.status));
  }
  bhttp::response<bhttp::string_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  message.set(bhttp::field::server, "entente");
  if (!response.content_type.empty() && IsHeaderValue(response.content_type)) {
    message.set(bhttp::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (!IsToken(name) || !IsHeaderValue(value)) {
      log.error("a handler's response header '{}' cannot be sent; dropped", name);
      continue;
    }
    std::string lower = Lowercase(name);
    if (lower == "connection") {
      if (beast::iequals(value, "close")) keep_alive = false;
      continue;
    }
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "content-type") continue;
    message.insert(name, value);
  }
  const bool bodyless = response.status == 204 || response.status == 304;
  if (!bodyless) message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  if (head) {
    std::size_t length = message.body().size();
    message.body().clear();
    if (!bodyless) message.content_length(length);
  }
  return message;
}

// The server's shared state: options, the handler, TLS, the io_context and its threads, the handler
// pool, and the live sessions (so that Stop can close them).
class ServerCore {
 public:
  ServerCore(ServerOptions options, DeferredHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ioc_(options_.io_threads),
        handler_pool_(static_cast<std::size_t>(options_.handler_threads)) {}
  ~ServerCore() { Stop(); }

  Status Listen();
  void Stop();
  std::uint16_t port() const { return port_; }

  const ServerOptions& options() const { return options_; }
  ssl::context& ssl_context() { return ssl_ctx_; }
  spdlog::logger& log() { return *log_; }
  bool stopping() const { return stopping_.load(); }

  // Runs the handler for `request` on the handler pool, which answers `session` through a Responder.
  // False (nothing runs) when max_requests requests run or wait for a handler already.
  bool RunHandler(std::shared_ptr<Session> session, Request request);
  // Runs `work` on the handler pool (a Responder's ReplyWith).
  void RunOnPool(std::function<void()> work);
  // Called by a session's destructor.
  void Unregister(Session* session);

 private:
  void Accept();
  void OnAccept(error_code ec, tcp::socket socket);
  void RunIo();

  // Calls `action` on every live session.
  void ForEachSession(void (Session::*action)());
  // Waits until no session is left or `timeout` passed; true if none is left.
  bool WaitForSessions(std::chrono::milliseconds timeout);

  const ServerOptions options_;
  const DeferredHandler handler_;
  const std::shared_ptr<spdlog::logger> log_ = Logger("http");

  // Declared before ioc_: sessions owned by pending operations are destroyed with ioc_ and unregister.
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  int handlers_running_ = 0;                                       // GUARDED_BY(mu_)

  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;   // serializes Stop
  bool stopped_ = true;  // GUARDED_BY(stop_mu_); false while serving

  ssl::context ssl_ctx_{ssl::context::tls_server};
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::strand<net::io_context::executor_type> accept_strand_{net::make_strand(ioc_)};
  tcp::acceptor acceptor_{accept_strand_};
  net::steady_timer accept_retry_{accept_strand_};
  net::thread_pool handler_pool_;
  std::vector<std::thread> io_threads_;
  std::uint16_t port_ = 0;
};

// One connection: the TLS handshake, then requests read one at a time, each answered by the handler
// (on the handler pool) before the next is read. Runs on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore* core, tcp::socket socket) : core_(core), stream_(std::move(socket), core->ssl_context()) {
    error_code ec;
    tcp::endpoint remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  ~Session() { core_->Unregister(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Makes this connection answer its first request with 503 and close (too many are open).
  void MarkOverloaded() { overloaded_ = true; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Handshake(); });
  }

  // From the handler pool: writes `response` on the session's strand.
  void PostResponse(Response response) {
    net::post(stream_.get_executor(), [self = shared_from_this(), response = std::move(response)]() mutable {
      self->WriteResponse(std::move(response));
    });
  }

  // The server is stopping: close now if no request is being answered, else after its response.
  void RequestStop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stop_requested_ = true;
      if (self->state_ == State::kHandshake || self->state_ == State::kIdle || self->state_ == State::kReading) {
        self->Close();
      }
    });
  }

  // Closes the connection whatever it is doing.
  void ForceClose() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

  // From any thread, for a streamed answer: sends `head` (status and headers, chunked), then each
  // piece queued, then the last chunk once ended. Pieces queued after the connection closed are dropped.
  void PostStreamHead(Response head) {
    net::post(stream_.get_executor(), [self = shared_from_this(), head = std::move(head)]() mutable {
      self->WriteStreamHead(std::move(head));
    });
  }
  void PostStreamPiece(std::string piece) {
    net::post(stream_.get_executor(), [self = shared_from_this(), piece = std::move(piece)]() mutable {
      self->pieces_.push_back(std::move(piece));
      self->PumpStream();
    });
  }
  void PostStreamEnd() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_ended_ = true;
      self->PumpStream();
    });
  }
  // False once the connection closed (from any thread).
  bool open() const { return !closed_.load(); }

 private:
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void Handshake() {
    state_ = State::kHandshake;
    if (core_->stopping()) return Close();
    tcp().expires_after(core_->options().read_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(error_code ec) {
    if (ec) {
      std::string reason = internal::VerifyFailure(stream_.native_handle());
      core_->log().debug("TLS handshake with {} failed: {}{}", remote_, ec.message(),
                         reason.empty() ? "" : " (client certificate: " + reason + ")");
      return Close();
    }
    peer_ = internal::GetPeerCertificates(stream_.native_handle());
    first_request_ = true;
    ReadRequest();
  }

  void ReadRequest() {
    if (stop_requested_ || core_->stopping()) return Close();
    parser_.emplace();
    parser_->body_limit(core_->options().body_limit);
    parser_->header_limit(kHeaderLimit);
    if (first_request_ || buffer_.size() > 0) {
      first_request_ = false;
      return ReadHeader();
    }
    // Keep-alive: wait up to idle_timeout for the first byte of the next request.
    state_ = State::kIdle;
    tcp().expires_after(core_->options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->OnReadError(ec);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    state_ = State::kReading;
    request_deadline_ = SteadyClock::now() + core_->options().read_timeout;
    tcp().expires_at(request_deadline_);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(error_code ec) {
    if (ec) return OnReadError(ec);
    // The parser has validated Content-Length; read it here (not through its boost::optional, which
    // trips GCC's -Wmaybe-uninitialized under sanitizers) to refuse an oversized body before it comes.
    std::string_view declared = parser_->get()[bhttp::field::content_length];
    std::uint64_t length = 0;
    bool parsed = std::from_chars(declared.data(), declared.data() + declared.size(), length).ec == std::errc();
    if (!declared.empty() && parsed && length > core_->options().body_limit) {
      return RespondAndClose(413, "Payload Too Large",
                             "the request body of " + std::to_string(length) + " bytes exceeds the limit of " +
                                 std::to_string(core_->options().body_limit) + " bytes");
    }
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      interim_ = {};
      interim_.version(11);
      interim_.result(bhttp::status::continue_);
      tcp().expires_after(core_->options().write_timeout);
      bhttp::async_write(stream_, interim_, [self = shared_from_this()](error_code write_ec, std::size_t) {
        if (write_ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    tcp().expires_at(request_deadline_);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, std::size_t) { self->OnRequest(ec); });
  }

  void OnReadError(error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return RespondAndClose(
          413, "Payload Too Large",
          "the request body exceeds the limit of " + std::to_string(core_->options().body_limit) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return RespondAndClose(431, "Request Header Fields Too Large",
                             "the request line and headers exceed " + std::to_string(kHeaderLimit) + " bytes");
    }
    const bool parse_error = ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    if (parse_error) return RespondAndClose(400, "Bad Request", "malformed HTTP request: " + ec.message());
    if (ec == beast::error::timeout) {
      core_->log().debug("closing the connection of {}: {}", remote_,
                         state_ == State::kIdle ? "idle timeout" : "the request did not arrive in time");
    } else if (ec != net::error::operation_aborted && ec != bhttp::error::end_of_stream) {
      core_->log().debug("closing the connection of {}: {}", remote_, ec.message());
    }
    Close();
  }

  void OnRequest(error_code ec) {
    if (ec) return OnReadError(ec);
    bhttp::request<bhttp::string_body> message = parser_->release();
    parser_.reset();
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    head_ = message.method() == bhttp::verb::head;

    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name = Lowercase(field.name_string());
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    request.body = std::move(message.body());
    request.peer = peer_.leaf;
    request.peer_chain = peer_.chain;
    request.remote_address = remote_;
    state_ = State::kHandling;
    if (Status parsed = ParseTarget(request); !parsed.ok()) {
      return WriteResponse(Problem(400, "Bad Request", parsed.message()));
    }
    if (core_->stopping()) {
      keep_alive_ = false;
      return WriteResponse(Problem(503, "Service Unavailable", "the server is stopping"));
    }
    if (request.peer && core_->options().verify_peer) {
      // The certificate passed the handshake; it may have been revoked or expired since.
      Status still = core_->options().verify_peer(*request.peer, request.peer_chain);
      if (!still.ok()) {
        keep_alive_ = false;
        return WriteResponse(Problem(403, "Forbidden", "the client certificate is no longer valid: " + still.message()));
      }
    }
    if (overloaded_) {
      keep_alive_ = false;
      return WriteResponse(Busy("the server has max_connections (" + std::to_string(core_->options().max_connections) +
                                ") connections open"));
    }
    core_->log().debug("{} {} {}", remote_, Printable(request.method), Printable(request.target));
    if (!core_->RunHandler(shared_from_this(), std::move(request))) {
      WriteResponse(Busy("the server has max_requests (" + std::to_string(core_->options().max_requests) +
                         ") requests running or queued"));
    }
  }

  void WriteResponse(Response response) {
    if (state_ == State::kClosing) return;
    bool keep_alive = keep_alive_ && !stop_requested_ && !core_->stopping();
    try {
      response_.emplace(ToBeast(std::move(response), version_, keep_alive, head_, core_->log()));
    } catch (const std::exception& e) {
      core_->log().error("cannot build the response: {}", e.what());
      response_.emplace(ToBeast(Problem(500, "Internal Server Error", "the server could not build its response"),
                                version_, false, head_, core_->log()));
    }
    keep_alive = response_->keep_alive();
    state_ = State::kWriting;
    tcp().expires_after(core_->options().write_timeout);
    bhttp::async_write(stream_, *response_, [self = shared_from_this(), keep_alive](error_code ec, std::size_t) {
      self->response_.reset();
      if (ec) {
        self->core_->log().debug("cannot send the response to {}: {}", self->remote_, ec.message());
        return self->Close();
      }
      if (!keep_alive) return self->GracefulClose();
      self->ReadRequest();
    });
  }

  // Writes the head of a streamed answer; its body follows through PumpStream.
  void WriteStreamHead(Response head) {
    if (state_ == State::kClosing) return;
    bhttp::response<bhttp::string_body> built = ToBeast(std::move(head), version_, keep_alive_ && !stop_requested_ &&
                                                                               !core_->stopping(),
                                                        false, core_->log());
    stream_head_.emplace(built.result(), built.version());
    for (const auto& field : built.base()) {
      if (field.name() != bhttp::field::content_length) stream_head_->base().insert(field.name_string(), field.value());
    }
    stream_head_->keep_alive(built.keep_alive());
    stream_head_->chunked(true);
    stream_serializer_.emplace(*stream_head_);
    state_ = State::kWriting;
    stream_writing_ = true;
    tcp().expires_after(core_->options().write_timeout);
    bhttp::async_write_header(stream_, *stream_serializer_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->stream_writing_ = false;
      if (ec) return self->Close();
      self->tcp().expires_never();
      self->PumpStream();
    });
  }

  // Writes the next queued piece of a streamed body as one chunk, or the last chunk once it ended.
  void PumpStream() {
    if (!stream_head_ || stream_writing_ || state_ == State::kClosing) return;
    if (!pieces_.empty()) {
      stream_piece_ = std::move(pieces_.front());
      pieces_.pop_front();
      stream_writing_ = true;
      tcp().expires_after(core_->options().write_timeout);
      net::async_write(stream_, bhttp::make_chunk(net::buffer(stream_piece_)),
                       [self = shared_from_this()](error_code ec, std::size_t) {
                         self->stream_writing_ = false;
                         if (ec) return self->Close();
                         self->tcp().expires_never();
                         self->PumpStream();
                       });
      return;
    }
    if (!stream_ended_) return;
    stream_writing_ = true;
    tcp().expires_after(core_->options().write_timeout);
    net::async_write(stream_, bhttp::make_chunk_last(), [self = shared_from_this()](error_code ec, std::size_t) {
      const bool keep_alive = self->stream_head_->keep_alive();
      self->stream_writing_ = false;
      self->stream_serializer_.reset();
      self->stream_head_.reset();
      self->stream_ended_ = false;
      if (ec) return self->Close();
      if (!keep_alive || self->stop_requested_ || self->core_->stopping()) return self->GracefulClose();
      self->ReadRequest();
    });
  }

  // Sends a problem for a request that could not be read, then closes the connection.
  void RespondAndClose(int status, std::string title, std::string detail) {
    core_->log().debug("{}: {} {}: {}", remote_, status, title, detail);
    parser_.reset();
    response_.emplace(ToBeast(Problem(status, std::move(title), std::move(detail)), 11, false, false, core_->log()));
    state_ = State::kWriting;
    tcp().expires_after(core_->options().write_timeout);
    bhttp::async_write(stream_, *response_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->response_.reset();
      if (ec) return self->Close();
      self->LingeringClose();
    });
  }

  // Sends TLS close_notify and waits (briefly) for the client's.
  void GracefulClose() {
    state_ = State::kClosing;
    tcp().expires_after(std::min<std::chrono::milliseconds>(core_->options().read_timeout, kLingerTime));
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->Close(); });
  }

  // Half-closes the TCP connection and drops what the client still sends, until it closes too.
  void LingeringClose() {
    state_ = State::kClosing;
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    request_deadline_ =
        SteadyClock::now() + std::min<std::chrono::milliseconds>(core_->options().read_timeout, kLingerTime);
    Drain();
  }

  void Drain() {
    tcp().expires_at(request_deadline_);
    buffer_.clear();
    tcp().async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerBytes) return self->Close();
      self->Drain();
    });
  }

  void Close() {
    state_ = State::kClosing;
    closed_ = true;
    pieces_.clear();
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }

  ServerCore* const core_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::empty_body> interim_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  // A streamed answer: its head, the serializer that wrote it, the pieces not yet written.
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_serializer_;
  std::deque<std::string> pieces_;
  std::string stream_piece_;  // the piece being written
  bool stream_writing_ = false;
  bool stream_ended_ = false;
  std::atomic<bool> closed_{false};
  internal::PeerCertificates peer_;
  std::string remote_ = "unknown";
  State state_ = State::kHandshake;
  bool first_request_ = true;
  bool stop_requested_ = false;
  bool overloaded_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  SteadyClock::time_point request_deadline_;
  std::size_t drained_ = 0;  // bytes dropped by LingeringClose
};

Status ServerCore::Listen() {
  ENTENTE_RETURN_IF_ERROR(internal::ConfigureTls(ssl_ctx_.native_handle(), options_.tls, internal::TlsSide::kServer,
                                                 options_.require_client_certificate));
  if (options_.verify_peer) {
    internal::SetPeerVerifier(ssl_ctx_.native_handle(), &options_.verify_peer);
    SSL_CTX_set_verify(ssl_ctx_.native_handle(),
                       SSL_VERIFY_PEER | (options_.require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       nullptr);
  }
  error_code ec;
  net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) return Status::InvalidArgument("'" + options_.address + "' is not an IP address to listen on");
  tcp::endpoint endpoint(address, options_.port);
  std::string where = options_.address + ":" + std::to_string(options_.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec)
    return Status::IOError("cannot open a socket for " + where + ": " + ec.message());
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Status::IOError("cannot set SO_REUSEADDR for " + where + ": " + ec.message());
  }
  if (acceptor_.bind(endpoint, ec); ec) return Status::IOError("cannot listen on " + where + ": " + ec.message());
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Status::IOError("cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return Status::IOError("cannot read the port of " + where + ": " + ec.message());

  stopped_ = false;
  work_.emplace(ioc_.get_executor());
  Accept();
  for (int i = 0; i < options_.io_threads; ++i) io_threads_.emplace_back([this] { RunIo(); });
  log_->info("listening on https://{}:{}", options_.address, port_);
  return Status::Ok();
}

void ServerCore::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         [this](error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void ServerCore::OnAccept(error_code ec, tcp::socket socket) {
  if (stopping_ || !acceptor_.is_open() || ec == net::error::operation_aborted) return;
  if (ec) {
    // E.g. out of file descriptors: wait a little rather than spin.
    log_->warn("accepting a connection failed: {}", ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](error_code wait_ec) {
      if (!wait_ec && !stopping_) Accept();
    });
    return;
  }
  error_code option_ec;
  socket.set_option(tcp::no_delay(true), option_ec);  // responses are written whole; do not wait for ACKs
  auto session = std::make_shared<Session>(this, std::move(socket));
  {
    std::lock_guard lock(mu_);
    if (sessions_.size() >= options_.max_connections) session->MarkOverloaded();
    sessions_.emplace(session.get(), session);
  }
  session->Start();
  Accept();
}

void ServerCore::RunIo() {
  while (true) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      log_->error("an I/O thread caught: {}", e.what());
    } catch (...) {
      log_->error("an I/O thread caught a non-standard exception");
    }
  }
}

// The Responder of one request of a session: keeps the session alive until the first Reply, which is
// written on the session's strand.
class SessionResponder : public Responder, public std::enable_shared_from_this<SessionResponder> {
 public:
  SessionResponder(ServerCore* core, std::shared_ptr<Session> session) : core_(core), session_(std::move(session)) {}

  void Reply(Response response) override {
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(mu_);
      session.swap(session_);
    }
    if (session) session->PostResponse(std::move(response));
  }

  void ReplyWith(std::function<Response()> make) override {
    Resume([self = shared_from_this(), make = std::move(make)] {
      Response response;
      try {
        response = make();
      } catch (const std::exception& e) {
        response = Problem(500, "Internal Server Error", std::string("the answer could not be built: ") + e.what());
      }
      self->Reply(std::move(response));
    });
  }

  std::shared_ptr<ResponseStream> Stream(Response head) override;

  void Resume(std::function<void()> work) override {
    {
      std::lock_guard lock(mu_);
      if (!session_) return;
    }
    core_->RunOnPool([self = shared_from_this(), work = std::move(work)] {
      try {
        work();
      } catch (const std::exception& e) {
        self->Reply(Problem(500, "Internal Server Error", std::string("the answer could not be built: ") + e.what()));
      } catch (...) {
        self->Reply(Problem(500, "Internal Server Error", "the answer could not be built"));
      }
    });
  }

 private:
  ServerCore* const core_;  // outlives every session
  std::mutex mu_;
  std::shared_ptr<Session> session_;  // GUARDED_BY(mu_); null once replied
};

// The body of one streamed answer of a session; keeps the session alive while it is held.
class SessionStream : public ResponseStream {
 public:
  SessionStream(ServerCore* core, std::shared_ptr<Session> session) : core_(core), session_(std::move(session)) {}
  ~SessionStream() override { End(); }

  bool Send(std::string piece) override {
    if (ended_.load() || !session_->open() || core_->stopping()) return false;
    session_->PostStreamPiece(std::move(piece));
    return true;
  }
  void End() override {
    if (!ended_.exchange(true)) session_->PostStreamEnd();
  }
  void Resume(std::function<void()> work) override {
    if (ended_.load() || !session_->open()) return;
    core_->RunOnPool([core = core_, work = std::move(work)] {
      try {
        work();
      } catch (const std::exception& e) {
        core->log().error("a stream's work threw: {}", e.what());
      } catch (...) {
        core->log().error("a stream's work threw a non-standard exception");
      }
    });
  }

 private:
  ServerCore* const core_;
  const std::shared_ptr<Session> session_;
  std::atomic<bool> ended_{false};
};

std::shared_ptr<ResponseStream> SessionResponder::Stream(Response head) {
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mu_);
    session.swap(session_);
  }
  if (!session || !session->open()) return nullptr;
  session->PostStreamHead(std::move(head));
  return std::make_shared<SessionStream>(core_, std::move(session));
}

void ServerCore::RunOnPool(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    ++handlers_running_;
  }
  net::post(handler_pool_, [this, work = std::move(work)] {
    work();
    {
      std::lock_guard lock(mu_);
      --handlers_running_;
    }
    cv_.notify_all();
  });
}

bool ServerCore::RunHandler(std::shared_ptr<Session> session, Request request) {
  {
    std::lock_guard lock(mu_);
    if (static_cast<std::size_t>(handlers_running_) >= options_.max_requests) return false;
    ++handlers_running_;
  }
  auto responder = std::make_shared<SessionResponder>(this, std::move(session));
  net::post(handler_pool_, [this, responder, request = std::move(request)]() mutable {
    try {
      handler_(request, responder);
    } catch (const std::exception& e) {
      log_->error("the handler of {} {} threw: {}", Printable(request.method), Printable(request.target), e.what());
      responder->Reply(Problem(500, "Internal Server Error", request.method + " " + request.path +
                                                                 " failed inside the server; the server log says why"));
    } catch (...) {
      log_->error("the handler of {} {} threw a non-standard exception", Printable(request.method),
                  Printable(request.target));
      responder->Reply(Problem(500, "Internal Server Error", request.method + " " + request.path +
                                                                 " failed inside the server; the server log says why"));
    }
    {
      std::lock_guard lock(mu_);
      --handlers_running_;
    }
    cv_.notify_all();
  });
  return true;
}

void ServerCore::Unregister(Session* session) {
  {
    std::lock_guard lock(mu_);
    sessions_.erase(session);
  }
  cv_.notify_all();
}

void ServerCore::ForEachSession(void (Session::*action)()) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) ((*session).*action)();
}

bool ServerCore::WaitForSessions(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

void ServerCore::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;

  // 1. Stop accepting.
  std::promise<void> closed;
  net::dispatch(accept_strand_, [this, &closed] {
    error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  // 2. Let running handlers finish; their responses are still sent.
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, options_.stop_timeout, [this] { return handlers_running_ == 0; })) {
      log_->warn("{} handlers still running after {} ms; closing their connections", handlers_running_,
                 options_.stop_timeout.count());
    }
  }

  // 3. Close idle connections now and busy ones after their response; then whatever is left.
  ForEachSession(&Session::RequestStop);
  if (!WaitForSessions(kCloseWait)) ForEachSession(&Session::ForceClose);

  // 4. Join: handlers first (they post to sessions), then the I/O threads once their work is done.
  work_.reset();
  handler_pool_.join();
  if (!WaitForSessions(kCloseWait)) ForEachSession(&Session::ForceClose);
  WaitForSessions(kCloseWait);
  ioc_.stop();
  for (std::thread& thread : io_threads_) thread.join();
  io_threads_.clear();
  log_->info("stopped serving https://{}:{}", options_.address, port_);
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options, DeferredHandler handler) : core(std::move(options), std::move(handler)) {}
  ServerCore core;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

std::uint16_t Server::port() const { return impl_->core.port(); }

void Server::Stop() {
  try {
    impl_->core.Stop();
  } catch (const std::exception& e) {
    Logger("http")->error("stopping the server failed: {}", e.what());
  }
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler handler) {
  if (!handler) return Status::InvalidArgument("the server needs a handler");
  return Start(std::move(options), [handler = std::move(handler)](const Request& request,
                                                                   std::shared_ptr<Responder> responder) {
    responder->Reply(handler(request));
  });
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, DeferredHandler handler) {
  if (!handler) return Status::InvalidArgument("the server needs a handler");
  if (options.max_connections < 1 || options.max_requests < 1) {
    return Status::InvalidArgument("max_connections and max_requests must be at least 1");
  }
  if (options.io_threads < 1 || options.handler_threads < 1) {
    return Status::InvalidArgument("io_threads and handler_threads must be at least 1");
  }
  if (options.body_limit == 0) return Status::InvalidArgument("body_limit must be positive");
  if (options.read_timeout.count() <= 0 || options.idle_timeout.count() <= 0 || options.write_timeout.count() <= 0 ||
      options.stop_timeout.count() < 0) {
    return Status::InvalidArgument("the server's timeouts must be positive");
  }
  try {
    auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
    ENTENTE_RETURN_IF_ERROR(impl->core.Listen());
    return std::unique_ptr<Server>(new Server(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot start the HTTPS server: ") + e.what());
  }
}

}  // namespace entente::http
