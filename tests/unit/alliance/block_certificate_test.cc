// Block certificates of replicated relays (runtime/alliance: CheckBlockCertificate): a block counts as
// certified only with valid signatures of relays holding more than half of the relays' weight over
// exactly its header, verdicts, time and alliance height.
#include <doctest/doctest.h>

#include "certs/ca.h"
#include "runtime/alliance/alliance.h"
#include "tests/support/must.h"
#include "tests/support/support.h"

namespace entente::alliance {
namespace {

using testing::Must;

struct Relays {
  Relays() {
    auto ca = Must(certs::CertificateAuthority::Init(dir.Join("ca"), "chainA", false));
    chaincode::AllianceConfig config;
    config.members.push_back({"chainA", {ca.root().Pem()}, {{"admin-a", 1}}});
    const std::int64_t weights[3] = {2, 1, 1};
    for (int i = 0; i < 3; ++i) {
      std::string id = "r" + std::to_string(i + 1);
      auto issued = Must(ca.IssueEcert(crypto::Role::kRelay, id, 30, {"127.0.0.1"}));
      keys.push_back(issued.key);
      config.relays.push_back({id, "chainA", weights[i], "127.0.0.1:1", issued.certificate.Pem()});
    }
    members = Must(BuildMembership(config, {}));
    block.header.channel = "chainA";
    block.envelopes = {ToBytes("an envelope")};
    block.header.data_hash = block.ComputeDataHash();
    block.metadata.validation_codes = {ValidationCode::kValid};
    block.metadata.timestamp_ms = 1700000000000;
  }
  // Relay `i`'s signature of `b` as it stands.
  Bytes Sign(int i, const ledger::Block& b) const { return Must(keys[static_cast<std::size_t>(i)].Sign(b.SignedMetadataBytes())); }

  testing::TempDir dir;
  std::vector<crypto::PrivateKey> keys;
  Membership members;
  ledger::Block block;
};

TEST_CASE("A block signed by relays of more than half the weight is certified; half is not") {
  Relays r;
  ledger::Block b = r.block;
  b.metadata.certificate = {{"r2", r.Sign(1, b)}, {"r3", r.Sign(2, b)}};
  CertificateCheck half = CheckBlockCertificate(r.members, b);
  CHECK(half.weight == 2);
  CHECK(half.total == 4);
  CHECK_FALSE(half.certified());
  b.metadata.certificate["r1"] = r.Sign(0, b);
  CHECK(CheckBlockCertificate(r.members, b).certified());
}

TEST_CASE("With a relay quorum of 75 percent, three quarters of the weight is not enough and all of it is") {
  Relays r;
  Membership strict = r.members;
  strict.relay_quorum_percent = 75;
  ledger::Block b = r.block;
  b.metadata.certificate = {{"r1", r.Sign(0, b)}, {"r2", r.Sign(1, b)}};
  CHECK(CheckBlockCertificate(r.members, b).certified());
  CertificateCheck three_quarters = CheckBlockCertificate(strict, b);
  CHECK(three_quarters.weight == 3);
  CHECK_FALSE(three_quarters.certified());
  b.metadata.certificate["r3"] = r.Sign(2, b);
  CHECK(CheckBlockCertificate(strict, b).certified());
}

TEST_CASE("A relay quorum other than half goes into the genesis block as an integer, and half stays out of it") {
  chaincode::AllianceConfig config;
  config.members.push_back({"chainA", {}, {{"admin-a", 1}}});
  config.relays.push_back({"r1", "chainA", 1, "127.0.0.1:1", ""});
  config.relay_quorum_percent = 75;
  auto genesis = MakeGenesisBlock(config, 1700000000000);
  REQUIRE_MESSAGE(genesis.ok(), genesis.status().ToString());
  CHECK(ToString(genesis->envelopes[0]).find("\"relay_quorum_percent\":75") != std::string::npos);
  config.relay_quorum_percent = chaincode::kDefaultRelayQuorumPercent;
  CHECK(ToString(Must(MakeGenesisBlock(config, 1700000000000)).envelopes[0]).find("relay_quorum") == std::string::npos);
}

TEST_CASE("A signature of another verdict is refused and named, and does not count") {
  Relays r;
  ledger::Block lie = r.block;
  lie.metadata.validation_codes = {ValidationCode::kMvccReadConflict};
  ledger::Block b = r.block;
  b.metadata.certificate = {{"r1", r.Sign(0, lie)}, {"r2", r.Sign(1, b)}, {"r3", r.Sign(2, b)}};
  CertificateCheck check = CheckBlockCertificate(r.members, b);
  CHECK(check.refused == std::vector<std::string>{"r1"});
  CHECK(check.weight == 2);
  CHECK_FALSE(check.certified());
  // The same signatures over another time, or another alliance height, prove nothing either.
  ledger::Block later = b;
  later.metadata.timestamp_ms += 1;
  later.metadata.certificate = {{"r1", r.Sign(0, b)}, {"r2", r.Sign(1, b)}};
  CHECK(CheckBlockCertificate(r.members, later).refused.size() == 2);
  ledger::Block other_height = b;
  other_height.metadata.alliance_height = 7;
  other_height.metadata.certificate = {{"r1", r.Sign(0, b)}, {"r2", r.Sign(1, b)}};
  CHECK_FALSE(CheckBlockCertificate(r.members, other_height).certified());
}

TEST_CASE("Signers that are no relay of the alliance, and one relay's key under another's name, count for nothing") {
  Relays r;
  ledger::Block b = r.block;
  b.metadata.certificate = {{"mallory", r.Sign(0, b)}, {"r2", r.Sign(0, b)}, {"r3", r.Sign(2, b)}};
  CertificateCheck check = CheckBlockCertificate(r.members, b);
  CHECK(check.unknown == std::vector<std::string>{"mallory"});
  CHECK(check.refused == std::vector<std::string>{"r2"});
  CHECK(check.weight == 1);
  CHECK_FALSE(check.certified());
}

TEST_CASE("An alliance without relays certifies nothing by signatures (its one relay signs instead)") {
  Relays r;
  Membership none = r.members;
  none.relays.clear();
  ledger::Block b = r.block;
  b.metadata.certificate = {{"r1", r.Sign(0, b)}};
  CHECK_FALSE(CheckBlockCertificate(none, b).certified());
}

}  // namespace
}  // namespace entente::alliance
