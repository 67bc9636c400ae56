// HeightWaiters: callbacks that wait for a counter of a key (a channel's height) to pass a value, or
// for their deadline, so that a request waiting for news (a long-poll, an event stream) holds no
// thread. One timer thread fires the deadlines; a bounded number may wait. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/common/status.h"

namespace entente {

class HeightWaiters {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Outcome { kReached, kTimedOut, kStopping };
  using Callback = std::function<void(Outcome)>;

  // At most `capacity` callbacks wait at once, and at most `per_owner` of one owner (a member chain),
  // so that one member cannot take every place.
  HeightWaiters(std::size_t capacity, std::size_t per_owner);
  ~HeightWaiters();  // Stop()
  HeightWaiters(const HeightWaiters&) = delete;
  HeightWaiters& operator=(const HeightWaiters&) = delete;

  // Calls `callback` once, without holding any lock: kReached as soon as `height_now()` or an Advance
  // of `key` passes `above` (at once, on this thread, when it already does), kTimedOut at `deadline`,
  // kStopping on Stop. `height_now` is read under the same lock as Advance, so no advance is missed.
  // ResourceExhausted (and no call) when `capacity` callbacks, or `per_owner` of `owner`'s, wait
  // already; Unavailable after Stop.
  Status Wait(const std::string& key, std::uint64_t above, const std::function<std::uint64_t()>& height_now,
              Clock::time_point deadline, const std::string& owner, Callback callback);
  // Reports that `key` is at `height` now: fires the waiters it passes.
  void Advance(const std::string& key, std::uint64_t height);
  // Reports that every key starting with `prefix` is at `height` now.
  void AdvancePrefix(const std::string& prefix, std::uint64_t height);
  // Fires every waiter with kStopping and refuses new ones; joins the timer thread. Safe to call twice.
  void Stop();

  std::size_t waiting() const;  // how many wait now
  std::size_t waiting(const std::string& key) const;  // how many wait for `key` now

 private:
  struct Waiter {
    std::string key;
    std::string owner;
    std::uint64_t above;
    Clock::time_point deadline;
    Callback callback;
  };
  void TimerLoop();
  // Fires the waiters that `height` passes of `key`, or of every key starting with it when `prefix`.
  void AdvanceMatching(const std::string& key, std::uint64_t height, bool prefix);

  // Counts one waiter of `owner` less. REQUIRES: mu_ held.
  void Release(const std::string& owner);

  const std::size_t capacity_;
  const std::size_t per_owner_;
  std::map<std::string, std::size_t> by_owner_;                   // GUARDED_BY(mu_)
  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  std::uint64_t next_id_ = 0;                                    // GUARDED_BY(mu_)
  std::map<std::uint64_t, Waiter> waiters_;                      // GUARDED_BY(mu_), by id
  std::multimap<std::string, std::uint64_t> by_key_;             // GUARDED_BY(mu_)
  std::multimap<Clock::time_point, std::uint64_t> by_deadline_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                                        // GUARDED_BY(mu_)
  std::thread timer_;
};

}  // namespace entente
