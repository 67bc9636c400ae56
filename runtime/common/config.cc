#include "runtime/common/config.h"

#include <yaml-cpp/yaml.h>

#include <utility>

#include "runtime/common/file.h"

namespace entente {

struct ConfigNode::Impl {
  YAML::Node node;
  std::shared_ptr<const std::string> source;
};

ConfigNode::ConfigNode(std::shared_ptr<const Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

Result<ConfigNode> ConfigNode::LoadFile(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

Result<ConfigNode> ConfigNode::Parse(std::string_view text, std::string source_name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    auto impl = std::make_shared<Impl>(Impl{root, std::make_shared<const std::string>(std::move(source_name))});
    return ConfigNode(std::move(impl), "");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source_name + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " +
                                   e.msg);
  }
}

std::string ConfigNode::Location() const {
  const YAML::Mark mark = impl_->node.Mark();
  std::string where = *impl_->source;
  if (mark.line >= 0) where += ":" + std::to_string(mark.line + 1);
  return where;
}

Status ConfigNode::Error(std::string_view message) const {
  std::string text = Location() + ": ";
  if (!path_.empty()) text += "key '" + path_ + "': ";
  text += message;
  return Status::InvalidArgument(std::move(text));
}

bool ConfigNode::Has(std::string_view key) const {
  return impl_->node.IsMap() && impl_->node[std::string(key)].IsDefined();
}
bool ConfigNode::IsMap() const { return impl_->node.IsMap(); }
bool ConfigNode::IsSequence() const { return impl_->node.IsSequence(); }
bool ConfigNode::IsScalar() const { return impl_->node.IsScalar(); }

Result<ConfigNode> ConfigNode::Child(std::string_view key) const {
  if (!impl_->node.IsMap()) return Error("expected a map with key '" + std::string(key) + "'");
  YAML::Node child = impl_->node[std::string(key)];
  if (!child.IsDefined()) return Error("missing key '" + std::string(key) + "'");
  auto impl = std::make_shared<Impl>(Impl{child, impl_->source});
  return ConfigNode(std::move(impl), path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

Result<std::vector<ConfigNode>> ConfigNode::Elements() const {
  if (!impl_->node.IsSequence()) return Error("expected a list");
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < impl_->node.size(); ++i) {
    auto impl = std::make_shared<Impl>(Impl{impl_->node[i], impl_->source});
    out.push_back(ConfigNode(std::move(impl), path_ + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> keys;
  if (!impl_->node.IsMap()) return keys;
  for (const auto& item : impl_->node) {
    if (item.first.IsScalar()) keys.push_back(item.first.Scalar());
  }
  return keys;
}

Result<std::string> ConfigNode::AsString() const {
  if (!impl_->node.IsScalar()) return Error("expected a string");
  return impl_->node.Scalar();
}

Result<std::int64_t> ConfigNode::AsInt() const {
  if (!impl_->node.IsScalar()) return Error("expected an integer");
  const std::string& text = impl_->node.Scalar();
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used, 10);
    if (used == text.size()) return static_cast<std::int64_t>(v);
  } catch (const std::exception&) {
  }
  return Error("expected an integer, got '" + text + "'");
}

Result<double> ConfigNode::AsDouble() const {
  if (!impl_->node.IsScalar()) return Error("expected a number");
  const std::string& text = impl_->node.Scalar();
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return Error("expected a number, got '" + text + "'");
}

Result<bool> ConfigNode::AsBool() const {
  if (impl_->node.IsScalar()) {
    const std::string& text = impl_->node.Scalar();
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
    return Error("expected true or false, got '" + text + "'");
  }
  return Error("expected true or false");
}

Result<std::string> ConfigNode::GetString(std::string_view key) const {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode child, Child(key));
  return child.AsString();
}
Result<std::int64_t> ConfigNode::GetInt(std::string_view key) const {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode child, Child(key));
  return child.AsInt();
}
Result<double> ConfigNode::GetDouble(std::string_view key) const {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode child, Child(key));
  return child.AsDouble();
}
Result<bool> ConfigNode::GetBool(std::string_view key) const {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode child, Child(key));
  return child.AsBool();
}

Result<std::vector<std::string>> ConfigNode::GetStringList(std::string_view key) const {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode child, Child(key));
  ENTENTE_ASSIGN_OR_RETURN(std::vector<ConfigNode> elements, child.Elements());
  std::vector<std::string> out;
  for (const ConfigNode& e : elements) {
    ENTENTE_ASSIGN_OR_RETURN(std::string s, e.AsString());
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::string> ConfigNode::GetString(std::string_view key, std::string fallback) const {
  return Has(key) ? GetString(key) : Result<std::string>(std::move(fallback));
}
Result<std::int64_t> ConfigNode::GetInt(std::string_view key, std::int64_t fallback) const {
  return Has(key) ? GetInt(key) : Result<std::int64_t>(fallback);
}
Result<double> ConfigNode::GetDouble(std::string_view key, double fallback) const {
  return Has(key) ? GetDouble(key) : Result<double>(fallback);
}
Result<bool> ConfigNode::GetBool(std::string_view key, bool fallback) const {
  return Has(key) ? GetBool(key) : Result<bool>(fallback);
}

Status ConfigNode::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  if (!impl_->node.IsMap()) return Error("expected a map");
  for (const auto& item : impl_->node) {
    if (!item.first.IsScalar()) {
      return Status::InvalidArgument(*impl_->source + ":" + std::to_string(item.first.Mark().line + 1) +
                                     ": a key must be a plain name, not a list or map");
    }
    std::string key = item.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      std::string where = *impl_->source + ":" + std::to_string(item.first.Mark().line + 1);
      std::string at = path_.empty() ? "" : " in '" + path_ + "'";
      return Status::InvalidArgument(where + ": unknown key '" + key + "'" + at + " (expected one of: " + list + ")");
    }
  }
  return Status::Ok();
}

Status ConfigNode::GetListen(std::string& address, std::uint16_t& port) const {
  if (!Has("listen")) return Status::Ok();
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode listen, Child("listen"));
  ENTENTE_RETURN_IF_ERROR(listen.CheckKeys({"address", "port"}));
  ENTENTE_ASSIGN_OR_RETURN(address, listen.GetString("address", address));
  ENTENTE_ASSIGN_OR_RETURN(std::int64_t number, listen.GetInt("port", port));
  if (number < 0 || number > 65535) return listen.Error("port must be 0-65535");
  port = static_cast<std::uint16_t>(number);
  return Status::Ok();
}

Status ConfigNode::GetServiceBounds(ServiceBounds& bounds) const {
  for (auto [key, value] : {std::pair<const char*, std::size_t*>{"max_waits", &bounds.max_waits},
                            {"max_waits_per_member", &bounds.max_waits_per_member},
                            {"max_connections", &bounds.max_connections},
                            {"max_requests", &bounds.max_requests}}) {
    ENTENTE_ASSIGN_OR_RETURN(std::int64_t number, GetInt(key, static_cast<std::int64_t>(*value)));
    if (number < 1) return Error(std::string(key) + " must be positive");
    *value = static_cast<std::size_t>(number);
  }
  return Status::Ok();
}

}  // namespace entente
