// DataExchange: the paper's node smart contract CC1 (§3.1), through which the nodes of one member chain
// publish data records and the nodes of another chain request them. A request reads the record from
// the source chain with Stub::GetRemoteState, so the runtime checks the alliance's route and records the
// remote version for the relay's MVCC check; the contract records each exchange on the requester's
// chain. Keeps no state outside the Stub.
//
// State: "record~<id>" -> Record; composite key ("exchange", [tx id]) -> Exchange. Both compact JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/shim/shim.h"

namespace entente::chaincode {

// A record as its owner published it.
struct Record {
  std::string id;
  std::string owner_chain;
  std::string owner_id;
  std::string data;
  std::string description;
  std::int64_t published_at = 0;  // ms since the epoch: the publishing transaction's timestamp

  bool operator==(const Record&) const = default;
};
void to_json(shim::Json& j, const Record& record);
void from_json(const shim::Json& j, Record& record);

// One delivery of a record of another chain to a requester on this chain.
struct Exchange {
  std::string exchange_id;  // the requesting transaction's id
  std::string requester_chain;
  std::string requester_id;
  std::string source_channel;
  std::string record_id;
  std::string purpose;
  std::string data;
  std::int64_t requested_at = 0;

  bool operator==(const Exchange&) const = default;
};
void to_json(shim::Json& j, const Exchange& exchange);
void from_json(const shim::Json& j, Exchange& exchange);

class DataExchange : public shim::Contract {
 public:
  // The contract name other chains pass to GetRemoteState (the package name the contract is deployed as).
  static constexpr char kDeployedName[] = "data_exchange";
  static constexpr char kRecordEvent[] = "RecordPublished";
  static constexpr char kExchangeEvent[] = "RecordExchanged";
  static constexpr char kExportEvent[] = "RecordExported";

  DataExchange();

  // Publishes (or, by its owner, republishes) a record owned by the creator, emits "RecordPublished"
  // with the record, and returns it. Fails for an empty id, a creator whose role is not node, client or
  // admin, or a record that another identity owns.
  Record PublishRecord(shim::Context& ctx, std::string record_id, std::string data, std::string description);
  // Returns the record; fails if it was never published on this chain.
  Record GetRecord(shim::Context& ctx, std::string record_id);
  // Reads record `record_id` from chain `source_channel`, records the exchange under this transaction's
  // id, emits "RecordExchanged" with it, and returns it. Fails for a creator whose role is not node,
  // client or admin, a source that is this chain, an empty purpose, a record the source chain does
  // not hold, or no route to it.
  Exchange RequestRecord(shim::Context& ctx, std::string source_channel, std::string record_id, std::string purpose);
  // Writes record `record_id` of this chain, as it is here, to each chain of `target_chains` (comma-
  // separated) that the alliance reaches through adapters (an Ethereum chain, a REST service), under
  // the same key in this contract's namespace there, emits "RecordExported" with the record and returns
  // it. Each target's current version is read first, so the relay delivers each write only while that
  // version is still current there. Fails for a creator who does not own the record, an unknown
  // record, no target, or no write route to a target.
  Record ExportRecord(shim::Context& ctx, std::string record_id, std::string target_chains);
  // Returns the exchange; fails if there is none with that id.
  Exchange GetExchange(shim::Context& ctx, std::string exchange_id);
  // Every exchange recorded on this chain, in exchange-id order.
  std::vector<Exchange> ListExchanges(shim::Context& ctx);

  static std::string RecordKey(const std::string& record_id) { return "record~" + record_id; }
};

}  // namespace entente::chaincode
