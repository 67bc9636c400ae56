#include "runtime/cli/bench_util.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace entente::cli {

int Threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

RateRun MeasureRate(const std::function<bool()>& op, double seconds) {
  RateRun run;
  std::atomic<std::uint64_t> total{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  double cpu_start = ProcessCpuSeconds();
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < Threads(); ++t) {
    pool.emplace_back([&] {
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (op()) ++n;
      }
      total += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  run.seconds = SecondsSince(start);
  run.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  run.ops = static_cast<double>(total);
  return run;
}

}  // namespace entente::cli
