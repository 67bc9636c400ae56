// Composite keys in Fabric's layout: U+0000, the object type, U+0000, then each attribute followed
// by U+0000. They sort by type, then attribute by attribute, so a prefix of attributes selects a
// range. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/common/status.h"

namespace entente {

// Returns InvalidArgument if the type or an attribute contains U+0000 or is not UTF-8 (so that every
// key of a prefix sorts inside CompositeKeyRange).
Result<std::string> CreateCompositeKey(std::string_view object_type, const std::vector<std::string>& attributes);
// Returns the object type and attributes; InvalidArgument for a key not made by CreateCompositeKey.
Result<std::pair<std::string, std::vector<std::string>>> SplitCompositeKey(std::string_view key);
// The [start, end) range holding exactly the composite keys that start with these attributes; both
// bounds are UTF-8.
std::pair<std::string, std::string> CompositeKeyRange(std::string_view object_type,
                                                      const std::vector<std::string>& attributes);

}  // namespace entente
