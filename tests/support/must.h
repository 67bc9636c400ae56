// Test helpers that stop a test case at a failed Status or Result, printing it.
#pragma once

#include <doctest/doctest.h>

#include <utility>

#include "runtime/common/status.h"

namespace entente::testing {

// Returns the value of `r`; REQUIREs that it is OK.
template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

// REQUIREs that `s` is OK.
inline void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

}  // namespace entente::testing
