// ChainCache memoizes parsed certificate chains by their PEM text. With OpenSSL 3, parsing a
// certificate costs about as much as verifying a signature, and the same endorsers present the same
// PEM in envelope after envelope. Parsed certificates are immutable values, so a cached chain is
// exactly what parsing again would give; validity and revocation are still checked on every use.
// Thread-safe: lookups share a lock, insertions take it exclusively.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/common/status.h"
#include "runtime/crypto/crypto.h"

namespace entente::validation::internal {

using CertificateChain = std::shared_ptr<const std::vector<crypto::Certificate>>;

class ChainCache {
 public:
  // Holds at most `capacity` chains; when full it starts over (as the TrustStore's cache does).
  explicit ChainCache(std::size_t capacity) : capacity_(capacity) {}

  // Returns the chain crypto::Certificate::ChainFromPem parses from `pem` (leaf first), from the cache
  // when it was parsed before. A PEM that does not parse is not cached; its error is returned.
  Result<CertificateChain> Parse(std::string_view pem);

  std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, CertificateChain> chains_;  // GUARDED_BY(mu_)
};

// The process's cache of the chains that envelopes present (4096 chains, a few MB at most).
ChainCache& EnvelopeChainCache();

}  // namespace entente::validation::internal
