// RoutedRemoteState: route check against the current alliance, then the chain's adapter.
#include "adapters/adapter.h"

#include <utility>

namespace entente::adapters {

Result<std::unique_ptr<RoutedRemoteState>> RoutedRemoteState::Create(
    std::vector<std::shared_ptr<ChainAdapter>> adapters, AllianceSource alliance) {
  if (!alliance) return Status::InvalidArgument("remote state needs a source of the alliance view");
  std::map<std::string, std::shared_ptr<ChainAdapter>, std::less<>> by_chain;
  for (std::shared_ptr<ChainAdapter>& adapter : adapters) {
    if (adapter == nullptr) return Status::InvalidArgument("remote state given a null adapter");
    std::string chain = adapter->chain();
    if (chain.empty()) return Status::InvalidArgument("remote state given an adapter without a chain name");
    if (!by_chain.emplace(chain, std::move(adapter)).second) {
      return Status::InvalidArgument("remote state given two adapters of chain " + chain);
    }
  }
  return std::unique_ptr<RoutedRemoteState>(new RoutedRemoteState(std::move(by_chain), std::move(alliance)));
}

RoutedRemoteState::RoutedRemoteState(std::map<std::string, std::shared_ptr<ChainAdapter>, std::less<>> adapters,
                                     AllianceSource alliance)
    : adapters_(std::move(adapters)), alliance_(std::move(alliance)) {}

ChainAdapter* RoutedRemoteState::AdapterFor(std::string_view chain) const {
  auto it = adapters_.find(chain);
  return it == adapters_.end() ? nullptr : it->second.get();
}

Result<std::optional<endorser::RemoteValue>> RoutedRemoteState::Read(std::string_view from_channel,
                                                                     std::string_view from_contract,
                                                                     std::string_view channel,
                                                                     std::string_view contract, std::string_view key) {
  std::shared_ptr<const validation::AllianceView> view = alliance_();
  if (view == nullptr) return Status::FailedPrecondition("the alliance is not loaded yet: no route can be checked");
  if (!view->RouteAllows(from_channel, from_contract, channel, contract, /*write=*/false)) {
    return Status::PermissionDenied("no route of the alliance lets " + std::string(from_contract) + " on " +
                                    std::string(from_channel) + " read " + std::string(contract) + " on " +
                                    std::string(channel));
  }
  ChainAdapter* adapter = AdapterFor(channel);
  if (adapter == nullptr) {
    return Status::NotFound("no adapter for chain " + std::string(channel) + " is configured here (read of " +
                            std::string(contract) + " from " + std::string(from_contract) + " on " +
                            std::string(from_channel) + ")");
  }
  return adapter->Read(contract, key);
}

Status RoutedRemoteState::CheckWrite(std::string_view from_channel, std::string_view from_contract,
                                     std::string_view channel, std::string_view contract) {
  std::shared_ptr<const validation::AllianceView> view = alliance_();
  if (view == nullptr) return Status::FailedPrecondition("the alliance is not loaded yet: no route can be checked");
  const std::string what = std::string(from_contract) + " on " + std::string(from_channel) + " may not write " +
                           std::string(contract) + " on " + std::string(channel);
  if (view->external_channels.count(std::string(channel)) == 0) {
    return Status::PermissionDenied(what + ": " + std::string(channel) +
                                    " is an Entente chain, which only its own transactions write");
  }
  if (!view->RouteAllows(from_channel, from_contract, channel, contract, /*write=*/true)) {
    return Status::PermissionDenied(what + ": no write route of the alliance allows it");
  }
  return Status::Ok();
}

}  // namespace entente::adapters
