// Stop signals of the long-running services: SIGINT and SIGTERM go to one waiting thread, never to
// whichever thread happens to run.
#pragma once

#include <functional>

namespace entente {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and in the threads it starts afterwards.
// Call it before starting any thread.
void BlockStopSignals();

// Waits for SIGINT or SIGTERM (blocked by BlockStopSignals) and returns its number. Each SIGHUP on the
// way calls `on_hangup` (when given) and goes on waiting.
int WaitForStopSignal(const std::function<void()>& on_hangup = {});

}  // namespace entente
