#include "runtime/shim/shim.h"

#include "runtime/common/composite_key.h"

namespace entente::shim {

// The name of Fabric's metadata query, so that Fabric tooling finds it.
constexpr char kMetadataFunction[] = "org.hyperledger.fabric:GetMetadata";

Bytes ToBytes(std::string_view text) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());  // same-typed: one memmove
  return Bytes(p, p + text.size());
}
std::string ToText(const Bytes& bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

namespace internal {
std::string ValidationParameterKey(std::string_view key) {
  return std::string("\x00\x01vp\x00", 5) + std::string(key);
}
}  // namespace internal

Response Success(Bytes payload) { return Response{200, "", std::move(payload)}; }
Response Error(std::string message, std::int32_t status) { return Response{status, std::move(message), {}}; }

std::string Stub::CreateCompositeKey(std::string_view object_type, const std::vector<std::string>& attributes) const {
  auto key = entente::CreateCompositeKey(object_type, attributes);
  if (!key.ok()) throw ContractError(key.status().message(), 400);
  return *key;
}

std::pair<std::string, std::vector<std::string>> Stub::SplitCompositeKey(std::string_view key) const {
  auto parts = entente::SplitCompositeKey(key);
  if (!parts.ok()) throw ContractError(parts.status().message(), 400);
  return *parts;
}

// ---- Contract ----

void Contract::BeforeTransaction(Context&) {}
void Contract::AfterTransaction(Context&, const Bytes&) {}
Response Contract::UnknownTransaction(Context&, const std::string& function) {
  return Error("contract " + name_ + " has no function '" + function + "'", 400);
}

Response Contract::Invoke(Context& ctx, const std::string& function, const std::vector<std::string>& params) {
  try {
    auto it = functions_.find(function);
    if (it == functions_.end()) return UnknownTransaction(ctx, function);
    const Entry& entry = it->second;
    if (params.size() != entry.arity) {
      return Error(name_ + ":" + function + " takes " + std::to_string(entry.arity) + " parameters, got " +
                       std::to_string(params.size()),
                   400);
    }
    BeforeTransaction(ctx);
    Bytes result = entry.call(ctx, params);
    AfterTransaction(ctx, result);
    return Success(std::move(result));
  } catch (const ContractError& e) {
    return Error(e.what(), e.status());
  } catch (const std::exception& e) {
    return Error(std::string("contract ") + name_ + " failed: " + e.what(), 500);
  } catch (...) {
    return Error("contract " + name_ + " failed with an unknown exception", 500);
  }
}

Json Contract::Metadata() const {
  Json transactions = Json::array();
  for (const auto& [name, entry] : functions_) {
    Json parameters = Json::array();
    for (size_t i = 0; i < entry.parameters.size(); ++i) {
      std::string name_i = i < entry.parameter_names.size() ? entry.parameter_names[i] : "arg" + std::to_string(i);
      parameters.push_back(Json{{"name", name_i}, {"schema", entry.parameters[i]}});
    }
    Json t{{"name", name},
           {"tag", Json::array({entry.kind == kEvaluate ? "evaluate" : "submit"})},
           {"parameters", parameters}};
    if (!entry.returns.is_null()) t["returns"] = entry.returns;
    transactions.push_back(std::move(t));
  }
  return Json{{"name", name_}, {"transactions", transactions}};
}

// ---- Chaincode ----

void Chaincode::Add(std::unique_ptr<Contract> contract) { contracts_.push_back(std::move(contract)); }

Json Chaincode::Metadata() const {
  Json contracts = Json::object();
  for (const auto& c : contracts_) contracts[c->name()] = c->Metadata();
  return Json{{"contracts", contracts},
              {"default", contracts_.empty() ? Json(nullptr) : Json(contracts_.front()->name())}};
}

Response Chaincode::Invoke(Stub& stub) {
  try {
    const std::string& full = stub.Function();
    if (full == kMetadataFunction) return Success(ToBytes(Metadata().dump()));
    if (contracts_.empty()) return Error("chaincode holds no contract", 500);
    Contract* contract = contracts_.front().get();
    std::string function = full;
    if (auto colon = full.find(':'); colon != std::string::npos) {
      std::string name = full.substr(0, colon);
      function = full.substr(colon + 1);
      contract = nullptr;
      for (const auto& c : contracts_) {
        if (c->name() == name) contract = c.get();
      }
      if (contract == nullptr) return Error("no contract named '" + name + "'", 400);
    }
    Context ctx(stub);
    return contract->Invoke(ctx, function, stub.Parameters());
  } catch (const std::exception& e) {
    return Error(std::string("chaincode failed: ") + e.what(), 500);
  } catch (...) {
    return Error("chaincode failed with an unknown exception", 500);
  }
}

}  // namespace entente::shim
