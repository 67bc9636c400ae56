// Stop signals of the long-running services: SIGINT and SIGTERM go to one waiting thread, never to
// whichever thread happens to run.
#pragma once

namespace entente {

// Blocks SIGINT and SIGTERM in the calling thread and in the threads it starts afterwards. Call it
// before starting any thread.
void BlockStopSignals();

// Waits for SIGINT or SIGTERM (blocked by BlockStopSignals) and returns its number.
int WaitForStopSignal();

}  // namespace entente
