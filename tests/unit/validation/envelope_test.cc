// CheckEnvelope (runtime/validation/validation.h, DESIGN.md §7 step 4): one test per validation code
// it can give, each with real CAs, TCerts, signed proposals, endorsements and sealed envelopes, and
// each asserting the code and that the message names the cause. Time is injected through ctx.now.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "certs/ca.h"
#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/common/signed_bytes.h"
#include "runtime/common/status.h"
#include "runtime/common/validation_code.h"
#include "runtime/crypto/crypto.h"
#include "runtime/endorser/endorser.h"
#include "runtime/ledger/ledger.h"
#include "runtime/validation/validation.h"
#include "tests/support/support.h"

namespace entente::validation {
namespace {

using endorser::Endorsement;
using endorser::Proposal;
using endorser::Signer;
using endorser::SimulationResult;
using ledger::KeyRead;
using ledger::KeyWrite;
using ledger::NamespaceRwSet;
using ledger::RangeRead;
using ledger::RwSet;
using namespace std::chrono_literals;

constexpr char kChannel[] = "chainA";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <typename T>
T Take(Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  return std::move(result).value();
}

std::int64_t Ms(crypto::TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

NamespaceRwSet Writes(const std::string& channel, const std::string& contract, const std::string& key) {
  return NamespaceRwSet{channel, contract, {}, {}, {KeyWrite{key, false, ToBytes("value")}}};
}
NamespaceRwSet Reads(const std::string& channel, const std::string& contract, const std::string& key) {
  return NamespaceRwSet{channel, contract, {KeyRead{key, ledger::Version{3, 1}}}, {}, {}};
}

// What a test transaction is made of; every field has a valid default.
struct Tx {
  std::string creator = "client1";
  std::string channel = kChannel;
  std::string contract = "kv";
  std::optional<std::string> tx_id;          // default: SHA-256(nonce || creator || channel)
  std::optional<std::string> tx_id_channel;  // the channel the default tx id is computed for
  std::optional<std::int64_t> timestamp_ms;  // default: the world's now
  RwSet rwset{{NamespaceRwSet{kChannel, "kv", {KeyRead{"k", std::nullopt}}, {}, {KeyWrite{"k", false, ToBytes("v")}}}}};
  shim::Response response;
  std::vector<std::string> endorsers{"a1", "a2"};  // weights 2 + 1 of 4 on chainA
};

// The pieces of an envelope before it is sealed, for tests to tamper with.
struct Parts {
  SignedBytes proposal;
  Bytes result;
  std::vector<Endorsement> endorsements;
};

// Two member chains with their CAs (chainB's has an intermediate), a client, chainA's nodes a1 (weight
// 2), a2, a3 (1 each), chainB's node b1, a trust store that knows them, and the alliance: contracts
// kv and other on chainA, assets on chainB, and a route letting chainA's kv read chainB's assets.
struct World {
  testing::TempDir dir;
  std::optional<certs::CertificateAuthority> ca_a;
  std::optional<certs::CertificateAuthority> ca_b;
  crypto::TrustStore trust;
  AllianceView alliance;
  std::map<std::string, certs::IssuedCertificate> ecerts;
  std::map<std::string, Signer> signers;
  crypto::TimePoint now = crypto::Clock::now();

  World() {
    ca_a.emplace(Take(certs::CertificateAuthority::Init(dir.Join("ca-a"), "chainA", false)));
    ca_b.emplace(Take(certs::CertificateAuthority::Init(dir.Join("ca-b"), "chainB", true)));
    REQUIRE(trust.AddCa(ca_a->root()).ok());
    REQUIRE(trust.AddCa(ca_b->root()).ok());
    Enroll(*ca_a, crypto::Role::kClient, "client1", 48);
    Enroll(*ca_a, crypto::Role::kNode, "a1");
    Enroll(*ca_a, crypto::Role::kNode, "a2");
    Enroll(*ca_a, crypto::Role::kNode, "a3");
    Enroll(*ca_b, crypto::Role::kNode, "b1");
    alliance.channels = {"alliance", "chainA", "chainB"};
    alliance.nodes = {{"a1", "chainA", 2}, {"a2", "chainA", 1}, {"a3", "chainA", 1}, {"b1", "chainB", 1}};
    alliance.admins = {{"alice", "chainA", 1}};
    alliance.contracts = {{"chainA", "kv", "1.0", "aa", "Weighted(0.5)"},
                          {"chainA", "other", "1.0", "bb", "Weighted(0.5)"},
                          {"chainB", "assets", "1.0", "cc", "Weighted(0.5)"}};
    alliance.routes = {{"chainA", "kv", "chainB", "assets", false}};
  }

  // Issues an ECert for `id` (registered with the trust store) and a TCert bound to it, the signer.
  void Enroll(const certs::CertificateAuthority& ca, crypto::Role role, const std::string& id, int tcert_hours = 24) {
    certs::IssuedCertificate ecert = Take(ca.IssueEcert(role, id, 30));
    std::vector<certs::IssuedCertificate> tcerts = Take(ca.IssueTcerts(ecert.certificate, 1, tcert_hours));
    trust.AddEcert(ecert.certificate);
    signers.insert_or_assign(id, Signer{tcerts[0].certificate, tcerts[0].intermediates, tcerts[0].key});
    ecerts.insert_or_assign(id, std::move(ecert));
  }

  const Signer& S(const std::string& id) const { return signers.at(id); }

  // Revokes `certificate` at its CA and installs the CA's new CRL.
  void Revoke(certs::CertificateAuthority& ca, const crypto::Certificate& certificate) {
    REQUIRE(ca.Revoke(certificate).ok());
    Status status = trust.AddCrl(Take(ca.CrlPem()), {ca.issuer()});
    REQUIRE_MESSAGE(status.ok(), status.ToString());
  }

  Proposal MakeProposal(const Tx& tx) const {
    const Signer& creator = S(tx.creator);
    Proposal p;
    p.channel = tx.channel;
    p.contract = tx.contract;
    p.function = "Put";
    p.args = {"k", "v"};
    p.creator = creator.ChainPem();
    p.nonce = crypto::RandomBytes(24);
    p.timestamp_ms = tx.timestamp_ms.value_or(Ms(now));
    p.tx_id = tx.tx_id.value_or(
        endorser::ComputeTxId(p.nonce, creator.certificate.Der(), tx.tx_id_channel.value_or(p.channel)));
    return p;
  }

  static SignedBytes SignProposal(const Proposal& p, const Signer& signer) {
    SignedBytes signed_proposal;
    signed_proposal.payload = ToBytes(Take(CanonicalJson(p.ToJson())));
    signed_proposal.signature = Take(signer.key.Sign(signed_proposal.payload));
    return signed_proposal;
  }

  static SimulationResult ResultOf(const Tx& tx, const Proposal& p, const SignedBytes& signed_proposal) {
    return SimulationResult{p.tx_id, crypto::Sha256Hex(signed_proposal.payload), tx.rwset, tx.response, {}};
  }

  Parts Build(const Tx& tx = {}) const {
    Proposal p = MakeProposal(tx);
    Parts parts;
    parts.proposal = SignProposal(p, S(tx.creator));
    parts.result = ResultOf(tx, p, parts.proposal).Serialize();
    for (const std::string& id : tx.endorsers)
      parts.endorsements.push_back(Take(endorser::Endorse(S(id), parts.result)));
    return parts;
  }

  Bytes Seal(const Parts& parts, const std::string& sealer = "client1") const {
    return Take(
        endorser::SealEnvelope(S(sealer), endorser::Envelope{parts.proposal, parts.result, parts.endorsements}));
  }

  Bytes Envelope(const Tx& tx = {}) const { return Seal(Build(tx), tx.creator); }

  ValidationContext Context() const {
    ValidationContext ctx;
    ctx.trust = &trust;
    ctx.alliance = &alliance;
    ctx.now = now;
    return ctx;
  }

  CheckedEnvelope Check(const Bytes& envelope) const { return CheckEnvelope(envelope, Context()); }
  CheckedEnvelope CheckAt(const Bytes& envelope, crypto::TimePoint at) const {
    ValidationContext ctx = Context();
    ctx.now = at;
    return CheckEnvelope(envelope, ctx);
  }
};

// Asserts the code (by name, for readable failures) and that the message contains every part.
void ExpectRejected(const CheckedEnvelope& checked, ValidationCode code, const std::vector<std::string>& parts) {
  CAPTURE(checked.message);
  CHECK(ValidationCodeName(checked.code) == ValidationCodeName(code));
  for (const std::string& part : parts) {
    CAPTURE(part);
    CHECK(Contains(checked.message, part));
  }
}

void ExpectValid(const CheckedEnvelope& checked) {
  CAPTURE(checked.message);
  CHECK(ValidationCodeName(checked.code) == ValidationCodeName(ValidationCode::kValid));
  CHECK(checked.message.empty());
}

void FlipLastByte(Bytes& bytes) {
  REQUIRE_FALSE(bytes.empty());
  bytes.back() ^= 0x01;
}

// ---- Valid ----

TEST_CASE("A well-formed envelope, signed by its creator and endorsed above half the weight, is valid") {
  World w;
  Tx tx;
  Parts parts = w.Build(tx);
  Proposal proposal = Take(Proposal::FromJson(Take(ParseJson(ToString(parts.proposal.payload)))));
  CheckedEnvelope checked = w.Check(w.Seal(parts));
  ExpectValid(checked);
  CHECK(checked.ok());
  CHECK(checked.creator_authenticated);
  CHECK(checked.tx_id == proposal.tx_id);
  CHECK(checked.channel == "chainA");
  REQUIRE(checked.proposal.has_value());
  CHECK(checked.proposal->contract == "kv");
  CHECK(checked.proposal->nonce == proposal.nonce);
  REQUIRE(checked.result.has_value());
  CHECK(checked.result->rwset == tx.rwset);
  CHECK(checked.result->tx_id == proposal.tx_id);
}

TEST_CASE("Checking an envelope again gives the same verdict, the trust store answering from its cache") {
  World w;
  Bytes envelope = w.Envelope();
  ExpectValid(w.Check(envelope));
  std::uint64_t hits = w.trust.cache_hits();
  ExpectValid(w.Check(envelope));
  CHECK(w.trust.cache_hits() > hits);
}

TEST_CASE("An envelope may write other contracts of its channel, read undefined ones, and read along a route") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(Writes(kChannel, "other", "x"));
  tx.rwset.namespaces.push_back(Reads(kChannel, "undeployed", "y"));
  tx.rwset.namespaces.push_back(Reads("chainB", "assets", "z"));
  NamespaceRwSet ranges{"chainB", "assets", {}, {RangeRead{"a", "m", true, {KeyRead{"b", ledger::Version{1, 0}}}}}, {}};
  tx.rwset.namespaces.push_back(ranges);
  ExpectValid(w.Check(w.Envelope(tx)));
}

TEST_CASE("A policy over several chains is satisfied by endorsers of those chains, through an intermediate CA") {
  World w;
  w.alliance.contracts[0].policy = "Weighted(0.5, 'chainA', 'chainB')";
  Tx tx;
  tx.endorsers = {"a1", "b1"};  // 3 of 5
  ExpectValid(w.Check(w.Envelope(tx)));
  tx.endorsers = {"a1"};  // 2 of 5
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure, {"weight 2 of 5"});
}

// ---- BAD_PAYLOAD (2) ----

TEST_CASE("Bytes that are not a signed envelope are BAD_PAYLOAD and claim no tx id") {
  World w;
  CheckedEnvelope garbage = w.Check(ToBytes("not json at all"));
  ExpectRejected(garbage, ValidationCode::kBadPayload, {"the envelope is not signed bytes"});
  CHECK(garbage.tx_id.empty());
  CHECK(garbage.channel.empty());
  CHECK_FALSE(garbage.creator_authenticated);
  CHECK_FALSE(garbage.proposal.has_value());

  SignedBytes not_an_envelope{ToBytes(R"({"result":"AA=="})"), Bytes{1, 2}};
  ExpectRejected(w.Check(ToBytes(not_an_envelope.ToJson().dump())), ValidationCode::kBadPayload,
                 {"the envelope does not parse", "signed_proposal"});

  SignedBytes not_json{ToBytes("{oops"), Bytes{1, 2}};
  ExpectRejected(w.Check(ToBytes(not_json.ToJson().dump())), ValidationCode::kBadPayload,
                 {"the envelope payload is not JSON"});
}

TEST_CASE("A proposal that does not parse is BAD_PAYLOAD naming the proposal") {
  World w;
  Parts parts = w.Build();
  parts.proposal.payload = ToBytes(R"({"channel":"chainA"})");
  parts.proposal.signature = Take(w.S("client1").key.Sign(parts.proposal.payload));
  CheckedEnvelope checked = w.Check(w.Seal(parts));
  ExpectRejected(checked, ValidationCode::kBadPayload, {"the proposal does not parse"});
  CHECK(checked.tx_id.empty());
}

TEST_CASE("A result that does not parse, or belongs to another proposal, is BAD_PAYLOAD") {
  World w;
  Parts parts = w.Build();
  Parts unparsable = parts;
  unparsable.result = ToBytes(R"({"tx_id":"x"})");
  CheckedEnvelope checked = w.Check(w.Seal(unparsable));
  ExpectRejected(checked, ValidationCode::kBadPayload, {"the result does not parse"});
  CHECK_FALSE(checked.tx_id.empty());  // the proposal parsed
  CHECK(checked.channel == "chainA");

  // The result of another proposal by the same client: other tx id, other proposal hash.
  Parts other = w.Build();
  Parts swapped = parts;
  swapped.result = other.result;
  ExpectRejected(w.Check(w.Seal(swapped)), ValidationCode::kBadPayload,
                 {"the result's tx_id", "is not the proposal's"});

  // The right tx id, but the hash of another proposal.
  Tx tx;
  Proposal p = w.MakeProposal(tx);
  SignedBytes signed_proposal = World::SignProposal(p, w.S("client1"));
  SimulationResult result = World::ResultOf(tx, p, signed_proposal);
  result.proposal_hash = crypto::Sha256Hex(other.proposal.payload);
  Parts wrong_hash{signed_proposal, result.Serialize(), {}};
  wrong_hash.endorsements = {Take(endorser::Endorse(w.S("a1"), wrong_hash.result))};
  ExpectRejected(w.Check(w.Seal(wrong_hash)), ValidationCode::kBadPayload, {"proposal_hash"});
}

TEST_CASE("A creator or endorser certificate that does not parse is BAD_PAYLOAD") {
  World w;
  Tx tx;
  Proposal p = w.MakeProposal(tx);
  p.creator = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
  Parts parts;
  parts.proposal = World::SignProposal(p, w.S("client1"));
  parts.result = World::ResultOf(tx, p, parts.proposal).Serialize();
  parts.endorsements = {Take(endorser::Endorse(w.S("a1"), parts.result))};
  ExpectRejected(w.Check(w.Seal(parts)), ValidationCode::kBadPayload, {"the creator certificate does not parse"});

  Parts bad_endorser = w.Build();
  bad_endorser.endorsements[1].endorser = "garbage";
  ExpectRejected(w.Check(w.Seal(bad_endorser)), ValidationCode::kBadPayload,
                 {"the certificate of endorsement 2 does not parse"});
}

// ---- BAD_CREATOR_SIGNATURE (4) ----

TEST_CASE("An envelope sealed by someone other than the proposal's creator is BAD_CREATOR_SIGNATURE") {
  World w;
  CheckedEnvelope checked = w.Check(w.Seal(w.Build(), "a1"));
  ExpectRejected(checked, ValidationCode::kBadCreatorSignature,
                 {"the envelope's signature does not verify", "CN=client1"});
  CHECK_FALSE(checked.creator_authenticated);
  CHECK_FALSE(checked.tx_id.empty());
}

TEST_CASE("A proposal whose signature does not verify is BAD_CREATOR_SIGNATURE") {
  World w;
  Parts tampered = w.Build();
  FlipLastByte(tampered.proposal.signature);
  ExpectRejected(w.Check(w.Seal(tampered)), ValidationCode::kBadCreatorSignature,
                 {"the creator's signature over the proposal does not verify"});

  // Signed by a node, though the proposal names the client as its creator.
  Tx tx;
  Proposal p = w.MakeProposal(tx);
  Parts forged;
  forged.proposal = World::SignProposal(p, w.S("a1"));
  forged.result = World::ResultOf(tx, p, forged.proposal).Serialize();
  forged.endorsements = {Take(endorser::Endorse(w.S("a1"), forged.result)),
                         Take(endorser::Endorse(w.S("a2"), forged.result))};
  CheckedEnvelope checked = w.Check(w.Seal(forged));
  ExpectRejected(checked, ValidationCode::kBadCreatorSignature, {"over the proposal", "CN=client1"});
  CHECK_FALSE(checked.creator_authenticated);
}

// ---- BAD_PROPOSAL_TXID (8) ----

TEST_CASE("A tx id that is not SHA-256 of the nonce, creator and channel is BAD_PROPOSAL_TXID") {
  World w;
  Tx tx;
  tx.tx_id = crypto::Sha256Hex(AsBytes("someone else's transaction"));
  CheckedEnvelope checked = w.Check(w.Envelope(tx));
  ExpectRejected(checked, ValidationCode::kBadProposalTxid, {*tx.tx_id, "is not SHA-256(nonce || creator"});
  CHECK(checked.tx_id == *tx.tx_id);
  CHECK_FALSE(checked.creator_authenticated);
}

TEST_CASE("The tx id a nonce gives on another channel is BAD_PROPOSAL_TXID: a tx id names its channel") {
  World w;
  Tx tx;
  tx.tx_id_channel = "chainB";
  CheckedEnvelope checked = w.Check(w.Envelope(tx));
  ExpectRejected(checked, ValidationCode::kBadProposalTxid, {"is not SHA-256(nonce || creator certificate || channel)"});
  CHECK_FALSE(checked.creator_authenticated);
}

// ---- ENDORSEMENT_POLICY_FAILURE (10) ----

TEST_CASE("Endorsements not above half of the weight are ENDORSEMENT_POLICY_FAILURE with the weights") {
  World w;
  Tx tx;
  tx.endorsers = {"a2"};
  CheckedEnvelope checked = w.Check(w.Envelope(tx));
  ExpectRejected(checked, ValidationCode::kEndorsementPolicyFailure,
                 {"Weighted(0.5, 'chainA')", "chainA/kv", "weight 1 of 4 (25%) is not above 50%", "chainA/a2"});
  CHECK(checked.creator_authenticated);

  tx.endorsers = {"a1"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure, {"weight 2 of 4 (50%)"});
}

TEST_CASE("The same endorser twice, or a client or a node of another chain, adds no weight") {
  World w;
  Tx tx;
  tx.endorsers = {"a1", "a1"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure, {"weight 2 of 4"});
  tx.endorsers = {"a1", "client1", "b1"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure,
                 {"weight 2 of 4", "not eligible", "chainA/client1 (client)", "chainB/b1 (node)"});
}

TEST_CASE("An envelope without endorsements is ENDORSEMENT_POLICY_FAILURE") {
  World w;
  Tx tx;
  tx.endorsers = {};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure, {"no endorsement"});
}

TEST_CASE("An expression policy is evaluated over the endorsers' ECert identities") {
  World w;
  w.alliance.contracts[0].policy = "AND('chainA.a3', OR('chainB.node', 'chainA.admin'))";
  Tx tx;
  tx.endorsers = {"a3", "b1"};
  ExpectValid(w.Check(w.Envelope(tx)));
  tx.endorsers = {"a1", "a2", "b1"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kEndorsementPolicyFailure,
                 {"AND('chainA.a3', OR('chainB.node', 'chainA.admin')) is not satisfied"});
}

// ---- TARGET_CHAIN_NOT_FOUND (14) ----

TEST_CASE("A proposal for a channel the alliance does not know is TARGET_CHAIN_NOT_FOUND") {
  World w;
  Tx tx;
  tx.channel = "chainZ";
  CheckedEnvelope checked = w.Check(w.Envelope(tx));
  ExpectRejected(checked, ValidationCode::kTargetChainNotFound, {"channel 'chainZ' is not a chain of the alliance"});
  CHECK(checked.channel == "chainZ");
  CHECK(checked.creator_authenticated);
}

TEST_CASE("Reading a namespace of a chain the alliance does not know is TARGET_CHAIN_NOT_FOUND") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(Reads("chainZ", "assets", "k"));
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kTargetChainNotFound,
                 {"chainZ/assets", "'chainZ' is not a chain of the alliance"});
}

// ---- BAD_RESPONSE_PAYLOAD (21) ----

TEST_CASE("An endorsement over other result bytes is BAD_RESPONSE_PAYLOAD naming the endorser") {
  World w;
  Tx tx;
  Parts parts = w.Build(tx);
  SimulationResult other = Take(SimulationResult::Parse(parts.result));
  other.rwset.namespaces[0].writes[0].value = ToBytes("a different value");
  parts.endorsements[1] = Take(endorser::Endorse(w.S("a2"), other.Serialize()));
  ExpectRejected(w.Check(w.Seal(parts)), ValidationCode::kBadResponsePayload,
                 {"endorsement by chainA/a2 does not verify over the result bytes"});
}

TEST_CASE("A tampered endorsement is BAD_RESPONSE_PAYLOAD naming the endorser") {
  World w;
  Parts flipped = w.Build();
  FlipLastByte(flipped.endorsements[0].signature);
  ExpectRejected(w.Check(w.Seal(flipped)), ValidationCode::kBadResponsePayload,
                 {"endorsement by chainA/a1 does not verify over the result bytes"});

  // a1's signature presented as a2's: the certificate is valid, the signature is not a2's.
  Parts relabelled = w.Build();
  relabelled.endorsements[0].endorser = relabelled.endorsements[1].endorser;
  ExpectRejected(w.Check(w.Seal(relabelled)), ValidationCode::kBadResponsePayload,
                 {"endorsement by chainA/a2 does not verify over the result bytes"});
}

TEST_CASE("An endorsed error response is BAD_RESPONSE_PAYLOAD") {
  World w;
  Tx tx;
  tx.response = shim::Error("insufficient funds", 500);
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kBadResponsePayload,
                 {"the contract answered an error (status 500)", "insufficient funds"});
}

// ---- ILLEGAL_WRITESET (23) ----

TEST_CASE("Writing a namespace of another channel is ILLEGAL_WRITESET") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(Writes("chainB", "assets", "k"));
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kIllegalWriteset,
                 {"chainB/assets", "a transaction writes only the channel it is submitted on"});
}

TEST_CASE("Writing the namespace of a contract not defined on the channel is ILLEGAL_WRITESET") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(Writes(kChannel, "undeployed", "k"));
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kIllegalWriteset,
                 {"chainA/undeployed", "contract 'undeployed' is not defined on channel 'chainA'"});
}

// ---- INVALID_CHAINCODE (25) ----

TEST_CASE("A proposal for a contract not defined on its channel is INVALID_CHAINCODE") {
  World w;
  Tx tx;
  tx.contract = "assets";  // defined on chainB only
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kInvalidChaincode,
                 {"contract 'assets' is not defined on channel 'chainA'"});
}

// ---- CERTIFICATE_UNTRUSTED (101) ----

TEST_CASE("A creator whose certificate does not chain to an alliance CA is CERTIFICATE_UNTRUSTED") {
  World w;
  auto rogue = Take(certs::CertificateAuthority::Init(w.dir.Join("rogue"), "chainA", false));
  w.Enroll(rogue, crypto::Role::kClient, "mallory");
  Tx tx;
  tx.creator = "mallory";
  CheckedEnvelope checked = w.Check(w.Envelope(tx));
  ExpectRejected(checked, ValidationCode::kCertificateUntrusted,
                 {"creator certificate untrusted", "CN=mallory", "does not chain to a trusted CA"});
  CHECK(checked.creator_authenticated);  // it signed its own id; only its certificate is refused
}

TEST_CASE("An endorser whose certificate does not chain to an alliance CA is CERTIFICATE_UNTRUSTED") {
  World w;
  auto rogue = Take(certs::CertificateAuthority::Init(w.dir.Join("rogue"), "chainA", false));
  w.Enroll(rogue, crypto::Role::kNode, "a3");  // a forged a3 of weight 1
  Tx tx;
  tx.endorsers = {"a1", "a3"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kCertificateUntrusted,
                 {"endorser chainA/a3", "untrusted", "does not chain to a trusted CA"});
}

TEST_CASE("A TCert bound to an ECert the alliance does not know is CERTIFICATE_UNTRUSTED") {
  World w;
  certs::IssuedCertificate ecert = Take(w.ca_a->IssueEcert(crypto::Role::kNode, "ghost", 30));
  certs::IssuedCertificate tcert = Take(w.ca_a->IssueTcerts(ecert.certificate, 1, 24)).at(0);
  w.signers.insert_or_assign("ghost", Signer{tcert.certificate, {}, tcert.key});  // the ECert is not registered
  Tx tx;
  tx.endorsers = {"a1", "ghost"};
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kCertificateUntrusted,
                 {"endorser chainA/ghost", "unknown ECert"});
}

// ---- CERTIFICATE_EXPIRED (102) ----

TEST_CASE("A creator certificate past its validity at the validator's time is CERTIFICATE_EXPIRED") {
  World w;
  crypto::TimePoint later = w.now + 49h;  // client1's TCert is valid for 48 hours
  Tx tx;
  tx.timestamp_ms = Ms(later);
  ExpectRejected(w.CheckAt(w.Envelope(tx), later), ValidationCode::kCertificateExpired,
                 {"creator certificate expired", "CN=client1", "expired at"});
}

TEST_CASE("A creator certificate before its validity at the validator's time is CERTIFICATE_EXPIRED") {
  World w;
  crypto::TimePoint earlier = w.now - 1h;
  Tx tx;
  tx.timestamp_ms = Ms(earlier);
  ExpectRejected(w.CheckAt(w.Envelope(tx), earlier), ValidationCode::kCertificateExpired,
                 {"creator certificate not yet valid", "is not valid until"});
}

TEST_CASE("An endorser certificate past its validity is CERTIFICATE_EXPIRED naming the endorser") {
  World w;
  w.Enroll(*w.ca_a, crypto::Role::kNode, "a3", 1);  // a3's TCert lasts one hour
  crypto::TimePoint later = w.now + 2h;
  Tx tx;
  tx.timestamp_ms = Ms(later);
  tx.endorsers = {"a1", "a3"};
  ExpectRejected(w.CheckAt(w.Envelope(tx), later), ValidationCode::kCertificateExpired,
                 {"endorser chainA/a3", "expired at"});
}

// ---- CERTIFICATE_REVOKED (103) ----

TEST_CASE("A creator whose ECert is revoked is CERTIFICATE_REVOKED") {
  World w;
  w.Revoke(*w.ca_a, w.ecerts.at("client1").certificate);
  ExpectRejected(w.Check(w.Envelope()), ValidationCode::kCertificateRevoked,
                 {"creator certificate bound to a revoked ECert", "CN=client1", "is revoked"});
}

TEST_CASE("A creator whose TCert is revoked is CERTIFICATE_REVOKED") {
  World w;
  w.Revoke(*w.ca_a, w.S("client1").certificate);
  ExpectRejected(w.Check(w.Envelope()), ValidationCode::kCertificateRevoked,
                 {"creator certificate revoked", w.S("client1").certificate.SerialHex()});
}

TEST_CASE("An endorser whose ECert is revoked is CERTIFICATE_REVOKED naming the endorser") {
  World w;
  w.Revoke(*w.ca_a, w.ecerts.at("a2").certificate);
  ExpectRejected(w.Check(w.Envelope()), ValidationCode::kCertificateRevoked, {"endorser chainA/a2", "revoked"});
}

// ---- ROUTE_NOT_ALLOWED (104) ----

TEST_CASE("Reading another chain without a route for the contract is ROUTE_NOT_ALLOWED naming the route") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(Reads("chainB", "ledger", "k"));
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kRouteNotAllowed,
                 {"chainB/ledger", "no route lets contract 'kv' on chainA read 'ledger' on chainB"});

  // The route to chainB's assets is kv's, not other's.
  Tx other;
  other.contract = "other";
  other.rwset.namespaces = {Writes(kChannel, "other", "k"), Reads("chainB", "assets", "k")};
  ExpectRejected(w.Check(w.Envelope(other)), ValidationCode::kRouteNotAllowed,
                 {"no route lets contract 'other' on chainA read 'assets' on chainB"});
}

TEST_CASE("A range read of another chain without a route is ROUTE_NOT_ALLOWED") {
  World w;
  Tx tx;
  tx.rwset.namespaces.push_back(NamespaceRwSet{"chainB", "ledger", {}, {RangeRead{"a", "z", true, {}}}, {}});
  ExpectRejected(w.Check(w.Envelope(tx)), ValidationCode::kRouteNotAllowed, {"chainB/ledger"});
}

// ---- PROPOSAL_EXPIRED (105) ----

TEST_CASE("A proposal older than the window is PROPOSAL_EXPIRED and one within it is valid") {
  World w;
  Bytes envelope = w.Envelope();
  ExpectRejected(w.CheckAt(envelope, w.now + 6min), ValidationCode::kProposalExpired,
                 {"the proposal's timestamp", "360.000 s behind", "±300.000 s"});
  ExpectValid(w.CheckAt(envelope, w.now + 4min));
}

TEST_CASE("A proposal from too far in the future is PROPOSAL_EXPIRED") {
  World w;
  Bytes envelope = w.Envelope();
  CheckedEnvelope checked = w.CheckAt(envelope, w.now - 6min);
  ExpectRejected(checked, ValidationCode::kProposalExpired, {"360.000 s ahead of"});
  CHECK(checked.creator_authenticated);
}

TEST_CASE("The proposal window is the context's") {
  World w;
  Bytes envelope = w.Envelope();
  ValidationContext ctx = w.Context();
  ctx.proposal_window = std::chrono::milliseconds(1000);
  ctx.now = w.now + 2s;
  ExpectRejected(CheckEnvelope(envelope, ctx), ValidationCode::kProposalExpired, {"±1.000 s"});
  ctx.now = w.now + 500ms;
  ExpectValid(CheckEnvelope(envelope, ctx));
}

// ---- INVALID_OTHER_REASON (255) ----

TEST_CASE("A contract whose policy does not parse is INVALID_OTHER_REASON with the parse error") {
  World w;
  w.alliance.contracts[0].policy = "Weighted(0.5";
  ExpectRejected(w.Check(w.Envelope()), ValidationCode::kInvalidOtherReason,
                 {"the endorsement policy of chainA/kv does not parse", "at position"});
}

// ---- Order ----

TEST_CASE("The first failing check decides the code") {
  World w;
  // Expired proposal, unknown contract and too little weight: the window is checked first.
  Tx tx;
  tx.contract = "assets";
  tx.endorsers = {"a3"};
  Bytes envelope = w.Envelope(tx);
  ExpectRejected(w.CheckAt(envelope, w.now + 1h), ValidationCode::kProposalExpired, {});
  ExpectRejected(w.Check(envelope), ValidationCode::kInvalidChaincode, {});
  // A bad endorsement signature is found before the policy is weighed.
  Parts parts = w.Build();
  parts.endorsements.resize(1);
  FlipLastByte(parts.endorsements[0].signature);
  ExpectRejected(w.Check(w.Seal(parts)), ValidationCode::kBadResponsePayload, {});
}

// ---- Concurrency and the certificate cache ----

TEST_CASE("Envelopes checked concurrently on many threads get the verdicts they get alone") {
  World w;
  std::vector<Bytes> envelopes;
  std::vector<ValidationCode> expected;
  Tx valid;
  Tx weak;
  weak.endorsers = {"a3"};
  Tx no_route;
  no_route.rwset.namespaces.push_back(Reads("chainB", "ledger", "k"));
  Parts tampered = w.Build();
  FlipLastByte(tampered.endorsements[1].signature);
  for (const Bytes& envelope : {w.Envelope(valid), w.Envelope(weak), w.Envelope(no_route), w.Seal(tampered)}) {
    envelopes.push_back(envelope);
    expected.push_back(w.Check(envelope).code);
  }
  CHECK(expected == std::vector<ValidationCode>{ValidationCode::kValid, ValidationCode::kEndorsementPolicyFailure,
                                                ValidationCode::kRouteNotAllowed, ValidationCode::kBadResponsePayload});
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        size_t k = static_cast<size_t>(i + t) % envelopes.size();
        if (w.Check(envelopes[k]).code != expected[k]) ++mismatches;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches.load() == 0);
}

}  // namespace
}  // namespace entente::validation
