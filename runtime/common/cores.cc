#include "runtime/common/cores.h"

#include <sched.h>

#include <algorithm>

namespace entente {

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

bool PinToCores(int n) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (n < 1 || ::sched_getaffinity(0, sizeof allowed, &allowed) != 0 || n > CPU_COUNT(&allowed)) return false;
  cpu_set_t chosen;
  CPU_ZERO(&chosen);
  for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < n; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    CPU_SET(cpu, &chosen);
    ++taken;
  }
  return ::sched_setaffinity(0, sizeof chosen, &chosen) == 0;
}

}  // namespace entente
