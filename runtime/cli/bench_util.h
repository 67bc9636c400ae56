// What the `entente bench` commands share: the machine's cores, CPU time, and operation rates
// measured on every core (the "machine's own limit" each benchmark reports beside its figure).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace entente::cli {

// The number of cores (threads the rates are measured on).
int Threads();
// CPU seconds (user + system) this process has used so far.
double ProcessCpuSeconds();
// CPU seconds process `pid` has used so far; nullopt when it is gone or unreadable.
std::optional<double> ProcessCpuSeconds(int pid);
// The median time, in ms, of writing 4 KiB and fdatasync()ing it in a scratch file under `dir` (the
// disk a data directory stands on), over `rounds` rounds; nullopt when the file cannot be written.
std::optional<double> MedianFsyncMs(const std::string& dir, int rounds = 50);
double SecondsSince(std::chrono::steady_clock::time_point start);

// Operations that succeeded, in how much wall time and how much CPU time of this process.
struct RateRun {
  double ops = 0;
  double seconds = 0;
  double cpu_seconds = 0;

  RateRun& operator+=(const RateRun& other) {
    ops += other.ops;
    seconds += other.seconds;
    cpu_seconds += other.cpu_seconds;
    return *this;
  }
  double per_second() const { return seconds > 0 ? ops / seconds : 0; }
};

// Runs `op` in a loop on every core for `seconds`; counts the calls that returned true.
RateRun MeasureRate(const std::function<bool()>& op, double seconds);

}  // namespace entente::cli
