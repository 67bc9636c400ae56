#include "tests/integration/alliance_fixture.h"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <csignal>
#include <thread>
#include <unistd.h>

#include "certs/ca.h"
#include "runtime/alliance/alliance.h"
#include "tests/support/must.h"
#include "runtime/shim/package/package.h"

namespace entente::testing {
namespace {

struct Chain {
  std::string name;
  std::vector<std::pair<std::string, std::int64_t>> nodes;  // id, weight
  std::string client;
  std::string admin;
  std::vector<std::string> contracts;
};

const std::vector<Chain>& Chains() {
  static const std::vector<Chain> chains{
      {"chainA", {{"a1", 2}, {"a2", 1}, {"a3", 1}}, "alice", "admin-a", {"data_exchange", "asset_transfer"}},
      {"chainB", {{"b1", 1}, {"b2", 1}, {"b3", 1}}, "bob", "admin-b", {"data_exchange"}},
  };
  return chains;
}

std::string LibraryOf(const std::string& contract) {
  return contract == "data_exchange" ? DATA_EXCHANGE_SO : ASSET_TRANSFER_SO;
}

}  // namespace

RunningAlliance::RunningAlliance(AllianceExtras extras) {
  std::map<std::string, certs::CertificateAuthority> cas;
  chaincode::AllianceConfig config;
  // Identities: an ECert per node, client, admin and the relay; TCerts for nodes and clients.
  auto enroll = [&](certs::CertificateAuthority& ca, crypto::Role role, const std::string& who, int tcerts) {
    std::string dir = dir_.Join(who);
    std::filesystem::create_directories(dir + "/tcerts");
    auto ecert = Must(ca.IssueEcert(role, who, 30, {"127.0.0.1"}));
    MustOk(ecert.Save(dir + "/cert.pem", dir + "/key.pem"));
    if (tcerts > 0) {
      auto batch = Must(ca.IssueTcerts(ecert.certificate, tcerts, 24));
      for (int i = 0; i < tcerts; ++i) {
        std::string base = dir + "/tcerts/tcert-" + std::to_string(i);
        MustOk(batch[static_cast<std::size_t>(i)].Save(base + ".pem", base + "-key.pem"));
      }
    }
    identities_[who] = dir;
    return ecert;
  };
  for (const Chain& chain : Chains()) {
    cas.emplace(chain.name, Must(certs::CertificateAuthority::Init(dir_.Join("ca-" + chain.name), chain.name, false)));
    certs::CertificateAuthority& ca = cas.at(chain.name);
    config.members.push_back({chain.name, {ca.root().Pem()}, {{chain.admin, 1}}});
    for (const auto& [id, weight] : chain.nodes) {
      auto ecert = enroll(ca, crypto::Role::kNode, id, 3);
      ports_[id] = FreePort();
      chain_of_[id] = chain.name;
      config.nodes.push_back({id, chain.name, weight, "127.0.0.1:" + std::to_string(ports_[id]), ecert.certificate.Pem()});
    }
    enroll(ca, crypto::Role::kClient, chain.client, 2);
    enroll(ca, crypto::Role::kAdmin, chain.admin, 0);
  }
  enroll(cas.at("chainA"), crypto::Role::kRelay, "relay", 0);
  const std::vector<std::pair<std::string, std::string>> replicas{{"r1", "chainA"}, {"r2", "chainB"}, {"r3", "chainA"}};
  if (extras.ordering) {
    for (const auto& [id, chain] : replicas) {
      auto ecert = enroll(cas.at(chain), crypto::Role::kRelay, id, 0);
      ports_[id] = FreePort();
      config.relays.push_back({id, chain, 1, "127.0.0.1:" + std::to_string(ports_[id]), ecert.certificate.Pem()});
    }
  }
  // b3's ECert is revoked: the relay and the nodes know from chainB's CRL file ...
  MustOk(cas.at("chainB").Revoke(Must(crypto::Certificate::LoadFile(identities_["b3"] + "/cert.pem"))));
  // ... and the alliance from its genesis, which validation goes by.
  for (chaincode::Member& member : config.members) {
    if (member.name == "chainB") member.crls.push_back(Must(cas.at("chainB").CrlPem()));
  }
  std::string crls = dir_.Join("ca-chainA/crl.pem") + ", " + dir_.Join("ca-chainB/crl.pem");
  WriteText(dir_.Join("ca-chainA/crl.pem"), Must(cas.at("chainA").CrlPem()));

  // Contracts: packages of the built libraries, defined under Weighted(0.5).
  std::map<std::string, std::string> package_files;
  for (const std::string& contract : {std::string("data_exchange"), std::string("asset_transfer")}) {
    package::PackageMetadata metadata;
    metadata.name = contract;
    metadata.version = "1";
    metadata.policy = "Weighted(0.5)";
    std::string file = dir_.Join(contract + ".tar.gz");
    metadata = Must(package::CreatePackage(LibraryOf(contract), metadata, file));
    package_files[contract] = file;
    for (const Chain& chain : Chains()) {
      for (const std::string& c : chain.contracts) {
        if (c == contract) config.contracts.push_back({chain.name, contract, "1", metadata.sha256, metadata.policy});
      }
    }
  }
  config.routes.push_back({"b-reads-a", "chainB", "data_exchange", "chainA", "data_exchange", chaincode::Access::kRead});
  for (auto& member : extras.members) config.members.push_back(std::move(member));
  for (auto& route : extras.routes) config.routes.push_back(std::move(route));
  std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto genesis = Must(alliance::MakeGenesisBlock(config, now_ms));
  WriteText(dir_.Join("genesis.json"), genesis.ToJson().dump());

  // With ENTENTE_RESPONSES_DIR (ctest sets it), every process appends its answers there, and
  // openapi_responses_test checks them against the services' documents.
  const char* responses_dir = std::getenv("ENTENTE_RESPONSES_DIR");
  auto record = [&](const std::string& name) -> std::string {
    if (responses_dir == nullptr || *responses_dir == '\0') return "";
    std::filesystem::create_directories(responses_dir);
    return "record_responses: " + std::string(responses_dir) + "/" + name + "-" + std::to_string(::getpid()) + ".jsonl\n";
  };

  // The relay (or the replicated relays), then the nodes that pull from it.
  std::string node_relay = "relay";
  if (!extras.ordering) {
    WriteText(dir_.Join("relay.yaml"), std::string("data: relay-data\ngenesis: genesis.json\nlisten: {address: 127.0.0.1, port: 0}\n"
                                       "tls: {cert: relay/cert.pem, key: relay/key.pem}\nblocks: ") +
                                       extras.relay_blocks + "\ncrls: [" + crls + "]\ndelivery_backoff_ms: 100\n" + extras.adapters_yaml +
                                       record("relay"));
    Start("relay", {EntenteBinary(), "relay", "--config", dir_.Join("relay.yaml")});
  } else {
    const auto& o = *extras.ordering;
    std::string endpoints;
    for (const std::string& e : o.endpoints) endpoints += (endpoints.empty() ? "" : ", ") + e;
    for (const auto& [id, chain] : replicas) {
      WriteText(dir_.Join(id + ".yaml"),
                "id: " + id + "\ndata: " + id + "-data\ngenesis: genesis.json\nlisten: {address: 127.0.0.1, port: " +
                    std::to_string(ports_[id]) + "}\ntls: {cert: " + id + "/cert.pem, key: " + id +
                    "/key.pem}\nblocks: " + extras.relay_blocks + "\ncrls: [" + crls +
                    "]\ndelivery_backoff_ms: 100\nordering: {etcd: {endpoints: [" + endpoints + "], ca: " + o.ca_file +
                    ", cert: " + o.cert_file + ", key: " + o.key_file + ", prefix: /alliance" + o.etcd_keys + "}}\n" +
                    extras.adapters_yaml + record(id));
      std::vector<std::string> command;
      if (auto launcher = o.launchers.find(id); launcher != o.launchers.end()) command = launcher->second;
      for (const std::string& arg : {EntenteBinary(), std::string("relay"), std::string("--config"), dir_.Join(id + ".yaml")}) {
        command.push_back(arg);
      }
      Start(id, command);
    }
    node_relay = o.node_relay;
  }
  int nodes_started = 0;
  for (const Chain& chain : Chains()) {
    for (const auto& [id, weight] : chain.nodes) {
      std::string packages;
      for (const std::string& c : chain.contracts) packages += (packages.empty() ? "" : ", ") + package_files[c];
      if (extras.ordering && extras.ordering->node_relay.empty()) {
        node_relay = replicas[static_cast<std::size_t>(nodes_started) % replicas.size()].first;
      }
      ++nodes_started;
      std::string yaml = "id: " + id + "\nchain: " + chain.name + "\ndata: " + id + "-data\ngenesis: genesis.json\n" +
                         "listen: {address: 127.0.0.1, port: " + std::to_string(ports_[id]) + "}\n" +
                         "tls: {cert: " + id + "/cert.pem, key: " + id + "/key.pem}\ntcerts: " + id + "/tcerts\n" +
                         "relay: {endpoint: 127.0.0.1:" + std::to_string(ports_[node_relay]) + ", cert: " + node_relay +
                         "/cert.pem}\n" +
                         "clients: [{id: " + chain.client + ", ecert: " + chain.client + "/cert.pem, tcerts: " +
                         chain.client + "/tcerts}]\npackages: [" + packages + "]\npull_wait_ms: 500\ncrls: [" + crls + "]\n" + extras.adapters_yaml +
                         record(id);
      WriteText(dir_.Join(id + ".yaml"), yaml);
      Start(id, {EntenteBinary(), "node", "--config", dir_.Join(id + ".yaml")});
    }
  }
}

RunningAlliance& SharedAlliance() {
  // The paper's scenarios race transactions against each other (an MVCC conflict, then its retry):
  // blocks wait out max_wait_ms, as an orderer's batch timeout does, so that a transaction answered
  // 202 is still uncommitted when the next one is simulated.
  static RunningAlliance alliance([] {
    AllianceExtras extras;
    extras.relay_blocks = "{max_wait_ms: 20, cut_when_idle: false}";
    return extras;
  }());
  return alliance;
}

RunningAlliance::~RunningAlliance() {
  for (auto& [name, p] : processes_) {
    if (p->running()) p->Signal(SIGTERM);
  }
}

void RunningAlliance::Start(const std::string& name, const std::vector<std::string>& args) {
  commands_[name] = args;
  processes_[name] = std::make_unique<Process>(args, dir_.Join(name + ".log"));
  const bool relay = name == "relay" || (name.size() == 2 && name[0] == 'r');
  std::string port = processes_[name]->WaitForLine(relay ? "relay ready on port " : "node ready on port ");
  REQUIRE_MESSAGE(!port.empty(), name << " did not start:\n" << processes_[name]->Log());
  ports_[name] = static_cast<std::uint16_t>(std::stoi(port));
}

void RunningAlliance::Restart(const std::string& name, int signal) {
  Stop(name, signal);
  StartAgain(name);
}

void RunningAlliance::Stop(const std::string& name, int signal) {
  if (processes_.at(name)->running()) processes_.at(name)->Signal(signal);
  processes_.erase(name);
}

void RunningAlliance::StartAgain(const std::string& name) { Start(name, commands_.at(name)); }

void RunningAlliance::Enroll(const std::string& who, const std::string& chain, crypto::Role role,
                             const std::string& id) {
  auto ca = Must(certs::CertificateAuthority::Open(dir_.Join("ca-" + chain)));
  std::string dir = dir_.Join(who);
  std::filesystem::create_directories(dir + "/tcerts");
  auto ecert = Must(ca.IssueEcert(role, id, 30, {"127.0.0.1"}));
  MustOk(ecert.Save(dir + "/cert.pem", dir + "/key.pem"));
  auto batch = Must(ca.IssueTcerts(ecert.certificate, 2, 24));
  for (int i = 0; i < 2; ++i) {
    std::string base = dir + "/tcerts/tcert-" + std::to_string(i);
    MustOk(batch[static_cast<std::size_t>(i)].Save(base + ".pem", base + "-key.pem"));
  }
  identities_[who] = dir;
}

void RunningAlliance::Revoke(const std::string& who, const std::string& chain) {
  auto ca = Must(certs::CertificateAuthority::Open(dir_.Join("ca-" + chain)));
  MustOk(ca.Revoke(Must(crypto::Certificate::LoadFile(identities_.at(who) + "/cert.pem"))));
  WriteText(dir_.Join("ca-" + chain + "/crl.pem"), Must(ca.CrlPem()));
}

std::unique_ptr<http::Client> RunningAlliance::Client(const std::string& node_id, const std::string& who) const {
  http::ClientOptions options;
  options.port = ports_.at(node_id);
  options.tls = {identities_.at(who) + "/cert.pem", identities_.at(who) + "/key.pem",
                 {dir_.Join("ca-chainA/ca.pem"), dir_.Join("ca-chainB/ca.pem")}};
  options.timeout = std::chrono::seconds(60);
  return std::make_unique<http::Client>(options);
}

std::pair<int, Json> RunningAlliance::Submit(const std::string& node_id, const std::string& who,
                                             const Json& request) const {
  auto client = Client(node_id, who);
  auto response = client->Post("/v1/transactions", request.dump());
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  auto body = ParseJson(response->body);
  REQUIRE_MESSAGE(body.ok(), response->body);
  return {response->status, *body};
}

std::pair<int, Json> RunningAlliance::Call(const std::string& node_id, const std::string& who, const std::string& method,
                                           const std::string& target, const std::string& body,
                                           std::vector<std::pair<std::string, std::string>> headers) const {
  auto client = Client(node_id, who);
  headers.emplace_back("Content-Type", "application/json");
  auto response = client->Send(method, target, body, std::move(headers));
  REQUIRE_MESSAGE(response.ok(), response.status().ToString());
  auto parsed = ParseJson(response->body);
  return {response->status, parsed.ok() ? *parsed : Json()};
}

endorser::Envelope RunningAlliance::EndorseSigned(const std::string& node_id, const std::string& who,
                                                  const SignedBytes& proposal) const {
  auto [status, endorsed] = Submit(node_id, who, Json{{"signed_proposal", proposal.ToJson()}});
  REQUIRE_MESSAGE(status == 200, endorsed.dump());
  REQUIRE(endorsed["state"] == "endorsed");
  Bytes payload = Must(Base64Decode(endorsed["envelope_payload"].get<std::string>()));
  return Must(endorser::Envelope::FromJson(Must(ParseJson(ToString(payload)))));
}

std::pair<int, Json> RunningAlliance::SealAndSubmit(const std::string& node_id, const std::string& who,
                                                    const endorser::Signer& sealer,
                                                    const endorser::Envelope& envelope) const {
  Bytes sealed = Must(endorser::SealEnvelope(sealer, envelope));
  return Call(node_id, who, "POST", "/v1/envelopes", ToString(sealed));
}

endorser::Signer RunningAlliance::SignerOf(const std::string& who, int index) const {
  std::string dir = identities_.at(who);
  auto tcert = Must(crypto::Certificate::LoadFile(dir + "/tcerts/tcert-" + std::to_string(index) + ".pem"));
  auto key = Must(crypto::PrivateKey::LoadFile(dir + "/tcerts/tcert-" + std::to_string(index) + "-key.pem"));
  auto ecert = Must(crypto::Certificate::LoadFile(dir + "/cert.pem"));
  return endorser::Signer{tcert, {ecert}, key};
}

std::vector<std::string> RunningAlliance::NodesOf(const std::string& chain) const {
  std::vector<std::string> out;
  for (const auto& [id, c] : chain_of_) {
    if (c == chain) out.push_back(id);
  }
  return out;
}

std::vector<Json> RunningAlliance::WaitForHeight(const std::string& chain, std::uint64_t height) const {
  std::vector<Json> answers;
  for (const std::string& id : NodesOf(chain)) {
    if (id == "b3") continue;
    // Asked as alice: a node's own certificate may be revoked (b3's is), and heights are every member's to read.
    auto client = Client(id, "alice");
    Json last;
    for (int i = 0; i < 300; ++i) {
      auto r = client->Get("/v1/channels/" + chain);
      if (r.ok() && r->status == 200) {
        last = Must(ParseJson(r->body));
        if (last.value("height", std::uint64_t{0}) >= height) break;
      } else {
        last = Json{{"node", id}, {"error", r.ok() ? r->body : r.status().ToString()}};  // says why in the failure
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    answers.push_back(last);
  }
  return answers;
}

}  // namespace entente::testing
