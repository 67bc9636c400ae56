#include "runtime/cli/bench_util.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "runtime/common/cores.h"

namespace entente::cli {

int Threads() { return UsableCores(); }

double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<double> ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14.
  std::size_t end = stat.rfind(')');
  if (end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(end + 1));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  if (!fields) return std::nullopt;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<double> MedianFsyncMs(const std::string& dir, int rounds) {
  const std::string path = dir + "/.fsync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::nullopt;
  std::vector<char> block(4096, 'f');
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * 4096) != 4096 || ::fdatasync(fd) != 0) break;
    ms.push_back(SecondsSince(start) * 1000);
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (ms.empty()) return std::nullopt;
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
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
