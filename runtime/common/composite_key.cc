#include "runtime/common/composite_key.h"

#include "runtime/common/json.h"

namespace entente {
namespace {

constexpr char kSeparator = '\0';

}  // namespace

Result<std::string> CreateCompositeKey(std::string_view object_type, const std::vector<std::string>& attributes) {
  if (object_type.find(kSeparator) != std::string_view::npos || !IsValidUtf8(object_type)) {
    return Status::InvalidArgument("composite key object type contains U+0000 or is not UTF-8");
  }
  std::string key(1, kSeparator);
  key.append(object_type);
  key.push_back(kSeparator);
  for (const std::string& a : attributes) {
    if (a.find(kSeparator) != std::string::npos || !IsValidUtf8(a)) {
      return Status::InvalidArgument("composite key attribute contains U+0000 or is not UTF-8");
    }
    key.append(a);
    key.push_back(kSeparator);
  }
  return key;
}

Result<std::pair<std::string, std::vector<std::string>>> SplitCompositeKey(std::string_view key) {
  if (key.size() < 2 || key.front() != kSeparator || key.back() != kSeparator) {
    return Status::InvalidArgument("not a composite key");
  }
  std::vector<std::string> parts;
  size_t start = 1;
  while (start < key.size()) {
    size_t end = key.find(kSeparator, start);
    parts.emplace_back(key.substr(start, end - start));
    start = end + 1;
  }
  std::string type = std::move(parts.front());
  parts.erase(parts.begin());
  return std::make_pair(std::move(type), std::move(parts));
}

std::pair<std::string, std::string> CompositeKeyRange(std::string_view object_type,
                                                      const std::vector<std::string>& attributes) {
  std::string start(1, kSeparator);
  start.append(object_type);
  start.push_back(kSeparator);
  for (const std::string& a : attributes) {
    start.append(a);
    start.push_back(kSeparator);
  }
  // The prefix ends in U+0000; the same text ending in U+0001 sorts after every key that extends the
  // prefix and before any other key. Exact for any attributes, and the bound stays UTF-8, so it can
  // be recorded in a read-write set.
  std::string end = start;
  end.back() = '\x01';
  return {start, end};
}

}  // namespace entente
