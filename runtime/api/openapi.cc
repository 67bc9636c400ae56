// Each service's OpenAPI document, made once from the compiled-in source: its own paths, and only the
// components they reach.
#include <set>

#include "runtime/api/api.h"
#include "runtime/api/internal/openapi_source.h"

namespace entente::api {
namespace {

// Adds every "#/components/<kind>/<name>" that `value` refers to, to `refs`.
void CollectRefs(const Json& value, std::set<std::string>& refs) {
  if (value.is_object()) {
    for (const auto& [name, member] : value.items()) {
      if (name == "$ref" && member.is_string()) refs.insert(member.get<std::string>());
      CollectRefs(member, refs);
    }
  } else if (value.is_array()) {
    for (const Json& member : value) CollectRefs(member, refs);
  }
}

// The document of `service` from the source: its paths, the components they reach (transitively),
// and a title that names it.
std::string MakeDocument(std::string_view service) {
  Json source = ParseJson(internal::OpenApiSource()).value();
  Json document = source;
  document.erase("x-entente-paths");
  document["paths"] = source["x-entente-paths"][std::string(service)];
  document["info"]["title"] = "Entente " + std::string(service) + " REST API";
  // Components reached from the paths, then from what those reach, until nothing new.
  std::set<std::string> reached;
  CollectRefs(document["paths"], reached);
  for (std::size_t before = 0; before != reached.size();) {
    before = reached.size();
    std::set<std::string> more;
    for (const std::string& ref : reached) {
      if (ref.rfind("#/components/", 0) != 0) continue;
      const std::string path = ref.substr(13);
      const std::size_t slash = path.find('/');
      if (slash == std::string::npos) continue;
      const Json& kind = source["components"][path.substr(0, slash)];
      if (kind.contains(path.substr(slash + 1))) CollectRefs(kind[path.substr(slash + 1)], more);
    }
    reached.insert(more.begin(), more.end());
  }
  Json& components = document["components"];
  for (auto& [kind, entries] : components.items()) {
    if (kind == "securitySchemes") continue;
    Json kept = Json::object();
    for (const auto& [name, entry] : entries.items()) {
      if (reached.count("#/components/" + kind + "/" + name) > 0) kept[name] = entry;
    }
    entries = std::move(kept);
  }
  return DumpJson(document);
}

}  // namespace

const std::string& OpenApiDocument(Service service) {
  static const std::string node = MakeDocument("node");
  static const std::string relay = MakeDocument("relay");
  return service == Service::kNode ? node : relay;
}

}  // namespace entente::api
