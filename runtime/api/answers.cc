#include "runtime/api/api.h"

#include <fstream>
#include <memory>
#include <mutex>

#include "runtime/validation/validation.h"

namespace entente::api {

http::Response UnknownTransaction(std::string_view tx_id, std::string_view where) {
  return http::Problem(404, "Not Found", std::string(where) + " knows no transaction " + std::string(tx_id),
                       Json{{"state", "unknown"}, {"tx_id", tx_id}});
}

Result<http::Router::Recorder> ResponseLog(const std::string& path, Service service) {
  struct Log {
    std::mutex mu;
    std::ofstream out;
  };
  auto log = std::make_shared<Log>();
  log->out.open(path, std::ios::app);
  if (!log->out) return Status::IOError("cannot open " + path + " to record responses");
  const std::string name = service == Service::kNode ? "node" : "relay";
  return http::Router::Recorder([log, name](const std::string& method, const std::string& pattern,
                                            const http::Response& response) {
    Json line{{"service", name},         {"method", method}, {"pattern", pattern}, {"status", response.status},
              {"content_type", response.content_type}, {"body", response.body}};
    std::string text = DumpJson(line) + "\n";
    std::lock_guard lock(log->mu);
    log->out << text << std::flush;
  });
}

http::Response Unavailable(std::string detail) {
  http::Response busy = http::Problem(503, "Service Unavailable", std::move(detail));
  busy.headers.emplace_back("Retry-After", "1");
  return busy;
}

http::Response EnvelopeTooLarge(std::size_t size) {
  return http::Problem(413, "Payload Too Large",
                       "an envelope of " + std::to_string(size) + " bytes is larger than the alliance's limit of " +
                           std::to_string(validation::kMaxEnvelopeBytes) + " bytes",
                       Json{{"reason", "PAYLOAD_TOO_LARGE"}, {"limit", validation::kMaxEnvelopeBytes}, {"size", size}});
}

}  // namespace entente::api
