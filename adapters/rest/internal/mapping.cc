// The mapping file parser: one entry per operation, each checked field by field.
#include "adapters/rest/internal/mapping.h"

#include <algorithm>
#include <initializer_list>

#include "runtime/common/config.h"

namespace entente::adapters::rest {
namespace {

constexpr std::string_view kWriteEntries[] = {"deliver", "deliver_blind", "delete", "delete_blind"};

// The fields an operation's arguments can fill.
enum class Operation { kRead, kWrite, kHeight };

bool Fills(Operation operation, Field field) {
  switch (operation) {
    case Operation::kWrite:
      return true;
    case Operation::kHeight:
      return field == Field::kChain;
    case Operation::kRead:
      return field == Field::kChain || field == Field::kContract || field == Field::kKey ||
             field == Field::kContractKey || field == Field::kKeyBase64 || field == Field::kContractKeyBase64;
  }
  return false;
}

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kRead:
      return "a read";
    case Operation::kWrite:
      return "a write";
    case Operation::kHeight:
      return "a height request";
  }
  return "";
}

// Parses the template at `entry.field`; `in_path` requires percent-encoding for every text value.
Result<Template> TemplateAt(const ConfigNode& entry, std::string_view field, Operation operation, bool in_path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode node, entry.Child(field));
  ENTENTE_ASSIGN_OR_RETURN(std::string text, node.AsString());
  auto parsed = Template::Parse(text);
  if (!parsed.ok()) return node.Error(parsed.status().message());
  for (const Placeholder& p : parsed->placeholders()) {
    if (!Fills(operation, p.field)) {
      return node.Error("placeholder '{{" + p.name + "}}' has no value in " + std::string(OperationName(operation)));
    }
    if (in_path && p.encoding != Encoding::kUrl && p.field != Field::kExpectedVersion) {
      return node.Error("placeholder '{{" + p.name + "}}' in a path must be percent-encoded: write '{{" + p.name +
                        "_url}}'");
    }
  }
  return std::move(parsed).value();
}

Result<Pointer> PointerAt(const ConfigNode& entry, std::string_view field) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode node, entry.Child(field));
  ENTENTE_ASSIGN_OR_RETURN(std::string text, node.AsString());
  auto pointer = Pointer::Parse(text);
  if (!pointer.ok()) return node.Error(pointer.status().message());
  return std::move(pointer).value();
}

Result<std::optional<Pointer>> OptionalPointerAt(const ConfigNode& entry, std::string_view field) {
  if (!entry.Has(field)) return std::optional<Pointer>();
  ENTENTE_ASSIGN_OR_RETURN(Pointer pointer, PointerAt(entry, field));
  return std::optional<Pointer>(std::move(pointer));
}

// An HTTP status or a list of them, each 100-599.
Result<std::vector<int>> StatusesAt(const ConfigNode& entry, std::string_view field) {
  std::vector<int> out;
  if (!entry.Has(field)) return out;
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode node, entry.Child(field));
  std::vector<ConfigNode> items{node};
  if (node.IsSequence()) {
    ENTENTE_ASSIGN_OR_RETURN(items, node.Elements());
  }
  for (const ConfigNode& item : items) {
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t status, item.AsInt());
    if (status < 100 || status > 599) return item.Error("an HTTP status must be 100-599");
    out.push_back(static_cast<int>(status));
  }
  return out;
}

Result<RequestMapping> RequestAt(const ConfigNode& entry, Operation operation) {
  RequestMapping out;
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode method, entry.Child("method"));
  ENTENTE_ASSIGN_OR_RETURN(out.method, method.AsString());
  if (out.method.empty() ||
      !std::all_of(out.method.begin(), out.method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return method.Error("expected an HTTP method in capitals (GET, POST, PUT, ...), got '" + out.method + "'");
  }
  ENTENTE_ASSIGN_OR_RETURN(out.path, TemplateAt(entry, "path", operation, /*in_path=*/true));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode path, entry.Child("path"));
  ENTENTE_ASSIGN_OR_RETURN(std::string path_text, path.AsString());
  if (path_text.empty() || path_text.front() != '/') return path.Error("expected an absolute path starting with '/'");
  if (entry.Has("headers")) {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode headers, entry.Child("headers"));
    if (!headers.IsMap()) return headers.Error("expected a map of header names to values");
    for (const std::string& name : headers.Keys()) {
      bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
      if (!token) return headers.Error("'" + name + "' is not a header name");
      ENTENTE_ASSIGN_OR_RETURN(Template value, TemplateAt(headers, name, operation, /*in_path=*/false));
      out.headers.emplace_back(name, std::move(value));
    }
  }
  if (entry.Has("body")) {
    ENTENTE_ASSIGN_OR_RETURN(out.body, TemplateAt(entry, "body", operation, /*in_path=*/false));
  }
  ENTENTE_ASSIGN_OR_RETURN(out.error, OptionalPointerAt(entry, "error"));
  return out;
}

Result<ReadMapping> ReadAt(const ConfigNode& root) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode entry, root.Child("read"));
  ENTENTE_RETURN_IF_ERROR(entry.CheckKeys(
      {"method", "path", "headers", "body", "error", "exists", "absent_status", "value", "value_encoding", "version"}));
  ReadMapping out;
  ENTENTE_ASSIGN_OR_RETURN(out.request, RequestAt(entry, Operation::kRead));
  ENTENTE_ASSIGN_OR_RETURN(out.exists, OptionalPointerAt(entry, "exists"));
  ENTENTE_ASSIGN_OR_RETURN(out.absent_status, StatusesAt(entry, "absent_status"));
  if (!out.exists && out.absent_status.empty()) {
    return entry.Error("needs 'exists' (a condition in the answer) or 'absent_status' to tell an absent key");
  }
  ENTENTE_ASSIGN_OR_RETURN(out.value, PointerAt(entry, "value"));
  ENTENTE_ASSIGN_OR_RETURN(out.version, PointerAt(entry, "version"));
  ENTENTE_ASSIGN_OR_RETURN(std::string encoding, entry.GetString("value_encoding", "text"));
  if (encoding == "base64") {
    out.value_encoding = ValueEncoding::kBase64;
  } else if (encoding != "text") {
    ENTENTE_ASSIGN_OR_RETURN(ConfigNode node, entry.Child("value_encoding"));
    return node.Error("expected base64 or text, got '" + encoding + "'");
  }
  return out;
}

Result<WriteMapping> WriteAt(const ConfigNode& root, WriteKind kind) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode entry, root.Child(EntryName(kind)));
  ENTENTE_RETURN_IF_ERROR(entry.CheckKeys(
      {"method", "path", "headers", "body", "error", "succeeded", "already_applied", "conflict_status"}));
  WriteMapping out;
  ENTENTE_ASSIGN_OR_RETURN(out.request, RequestAt(entry, Operation::kWrite));
  ENTENTE_ASSIGN_OR_RETURN(out.succeeded, OptionalPointerAt(entry, "succeeded"));
  ENTENTE_ASSIGN_OR_RETURN(out.already_applied, OptionalPointerAt(entry, "already_applied"));
  ENTENTE_ASSIGN_OR_RETURN(out.conflict_status, StatusesAt(entry, "conflict_status"));
  if (IsChecked(kind)) {
    if (!out.succeeded && out.conflict_status.empty()) {
      return entry.Error("a checked write needs 'succeeded' or 'conflict_status' to tell a refused write");
    }
    if (!out.already_applied) {
      return entry.Error(
          "a checked write needs 'already_applied' to tell a write applied before from a version "
          "mismatch (deliveries must be idempotent)");
    }
  }
  return out;
}

Result<HeightMapping> HeightAt(const ConfigNode& root) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode entry, root.Child("height"));
  ENTENTE_RETURN_IF_ERROR(entry.CheckKeys({"method", "path", "headers", "body", "error", "height"}));
  HeightMapping out;
  ENTENTE_ASSIGN_OR_RETURN(out.request, RequestAt(entry, Operation::kHeight));
  ENTENTE_ASSIGN_OR_RETURN(out.height, PointerAt(entry, "height"));
  return out;
}

Result<RestMapping> MappingOf(const ConfigNode& root, std::string source) {
  if (!root.IsMap()) return root.Error("expected a map of operations: read, height, deliver, ...");
  ENTENTE_RETURN_IF_ERROR(root.CheckKeys({"read", "deliver", "deliver_blind", "delete", "delete_blind", "height"}));
  RestMapping out;
  out.source = std::move(source);
  ENTENTE_ASSIGN_OR_RETURN(out.read, ReadAt(root));
  ENTENTE_ASSIGN_OR_RETURN(out.height, HeightAt(root));
  bool any_write = false;
  for (WriteKind kind : {WriteKind::kPut, WriteKind::kBlindPut, WriteKind::kDelete, WriteKind::kBlindDelete}) {
    if (!root.Has(EntryName(kind))) continue;
    ENTENTE_ASSIGN_OR_RETURN(out.writes[static_cast<int>(kind)], WriteAt(root, kind));
    any_write = true;
  }
  if (!any_write) {
    return root.Error("no write is mapped: expected 'deliver' (and/or deliver_blind, delete, delete_blind)");
  }
  return out;
}

}  // namespace

std::string_view EntryName(WriteKind kind) { return kWriteEntries[static_cast<int>(kind)]; }

bool IsChecked(WriteKind kind) { return kind == WriteKind::kPut || kind == WriteKind::kDelete; }

Result<RestMapping> LoadMapping(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  return MappingOf(root, path);
}

Result<RestMapping> ParseMapping(std::string_view text, std::string source_name) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::Parse(text, source_name));
  return MappingOf(root, std::move(source_name));
}

}  // namespace entente::adapters::rest
