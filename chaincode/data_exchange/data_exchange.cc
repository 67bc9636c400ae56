#include "chaincode/data_exchange/data_exchange.h"

#include <algorithm>
#include <utility>

namespace entente::chaincode {

using shim::Check;
using shim::Json;

void to_json(Json& j, const Record& record) {
  j = Json{{"id", record.id},     {"ownerChain", record.owner_chain},  {"ownerId", record.owner_id},
           {"data", record.data}, {"description", record.description}, {"publishedAt", record.published_at}};
}

void from_json(const Json& j, Record& record) {
  j.at("id").get_to(record.id);
  j.at("ownerChain").get_to(record.owner_chain);
  j.at("ownerId").get_to(record.owner_id);
  j.at("data").get_to(record.data);
  j.at("description").get_to(record.description);
  j.at("publishedAt").get_to(record.published_at);
}

void to_json(Json& j, const Exchange& exchange) {
  j = Json{{"exchangeId", exchange.exchange_id},
           {"requesterChain", exchange.requester_chain},
           {"requesterId", exchange.requester_id},
           {"sourceChannel", exchange.source_channel},
           {"recordId", exchange.record_id},
           {"purpose", exchange.purpose},
           {"data", exchange.data},
           {"requestedAt", exchange.requested_at}};
}

void from_json(const Json& j, Exchange& exchange) {
  j.at("exchangeId").get_to(exchange.exchange_id);
  j.at("requesterChain").get_to(exchange.requester_chain);
  j.at("requesterId").get_to(exchange.requester_id);
  j.at("sourceChannel").get_to(exchange.source_channel);
  j.at("recordId").get_to(exchange.record_id);
  j.at("purpose").get_to(exchange.purpose);
  j.at("data").get_to(exchange.data);
  j.at("requestedAt").get_to(exchange.requested_at);
}

namespace {

constexpr char kExchangeType[] = "exchange";

// Parses a stored value; `what` names it in the error ("record r1 on chain chainA").
template <typename T>
T ParseStored(const shim::Bytes& value, const std::string& what) {
  Json j = Json::parse(shim::ToText(value), nullptr, /*allow_exceptions=*/false);
  // Stored values are written by this contract: a bad one is the ledger's fault (500), not the caller's.
  if (j.is_discarded() || !j.is_object()) throw shim::ContractError(what + " is not a JSON object");
  try {
    return j.get<T>();
  } catch (const Json::exception& e) {
    throw shim::ContractError(what + " is malformed: " + e.what());
  }
}

void CheckParticipant(const shim::Identity& creator, const std::string& action) {
  Check(creator.role == "node" || creator.role == "client" || creator.role == "admin",
        "only a node, client or admin may " + action + " (the creator's role is '" + creator.role + "')");
}

void CheckRecordId(const std::string& record_id) { Check(!record_id.empty(), "the record ID must not be empty"); }

}  // namespace

DataExchange::DataExchange() : Contract("DataExchange") {
  Transaction("PublishRecord", &DataExchange::PublishRecord);
  Transaction("GetRecord", &DataExchange::GetRecord, kEvaluate);
  Transaction("RequestRecord", &DataExchange::RequestRecord);
  Transaction("ExportRecord", &DataExchange::ExportRecord);
  Transaction("GetExchange", &DataExchange::GetExchange, kEvaluate);
  Transaction("ListExchanges", &DataExchange::ListExchanges, kEvaluate);
}

Record DataExchange::PublishRecord(shim::Context& ctx, std::string record_id, std::string data,
                                   std::string description) {
  const shim::Identity& creator = ctx.creator();
  CheckParticipant(creator, "publish a record");
  CheckRecordId(record_id);
  std::string key = RecordKey(record_id);
  if (auto existing = ctx.stub().GetState(key)) {
    Record old = ParseStored<Record>(*existing, "record " + record_id);
    Check(old.owner_chain == creator.chain && old.owner_id == creator.id, "record " + record_id + " belongs to " +
                                                                              old.owner_id + " of " + old.owner_chain +
                                                                              "; only its owner may republish it");
  }
  Record record{std::move(record_id), creator.chain,          creator.id,
                std::move(data),      std::move(description), ctx.stub().TxTimestampMs()};
  shim::Bytes value = shim::ToBytes(Json(record).dump());
  ctx.stub().PutState(key, value);
  ctx.stub().SetEvent(kRecordEvent, value);
  return record;
}

Record DataExchange::GetRecord(shim::Context& ctx, std::string record_id) {
  CheckRecordId(record_id);
  auto value = ctx.stub().GetState(RecordKey(record_id));
  Check(value.has_value(), "record " + record_id + " has not been published on this chain");
  return ParseStored<Record>(*value, "record " + record_id);
}

Record DataExchange::ExportRecord(shim::Context& ctx, std::string record_id, std::string target_chains) {
  shim::Stub& stub = ctx.stub();
  const shim::Identity& creator = ctx.creator();
  Record record = GetRecord(ctx, record_id);
  Check(record.owner_chain == creator.chain && record.owner_id == creator.id,
        "record " + record_id + " belongs to " + record.owner_id + " of " + record.owner_chain +
            "; only its owner may export it");
  std::vector<std::string> targets;
  for (std::size_t start = 0; start <= target_chains.size();) {
    std::size_t comma = std::min(target_chains.find(',', start), target_chains.size());
    if (comma > start) targets.push_back(target_chains.substr(start, comma - start));
    start = comma + 1;
  }
  Check(!targets.empty(), "name at least one chain to export record " + record_id + " to");
  shim::Bytes value = shim::ToBytes(Json(record).dump());
  for (const std::string& chain : targets) {
    Check(chain != stub.ChannelId(), "record " + record_id + " is on this chain already");
    stub.GetRemoteState(chain, kDeployedName, RecordKey(record_id));  // its version there guards the write
    stub.PutRemoteState(chain, kDeployedName, RecordKey(record_id), value);
  }
  stub.SetEvent(kExportEvent, value);
  return record;
}

Exchange DataExchange::RequestRecord(shim::Context& ctx, std::string source_channel, std::string record_id,
                                     std::string purpose) {
  shim::Stub& stub = ctx.stub();
  const shim::Identity& creator = ctx.creator();
  CheckParticipant(creator, "request a record");
  Check(!source_channel.empty(), "the source channel must not be empty");
  Check(source_channel != stub.ChannelId(),
        "record " + record_id + " is on this chain (" + source_channel + "); read it with GetRecord");
  CheckRecordId(record_id);
  Check(!purpose.empty(), "a request for record " + record_id + " must state its purpose");

  std::string what = "record " + record_id + " on chain " + source_channel;
  auto remote = stub.GetRemoteState(source_channel, kDeployedName, RecordKey(record_id));
  Check(remote.has_value(), what + " does not exist");
  Record record = ParseStored<Record>(*remote, what);

  Exchange exchange{stub.TxId(),          creator.chain,      creator.id,  std::move(source_channel),
                    std::move(record_id), std::move(purpose), record.data, stub.TxTimestampMs()};
  shim::Bytes value = shim::ToBytes(Json(exchange).dump());
  stub.PutState(stub.CreateCompositeKey(kExchangeType, {exchange.exchange_id}), value);
  stub.SetEvent(kExchangeEvent, value);
  return exchange;
}

Exchange DataExchange::GetExchange(shim::Context& ctx, std::string exchange_id) {
  Check(!exchange_id.empty(), "the exchange ID must not be empty");
  auto value = ctx.stub().GetState(ctx.stub().CreateCompositeKey(kExchangeType, {exchange_id}));
  Check(value.has_value(), "there is no exchange " + exchange_id);
  return ParseStored<Exchange>(*value, "exchange " + exchange_id);
}

std::vector<Exchange> DataExchange::ListExchanges(shim::Context& ctx) {
  std::vector<Exchange> exchanges;
  for (const shim::KeyValue& entry : ctx.stub().GetStateByPartialCompositeKey(kExchangeType, {})) {
    exchanges.push_back(ParseStored<Exchange>(entry.value, "an exchange record"));
  }
  return exchanges;
}

}  // namespace entente::chaincode
