#include "runtime/alliance/alliance.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "runtime/common/config.h"
#include "runtime/common/file.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"

namespace entente::alliance {
namespace {

// The alliance contract, hosted in-process for the alliance channel.
class AllianceRegistry final : public endorser::ChaincodeRegistry {
 public:
  AllianceRegistry() : chaincode_(std::make_shared<shim::Chaincode>()) {
    chaincode_->Add(std::make_unique<chaincode::Alliance>());
  }
  std::shared_ptr<shim::Chaincode> Find(std::string_view channel, std::string_view contract) const override {
    return channel == kAllianceChannel && contract == kAllianceContract ? chaincode_ : nullptr;
  }

 private:
  const std::shared_ptr<shim::Chaincode> chaincode_;
};

}  // namespace

const endorser::ChaincodeRegistry& BuiltinContracts() {
  static const AllianceRegistry registry;
  return registry;
}

namespace {

// Runs `function` of the alliance contract on `snapshot` as the relay itself.
Result<endorser::SimulationResult> RunAlliance(const ledger::Snapshot& snapshot, std::string tx_id,
                                               std::string function, std::vector<std::string> args,
                                               std::int64_t timestamp_ms) {
  endorser::Proposal proposal;
  proposal.tx_id = std::move(tx_id);
  proposal.channel = kAllianceChannel;
  proposal.contract = kAllianceContract;
  proposal.function = std::move(function);
  proposal.args = std::move(args);
  proposal.timestamp_ms = timestamp_ms;
  ENTENTE_ASSIGN_OR_RETURN(std::string payload, CanonicalJson(proposal.ToJson()));
  SignedBytes signed_proposal{ToBytes(payload), {}};
  shim::Identity relay{kAllianceChannel, "relay", "genesis", ""};
  return endorser::Simulate(proposal, signed_proposal, {}, relay, snapshot, BuiltinContracts(), nullptr);
}

// The PEM of the certificate file a node of `spec_path` names.
Result<std::string> ReadPem(const ConfigNode& node, const std::string& spec_path) {
  ENTENTE_ASSIGN_OR_RETURN(std::string file, node.AsString());
  auto cert = crypto::Certificate::LoadFile(ResolvePath(spec_path, file));
  if (!cert.ok()) return node.Error("cannot load the certificate: " + cert.status().message());
  return cert->Pem();
}

Result<std::vector<ConfigNode>> OptionalList(const ConfigNode& root, std::string_view key) {
  if (!root.Has(key)) return std::vector<ConfigNode>{};
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode list, root.Child(key));
  return list.Elements();
}

Result<chaincode::Member> LoadMember(const ConfigNode& c, const std::string& spec_path) {
  ENTENTE_RETURN_IF_ERROR(c.CheckKeys({"name", "ca", "admins"}));
  chaincode::Member member;
  ENTENTE_ASSIGN_OR_RETURN(member.name, c.GetString("name"));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode cas, c.Child("ca"));
  ENTENTE_ASSIGN_OR_RETURN(auto ca_files, cas.Elements());
  if (ca_files.empty()) return cas.Error("a chain needs at least one CA certificate");
  for (const ConfigNode& f : ca_files) {
    ENTENTE_ASSIGN_OR_RETURN(std::string pem, ReadPem(f, spec_path));
    member.ca_certs.push_back(std::move(pem));
  }
  ENTENTE_ASSIGN_OR_RETURN(auto admins, OptionalList(c, "admins"));
  for (const ConfigNode& a : admins) {
    ENTENTE_RETURN_IF_ERROR(a.CheckKeys({"id", "weight"}));
    chaincode::Admin admin;
    ENTENTE_ASSIGN_OR_RETURN(admin.id, a.GetString("id"));
    ENTENTE_ASSIGN_OR_RETURN(admin.weight, a.GetInt("weight", 1));
    if (admin.weight <= 0) return a.Error("weight must be positive");
    member.admins.push_back(std::move(admin));
  }
  return member;
}

Result<chaincode::Node> LoadNode(const ConfigNode& n, const std::string& spec_path) {
  ENTENTE_RETURN_IF_ERROR(n.CheckKeys({"id", "chain", "weight", "endpoint", "ecert"}));
  chaincode::Node node;
  ENTENTE_ASSIGN_OR_RETURN(node.id, n.GetString("id"));
  ENTENTE_ASSIGN_OR_RETURN(node.chain, n.GetString("chain"));
  ENTENTE_ASSIGN_OR_RETURN(node.weight, n.GetInt("weight", 1));
  if (node.weight <= 0) return n.Error("weight must be positive");
  ENTENTE_ASSIGN_OR_RETURN(node.endpoint, n.GetString("endpoint"));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode ecert, n.Child("ecert"));
  ENTENTE_ASSIGN_OR_RETURN(node.ecert, ReadPem(ecert, spec_path));
  return node;
}

Result<chaincode::AllianceRelay> LoadRelay(const ConfigNode& r, const std::string& spec_path) {
  ENTENTE_RETURN_IF_ERROR(r.CheckKeys({"id", "chain", "weight", "endpoint", "cert"}));
  chaincode::AllianceRelay relay;
  ENTENTE_ASSIGN_OR_RETURN(relay.id, r.GetString("id"));
  ENTENTE_ASSIGN_OR_RETURN(relay.chain, r.GetString("chain"));
  ENTENTE_ASSIGN_OR_RETURN(relay.weight, r.GetInt("weight", 1));
  if (relay.weight <= 0) return r.Error("weight must be positive");
  ENTENTE_ASSIGN_OR_RETURN(relay.endpoint, r.GetString("endpoint"));
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode cert, r.Child("cert"));
  ENTENTE_ASSIGN_OR_RETURN(relay.cert, ReadPem(cert, spec_path));
  return relay;
}

Result<chaincode::Route> LoadRoute(const ConfigNode& r) {
  ENTENTE_RETURN_IF_ERROR(r.CheckKeys({"id", "from", "contract", "to", "namespace", "access"}));
  chaincode::Route route;
  ENTENTE_ASSIGN_OR_RETURN(route.id, r.GetString("id"));
  ENTENTE_ASSIGN_OR_RETURN(route.from_chain, r.GetString("from"));
  ENTENTE_ASSIGN_OR_RETURN(route.contract, r.GetString("contract"));
  ENTENTE_ASSIGN_OR_RETURN(route.to_chain, r.GetString("to"));
  ENTENTE_ASSIGN_OR_RETURN(route.namespace_name, r.GetString("namespace"));
  ENTENTE_ASSIGN_OR_RETURN(std::string access, r.GetString("access", "read"));
  if (access == "read") {
    route.access = chaincode::Access::kRead;
  } else if (access == "write") {
    route.access = chaincode::Access::kWrite;
  } else {
    return r.Error("access must be read or write, got '" + access + "'");
  }
  return route;
}

Result<chaincode::ContractDefinition> LoadContract(const ConfigNode& c) {
  ENTENTE_RETURN_IF_ERROR(c.CheckKeys({"channel", "name", "version", "sha256", "policy"}));
  chaincode::ContractDefinition definition;
  ENTENTE_ASSIGN_OR_RETURN(definition.channel, c.GetString("channel"));
  ENTENTE_ASSIGN_OR_RETURN(definition.name, c.GetString("name"));
  ENTENTE_ASSIGN_OR_RETURN(definition.version, c.GetString("version"));
  ENTENTE_ASSIGN_OR_RETURN(definition.sha256, c.GetString("sha256"));
  ENTENTE_ASSIGN_OR_RETURN(definition.policy, c.GetString("policy", "Weighted(0.5)"));
  return definition;
}

}  // namespace

Result<chaincode::AllianceConfig> LoadSpec(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  // `relay` (where the relay listens) is for deploy tools; the genesis does not hold it.
  // `ordering` (the etcd members) is for deploy tools too.
  ENTENTE_RETURN_IF_ERROR(
      root.CheckKeys({"chains", "nodes", "routes", "contracts", "relay", "relays", "relay_quorum_percent", "ordering"}));
  chaincode::AllianceConfig config;
  ENTENTE_ASSIGN_OR_RETURN(ConfigNode chains, root.Child("chains"));
  ENTENTE_ASSIGN_OR_RETURN(auto chain_list, chains.Elements());
  if (chain_list.empty()) return chains.Error("an alliance needs at least one chain");
  for (const ConfigNode& c : chain_list) {
    ENTENTE_ASSIGN_OR_RETURN(chaincode::Member member, LoadMember(c, path));
    config.members.push_back(std::move(member));
  }
  ENTENTE_ASSIGN_OR_RETURN(auto nodes, OptionalList(root, "nodes"));
  for (const ConfigNode& n : nodes) {
    ENTENTE_ASSIGN_OR_RETURN(chaincode::Node node, LoadNode(n, path));
    config.nodes.push_back(std::move(node));
  }
  ENTENTE_ASSIGN_OR_RETURN(auto routes, OptionalList(root, "routes"));
  for (const ConfigNode& r : routes) {
    ENTENTE_ASSIGN_OR_RETURN(chaincode::Route route, LoadRoute(r));
    config.routes.push_back(std::move(route));
  }
  ENTENTE_ASSIGN_OR_RETURN(auto relays, OptionalList(root, "relays"));
  for (const ConfigNode& r : relays) {
    ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceRelay relay, LoadRelay(r, path));
    config.relays.push_back(std::move(relay));
  }
  if (root.Has("relay_quorum_percent")) {
    ENTENTE_ASSIGN_OR_RETURN(config.relay_quorum_percent, root.GetInt("relay_quorum_percent"));
    if (config.relay_quorum_percent < 50 || config.relay_quorum_percent > 99 || relays.empty()) {
      return root.Error("relay_quorum_percent must be 50 to 99, and needs relays:");
    }
  }
  ENTENTE_ASSIGN_OR_RETURN(auto contracts, OptionalList(root, "contracts"));
  for (const ConfigNode& c : contracts) {
    ENTENTE_ASSIGN_OR_RETURN(chaincode::ContractDefinition definition, LoadContract(c));
    config.contracts.push_back(std::move(definition));
  }
  return config;
}

Result<ledger::Block> MakeGenesisBlock(const chaincode::AllianceConfig& config, std::int64_t timestamp_ms) {
  Json envelope{{"type", "genesis"}, {"config", config}};
  ENTENTE_ASSIGN_OR_RETURN(std::string bytes, CanonicalJson(envelope));
  ledger::Block block;
  block.header.channel = kAllianceChannel;
  block.header.number = 0;
  block.envelopes.push_back(ToBytes(bytes));
  block.header.data_hash = block.ComputeDataHash();
  block.metadata.validation_codes.push_back(ValidationCode::kValid);
  block.metadata.timestamp_ms = timestamp_ms;
  return block;
}

namespace {

// The configuration inside a genesis block, or InvalidArgument.
Result<Json> GenesisConfig(const ledger::Block& genesis) {
  if (genesis.header.channel != kAllianceChannel || genesis.header.number != 0 || genesis.envelopes.size() != 1) {
    return Status::InvalidArgument("not a genesis block: expected block 0 of channel alliance with one envelope");
  }
  if (genesis.ComputeDataHash() != genesis.header.data_hash) {
    return Status::InvalidArgument("genesis block: data_hash does not match its envelope");
  }
  Json envelope = Json::parse(ToString(genesis.envelopes[0]), nullptr, false);
  if (envelope.is_discarded() || !envelope.is_object() || envelope.value("type", "") != "genesis" ||
      !envelope.contains("config")) {
    return Status::InvalidArgument("genesis block: its envelope is not {\"type\":\"genesis\",\"config\":...}");
  }
  return envelope["config"];
}

std::string GenesisTxId(const ledger::Block& genesis) { return crypto::Sha256Hex(genesis.envelopes[0]); }

}  // namespace

Status CommitGenesis(ledger::Ledger& ledger, const ledger::Block& genesis) {
  ENTENTE_ASSIGN_OR_RETURN(Json config, GenesisConfig(genesis));
  if (ledger.GetSavepoint(kAllianceChannel).height > 0) {
    ENTENTE_ASSIGN_OR_RETURN(ledger::Block committed, ledger.GetBlock(kAllianceChannel, 0));
    if (committed.header.ComputeHash() != genesis.header.ComputeHash()) {
      return Status::FailedPrecondition("this ledger holds the genesis of another alliance");
    }
    return Status::Ok();
  }
  auto snapshot = ledger.GetSnapshot();
  ENTENTE_ASSIGN_OR_RETURN(endorser::SimulationResult init,
                           RunAlliance(*snapshot, GenesisTxId(genesis), "Init", {config.dump()},
                                       genesis.metadata.timestamp_ms));
  if (!init.response.ok()) {
    return Status::InvalidArgument("the alliance contract refuses the genesis configuration: " +
                                   init.response.message);
  }
  ledger::CommittedTx tx{GenesisTxId(genesis), ValidationCode::kValid, std::move(init.rwset)};
  return ledger.Commit(genesis, {tx});
}

Result<chaincode::AllianceConfig> ReadConfig(const ledger::Snapshot& snapshot) {
  if (snapshot.GetSavepoint(kAllianceChannel).height == 0) {
    return Status::NotFound("no alliance genesis has been committed");
  }
  ENTENTE_ASSIGN_OR_RETURN(endorser::SimulationResult read,
                           RunAlliance(snapshot, "read-alliance", "GetAlliance", {}, 0));
  if (!read.response.ok()) return Status::Internal("GetAlliance failed: " + read.response.message);
  try {
    return Json::parse(ToString(read.response.payload)).get<chaincode::AllianceConfig>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("the committed alliance configuration does not parse: ") + e.what());
  }
}

namespace {
std::string RecordedConfigKey(std::uint64_t alliance_height) {
  std::string number = std::to_string(alliance_height);
  return "alliance/config/" + std::string(20 - number.size(), '0') + number;
}
}  // namespace

Status RecordConfigAt(ledger::Ledger& ledger, std::uint64_t alliance_height, const chaincode::AllianceConfig& config) {
  return ledger.PutMeta({{RecordedConfigKey(alliance_height), ToBytes(Json(config).dump())}});
}

Result<std::optional<chaincode::AllianceConfig>> RecordedConfigAt(const ledger::Ledger& ledger,
                                                                  std::uint64_t alliance_height) {
  ENTENTE_ASSIGN_OR_RETURN(std::optional<Bytes> recorded, ledger.GetMeta(RecordedConfigKey(alliance_height)));
  if (!recorded) return std::optional<chaincode::AllianceConfig>();
  try {
    return std::optional<chaincode::AllianceConfig>(Json::parse(ToString(*recorded)).get<chaincode::AllianceConfig>());
  } catch (const std::exception& e) {
    return Status::Corruption("the configuration recorded at alliance height " + std::to_string(alliance_height) +
                              " does not parse: " + e.what());
  }
}

namespace {

// A TrustStore of every member's CAs and published CRLs, with the nodes' ECerts registered.
Result<std::shared_ptr<crypto::TrustStore>> AllianceTrust(const chaincode::AllianceConfig& config) {
  auto trust = std::make_shared<crypto::TrustStore>();
  for (const chaincode::Member& member : config.members) {
    for (const std::string& pem : member.ca_certs) {
      auto ca = crypto::Certificate::FromPem(pem);
      Status s = ca.ok() ? trust->AddCa(*ca) : ca.status();
      if (!s.ok()) return Status::InvalidArgument("member " + member.name + ": CA certificate: " + s.message());
    }
  }
  for (const chaincode::Node& node : config.nodes) {
    auto ecert = crypto::Certificate::FromPem(node.ecert);
    if (!ecert.ok()) return Status::InvalidArgument("node " + node.id + ": ECert: " + ecert.status().message());
    trust->AddEcert(*ecert);
  }
  // The CRLs the members published (PublishCrl); of two CRLs of one CA, the newer stays.
  for (const chaincode::Member& member : config.members) {
    for (const std::string& crl : member.crls) {
      Status s = trust->AddCrl(crl);
      if (!s.ok()) return Status::InvalidArgument("member " + member.name + ": CRL: " + s.message());
    }
  }
  return trust;
}

}  // namespace

Result<Membership> BuildMembership(const chaincode::AllianceConfig& config, const std::vector<std::string>& crl_pems) {
  Membership m;
  ENTENTE_ASSIGN_OR_RETURN(m.validation_trust, AllianceTrust(config));
  ENTENTE_ASSIGN_OR_RETURN(m.trust, AllianceTrust(config));
  for (const std::string& crl : crl_pems) {
    Status s = m.trust->AddCrl(crl);
    if (!s.ok()) return Status::InvalidArgument("CRL: " + s.message());
  }
  m.view.channels.insert(kAllianceChannel);
  m.view.config_channel = kAllianceChannel;
  for (const chaincode::Member& member : config.members) {
    m.view.channels.insert(member.name);
    for (const std::string& pem : member.ca_certs) m.ca_pems.push_back(pem);
    for (const chaincode::Admin& admin : member.admins) m.view.admins.push_back({admin.id, member.name, admin.weight});
  }
  for (const chaincode::Node& node : config.nodes) m.view.nodes.push_back({node.id, node.chain, node.weight});
  // A member chain without nodes in the alliance is reached only through adapters.
  for (const chaincode::Member& member : config.members) {
    bool has_nodes = std::any_of(config.nodes.begin(), config.nodes.end(),
                                 [&](const chaincode::Node& n) { return n.chain == member.name; });
    if (!has_nodes) m.view.external_channels.insert(member.name);
  }
  for (const chaincode::Route& r : config.routes) {
    m.view.routes.push_back({r.from_chain, r.contract, r.to_chain, r.namespace_name, r.access == chaincode::Access::kWrite});
  }
  for (const chaincode::ContractDefinition& d : config.contracts) {
    m.view.contracts.push_back({d.channel, d.name, d.version, d.sha256, d.policy});
  }
  m.view.contracts.push_back({kAllianceChannel, kAllianceContract, "builtin", "", kAlliancePolicy});
  for (const chaincode::AllianceRelay& relay : config.relays) {
    auto cert = crypto::Certificate::FromPem(relay.cert);
    if (!cert.ok()) return Status::InvalidArgument("relay " + relay.id + ": certificate: " + cert.status().message());
    if (cert->subject().role != crypto::Role::kRelay || cert->subject().chain != relay.chain) {
      return Status::InvalidArgument("relay " + relay.id + ": its certificate (" + cert->SubjectText() +
                                     ") is not a relay certificate of chain " + relay.chain);
    }
    m.relays.push_back({relay.id, relay.weight, cert->Key()});
  }
  m.relay_quorum_percent = config.relay_quorum_percent;
  return m;
}

CertificateCheck CheckBlockCertificate(const Membership& members, const ledger::Block& block) {
  CertificateCheck check;
  check.quorum_percent = members.relay_quorum_percent;
  for (const Membership::RelayKey& relay : members.relays) check.total += relay.weight;
  const Bytes signed_bytes = block.SignedMetadataBytes();
  for (const auto& [id, signature] : block.metadata.certificate) {
    auto relay = std::find_if(members.relays.begin(), members.relays.end(),
                              [&](const Membership::RelayKey& r) { return r.id == id; });
    if (relay == members.relays.end()) {
      check.unknown.push_back(id);
    } else if (relay->key.Verify(signed_bytes, signature)) {
      check.weight += relay->weight;
    } else {
      check.refused.push_back(id);
    }
  }
  return check;
}

Status CheckPeerCertificate(const Membership& members, const crypto::Certificate& leaf,
                            const std::vector<crypto::Certificate>& intermediates, crypto::TimePoint at,
                            const crypto::PublicKey& relay_key) {
  crypto::CertificateCheck check = members.trust->Check(leaf, intermediates, at);
  if (!check.ok()) return Status::PermissionDenied(check.reason);
  switch (leaf.subject().role) {
    case crypto::Role::kClient:
    case crypto::Role::kAdmin:
      return Status::Ok();
    case crypto::Role::kRelay:
      if (leaf.Key() == relay_key) return Status::Ok();
      for (const Membership::RelayKey& relay : members.relays) {
        if (leaf.Key() == relay.key) return Status::Ok();
      }
      return Status::PermissionDenied(leaf.SubjectText() + " is not the alliance's relay");
    case crypto::Role::kNode:
      if (members.trust->FindEcert(leaf.Fingerprint())) return Status::Ok();
      return Status::PermissionDenied(leaf.SubjectText() + " is not the ECert of a node of the alliance");
    default:
      return Status::PermissionDenied(leaf.SubjectText() + " is not an identity of a member (role '" +
                                      leaf.subject().role_name + "')");
  }
}

bool MayRead(const Membership& members, const crypto::Subject& reader, std::string_view channel,
             std::optional<std::string_view> ns) {
  // A node replicates and re-validates every channel, and the relay orders them: hiding one from them
  // through the API would protect nothing.
  if (reader.role == crypto::Role::kRelay || reader.role == crypto::Role::kNode) return true;
  if (channel == reader.chain || channel == kAllianceChannel) return true;
  if (!ns) return false;
  for (const validation::RouteDef& route : members.view.routes) {
    if (route.from_chain == reader.chain && route.to_chain == channel && route.namespace_name == *ns) return true;
  }
  return false;
}

Result<ledger::Block> LoadGenesisFile(const std::string& path) {
  ENTENTE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(text));
  auto block = ledger::Block::FromJson(json);
  if (!block.ok()) return Status::InvalidArgument(path + ": " + block.status().message());
  ENTENTE_RETURN_IF_ERROR(GenesisConfig(*block).status());
  return block;
}

}  // namespace entente::alliance
