#include "tests/integration/relay_fixture.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "runtime/alliance/alliance.h"
#include "tests/support/must.h"
#include "runtime/common/json.h"
#include "runtime/crypto/crypto.h"

namespace entente::testing {
namespace {

std::shared_ptr<endorser::Signer> SignerOf(const certs::IssuedCertificate& tcert, const crypto::Certificate& ecert) {
  auto signer = std::make_shared<endorser::Signer>(endorser::Signer{tcert.certificate, {ecert}, tcert.key});
  return signer;
}

}  // namespace

Member RelayAlliance::MakeMember(certs::CertificateAuthority& ca, crypto::Role role, const std::string& id,
                                 std::vector<std::string> hosts) {
  Member m;
  m.dir = dir_.Join(ca.chain() + "-" + id);
  m.ecert = std::make_shared<certs::IssuedCertificate>(Must(ca.IssueEcert(role, id, 365, hosts)));
  MustOk(m.ecert->Save(m.dir + "-cert.pem", m.dir + "-key.pem"));
  auto tcerts = Must(ca.IssueTcerts(m.ecert->certificate, 1, 24));
  m.signer = SignerOf(tcerts.at(0), m.ecert->certificate);
  return m;
}

RelayAlliance::RelayAlliance() {
  auto ca_a = Must(certs::CertificateAuthority::Init(dir_.Join("ca-a"), "chainA", false));
  auto ca_b = Must(certs::CertificateAuthority::Init(dir_.Join("ca-b"), "chainB", false));
  auto ca_x = Must(certs::CertificateAuthority::Init(dir_.Join("ca-x"), "chainX", false));
  node_a1 = MakeMember(ca_a, crypto::Role::kNode, "a1");
  node_a2 = MakeMember(ca_a, crypto::Role::kNode, "a2");
  node_a3 = MakeMember(ca_a, crypto::Role::kNode, "a3");
  node_b1 = MakeMember(ca_b, crypto::Role::kNode, "b1");
  client_a = MakeMember(ca_a, crypto::Role::kClient, "alice");
  client_b = MakeMember(ca_b, crypto::Role::kClient, "bob");
  revoked_client = MakeMember(ca_a, crypto::Role::kClient, "mallory");
  expired_client = MakeMember(ca_a, crypto::Role::kClient, "old");
  foreign_client = MakeMember(ca_x, crypto::Role::kClient, "xavier");
  relay = MakeMember(ca_a, crypto::Role::kRelay, "relay", {"127.0.0.1"});
  replicas[0] = MakeMember(ca_a, crypto::Role::kRelay, "r1", {"127.0.0.1"});
  replicas[1] = MakeMember(ca_b, crypto::Role::kRelay, "r2", {"127.0.0.1"});
  replicas[2] = MakeMember(ca_a, crypto::Role::kRelay, "r3", {"127.0.0.1"});
  MustOk(ca_a.Revoke(revoked_client.ecert->certificate));

  // A TCert of `old` that expired an hour ago (its ECert is still valid).
  auto ca_key = Must(crypto::PrivateKey::LoadFile(dir_.Join("ca-a/ca-key.pem")));
  auto now = crypto::Clock::now();
  crypto::CertificateRequest expired{.chain = "chainA", .role = "tx", .id = "old",
                                     .not_before = now - std::chrono::hours(3), .not_after = now - std::chrono::hours(1),
                                     .bound_ecert = expired_client.ecert->certificate.Fingerprint()};
  auto key = Must(crypto::PrivateKey::Generate());
  auto cert = Must(crypto::IssueCertificate(expired, key.Public(), &ca_a.root(), ca_key));
  expired_client.signer = std::make_shared<endorser::Signer>(
      endorser::Signer{cert, {expired_client.ecert->certificate}, key});

  ca_bundle_ = dir_.Join("alliance-cas.pem");
  WriteText(ca_bundle_, ca_a.root().Pem() + ca_b.root().Pem());

  chaincode::AllianceConfig config;
  config.members.push_back({"chainA", {ca_a.root().Pem()}, {{"admin-a", 1}}});
  config.members.back().crls.push_back(Must(ca_a.CrlPem()));  // mallory's revocation, which validation goes by
  config.members.push_back({"chainB", {ca_b.root().Pem()}, {{"admin-b", 1}}});
  auto node = [](const Member& m, const std::string& chain, std::int64_t weight) {
    return chaincode::Node{m.ecert->certificate.subject().id, chain, weight, "https://127.0.0.1:1",
                           m.ecert->certificate.Pem()};
  };
  config.nodes = {node(node_a1, "chainA", 2), node(node_a2, "chainA", 1), node(node_a3, "chainA", 1),
                  node(node_b1, "chainB", 1)};
  config.routes.push_back({"b-reads-a", "chainB", "reader", "chainA", "asset", chaincode::Access::kRead});
  config.routes.push_back({"a-writes-b", "chainA", "asset", "chainB", "snooper", chaincode::Access::kWrite});
  std::string sha(64, 'a');
  config.contracts = {{"chainA", "asset", "1", sha, "Weighted(0.5)"},
                      {"chainA", "badpolicy", "1", sha, "Nonsense("},
                      {"chainB", "reader", "1", sha, "Weighted(0.5)"},
                      {"chainB", "snooper", "1", sha, "Weighted(0.5)"}};
  auto genesis = Must(alliance::MakeGenesisBlock(config, 1700000000000));
  WriteText(dir_.Join("genesis.json"), genesis.ToJson().dump());
  // The same alliance with three replicated relays, one vote each.
  for (int i = 0; i < 3; ++i) {
    const crypto::Subject& subject = replicas[i].ecert->certificate.subject();
    config.relays.push_back({subject.id, subject.chain, 1, "https://127.0.0.1:1", replicas[i].ecert->certificate.Pem()});
  }
  auto replicated = Must(alliance::MakeGenesisBlock(config, 1700000000000));
  WriteText(dir_.Join("genesis-replicated.json"), replicated.ToJson().dump());
}

std::string RelayAlliance::WriteRelayConfig(const std::string& data_dir, const std::string& blocks,
                                            const std::string& extra) const {
  return WriteConfig(data_dir, blocks, extra, dir_.Join("genesis.json"), relay);
}

RunningRelay RelayAlliance::StartReplica(int index, const std::string& data_dir, const std::string& extra,
                                         const std::vector<std::string>& launcher) const {
  return Launch(WriteConfig(data_dir, "{max_tx: 10, max_wait_ms: 50}", extra, dir_.Join("genesis-replicated.json"), replicas[index]), data_dir,
                launcher);
}

std::string RelayAlliance::WriteConfig(const std::string& data_dir, const std::string& blocks,
                                       const std::string& extra, const std::string& genesis,
                                       const Member& identity) const {
  std::string path = data_dir + ".yaml";
  WriteText(path, "data: " + data_dir + "\ngenesis: " + genesis +
                      "\nlisten: {address: 127.0.0.1, port: 0}\ntls: {cert: " + identity.dir + "-cert.pem, key: " +
                      identity.dir + "-key.pem}\ncrls: [" + dir_.Join("ca-a/crl.pem") +
                      "]\n" + (extra.find("body_limit:") == std::string::npos ? "body_limit: 65536\n" : "") +
                      "blocks: " + blocks + "\n" + extra);
  return path;
}

RunningRelay RelayAlliance::StartRelay(const std::string& data_dir, const std::string& blocks,
                                       const std::string& extra, const std::vector<std::string>& launcher) const {
  return Launch(WriteRelayConfig(data_dir, blocks, extra), data_dir, launcher);
}

RunningRelay RelayAlliance::Launch(const std::string& config, const std::string& data_dir,
                                   const std::vector<std::string>& launcher) const {
  RunningRelay r;
  std::vector<std::string> argv = launcher;
  for (std::string arg : {EntenteBinary(), std::string("relay"), std::string("--config"), config}) argv.push_back(arg);
  r.process = std::make_unique<Process>(argv, data_dir + ".log");
  std::string port = r.process->WaitForLine("relay ready on port ");
  REQUIRE_MESSAGE(!port.empty(), r.process->Log());
  r.port = static_cast<std::uint16_t>(std::stoi(port));
  return r;
}

Member RelayAlliance::AddClient(const std::string& id) {
  auto ca = Must(certs::CertificateAuthority::Open(dir_.Join("ca-a")));
  return MakeMember(ca, crypto::Role::kClient, id);
}

void RelayAlliance::Revoke(const Member& who) {
  auto ca = Must(certs::CertificateAuthority::Open(dir_.Join("ca-a")));
  MustOk(ca.Revoke(who.ecert->certificate));
}

RelayAlliance& Fixture() {
  static RelayAlliance alliance;
  return alliance;
}

Json Body(const http::Response& response) {
  auto j = ParseJson(response.body);
  REQUIRE_MESSAGE(j.ok(), response.body);
  return *j;
}

http::Response Send(http::Client& client, std::string_view method, std::string_view target, std::string_view body) {
  auto r = client.Send(method, target, body, {{"Content-Type", "application/json"}});
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

Json WaitSettled(http::Client& client, const std::string& target) {
  Json last;
  for (int i = 0; i < 500; ++i) {
    http::Response r = Send(client, "GET", target);
    if (r.status == 200) {
      last = Body(r);
      if (last["state"] != "pending") return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("still pending: " << target << " " << last.dump());
  return last;
}

void Submit(http::Client& client, const BuiltEnvelope& e) {
  http::Response r = Send(client, "POST", "/v1/envelopes", e.bytes);
  REQUIRE_MESSAGE(r.status == 202, r.body);
}

std::unique_ptr<http::Client> RelayAlliance::ClientFor(const Member& who, std::uint16_t port) const {
  http::ClientOptions options;
  options.port = port;
  options.tls = {who.dir + "-cert.pem", who.dir + "-key.pem", {ca_bundle_}};
  options.timeout = std::chrono::milliseconds(20000);
  return std::make_unique<http::Client>(options);
}

ledger::RwSet RelayAlliance::Writes(const std::string& channel, const std::string& contract,
                                    const std::vector<std::string>& keys) {
  ledger::NamespaceRwSet ns{channel, contract, {}, {}, {}};
  for (const auto& k : keys) ns.writes.push_back({k, false, ToBytes("value of " + k)});
  ledger::RwSet rwset;
  rwset.namespaces.push_back(std::move(ns));
  return rwset;
}

BuiltEnvelope RelayAlliance::Build(const Member& creator, const EnvelopeSpec& spec) const {
  const endorser::Signer& signer = *creator.signer;
  SignedBytes proposal_bytes = Must(endorser::MakeSignedProposal(signer, spec.channel, spec.contract, "f", {}));
  endorser::Proposal proposal = Must(endorser::Proposal::FromJson(Must(ParseJson(ToString(proposal_bytes.payload)))));
  if (spec.timestamp_ms || spec.alter_tx_id || spec.nonce || spec.tx_id) {
    if (spec.timestamp_ms) proposal.timestamp_ms = *spec.timestamp_ms;
    if (spec.nonce) {
      proposal.nonce = *spec.nonce;
      proposal.tx_id = endorser::ComputeTxId(proposal.nonce, signer.certificate.Der(), proposal.channel);
    }
    if (spec.alter_tx_id) proposal.tx_id = crypto::Sha256Hex(ToBytes("not the tx id of " + proposal.tx_id));
    if (spec.tx_id) proposal.tx_id = *spec.tx_id;
    proposal_bytes.payload = ToBytes(Must(CanonicalJson(proposal.ToJson())));
    proposal_bytes.signature = Must(signer.key.Sign(proposal_bytes.payload));
  }
  endorser::SimulationResult result;
  result.tx_id = proposal.tx_id;
  result.proposal_hash = crypto::Sha256Hex(proposal_bytes.payload);
  result.rwset = spec.rwset;
  result.response.status = 200;
  Bytes result_bytes = spec.garbage_result ? ToBytes("this is not a result") : result.Serialize();
  endorser::Envelope envelope{proposal_bytes, result_bytes, {}};
  for (const Member* e : spec.endorsers) envelope.endorsements.push_back(Must(endorser::Endorse(*e->signer, result_bytes)));
  if (spec.tamper_endorsement) envelope.endorsements.at(0).signature.back() ^= 0x01;
  const endorser::Signer& sealer = spec.seal_with ? *spec.seal_with->signer : signer;
  Bytes sealed = Must(endorser::SealEnvelope(sealer, envelope));
  return {proposal.tx_id, proposal.nonce, crypto::Sha256Hex(sealed), ToString(sealed)};
}

}  // namespace entente::testing
