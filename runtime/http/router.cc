// Requests, responses, problem+json and the Router: plain values, no sockets.
#include <algorithm>
#include <exception>

#include "runtime/common/log.h"
#include "runtime/common/validation_code.h"
#include "runtime/http/http.h"

namespace entente::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). InvalidArgument names `what` for a
// malformed escape or an escaped NUL.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return Status::InvalidArgument("malformed percent-encoding at offset " + std::to_string(i) + " of the " +
                                       std::string(what));
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return Status::InvalidArgument("the " + std::string(what) + " contains a NUL byte");
    out.push_back(c);
  }
  return out;
}

// The path of a target: everything before '?'.
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Splits "/a/b/c" into {"a", "b", "c"}; "/" is {""}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 1;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      segments.push_back(path.substr(start));
      break;
    }
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool IsParameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string JoinMethods(const std::set<std::string>& methods) {
  std::string text;
  for (const std::string& m : methods) text += (text.empty() ? "" : ", ") + m;
  return text;
}

std::string RoleNames(const std::set<crypto::Role>& roles) {
  std::string text;
  for (crypto::Role role : roles) text += (text.empty() ? "" : ", ") + std::string(crypto::RoleName(role));
  return text;
}

}  // namespace

std::optional<std::string> Request::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Status ParseTarget(Request& request) {
  std::string_view target = request.target;
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("the request target must be an absolute path starting with '/', not '" +
                                   std::string(target.substr(0, 64)) + "'");
  }
  size_t question = target.find('?');
  ENTENTE_ASSIGN_OR_RETURN(std::string path, PercentDecode(target.substr(0, question), false, "path"));
  std::map<std::string, std::string> query;
  if (question != std::string_view::npos) {
    std::string_view rest = target.substr(question + 1);
    size_t fragment = rest.find('#');
    if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view item = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (item.empty()) continue;
      size_t eq = item.find('=');
      ENTENTE_ASSIGN_OR_RETURN(std::string name, PercentDecode(item.substr(0, eq), true, "query"));
      std::string value;
      if (eq != std::string_view::npos) {
        ENTENTE_ASSIGN_OR_RETURN(value, PercentDecode(item.substr(eq + 1), true, "query"));
      }
      query[std::move(name)] = std::move(value);
    }
  }
  request.path = std::move(path);
  request.query = std::move(query);
  return Status::Ok();
}

Response JsonResponse(int status, const Json& body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = DumpJson(body);
  return response;
}

Response TextResponse(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

std::string ProblemType(std::string_view title) {
  std::string slug;
  bool dash = false;
  for (char c : title) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) {
      if (dash && !slug.empty()) slug.push_back('-');
      dash = false;
      slug.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    } else {
      dash = true;
    }
  }
  return "urn:entente:problem:" + (slug.empty() ? std::string("error") : slug);
}

Response Problem(int status, std::string title, std::string detail, const Json& members) {
  Json body = {
      {"type", ProblemType(title)}, {"title", std::move(title)}, {"status", status}, {"detail", std::move(detail)}};
  if (members.is_object()) {
    for (const auto& [name, value] : members.items()) body[name] = value;
  }
  if (body.contains("code") && body["code"].is_number_integer()) {
    if (auto known = ValidationCodeFromNumber(body["code"].get<int>())) body["code_name"] = std::string(ValidationCodeName(*known));
  }
  Response response = JsonResponse(status, body);
  response.content_type = "application/problem+json";
  return response;
}

void Router::Add(std::string method, std::string pattern, std::set<crypto::Role> roles, Handler handler) {
  AddRoute(Route{.pattern = std::move(pattern),
                 .segments = {},
                 .method = std::move(method),
                 .is_public = false,
                 .roles = std::move(roles),
                 .handler = std::move(handler)});
}

void Router::AddPublic(std::string method, std::string pattern, Handler handler) {
  AddRoute(Route{.pattern = std::move(pattern),
                 .segments = {},
                 .method = std::move(method),
                 .is_public = true,
                 .roles = {},
                 .handler = std::move(handler)});
}

void Router::AddDeferred(std::string method, std::string pattern, std::set<crypto::Role> roles,
                         DeferredHandler handler) {
  AddRoute(Route{.pattern = std::move(pattern),
                 .segments = {},
                 .method = std::move(method),
                 .is_public = false,
                 .roles = std::move(roles),
                 .handler = {},
                 .deferred = std::move(handler)});
}

void Router::AddRoute(Route route) {
  if (route.pattern.empty() || route.pattern.front() != '/') route.pattern.insert(route.pattern.begin(), '/');
  for (std::string_view segment : Segments(route.pattern)) route.segments.emplace_back(segment);
  for (Route& existing : routes_) {
    if (existing.method == route.method && existing.segments == route.segments) {
      existing = std::move(route);
      return;
    }
  }
  routes_.push_back(std::move(route));
}

std::variant<const Router::Route*, Response> Router::Match(Request& request) const {
  std::string_view path = PathOf(request.target);
  std::vector<std::string_view> raw = Segments(path.empty() ? std::string_view("/") : path);
  std::vector<std::string> segments;
  for (std::string_view segment : raw) {
    auto decoded = PercentDecode(segment, false, "path");
    if (!decoded.ok()) return Problem(400, "Bad Request", decoded.status().message());
    segments.push_back(std::move(decoded).value());
  }

  // Among the routes whose pattern matches, the best for the method: a literal beats a parameter at
  // the first segment where two patterns differ.
  const Route* best = nullptr;
  std::set<std::string> allowed;
  auto more_specific = [](const Route& a, const Route& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      bool a_literal = !IsParameter(a.segments[i]);
      bool b_literal = !IsParameter(b.segments[i]);
      if (a_literal != b_literal) return a_literal;
    }
    return false;
  };
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& part = route.segments[i];
      match = IsParameter(part) ? !segments[i].empty() : part == segments[i];
    }
    if (!match) continue;
    allowed.insert(route.method);
    if (route.method == request.method && (best == nullptr || more_specific(route, *best))) best = &route;
  }
  std::string what = request.method + " " + std::string(path);
  if (best == nullptr) {
    if (allowed.empty()) return Problem(404, "Not Found", "no resource at " + std::string(path));
    Response response = Problem(405, "Method Not Allowed",
                                std::string(path) + " allows " + JoinMethods(allowed) + ", not " + request.method);
    response.headers.emplace_back("Allow", JoinMethods(allowed));
    return response;
  }

  if (!best->is_public) {
    if (!request.peer) {
      return Problem(401, "Unauthorized", what + " needs a client certificate");
    }
    const crypto::Subject& subject = request.peer->subject();
    if (best->roles.empty()) {
      static const std::set<crypto::Role> kMembers{crypto::Role::kNode, crypto::Role::kClient, crypto::Role::kAdmin,
                                                   crypto::Role::kRelay};
      if (!kMembers.contains(subject.role)) {
        return Problem(403, "Forbidden",
                       what + " is for member identities (node, client, admin, relay); the client certificate's "
                              "role is '" + subject.role_name + "'");
      }
    } else {
      if (!best->roles.contains(subject.role)) {
        return Problem(403, "Forbidden",
                       what + " is for the roles " + RoleNames(best->roles) + "; the client certificate's role is '" +
                           subject.role_name + "'");
      }
    }
  }

  for (size_t i = 0; i < segments.size(); ++i) {
    if (IsParameter(best->segments[i])) {
      const std::string& part = best->segments[i];
      request.path_params[part.substr(1, part.size() - 2)] = std::move(segments[i]);
    }
  }
  return best;
}

namespace {

// The answer for a handler that threw (the exception is logged, not sent).
Response Failed(const Request& request, std::string_view pattern, const char* why) {
  Logger("http")->error("handler of {} {} threw: {}", request.method, pattern, why);
  return Problem(500, "Internal Server Error",
                 request.method + " " + std::string(PathOf(request.target)) +
                     " failed inside the server; the server log says why");
}

}  // namespace

Response Router::Handle(Request request) const {
  auto matched = Match(request);
  if (auto* answer = std::get_if<Response>(&matched)) return std::move(*answer);
  const Route* route = std::get<const Route*>(matched);
  if (!route->handler) return Failed(request, route->pattern, "a deferred route needs Dispatch");
  try {
    return route->handler(request);
  } catch (const std::exception& e) {
    return Failed(request, route->pattern, e.what());
  } catch (...) {
    return Failed(request, route->pattern, "a non-standard exception");
  }
}

namespace {

// A Responder that tells a Router's Recorder what it answers, then answers through the real one.
class RecordingResponder : public Responder {
 public:
  RecordingResponder(std::shared_ptr<Responder> inner, const Router::Recorder& recorder, std::string method,
                     std::string pattern)
      : inner_(std::move(inner)), recorder_(recorder), method_(std::move(method)), pattern_(std::move(pattern)) {}
  void Reply(Response response) override {
    recorder_(method_, pattern_, response);
    inner_->Reply(std::move(response));
  }
  void ReplyWith(std::function<Response()> make) override {
    inner_->ReplyWith([this_recorder = recorder_, method = method_, pattern = pattern_, make = std::move(make)] {
      Response response = make();
      this_recorder(method, pattern, response);
      return response;
    });
  }
  void Resume(std::function<void()> work) override { inner_->Resume(std::move(work)); }
  std::shared_ptr<ResponseStream> Stream(Response head) override {
    recorder_(method_, pattern_, head);
    return inner_->Stream(std::move(head));
  }

 private:
  const std::shared_ptr<Responder> inner_;
  const Router::Recorder recorder_;
  const std::string method_, pattern_;
};

}  // namespace

void Router::Dispatch(Request request, std::shared_ptr<Responder> responder) const {
  auto matched = Match(request);
  if (recorder_) {
    const std::string pattern = std::holds_alternative<const Route*>(matched) ? std::get<const Route*>(matched)->pattern : "";
    responder = std::make_shared<RecordingResponder>(std::move(responder), recorder_, request.method, pattern);
  }
  if (auto* answer = std::get_if<Response>(&matched)) return responder->Reply(std::move(*answer));
  const Route* route = std::get<const Route*>(matched);
  try {
    if (route->deferred) return route->deferred(request, responder);
    responder->Reply(route->handler(request));
  } catch (const std::exception& e) {
    responder->Reply(Failed(request, route->pattern, e.what()));
  } catch (...) {
    responder->Reply(Failed(request, route->pattern, "a non-standard exception"));
  }
}

Handler Router::AsHandler() const {
  return [this](const Request& request) { return Handle(request); };
}

DeferredHandler Router::AsDeferredHandler() const {
  return [this](const Request& request, std::shared_ptr<Responder> responder) {
    Dispatch(request, std::move(responder));
  };
}

}  // namespace entente::http
