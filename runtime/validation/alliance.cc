// AllianceView's lookups. The lists are short (tens of entries), so they are searched in order.
#include "runtime/validation/validation.h"

namespace entente::validation {

const ContractDef* AllianceView::FindContract(std::string_view channel, std::string_view name) const {
  for (const ContractDef& contract : contracts) {
    if (contract.channel == channel && contract.name == name) return &contract;
  }
  return nullptr;
}

bool AllianceView::RouteAllows(std::string_view from_chain, std::string_view contract, std::string_view to_chain,
                               std::string_view namespace_name, bool write) const {
  for (const RouteDef& route : routes) {
    if (route.from_chain == from_chain && route.contract == contract && route.to_chain == to_chain &&
        route.namespace_name == namespace_name && (route.write || !write)) {
      return true;
    }
  }
  return false;
}

bool AllianceView::MayPropose(std::string_view creator_chain, std::string_view channel,
                              std::string_view contract) const {
  if (channel == creator_chain || (!config_channel.empty() && channel == config_channel)) return true;
  for (const RouteDef& route : routes) {
    if (route.write && route.from_chain == creator_chain && route.to_chain == channel &&
        route.namespace_name == contract) {
      return true;
    }
  }
  return false;
}

}  // namespace entente::validation
