#include "runtime/ledger/internal/encoding.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger {
namespace {

Json VersionJson(const std::optional<Version>& v) {
  if (!v) return nullptr;
  return Json{{"block", v->block}, {"tx", v->tx}};
}

Json ReadJson(const KeyRead& r) { return Json{{"key", r.key}, {"version", VersionJson(r.version)}}; }

Result<std::optional<Version>> ParseVersion(const Json& j) {
  if (j.is_null()) return std::optional<Version>();
  if (!j.is_object() || !j.contains("block") || !j.contains("tx") || !j["block"].is_number_unsigned() ||
      !j["tx"].is_number_unsigned()) {
    return Status::InvalidArgument("version must be null or {\"block\": n, \"tx\": n}");
  }
  return std::optional<Version>(Version{j["block"].get<std::uint64_t>(), j["tx"].get<std::uint64_t>()});
}

Result<KeyRead> ParseRead(const Json& j) {
  KeyRead r;
  ENTENTE_ASSIGN_OR_RETURN(r.key, JsonString(j, "key"));
  if (!j.contains("version")) return Status::InvalidArgument("read of '" + r.key + "' has no version");
  ENTENTE_ASSIGN_OR_RETURN(r.version, ParseVersion(j["version"]));
  return r;
}

Result<const Json*> Array(const Json& j, const char* field) {
  if (!j.contains(field)) return Status::InvalidArgument(std::string("missing field '") + field + "'");
  const Json& a = j[field];
  if (!a.is_array()) return Status::InvalidArgument(std::string("field '") + field + "' must be an array");
  return &a;
}

Result<NamespaceRwSet> ParseNamespace(const Json& j) {
  NamespaceRwSet ns;
  ENTENTE_ASSIGN_OR_RETURN(std::string name, JsonString(j, "namespace"));
  size_t slash = name.find('/');
  if (slash == std::string::npos) {
    return Status::InvalidArgument("namespace '" + name + "' is not <channel>/<contract>");
  }
  ns.channel = name.substr(0, slash);
  ns.contract = name.substr(slash + 1);
  ENTENTE_RETURN_IF_ERROR(internal::CheckName("channel", ns.channel));
  ENTENTE_RETURN_IF_ERROR(internal::CheckName("contract", ns.contract));

  ENTENTE_ASSIGN_OR_RETURN(const Json* reads, Array(j, "reads"));
  for (const Json& r : *reads) {
    ENTENTE_ASSIGN_OR_RETURN(KeyRead read, ParseRead(r));
    ns.reads.push_back(std::move(read));
  }
  ENTENTE_ASSIGN_OR_RETURN(const Json* ranges, Array(j, "range_reads"));
  for (const Json& r : *ranges) {
    RangeRead range;
    ENTENTE_ASSIGN_OR_RETURN(range.start, JsonString(r, "start"));
    ENTENTE_ASSIGN_OR_RETURN(range.end, JsonString(r, "end"));
    if (!r.contains("exhausted") || !r["exhausted"].is_boolean()) {
      return Status::InvalidArgument("range read needs a boolean 'exhausted'");
    }
    range.exhausted = r["exhausted"].get<bool>();
    ENTENTE_ASSIGN_OR_RETURN(const Json* keys, Array(r, "keys_read"));
    for (const Json& k : *keys) {
      ENTENTE_ASSIGN_OR_RETURN(KeyRead read, ParseRead(k));
      range.keys_read.push_back(std::move(read));
    }
    ns.range_reads.push_back(std::move(range));
  }
  ENTENTE_ASSIGN_OR_RETURN(const Json* writes, Array(j, "writes"));
  for (const Json& w : *writes) {
    KeyWrite write;
    ENTENTE_ASSIGN_OR_RETURN(write.key, JsonString(w, "key"));
    if (w.contains("delete")) {
      if (!w["delete"].is_boolean() || !w["delete"].get<bool>() || w.contains("value")) {
        return Status::InvalidArgument("write of '" + write.key + "': \"delete\" must be true and alone");
      }
      write.is_delete = true;
    } else {
      ENTENTE_ASSIGN_OR_RETURN(write.value, JsonBase64(w, "value"));
    }
    ns.writes.push_back(std::move(write));
  }
  return ns;
}

}  // namespace

Json RwSet::ToJson() const {
  Json list = Json::array();
  for (const NamespaceRwSet& ns : namespaces) {
    Json reads = Json::array();
    for (const KeyRead& r : ns.reads) reads.push_back(ReadJson(r));
    Json ranges = Json::array();
    for (const RangeRead& range : ns.range_reads) {
      Json keys = Json::array();
      for (const KeyRead& r : range.keys_read) keys.push_back(ReadJson(r));
      ranges.push_back(
          Json{{"start", range.start}, {"end", range.end}, {"exhausted", range.exhausted}, {"keys_read", keys}});
    }
    Json writes = Json::array();
    for (const KeyWrite& w : ns.writes) {
      if (w.is_delete) {
        writes.push_back(Json{{"key", w.key}, {"delete", true}});
      } else {
        writes.push_back(Json{{"key", w.key}, {"value", Base64Encode(w.value)}});
      }
    }
    list.push_back(Json{{"namespace", ns.channel + "/" + ns.contract},
                        {"reads", reads},
                        {"range_reads", ranges},
                        {"writes", writes}});
  }
  return Json{{"namespaces", list}};
}

Result<RwSet> RwSet::FromJson(const Json& json) {
  if (!json.is_object()) return Status::InvalidArgument("rwset: expected an object");
  auto list = Array(json, "namespaces");
  if (!list.ok()) return list.status().WithContext("rwset");
  RwSet out;
  for (const Json& j : **list) {
    auto ns = ParseNamespace(j);
    if (!ns.ok()) return ns.status().WithContext("rwset");
    out.namespaces.push_back(std::move(*ns));
  }
  return out;
}

}  // namespace entente::ledger
