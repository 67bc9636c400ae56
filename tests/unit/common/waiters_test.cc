// HeightWaiters (runtime/common/waiters.h): callbacks that wait for a key's height, woken by Advance.
#include "runtime/common/waiters.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace entente;

namespace {

// Registers a waiter on `key` above `above` that records its outcome in `outcomes` under `name`.
void WaitOn(HeightWaiters& waiters, const std::string& key, std::uint64_t above, const std::string& name,
            std::vector<std::string>& outcomes) {
  Status s = waiters.Wait(
      key, above, [] { return std::uint64_t{0}; }, HeightWaiters::Clock::now() + std::chrono::minutes(1), "member",
      [&outcomes, name](HeightWaiters::Outcome outcome) {
        outcomes.push_back(name + (outcome == HeightWaiters::Outcome::kReached ? " reached" : " other"));
      });
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("Advance wakes the waiters of its key that the height passes, and no other") {
  HeightWaiters waiters(16, 16);
  std::vector<std::string> outcomes;
  WaitOn(waiters, "commit/chainA/t1", 0, "t1", outcomes);
  WaitOn(waiters, "commit/chainA/t2", 0, "t2", outcomes);
  WaitOn(waiters, "chainA", 5, "stream", outcomes);
  waiters.Advance("commit/chainA/t1", 1);
  CHECK(outcomes == std::vector<std::string>{"t1 reached"});
  waiters.Advance("chainA", 5);  // not past 5
  CHECK(waiters.waiting() == 2);
  waiters.Advance("chainA", 6);
  CHECK(outcomes == std::vector<std::string>{"t1 reached", "stream reached"});
  CHECK(waiters.waiting() == 1);
  waiters.Stop();
}

TEST_CASE("AdvancePrefix wakes every key that starts with the prefix, and not a longer channel's") {
  HeightWaiters waiters(16, 16);
  std::vector<std::string> outcomes;
  WaitOn(waiters, "commit/chainA/t1", 0, "A t1", outcomes);
  WaitOn(waiters, "commit/chainA/t2", 0, "A t2", outcomes);
  WaitOn(waiters, "commit/chainAB/t3", 0, "AB t3", outcomes);
  WaitOn(waiters, "commit/chain/t4", 0, "t4", outcomes);
  waiters.AdvancePrefix("commit/chainA/", 1);
  CHECK(outcomes == std::vector<std::string>{"A t1 reached", "A t2 reached"});
  CHECK(waiters.waiting() == 2);
  waiters.Stop();
  CHECK(outcomes.size() == 4);
  CHECK(waiters.waiting() == 0);
}
