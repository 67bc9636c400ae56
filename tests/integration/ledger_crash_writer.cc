// ledger_crash_writer DIR: commits the crash workload (ledger_crash_workload.h) to the ledger in DIR
// forever, continuing from the current height of channel "crash", and prints the new height after
// every commit. ledger_crash_test kills it at random moments. Exits 1 on any error.
#include <cstdio>
#include <memory>
#include <string>

#include "runtime/ledger/ledger.h"
#include "tests/integration/ledger_crash_workload.h"

int main(int argc, char** argv) {
  using namespace entente::ledger;
  if (argc != 2) {
    std::fprintf(stderr, "usage: ledger_crash_writer DIR\n");
    return 2;
  }
  auto opened = Ledger::Open(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "ledger_crash_writer: open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Ledger> ledger = std::move(opened).value();
  for (;;) {
    Savepoint sp = ledger->GetSavepoint(crash_workload::kChannel);
    const std::uint64_t n = sp.height;
    std::vector<CommittedTx> txs = crash_workload::Transactions(n);
    Hash prev{};
    if (n > 0) prev = sp.last_hash;
    entente::Status s = ledger->Commit(crash_workload::MakeBlock(n, prev, txs), txs);
    if (!s.ok()) {
      std::fprintf(stderr, "ledger_crash_writer: commit %llu: %s\n", static_cast<unsigned long long>(n),
                   s.ToString().c_str());
      return 1;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(n + 1));
    std::fflush(stdout);
  }
}
