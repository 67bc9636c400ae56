// Alliance: the cross-chain smart contract (DESIGN.md §1-§2), the system contract on the relay's
// "alliance" channel that holds the alliance's configuration: member chains with their CA certificates
// and weighted admins, nodes with their weights, the routes that allow one chain's contract to read or
// write a namespace on another chain, and contract definitions. Init loads the genesis spec; afterwards
// every change is a config transaction that only an admin may submit. That such a transaction carries
// endorsements of more than 50% of the admins' weight is enforced by the runtime's endorsement policy
// for this contract, not here. Keeps no state outside the Stub.
//
// State, one compact JSON value per entity under a composite key:
//   ("member", [chain]) -> Member        ("node", [id]) -> Node
//   ("route", [id]) -> Route             ("contract", [channel, name]) -> ContractDefinition
// A member's CRLs travel inside its Member value: every relay and node installs them when it commits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/shim/shim.h"

namespace entente::chaincode {

// The channel the relay runs this contract on; contracts may be defined on it as on any member chain.
inline constexpr char kAllianceChannel[] = "alliance";

struct Admin {
  std::string id;
  std::int64_t weight = 0;  // > 0

  bool operator==(const Admin&) const = default;
};

// A member chain. `ca_certs` are the PEM certificates of the CAs whose identities the chain vouches for;
// `crls` the current PEM CRL of each CA that published one (JSON "crls", left out when empty).
struct Member {
  std::string name;
  std::vector<std::string> ca_certs;  // at least one
  std::vector<Admin> admins;          // unique ids; may be empty
  std::vector<std::string> crls;      // at most one per CA, each verified by its CA's key

  bool operator==(const Member&) const = default;
};

struct Node {
  std::string id;
  std::string chain;
  std::int64_t weight = 0;  // > 0: the node's weight as an endorser
  std::string endpoint;
  std::string ecert;  // PEM

  bool operator==(const Node&) const = default;
};

// One of the alliance's replicated relays (docs/relay.md): a member runs it; its certificate's key
// signs the blocks it orders, and its weight counts toward a block's certificate.
struct AllianceRelay {
  std::string id;
  std::string chain;        // the member that runs it
  std::int64_t weight = 0;  // > 0
  std::string endpoint;     // "https://host:port" where nodes fetch blocks
  std::string cert;         // PEM: the relay's ECert (OU=relay)

  bool operator==(const AllianceRelay&) const = default;
};

enum class Access { kRead, kWrite };

// Allows contract `contract` on `from_chain` to read (or read and write) the state of contract
// `namespace_name` on `to_chain`.
struct Route {
  std::string id;
  std::string from_chain;
  std::string contract;
  std::string to_chain;
  std::string namespace_name;  // JSON "namespace"
  Access access = Access::kRead;

  bool operator==(const Route&) const = default;
};

struct ContractDefinition {
  std::string channel;  // a member chain, or kAllianceChannel
  std::string name;
  std::string version;
  std::string sha256;  // of the contract library (metadata.json's sha256): 64 hex digits, lowercase
  std::string policy;  // the endorsement policy, e.g. "Weighted(0.5)"

  bool operator==(const ContractDefinition&) const = default;
};

// A block certificate needs relays of more than this percentage of the relays' weight, unless the
// alliance sets another relay_quorum_percent.
inline constexpr std::int64_t kDefaultRelayQuorumPercent = 50;

// The whole configuration: Init's genesis spec and GetAlliance's answer.
struct AllianceConfig {
  std::vector<Member> members;
  std::vector<Node> nodes;
  std::vector<Route> routes;
  std::vector<ContractDefinition> contracts;
  // Empty: one relay, the one each node's configuration names. Otherwise a block commits only with
  // valid signatures of relays holding more than `relay_quorum_percent` of these relays' weight.
  std::vector<AllianceRelay> relays;
  // The percentage of the relays' weight a block certificate must exceed: from 50 (more than half,
  // the default) to 99.
  std::int64_t relay_quorum_percent = kDefaultRelayQuorumPercent;

  bool operator==(const AllianceConfig&) const = default;
};

// from_json checks each value's own shape (required fields, types, no unknown fields, positive weights,
// PEM text, 64-hex sha256, access "read" or "write") and throws shim::ContractError (400) naming the
// field. References between values (known chains, unique ids) are checked by the contract.
void to_json(shim::Json& j, const Admin& admin);
void from_json(const shim::Json& j, Admin& admin);
void to_json(shim::Json& j, const Member& member);
void from_json(const shim::Json& j, Member& member);
void to_json(shim::Json& j, const Node& node);
void from_json(const shim::Json& j, Node& node);
void to_json(shim::Json& j, const AllianceRelay& relay);
void from_json(const shim::Json& j, AllianceRelay& relay);
void to_json(shim::Json& j, const Access& access);
void from_json(const shim::Json& j, Access& access);
void to_json(shim::Json& j, const Route& route);
void from_json(const shim::Json& j, Route& route);
void to_json(shim::Json& j, const ContractDefinition& definition);
void from_json(const shim::Json& j, ContractDefinition& definition);
void to_json(shim::Json& j, const AllianceConfig& config);
void from_json(const shim::Json& j, AllianceConfig& config);

class Alliance : public shim::Contract {
 public:
  // The event every config transaction emits: {"function": "<name>", "id": "<what changed>"}.
  static constexpr char kChangeEvent[] = "AllianceChanged";

  Alliance();

  // Loads the genesis spec {"members","nodes","routes","contracts","relays",
  // "relay_quorum_percent"} (all but members may be
  // omitted). Fails unless the alliance is empty, or if the spec has no member, no admin, a duplicate id
  // (chain name, node id, relay id, route id, or channel and contract name), or a reference to an unknown
  // chain.
  void Init(shim::Context& ctx, AllianceConfig spec);
  // Adds a member chain; fails if a chain of that name is a member.
  void AddMember(shim::Context& ctx, Member member);
  // Replaces an existing member (CA rotation, admin changes); fails if it is not a member, if the
  // alliance would be left without an admin, or if it carries CRLs other than the member's (CRLs change
  // through PublishCrl only). Keeps the member's CRLs of the CAs it still lists.
  void UpdateMember(shim::Context& ctx, Member member);
  // Publishes `crl_pem` as the current CRL of one of chain `chain`'s CAs, replacing that CA's previous
  // one. Only an admin of `chain` may publish it (and the config transaction needs Admins(0.5) as any
  // other). Fails unless the CRL is signed by a CA of the chain, is newer (lastUpdate) than the one it
  // replaces, and its nextUpdate, if any, is after the transaction's timestamp.
  void PublishCrl(shim::Context& ctx, std::string chain, std::string crl_pem);
  // Adds or replaces a node; fails if its chain is not a member.
  void SetNode(shim::Context& ctx, Node node);
  // Fails if there is no such node.
  void RemoveNode(shim::Context& ctx, std::string id);
  // Adds or replaces a replicated relay; fails if its chain is not a member, or if the alliance has no
  // replicated relays (an alliance of one relay gets them at genesis).
  void SetRelay(shim::Context& ctx, AllianceRelay relay);
  // Fails if there is no such relay, or if it is the last one.
  void RemoveRelay(shim::Context& ctx, std::string id);
  // Sets the percentage of the relays' weight a block certificate must exceed; fails outside 50-99 or
  // when the alliance has no replicated relays.
  void SetRelayQuorum(shim::Context& ctx, std::int64_t percent);
  // Fails if a route with that id exists or a chain is not a member (or both ends are the same chain).
  void AddRoute(shim::Context& ctx, Route route);
  // Fails if there is no such route.
  void RemoveRoute(shim::Context& ctx, std::string id);
  // Defines a contract on a channel; a new version replaces the old definition. Fails if the channel is
  // neither a member chain nor kAllianceChannel, or if the same version is already defined differently.
  void DefineContract(shim::Context& ctx, ContractDefinition definition);

  // Every member, node, route and contract definition, each in key order.
  AllianceConfig GetAlliance(shim::Context& ctx);
  // Returns whether a route lets `contract` on `from_chain` access `namespace_name` on `to_chain`;
  // a "write" route allows reads too. Fails if `access` is neither "read" nor "write".
  bool CheckRoute(shim::Context& ctx, std::string from_chain, std::string contract, std::string to_chain,
                  std::string namespace_name, std::string access);
  // Returns the definition; fails if there is none.
  ContractDefinition GetContractDefinition(shim::Context& ctx, std::string channel, std::string name);

 protected:
  // Requires the creator's role to be "admin" for every function but Init and the queries, before the
  // parameters are parsed.
  void BeforeTransaction(shim::Context& ctx) override;
};

}  // namespace entente::chaincode
