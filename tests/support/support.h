// Helpers for Entente's tests: temporary directories that clean up after themselves, running a
// command and capturing its output, and locating the `entente` binary under test. Thread-compatible.
#pragma once

#include <string>
#include <vector>

namespace entente::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Returns path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // the process's exit status, or 128 + signal
  std::string output;  // stdout and stderr, interleaved
};

// Runs `argv` (no shell) and waits for it; stdout and stderr are captured together.
CommandResult RunCommand(const std::vector<std::string>& argv);

// Path of the `entente` executable under test ($ENTENTE_BINARY, set by ctest).
std::string EntenteBinary();

// Runs `entente` with `args`.
CommandResult RunEntente(const std::vector<std::string>& args);

// Returns the file's contents, or "" when it cannot be read.
std::string ReadText(const std::string& path);

// Overwrites the file with `text`.
void WriteText(const std::string& path, const std::string& text);

}  // namespace entente::testing
