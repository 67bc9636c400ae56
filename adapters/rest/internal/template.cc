// Template: parsing "{{name[_url|_json]}}" fields and filling them.
#include "adapters/rest/internal/template.h"

#include <array>
#include <utility>

#include "adapters/internal/endpoint.h"
#include "runtime/common/json.h"

namespace entente::adapters::rest {
namespace {

struct FieldName {
  Field field;
  std::string_view name;
};

// A placeholder's name is matched whole, after its suffix (_url, _json) is taken off.
constexpr std::array<FieldName, 12> kFields{{
    {Field::kChain, "chain"},
    {Field::kContract, "contract"},
    {Field::kKey, "key"},
    {Field::kContractKey, "contract_key"},
    {Field::kTxId, "tx_id"},
    {Field::kMarkerKey, "marker_key"},
    {Field::kValue, "value"},
    {Field::kExpectedVersion, "expected_version"},
    {Field::kKeyBase64, "key_base64"},
    {Field::kContractKeyBase64, "contract_key_base64"},
    {Field::kMarkerKeyBase64, "marker_key_base64"},
    {Field::kValueBase64, "value_base64"},
}};

std::optional<Field> FieldNamed(std::string_view name) {
  for (const FieldName& f : kFields) {
    if (f.name == name) return f.field;
  }
  return std::nullopt;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The bytes of `field` among `arguments`, before encoding.
std::string ValueOf(Field field, const TemplateArguments& a) {
  switch (field) {
    case Field::kChain:
      return a.chain;
    case Field::kContract:
      return a.contract;
    case Field::kKey:
      return a.key;
    case Field::kContractKey:
      return ContractKey(a.contract, a.key);
    case Field::kTxId:
      return a.tx_id;
    case Field::kMarkerKey:
      return MarkerKey(a.tx_id, a.contract, a.key);
    case Field::kValue:
      return ToString(a.value);
    case Field::kExpectedVersion:
      return std::to_string(a.expected_version);
    case Field::kKeyBase64:
      return Base64Encode(AsBytes(a.key));
    case Field::kContractKeyBase64:
      return Base64Encode(AsBytes(ContractKey(a.contract, a.key)));
    case Field::kMarkerKeyBase64:
      return Base64Encode(AsBytes(MarkerKey(a.tx_id, a.contract, a.key)));
    case Field::kValueBase64:
      return Base64Encode(a.value);
  }
  return "";
}

}  // namespace

std::string ContractKey(std::string_view contract, std::string_view key) {
  return std::string(contract) + "/" + std::string(key);
}

std::string MarkerKey(std::string_view tx_id, std::string_view contract, std::string_view key) {
  return "entente/applied/" + std::string(tx_id) + "/" + ContractKey(contract, key);
}

std::string PercentEncode(std::string_view text) { return EncodePathSegment(text); }

Result<std::string> JsonEscape(std::string_view text) {
  if (!IsValidUtf8(text)) return Status::InvalidArgument("not UTF-8 text, so it cannot go into a JSON string");
  std::string quoted = Json(std::string(text)).dump();
  return quoted.substr(1, quoted.size() - 2);
}

std::string PlaceholderNames() {
  std::string out;
  for (const FieldName& f : kFields) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

Result<Template> Template::Parse(std::string_view text) {
  Template out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t open = text.find("{{", at);
    if (open == std::string_view::npos) break;
    std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("'{{' at offset " + std::to_string(open) + " has no closing '}}'");
    }
    std::string_view written = Trim(text.substr(open + 2, close - open - 2));
    if (written.empty()) return Status::InvalidArgument("empty placeholder '{{}}' at offset " + std::to_string(open));
    Placeholder placeholder{Field::kChain, Encoding::kRaw, std::string(written)};
    std::string_view base = written;
    if (base.size() > 4 && base.substr(base.size() - 4) == "_url") {
      placeholder.encoding = Encoding::kUrl;
      base.remove_suffix(4);
    } else if (base.size() > 5 && base.substr(base.size() - 5) == "_json") {
      placeholder.encoding = Encoding::kJson;
      base.remove_suffix(5);
    }
    std::optional<Field> field = FieldNamed(base);
    if (!field) {
      return Status::InvalidArgument("unknown placeholder '{{" + std::string(written) + "}}' at offset " +
                                     std::to_string(open) + " (known: " + PlaceholderNames() +
                                     ", each also with the suffix _url or _json)");
    }
    placeholder.field = *field;
    out.pieces_.push_back(Piece{std::string(text.substr(at, open - at)), std::move(placeholder)});
    at = close + 2;
  }
  if (at < text.size()) out.pieces_.push_back(Piece{std::string(text.substr(at)), std::nullopt});
  return out;
}

std::vector<Placeholder> Template::placeholders() const {
  std::vector<Placeholder> out;
  for (const Piece& piece : pieces_) {
    if (piece.placeholder) out.push_back(*piece.placeholder);
  }
  return out;
}

Result<std::string> Template::Expand(const TemplateArguments& arguments) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    out += piece.literal;
    if (!piece.placeholder) continue;
    std::string value = ValueOf(piece.placeholder->field, arguments);
    switch (piece.placeholder->encoding) {
      case Encoding::kRaw:
        out += value;
        break;
      case Encoding::kUrl:
        out += PercentEncode(value);
        break;
      case Encoding::kJson: {
        auto escaped = JsonEscape(value);
        if (!escaped.ok()) return escaped.status().WithContext("{{" + piece.placeholder->name + "}}");
        out += *escaped;
        break;
      }
    }
  }
  return out;
}

}  // namespace entente::adapters::rest
