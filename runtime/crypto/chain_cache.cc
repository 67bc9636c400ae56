#include <mutex>

#include "runtime/crypto/crypto.h"

namespace entente::crypto {

Result<CertificateChain> ChainCache::Parse(std::string_view pem) {
  std::string key(pem);
  {
    std::shared_lock lock(mu_);
    auto it = chains_.find(key);
    if (it != chains_.end()) return it->second;
  }
  auto parsed = Certificate::ChainFromPem(pem);
  if (!parsed.ok()) return parsed.status();
  auto chain = std::make_shared<const std::vector<Certificate>>(std::move(parsed).value());
  std::unique_lock lock(mu_);
  if (chains_.size() >= capacity_) chains_.clear();
  chains_.emplace(std::move(key), chain);
  return chain;
}

std::size_t ChainCache::size() const {
  std::shared_lock lock(mu_);
  return chains_.size();
}

ChainCache& SharedChainCache() {
  static ChainCache* cache = new ChainCache(4096);  // never destroyed: worker threads may outlive main
  return *cache;
}

}  // namespace entente::crypto
