// Helpers for Entente's tests: temporary directories that clean up after themselves, running a
// command and capturing its output, and locating the `entente` binary under test. Thread-compatible.
#pragma once

#include <cstdint>
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

// A service started in the background (e.g. `entente relay`), its stdout and stderr going to a fresh log
// file. The destructor kills it (SIGKILL) and reaps it, so a failing test leaves no process behind; it
// is also killed when the thread that started it ends (PR_SET_PDEATHSIG), so a test binary that aborts
// leaves none either.
class Process {
 public:
  Process(const std::vector<std::string>& argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits until the log holds a line starting with `prefix` and returns the rest of that line, or ""
  // after `timeout_ms` or when the process exited.
  std::string WaitForLine(const std::string& prefix, int timeout_ms = 20000) const;
  // Sends `signal`; with `wait`, reaps the process and returns its exit code (128 + signal when killed).
  int Signal(int signal, bool wait = true);
  bool running() const;
  int pid() const { return pid_; }
  std::string Log() const;

 private:
  int pid_ = -1;
  std::string log_path_;
  mutable int exit_code_ = -1;
};

// Returns the file's contents, or "" when it cannot be read.
std::string ReadText(const std::string& path);

// Overwrites the file with `text`.
void WriteText(const std::string& path, const std::string& text);

// The peak resident memory of process `pid` in bytes since the last ResetPeakResident (VmHWM of
// /proc/PID/status); 0 when it cannot be read.
std::size_t PeakResidentBytes(int pid);
// Starts measuring the peak anew from the current resident memory (/proc/PID/clear_refs, "5"); false
// when it cannot.
bool ResetPeakResident(int pid);

// Returns a loopback port nothing listens on right now (bound, then released at once).
std::uint16_t FreePort();

}  // namespace entente::testing
