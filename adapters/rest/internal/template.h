// A request template of the REST adapter's mapping file: text in which {{placeholder}} fields stand for
// the arguments of one operation (chain, contract, key, value, tx id, expected version), each written
// raw, percent-encoded (suffix _url) or escaped for a JSON string (suffix _json). Parsed once when the
// mapping is loaded; a Template is an immutable value, safe to expand from many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::adapters::rest {

// What a placeholder stands for. Every field but kExpectedVersion is text that may need encoding.
enum class Field {
  kChain,              // {{chain}}: the adapter's chain
  kContract,           // {{contract}}: the namespace read or written
  kKey,                // {{key}}
  kContractKey,        // {{contract_key}}: "<contract>/<key>", the key as stored in the service
  kTxId,               // {{tx_id}}: the delivered transaction's id
  kMarkerKey,          // {{marker_key}}: "entente/applied/<tx_id>/<contract>/<key>", the idempotency marker
  kValue,              // {{value}}: the written value's bytes, for services that store text
  kExpectedVersion,    // {{expected_version}}: the version a checked write expects, 0 when the key must be absent
  kKeyBase64,          // {{key_base64}}
  kContractKeyBase64,  // {{contract_key_base64}}
  kMarkerKeyBase64,    // {{marker_key_base64}}
  kValueBase64,        // {{value_base64}}
};

// How a placeholder's value is written into the text.
enum class Encoding {
  kRaw,   // as is:                             {{key}}
  kUrl,   // percent-encoded, for a path:       {{key_url}}
  kJson,  // escaped for inside a JSON string:  {{key_json}}
};

struct Placeholder {
  Field field;
  Encoding encoding;
  std::string name;  // as written between the braces, e.g. "key_url"
};

// The arguments of one operation; an operation leaves unset what it does not have (a read has no
// tx id), and the mapping parser refuses placeholders an operation cannot fill.
struct TemplateArguments {
  std::string chain;
  std::string contract;
  std::string key;
  std::string tx_id;
  Bytes value;
  std::uint64_t expected_version = 0;
};

// "<contract>/<key>": where the service stores `key` of `contract`.
std::string ContractKey(std::string_view contract, std::string_view key);
// "entente/applied/<tx_id>/<contract>/<key>": the key whose existence records that the write of
// `key` by transaction `tx_id` was applied.
std::string MarkerKey(std::string_view tx_id, std::string_view contract, std::string_view key);

// Percent-encodes every byte but RFC 3986's unreserved characters (so '/' becomes %2F).
std::string PercentEncode(std::string_view text);
// Returns `text` escaped for the inside of a JSON string (quotes not included); InvalidArgument when
// it is not UTF-8.
Result<std::string> JsonEscape(std::string_view text);

// Every placeholder name without its suffix, comma-separated, for messages.
std::string PlaceholderNames();

class Template {
 public:
  Template() = default;  // empty text

  // Returns InvalidArgument naming the problem and its offset for a "{{" without "}}", an empty or
  // unknown placeholder; whitespace inside the braces is allowed ("{{ key }}").
  static Result<Template> Parse(std::string_view text);

  // The placeholders used, in order of appearance.
  std::vector<Placeholder> placeholders() const;
  bool empty() const { return pieces_.empty(); }

  // Returns the text with every placeholder replaced by its argument. InvalidArgument when a
  // placeholder written as JSON ({{value_json}}, {{key_json}}, ...) holds bytes that are not UTF-8.
  Result<std::string> Expand(const TemplateArguments& arguments) const;

 private:
  struct Piece {
    std::string literal;                     // text before the placeholder
    std::optional<Placeholder> placeholder;  // none for trailing text
  };
  std::vector<Piece> pieces_;
};

}  // namespace entente::adapters::rest
