// The mapping file of a RestAdapter: how each ChainAdapter operation becomes one HTTP request to a REST
// service, and where in its JSON answer the results are. Loaded once (every error names the file, the
// line and the field); an immutable value afterwards, safe to share between threads. The format is
// documented in adapters/rest/rest_adapter.h; adapters/rest/mappings/etcd.yaml is the worked example.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/rest/internal/pointer.h"
#include "adapters/rest/internal/template.h"
#include "runtime/common/status.h"

namespace entente::adapters::rest {

// The request of one operation, and where an error answer holds its message.
struct RequestMapping {
  std::string method;  // "GET", "POST", ...
  Template path;       // expands to an absolute path (with a query, if any), after the endpoint's base path
  std::vector<std::pair<std::string, Template>> headers;
  Template body;                 // empty: no body
  std::optional<Pointer> error;  // the message in an answer that is not 2xx
};

enum class ValueEncoding { kText, kBase64 };

// `read`: Read and StillCurrent.
struct ReadMapping {
  RequestMapping request;
  std::optional<Pointer> exists;   // the key exists when this condition holds (see Holds)
  std::vector<int> absent_status;  // HTTP statuses that mean the key does not exist (e.g. 404)
  Pointer value;                   // nothing or null there: the empty value
  ValueEncoding value_encoding = ValueEncoding::kText;
  Pointer version;  // a number: the key's version
};

// The four kinds of delivered write, each mapped by its own optional entry.
enum class WriteKind {
  kPut,          // `deliver`: a value, applied only at the expected version
  kBlindPut,     // `deliver_blind`: a value, whatever the version
  kDelete,       // `delete`: a deletion, applied only at the expected version
  kBlindDelete,  // `delete_blind`: a deletion, whatever the version
};
std::string_view EntryName(WriteKind kind);
bool IsChecked(WriteKind kind);

// `deliver`, `deliver_blind`, `delete`, `delete_blind`: Deliver.
struct WriteMapping {
  RequestMapping request;
  std::optional<Pointer> succeeded;        // the write was applied (absent: every 2xx answer means applied)
  std::optional<Pointer> already_applied;  // when not applied: it had been applied before (the marker exists)
  std::vector<int> conflict_status;        // HTTP statuses that mean "not applied", with a body to examine
};

// `height`: Height.
struct HeightMapping {
  RequestMapping request;
  Pointer height;  // a number
};

struct RestMapping {
  std::string source;  // the file, for messages
  ReadMapping read;
  std::array<std::optional<WriteMapping>, 4> writes;  // indexed by WriteKind
  HeightMapping height;

  const std::optional<WriteMapping>& write(WriteKind kind) const { return writes[static_cast<int>(kind)]; }
};

// Returns the mapping in the YAML file at `path`; NotFound when there is no such file, InvalidArgument
// "file:line: key 'entry.field': ..." for anything wrong in it.
Result<RestMapping> LoadMapping(const std::string& path);
// Parses mapping YAML; `source_name` stands for the file in messages.
Result<RestMapping> ParseMapping(std::string_view text, std::string source_name);

}  // namespace entente::adapters::rest
