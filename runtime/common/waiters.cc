#include "runtime/common/waiters.h"

#include <vector>

namespace entente {

HeightWaiters::HeightWaiters(std::size_t capacity, std::size_t per_owner)
    : capacity_(capacity), per_owner_(per_owner), timer_([this] { TimerLoop(); }) {}

void HeightWaiters::Release(const std::string& owner) {
  auto it = by_owner_.find(owner);
  if (it != by_owner_.end() && --it->second == 0) by_owner_.erase(it);
}

HeightWaiters::~HeightWaiters() { Stop(); }

Status HeightWaiters::Wait(const std::string& key, std::uint64_t above, const std::function<std::uint64_t()>& height_now,
                           Clock::time_point deadline, const std::string& owner, Callback callback) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the service is stopping");
    if (height_now() <= above) {
      if (waiters_.size() >= capacity_) {
        return Status::ResourceExhausted(std::to_string(capacity_) + " requests wait for news already (max_waits)");
      }
      std::size_t& owned = by_owner_[owner];
      if (owned >= per_owner_) {
        if (owned == 0) by_owner_.erase(owner);
        return Status::ResourceExhausted(owner + " has " + std::to_string(per_owner_) +
                                         " requests waiting for news already (max_waits_per_member)");
      }
      ++owned;
      std::uint64_t id = next_id_++;
      waiters_.emplace(id, Waiter{key, owner, above, deadline, std::move(callback)});
      by_key_.emplace(key, id);
      bool earliest = by_deadline_.empty() || deadline < by_deadline_.begin()->first;
      by_deadline_.emplace(deadline, id);
      if (earliest) timer_cv_.notify_one();
      return Status::Ok();
    }
  }
  callback(Outcome::kReached);
  return Status::Ok();
}

void HeightWaiters::Advance(const std::string& key, std::uint64_t height) { AdvanceMatching(key, height, false); }

void HeightWaiters::AdvancePrefix(const std::string& prefix, std::uint64_t height) {
  AdvanceMatching(prefix, height, true);
}

void HeightWaiters::AdvanceMatching(const std::string& key, std::uint64_t height, bool prefix) {
  std::vector<Callback> ready;
  {
    std::lock_guard lock(mu_);
    auto matches = [&](const std::string& k) { return prefix ? k.starts_with(key) : k == key; };
    for (auto it = by_key_.lower_bound(key); it != by_key_.end() && matches(it->first);) {
      auto waiter = waiters_.find(it->second);
      if (waiter == waiters_.end() || waiter->second.above >= height) {
        ++it;
        continue;
      }
      auto [d_begin, d_end] = by_deadline_.equal_range(waiter->second.deadline);
      for (auto d = d_begin; d != d_end; ++d) {
        if (d->second == it->second) {
          by_deadline_.erase(d);
          break;
        }
      }
      ready.push_back(std::move(waiter->second.callback));
      Release(waiter->second.owner);
      waiters_.erase(waiter);
      it = by_key_.erase(it);
    }
  }
  for (Callback& callback : ready) callback(Outcome::kReached);
}

void HeightWaiters::TimerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (by_deadline_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    Clock::time_point next = by_deadline_.begin()->first;
    if (Clock::now() < next) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    std::vector<Callback> expired;
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= Clock::now()) {
      std::uint64_t id = by_deadline_.begin()->second;
      by_deadline_.erase(by_deadline_.begin());
      auto waiter = waiters_.find(id);
      if (waiter == waiters_.end()) continue;
      auto [k_begin, k_end] = by_key_.equal_range(waiter->second.key);
      for (auto k = k_begin; k != k_end; ++k) {
        if (k->second == id) {
          by_key_.erase(k);
          break;
        }
      }
      expired.push_back(std::move(waiter->second.callback));
      Release(waiter->second.owner);
      waiters_.erase(waiter);
    }
    lock.unlock();
    for (Callback& callback : expired) callback(Outcome::kTimedOut);
    lock.lock();
  }
}

void HeightWaiters::Stop() {
  std::vector<Callback> stopped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, waiter] : waiters_) stopped.push_back(std::move(waiter.callback));
    waiters_.clear();
    by_owner_.clear();
    by_key_.clear();
    by_deadline_.clear();
  }
  timer_cv_.notify_all();
  if (timer_.joinable() && timer_.get_id() != std::this_thread::get_id()) timer_.join();
  for (Callback& callback : stopped) callback(Outcome::kStopping);
}

std::size_t HeightWaiters::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

std::size_t HeightWaiters::waiting(const std::string& key) const {
  std::lock_guard lock(mu_);
  return by_key_.count(key);
}

}  // namespace entente
