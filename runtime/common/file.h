// Whole-file reads and crash-safe writes. Pure functions over the file system; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include "runtime/common/status.h"

namespace entente {

// Returns the file's contents; NotFound when it does not exist, IOError otherwise, naming the path.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to a temporary file beside `path` with permissions `mode`, syncs it, and renames it
// over `path`, so readers see the old or the new contents, never a mix. Returns IOError naming the path.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Returns `path` as it is when absolute, otherwise relative to the folder of the file `relative_to`
// (an operator's config file names other files relative to itself).
std::string ResolvePath(const std::string& relative_to, const std::string& path);

// Creates `path` and its parents; a directory created here gets `mode`, existing ones are left as they are.
Status MakeDirectories(const std::string& path, mode_t mode = 0755);

}  // namespace entente
