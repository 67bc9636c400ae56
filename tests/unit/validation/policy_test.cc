// Endorsement policies (runtime/validation/validation.h): the paper's weighted policy, the admins'
// policy, Fabric's AND/OR/OutOf expressions, their parser's errors, and AllianceView's lookups.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/common/status.h"
#include "runtime/validation/validation.h"

namespace entente::validation {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// chainA: nodes a1 (weight 2), a2, a3 (weight 1 each); chainB: b1, b2 (weight 1 each); chainC: c1 of
// weight 0; chainD: no nodes. Admins: one per chain A, B, C (weight 1 each).
AllianceView TestAlliance() {
  AllianceView alliance;
  alliance.channels = {"alliance", "chainA", "chainB", "chainC", "chainD"};
  alliance.nodes = {{"a1", "chainA", 2}, {"a2", "chainA", 1}, {"a3", "chainA", 1},
                    {"b1", "chainB", 1}, {"b2", "chainB", 1}, {"c1", "chainC", 0}};
  alliance.admins = {{"alice", "chainA", 1}, {"bob", "chainB", 1}, {"carol", "chainC", 1}};
  alliance.contracts = {{"chainA", "kv", "1.0", "00", "Weighted(0.5)"}};
  alliance.routes = {{"chainA", "kv", "chainB", "assets", false}, {"chainA", "kv", "chainB", "ledger", true}};
  return alliance;
}

EndorserIdentity Node(const std::string& chain, const std::string& id) { return {chain, "node", id}; }
EndorserIdentity Admin(const std::string& chain, const std::string& id) { return {chain, "admin", id}; }
EndorserIdentity Client(const std::string& chain, const std::string& id) { return {chain, "client", id}; }

std::unique_ptr<EndorsementPolicy> Parse(const std::string& text, const std::string& channel = "chainA") {
  static const AllianceView alliance = TestAlliance();
  auto policy = ParsePolicy(text, channel, alliance);
  REQUIRE_MESSAGE(policy.ok(), policy.status().ToString());
  return std::move(policy).value();
}

Status ParseError(const std::string& text, const std::string& channel = "chainA") {
  auto policy = ParsePolicy(text, channel, TestAlliance());
  REQUIRE_FALSE(policy.ok());
  CHECK(policy.status().IsInvalidArgument());
  return policy.status();
}

bool Satisfied(const EndorsementPolicy& policy, const std::vector<EndorserIdentity>& endorsers) {
  PolicyOutcome outcome = policy.Evaluate(endorsers);
  CHECK_FALSE(outcome.explanation.empty());
  return outcome.satisfied;
}

// ---- Weighted ----

TEST_CASE("A weighted policy fails at exactly half of the weight and passes above it") {
  auto policy = Parse("Weighted(0.5)", "chainB");
  PolicyOutcome half = policy->Evaluate({Node("chainB", "b1")});
  CHECK_FALSE(half.satisfied);
  CHECK(Contains(half.explanation, "weight 1 of 2 (50%) is not above 50%"));
  CHECK(Contains(half.explanation, "chainB/b1"));
  PolicyOutcome all = policy->Evaluate({Node("chainB", "b1"), Node("chainB", "b2")});
  CHECK(all.satisfied);
  CHECK(Contains(all.explanation, "weight 2 of 2 (100%) is above 50%"));
}

TEST_CASE("With weights 2, 1 and 1 the node of weight 2 alone fails and passes with either other node") {
  auto policy = Parse("Weighted(0.5)");
  PolicyOutcome alone = policy->Evaluate({Node("chainA", "a1")});
  CHECK_FALSE(alone.satisfied);
  CHECK(Contains(alone.explanation, "weight 2 of 4 (50%) is not above 50%"));
  CHECK(Satisfied(*policy, {Node("chainA", "a1"), Node("chainA", "a2")}));
  CHECK(Satisfied(*policy, {Node("chainA", "a3"), Node("chainA", "a1")}));
  CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a2"), Node("chainA", "a3")}));
  PolicyOutcome three = policy->Evaluate({Node("chainA", "a1"), Node("chainA", "a2"), Node("chainA", "a3")});
  CHECK(three.satisfied);
  CHECK(Contains(three.explanation, "weight 4 of 4 (100%)"));
}

TEST_CASE("The same endorser twice counts once in a weighted policy") {
  auto policy = Parse("Weighted(0.5)");
  PolicyOutcome twice = policy->Evaluate({Node("chainA", "a1"), Node("chainA", "a1")});
  CHECK_FALSE(twice.satisfied);
  CHECK(Contains(twice.explanation, "weight 2 of 4"));
  CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a2"), Node("chainA", "a2"), Node("chainA", "a2")}));
}

TEST_CASE("A non-member endorser counts zero: a node of another chain, a client, an admin, an unknown id") {
  auto policy = Parse("Weighted(0.5)");
  std::vector<EndorserIdentity> others{Node("chainB", "b1"), Client("chainA", "a2"), Admin("chainA", "a3"),
                                       Node("chainA", "stranger")};
  PolicyOutcome outcome = policy->Evaluate(others);
  CHECK_FALSE(outcome.satisfied);
  CHECK(Contains(outcome.explanation, "weight 0 of 4"));
  CHECK(Contains(outcome.explanation, "not eligible"));
  CHECK(Contains(outcome.explanation, "chainA/stranger"));
  // With the weight-2 node they still add nothing: 2 of 4 is not above half.
  others.push_back(Node("chainA", "a1"));
  outcome = policy->Evaluate(others);
  CHECK_FALSE(outcome.satisfied);
  CHECK(Contains(outcome.explanation, "weight 2 of 4"));
}

TEST_CASE("A weighted policy whose total eligible weight is zero never passes") {
  auto zero = Parse("Weighted(0.5)", "chainC");
  PolicyOutcome outcome = zero->Evaluate({Node("chainC", "c1")});
  CHECK_FALSE(outcome.satisfied);
  CHECK(Contains(outcome.explanation, "total weight of 0"));
  auto empty = Parse("Weighted(0)", "chainD");
  CHECK_FALSE(Satisfied(*empty, {}));
  CHECK_FALSE(Satisfied(*empty, {Node("chainD", "d1")}));
}

TEST_CASE("A weighted policy over listed chains weighs the nodes of every listed chain") {
  auto policy = Parse("Weighted(0.5, 'chainA', \"chainB\")");
  CHECK(policy->Text() == "Weighted(0.5, 'chainA', 'chainB')");
  // Total 6: a1 + b1 = 3 is half, a1 + b1 + b2 = 4 is above.
  PolicyOutcome half = policy->Evaluate({Node("chainA", "a1"), Node("chainB", "b1")});
  CHECK_FALSE(half.satisfied);
  CHECK(Contains(half.explanation, "weight 3 of 6 (50%)"));
  CHECK(Contains(half.explanation, "the nodes of chainA and chainB"));
  CHECK(Satisfied(*policy, {Node("chainA", "a1"), Node("chainB", "b1"), Node("chainB", "b2")}));
  // The contract's own channel is not eligible unless listed.
  auto only_b = Parse("Weighted(0.5, 'chainB')");
  CHECK_FALSE(Satisfied(*only_b, {Node("chainA", "a1"), Node("chainA", "a2"), Node("chainB", "b1")}));
  CHECK(Satisfied(*only_b, {Node("chainB", "b1"), Node("chainB", "b2")}));
}

TEST_CASE("A weighted policy honours its threshold and defaults to one half") {
  auto seventy = Parse("Weighted(0.7)");
  CHECK(Satisfied(*seventy, {Node("chainA", "a1"), Node("chainA", "a2")}));  // 75% > 70%
  CHECK_FALSE(Satisfied(*seventy, {Node("chainA", "a2"), Node("chainA", "a3")}));
  auto seventy_five = Parse("Weighted(0.75)");
  CHECK_FALSE(Satisfied(*seventy_five, {Node("chainA", "a1"), Node("chainA", "a2")}));  // 75% is not above 75%
  auto sixty = Parse("Weighted(0.6)");
  CHECK(Satisfied(*sixty, {Node("chainA", "a1"), Node("chainA", "a2")}));
  auto zero = Parse("Weighted(0)");
  CHECK(Satisfied(*zero, {Node("chainA", "a3")}));
  CHECK_FALSE(Satisfied(*zero, {}));
  auto defaulted = Parse("Weighted()");
  CHECK(defaulted->Text() == "Weighted(0.5, 'chainA')");
  CHECK_FALSE(Satisfied(*defaulted, {Node("chainA", "a1")}));
  auto chains_only = Parse("weighted('chainB')");
  CHECK(chains_only->Text() == "Weighted(0.5, 'chainB')");
}

TEST_CASE("An Admins policy weighs every admin of the alliance and ignores nodes") {
  auto policy = Parse("Admins(0.5)", "alliance");
  CHECK(policy->Text() == "Admins(0.5)");
  PolicyOutcome one = policy->Evaluate({Admin("chainA", "alice"), Node("chainA", "a1"), Node("chainB", "b1")});
  CHECK_FALSE(one.satisfied);
  CHECK(Contains(one.explanation, "weight 1 of 3"));
  CHECK(Contains(one.explanation, "admins"));
  CHECK(Satisfied(*policy, {Admin("chainA", "alice"), Admin("chainC", "carol")}));
  // An admin id on the wrong chain, or a node with an admin's id, is not that admin.
  CHECK_FALSE(Satisfied(*policy, {Admin("chainA", "alice"), Admin("chainA", "bob"), Node("chainC", "carol")}));
  CHECK_FALSE(Satisfied(*policy, {Admin("chainA", "alice"), Admin("chainA", "alice")}));
}

// ---- Expressions ----

TEST_CASE("AND needs every sub-policy and OR needs one") {
  auto both = Parse("AND('chainA.node', 'chainB.node')");
  CHECK(Satisfied(*both, {Node("chainA", "a2"), Node("chainB", "b1")}));
  CHECK_FALSE(Satisfied(*both, {Node("chainA", "a2"), Node("chainA", "a3")}));
  PolicyOutcome missing = both->Evaluate({Node("chainA", "a2")});
  CHECK_FALSE(missing.satisfied);
  CHECK(Contains(missing.explanation, "AND('chainA.node', 'chainB.node') is not satisfied by chainA/a2 (node)"));

  auto either = Parse("OR('chainA.admin', 'chainB.node')");
  CHECK(Satisfied(*either, {Admin("chainA", "alice")}));
  CHECK(Satisfied(*either, {Node("chainB", "b2")}));
  CHECK_FALSE(Satisfied(*either, {Node("chainA", "a1"), Admin("chainB", "bob")}));
  CHECK_FALSE(Satisfied(*either, {}));
}

TEST_CASE("One endorsement does not satisfy two principals of an AND") {
  auto policy = Parse("AND('chainA.node', 'chainA.node')");
  CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a1")}));
  CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a1"), Node("chainA", "a1")}));  // the same identity twice
  CHECK(Satisfied(*policy, {Node("chainA", "a1"), Node("chainA", "a2")}));
  // 'member' would match the node too, but the node is already used by 'chainA.node'.
  auto member_and_node = Parse("AND('chainA.member', 'chainA.node')");
  CHECK_FALSE(Satisfied(*member_and_node, {Node("chainA", "a1")}));
  CHECK(Satisfied(*member_and_node, {Node("chainA", "a1"), Client("chainA", "c")}));
}

TEST_CASE("The matcher backtracks when a first choice of endorsement leaves a principal unmatched") {
  // a1 matches both principals; whichever principal is tried first, a choice of a1 for 'chainA.member'
  // must be undone so that a1 can be 'chainA.a1'.
  for (const char* text : {"AND('chainA.member', 'chainA.a1')", "AND('chainA.a1', 'chainA.member')"}) {
    CAPTURE(text);
    auto policy = Parse(text);
    CHECK(Satisfied(*policy, {Node("chainA", "a1"), Node("chainA", "zz")}));
    CHECK(Satisfied(*policy, {Node("chainA", "zz"), Node("chainA", "a1")}));
    CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a1")}));
  }
  auto nested = Parse("OutOf(2, AND('chainA.member', 'chainB.member'), 'chainA.a1', 'chainB.b1')");
  CHECK(Satisfied(*nested, {Node("chainA", "a1"), Node("chainB", "b1")}));
  CHECK(Satisfied(*nested, {Node("chainA", "a1"), Node("chainB", "b1"), Admin("chainA", "alice")}));
}

TEST_CASE("OutOf needs n of its sub-policies and nests with AND and OR") {
  auto two_of_three = Parse("OutOf(2, 'chainA.node', 'chainB.node', 'chainC.node')");
  CHECK(two_of_three->Text() == "OutOf(2, 'chainA.node', 'chainB.node', 'chainC.node')");
  CHECK(Satisfied(*two_of_three, {Node("chainA", "a1"), Node("chainC", "c1")}));
  CHECK_FALSE(Satisfied(*two_of_three, {Node("chainA", "a1"), Node("chainA", "a2")}));

  auto nested =
      Parse("OR(AND('chainA.node', OutOf(1, 'chainB.admin', 'chainC.admin')), AND('chainB.node', 'chainB.node'))");
  CHECK(Satisfied(*nested, {Node("chainA", "a3"), Admin("chainC", "carol")}));
  CHECK(Satisfied(*nested, {Node("chainB", "b1"), Node("chainB", "b2")}));
  CHECK_FALSE(Satisfied(*nested, {Node("chainA", "a3"), Node("chainB", "b1")}));
  CHECK_FALSE(Satisfied(*nested, {Admin("chainB", "bob"), Admin("chainC", "carol")}));
}

TEST_CASE("A node id principal matches only that node of that chain") {
  auto policy = Parse("AND('chainA.a1', 'chainB.b2')");
  CHECK(Satisfied(*policy, {Node("chainA", "a1"), Node("chainB", "b2")}));
  CHECK_FALSE(Satisfied(*policy, {Node("chainA", "a2"), Node("chainB", "b2")}));
  CHECK_FALSE(Satisfied(*policy, {Node("chainB", "a1"), Node("chainB", "b2")}));
  // A client or admin that happens to carry the node's id is not the node.
  CHECK_FALSE(Satisfied(*policy, {Client("chainA", "a1"), Node("chainB", "b2")}));
  CHECK_FALSE(Satisfied(*policy, {Admin("chainA", "a1"), Node("chainB", "b2")}));
}

TEST_CASE("The member role matches any role of its chain, and a role principal only that role") {
  auto member = Parse("OR('chainB.member')");
  CHECK(Satisfied(*member, {Client("chainB", "x")}));
  CHECK(Satisfied(*member, {Admin("chainB", "bob")}));
  CHECK(Satisfied(*member, {Node("chainB", "b1")}));
  CHECK(Satisfied(*member, {EndorserIdentity{"chainB", "relay", "r"}}));
  CHECK_FALSE(Satisfied(*member, {Node("chainA", "a1")}));
  auto client = Parse("'chainB.client'");
  CHECK(Satisfied(*client, {Client("chainB", "x")}));
  CHECK_FALSE(Satisfied(*client, {Node("chainB", "b1")}));
}

TEST_CASE("Expression keywords are case-insensitive and Text gives the canonical form") {
  auto policy = Parse("  and( 'chainA.node' ,or(\"chainB.admin\",'chainB.b1'), outof(1,'chainC.member') )  ");
  CHECK(policy->Text() == "AND('chainA.node', OR('chainB.admin', 'chainB.b1'), OutOf(1, 'chainC.member'))");
  auto again = Parse(policy->Text());
  CHECK(again->Text() == policy->Text());
}

// ---- Parse errors ----

TEST_CASE("A malformed policy is refused naming the position and what was expected") {
  Status missing_paren = ParseError("AND('chainA.node', 'chainB.node'");
  CHECK(Contains(missing_paren.message(), "at position 33"));
  CHECK(Contains(missing_paren.message(), "expected ',' or ')'"));
  CHECK(Contains(missing_paren.message(), "the end of the text"));

  Status unknown_gate = ParseError("AND('chainA.node', NOT('chainB.node'))");
  CHECK(Contains(unknown_gate.message(), "at position 20"));
  CHECK(Contains(unknown_gate.message(), "expected AND, OR, OutOf or a quoted principal"));
  CHECK(Contains(unknown_gate.message(), "found 'NOT("));

  Status trailing = ParseError("Weighted(0.5) extra");
  CHECK(Contains(trailing.message(), "at position 15"));
  CHECK(Contains(trailing.message(), "expected the end of the policy"));

  Status unclosed = ParseError("OR('chainA.node)");
  CHECK(Contains(unclosed.message(), "at position 4"));
  CHECK(Contains(unclosed.message(), "not closed"));

  Status empty = ParseError("");
  CHECK(Contains(empty.message(), "at position 1"));

  Status no_threshold = ParseError("Weighted(abc)");
  CHECK(Contains(no_threshold.message(), "at position 10"));
  CHECK(Contains(no_threshold.message(), "expected a number"));

  Status no_dot = ParseError("OR('chainA')");
  CHECK(Contains(no_dot.message(), "at position 4"));
  CHECK(Contains(no_dot.message(), "'<chain>.<role>'"));

  Status admins_with_chain = ParseError("Admins(0.5, 'chainA')");
  CHECK(Contains(admins_with_chain.message(), "at position 11"));

  Status empty_and = ParseError("AND()");
  CHECK(Contains(empty_and.message(), "at position 5"));
  Status nested_weighted = ParseError("OR(Weighted(0.5))");
  CHECK(Contains(nested_weighted.message(), "at position 4"));
}

TEST_CASE("A threshold outside [0, 1) is refused") {
  for (const char* text : {"Weighted(1)", "Weighted(1.5)", "Admins(2)", "Weighted(1.0, 'chainB')"}) {
    CAPTURE(text);
    Status status = ParseError(text);
    CHECK(Contains(status.message(), "outside [0, 1)"));
  }
  CHECK(Contains(ParseError("Weighted(-0.5)").message(), "expected a number"));
}

TEST_CASE("An unknown chain is refused, in a principal, a weighted list or as the contract's channel") {
  Status principal = ParseError("AND('chainA.node', 'chainZ.node')");
  CHECK(Contains(principal.message(), "unknown chain 'chainZ'"));
  CHECK(Contains(principal.message(), "at position 20"));
  Status listed = ParseError("Weighted(0.5, 'chainA', 'chainZ')");
  CHECK(Contains(listed.message(), "unknown chain 'chainZ'"));
  CHECK(Contains(listed.message(), "at position 25"));
  Status channel = ParseError("Weighted(0.5)", "chainZ");
  CHECK(Contains(channel.message(), "unknown chain 'chainZ'"));
}

TEST_CASE("OutOf with n below 1 or above the number of its sub-policies is refused") {
  Status zero = ParseError("OutOf(0, 'chainA.node', 'chainB.node')");
  CHECK(Contains(zero.message(), "at position 7"));
  CHECK(Contains(zero.message(), "between 1 and 2"));
  Status three = ParseError("OutOf(3, 'chainA.node', 'chainB.node')");
  CHECK(Contains(three.message(), "at position 7"));
  Status fraction = ParseError("OutOf(1.5, 'chainA.node', 'chainB.node')");
  CHECK(Contains(fraction.message(), "whole number"));
  Status no_count = ParseError("OutOf('chainA.node')");
  CHECK(Contains(no_count.message(), "expected a number"));
}

TEST_CASE("A policy nested too deeply is refused rather than overflowing the stack") {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "OR(";
  text += "'chainA.node'";
  for (int i = 0; i < 100; ++i) text += ")";
  CHECK(Contains(ParseError(text).message(), "nests deeper"));
}

TEST_CASE("A chain name containing a dot is told apart from the id after it") {
  AllianceView alliance = TestAlliance();
  alliance.channels.insert("org.one");
  auto policy = ParsePolicy("AND('org.one.peer0.x', 'org.one.admin')", "chainA", alliance);
  REQUIRE_MESSAGE(policy.ok(), policy.status().ToString());
  CHECK((*policy)->Evaluate({Node("org.one", "peer0.x"), Admin("org.one", "root")}).satisfied);
  CHECK_FALSE((*policy)->Evaluate({Node("org.one", "x"), Admin("org.one", "root")}).satisfied);
}

// ---- AllianceView ----

TEST_CASE("FindContract finds a contract only on the channel it is defined on") {
  AllianceView alliance = TestAlliance();
  const ContractDef* kv = alliance.FindContract("chainA", "kv");
  REQUIRE(kv != nullptr);
  CHECK(kv->policy == "Weighted(0.5)");
  CHECK(alliance.FindContract("chainB", "kv") == nullptr);
  CHECK(alliance.FindContract("chainA", "other") == nullptr);
}

TEST_CASE("RouteAllows reads along any route and writes only along a write route") {
  AllianceView alliance = TestAlliance();
  CHECK(alliance.RouteAllows("chainA", "kv", "chainB", "assets", false));
  CHECK_FALSE(alliance.RouteAllows("chainA", "kv", "chainB", "assets", true));
  CHECK(alliance.RouteAllows("chainA", "kv", "chainB", "ledger", true));
  CHECK(alliance.RouteAllows("chainA", "kv", "chainB", "ledger", false));
  CHECK_FALSE(alliance.RouteAllows("chainB", "kv", "chainA", "assets", false));
  CHECK_FALSE(alliance.RouteAllows("chainA", "other", "chainB", "assets", false));
  CHECK_FALSE(alliance.RouteAllows("chainA", "kv", "chainC", "assets", false));
}

}  // namespace
}  // namespace entente::validation
