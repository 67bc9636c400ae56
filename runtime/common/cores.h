// The processor cores this process may run on: what worker pools size themselves by, and what the
// benchmarks measure the machine's limit on.
#pragma once

namespace entente {

// Returns how many cores the process's CPU affinity allows (taskset, a container's cpuset), at least 1.
int UsableCores();

// Restricts the calling thread, and every thread started from it afterwards, to the first `n` usable
// cores: called before a process starts threads, it pins the whole process. Returns false when `n` is
// not between 1 and UsableCores() or the system refuses.
bool PinToCores(int n);

}  // namespace entente
