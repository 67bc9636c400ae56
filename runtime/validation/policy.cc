// Endorsement policies: WeightedPolicy (the paper's weighted policy, and the admins' policy), and
// ExpressionPolicy (Fabric's AND/OR/OutOf over principals), with the parser of their text form.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "runtime/validation/validation.h"

namespace entente::validation {
namespace {

constexpr double kDefaultThreshold = 0.5;
// Nesting of AND/OR/OutOf deeper than this is refused rather than risking the stack.
constexpr int kMaxPolicyDepth = 32;
// The expression matcher gives up (not satisfied) after this many steps; deterministic, so every
// validator reaches the same answer.
constexpr std::uint64_t kMaxMatchSteps = 1'000'000;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Describe(const EndorserIdentity& who) { return who.chain + "/" + who.id; }

// The shortest text that reads back as `value` ("0.5", "0.6666").
std::string FormatNumber(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buffer, end);
}

// `fraction` as a percentage with at most two decimals: "50%", "66.67%".
std::string FormatPercent(double fraction) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.2f", fraction * 100);
  std::string text(buffer);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text + "%";
}

std::vector<EndorserIdentity> Distinct(const std::vector<EndorserIdentity>& endorsers) {
  std::vector<EndorserIdentity> distinct = endorsers;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  return distinct;
}

std::string JoinIdentities(const std::vector<EndorserIdentity>& endorsers) {
  std::string text;
  for (const EndorserIdentity& who : endorsers) {
    if (!text.empty()) text += ", ";
    text += Describe(who) + " (" + who.role + ")";
  }
  return text.empty() ? "nobody" : text;
}

// ---- Weighted ----

// The sum of the weights of the distinct eligible endorsers, over the total eligible weight, must be
// strictly above the threshold. Eligible: the members of `role_` listed in `weights_`.
class WeightedPolicy : public EndorsementPolicy {
 public:
  WeightedPolicy(double threshold, std::string role,
                 std::map<std::pair<std::string, std::string>, std::int64_t> weights, std::string scope,
                 std::string text)
      : threshold_(threshold),
        role_(std::move(role)),
        weights_(std::move(weights)),
        scope_(std::move(scope)),
        text_(std::move(text)) {
    for (const auto& [member, weight] : weights_) total_ += weight;
  }

  PolicyOutcome Evaluate(const std::vector<EndorserIdentity>& endorsers) const override {
    std::vector<EndorserIdentity> distinct = Distinct(endorsers);
    std::int64_t sum = 0;
    std::string counted, ignored;
    for (const EndorserIdentity& who : distinct) {
      auto it = who.role == role_ ? weights_.find({who.chain, who.id}) : weights_.end();
      if (it == weights_.end()) {
        ignored += (ignored.empty() ? "" : ", ") + Describe(who) + " (" + who.role + ")";
        continue;
      }
      sum += it->second;
      counted += (counted.empty() ? "" : ", ") + Describe(who) + " (" + std::to_string(it->second) + ")";
    }
    std::string details = "; counted: " + (counted.empty() ? std::string("none") : counted);
    if (!ignored.empty()) details += "; not eligible: " + ignored;
    if (total_ <= 0) {
      return {false, "no eligible weight: " + scope_ + " have a total weight of 0, so " + text_ +
                         " can never be satisfied" + details};
    }
    double fraction = static_cast<double>(sum) / static_cast<double>(total_);
    bool satisfied = fraction > threshold_;
    return {satisfied, "weight " + std::to_string(sum) + " of " + std::to_string(total_) + " (" +
                           FormatPercent(fraction) + ") is " + (satisfied ? "" : "not ") + "above " +
                           FormatPercent(threshold_) + " of " + scope_ + details};
  }

  std::string Text() const override { return text_; }

 private:
  double threshold_;
  std::string role_;
  std::map<std::pair<std::string, std::string>, std::int64_t> weights_;  // (chain, id) → weight
  std::string scope_;                                                    // "the nodes of chainA", for explanations
  std::string text_;
  std::int64_t total_ = 0;
};

// ---- Expressions ----

struct Principal {
  std::string chain;
  std::string role;  // node, admin, client or member; empty for a node id principal
  std::string id;    // the node id when `role` is empty

  bool Matches(const EndorserIdentity& who) const {
    if (who.chain != chain) return false;
    if (role.empty()) return who.role == "node" && who.id == id;
    return role == "member" || who.role == role;
  }
  std::string Text() const { return Quote(chain + "." + (role.empty() ? id : role)); }
};

enum class Gate { kAnd, kOr, kOutOf };

struct PolicyNode {
  bool is_principal = false;
  Principal principal;
  Gate gate = Gate::kAnd;
  size_t required = 0;  // how many children must hold
  std::vector<PolicyNode> children;

  std::string Text() const {
    if (is_principal) return principal.Text();
    std::string text = gate == Gate::kAnd  ? "AND("
                       : gate == Gate::kOr ? "OR("
                                           : "OutOf(" + std::to_string(required) + ", ";
    for (size_t i = 0; i < children.size(); ++i) text += (i ? ", " : "") + children[i].Text();
    return text + ")";
  }
};

// Decides whether distinct identities can satisfy a policy tree, each identity satisfying at most one
// principal: a depth-first search over the obligations still open (principals to match, gates whose
// children to choose), undoing its choices when a branch fails.
class Matcher {
 public:
  explicit Matcher(const std::vector<EndorserIdentity>& identities)
      : identities_(identities), used_(identities.size(), false) {}

  bool Satisfies(const PolicyNode& root) {
    std::vector<const PolicyNode*> open{&root};
    return Solve(open);
  }
  bool gave_up() const { return gave_up_; }

 private:
  // REQUIRES: leaves `open` and `used_` as it found them.
  bool Solve(std::vector<const PolicyNode*>& open) {
    if (++steps_ > kMaxMatchSteps) {
      gave_up_ = true;
      return false;
    }
    if (open.empty()) return true;
    const PolicyNode* node = open.back();
    open.pop_back();
    bool ok = false;
    if (node->is_principal) {
      for (size_t i = 0; i < identities_.size() && !ok && !gave_up_; ++i) {
        if (used_[i] || !node->principal.Matches(identities_[i])) continue;
        used_[i] = true;
        ok = Solve(open);
        used_[i] = false;
      }
    } else {
      ok = Choose(*node, 0, node->required, open);
    }
    open.push_back(node);
    return ok;
  }

  // Opens every combination of `remaining` children of `gate` from `start` on, in turn.
  bool Choose(const PolicyNode& gate, size_t start, size_t remaining, std::vector<const PolicyNode*>& open) {
    if (remaining == 0) return Solve(open);
    for (size_t c = start; c + remaining <= gate.children.size() && !gave_up_; ++c) {
      open.push_back(&gate.children[c]);
      bool ok = Choose(gate, c + 1, remaining - 1, open);
      open.pop_back();
      if (ok) return true;
    }
    return false;
  }

  const std::vector<EndorserIdentity>& identities_;
  std::vector<bool> used_;
  std::uint64_t steps_ = 0;
  bool gave_up_ = false;
};

class ExpressionPolicy : public EndorsementPolicy {
 public:
  explicit ExpressionPolicy(PolicyNode root) : root_(std::move(root)), text_(root_.Text()) {}

  PolicyOutcome Evaluate(const std::vector<EndorserIdentity>& endorsers) const override {
    std::vector<EndorserIdentity> distinct = Distinct(endorsers);
    Matcher matcher(distinct);
    bool satisfied = matcher.Satisfies(root_);
    std::string explanation =
        text_ + (satisfied ? " is satisfied by " : " is not satisfied by ") + JoinIdentities(distinct);
    if (matcher.gave_up()) explanation += " (the search for a match gave up: too many combinations)";
    return {satisfied, std::move(explanation)};
  }

  std::string Text() const override { return text_; }

 private:
  PolicyNode root_;
  std::string text_;
};

// ---- Parsing ----

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsRoleName(std::string_view name) {
  return name == "node" || name == "admin" || name == "client" || name == "member";
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view channel, const AllianceView& alliance)
      : text_(text), channel_(channel), alliance_(alliance) {}

  Result<std::unique_ptr<EndorsementPolicy>> Parse() {
    SkipSpace();
    size_t start = pos_;
    std::string_view word = Identifier();
    std::unique_ptr<EndorsementPolicy> policy;
    if (EqualsIgnoringCase(word, "Weighted") || EqualsIgnoringCase(word, "Admins")) {
      ENTENTE_ASSIGN_OR_RETURN(policy, ParseWeighted(EqualsIgnoringCase(word, "Admins")));
    } else {
      pos_ = start;
      ENTENTE_ASSIGN_OR_RETURN(PolicyNode root, ParseExpression(0));
      policy = std::make_unique<ExpressionPolicy>(std::move(root));
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error(pos_, "the end of the policy");
    return policy;
  }

 private:
  Status Error(size_t at, std::string_view expected) const {
    return Status::InvalidArgument("policy \"" + std::string(text_) + "\": at position " + std::to_string(at + 1) +
                                   ": expected " + std::string(expected) + ", found " + Found(at));
  }
  Status Problem(size_t at, std::string_view what) const {
    return Status::InvalidArgument("policy \"" + std::string(text_) + "\": at position " + std::to_string(at + 1) +
                                   ": " + std::string(what));
  }
  std::string Found(size_t at) const {
    if (at >= text_.size()) return "the end of the text";
    std::string_view rest = text_.substr(at, 12);
    return "'" + std::string(rest) + (at + rest.size() < text_.size() ? "...'" : "'");
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool At(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  Status Expect(char c) {
    if (!At(c)) return Error(pos_, std::string("'") + c + "'");
    ++pos_;
    return Status::Ok();
  }
  std::string_view Identifier() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  bool AtQuote() { return At('\'') || At('"'); }
  Result<std::string> Quoted() {
    if (!AtQuote()) return Error(pos_, "a quoted string");
    char quote = text_[pos_];
    size_t close = text_.find(quote, pos_ + 1);
    if (close == std::string_view::npos) return Problem(pos_, "the quoted string is not closed");
    std::string value(text_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return value;
  }
  // A non-negative decimal number: digits with an optional fraction.
  Result<double> Number() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) ++pos_;
    double value = 0;
    auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    if (start == pos_ || ec != std::errc() || end != text_.data() + pos_) return Error(start, "a number");
    return value;
  }

  Status CheckChain(const std::string& chain, size_t at) const {
    if (alliance_.channels.count(chain) == 0) return Problem(at, "unknown chain '" + chain + "'");
    return Status::Ok();
  }

  // After "Weighted" or "Admins": "([threshold] [, 'chain' ...])" (chains only for Weighted).
  Result<std::unique_ptr<EndorsementPolicy>> ParseWeighted(bool admins) {
    ENTENTE_RETURN_IF_ERROR(Expect('('));
    double threshold = kDefaultThreshold;
    std::vector<std::string> chains;
    bool first = true;
    if (!At(')') && !AtQuote()) {
      size_t at = pos_;
      ENTENTE_ASSIGN_OR_RETURN(threshold, Number());
      if (!(threshold >= 0 && threshold < 1)) {
        return Problem(at, "the threshold " + FormatNumber(threshold) + " is outside [0, 1)");
      }
      first = false;
    }
    while (!At(')')) {
      if (admins) return Error(pos_, "')' (Admins takes only a threshold)");
      if (!first) {
        if (!At(',')) return Error(pos_, "',' or ')'");
        ++pos_;
      }
      first = false;
      SkipSpace();
      size_t at = pos_;
      if (!AtQuote()) return Error(pos_, "a quoted chain name");
      ENTENTE_ASSIGN_OR_RETURN(std::string chain, Quoted());
      ENTENTE_RETURN_IF_ERROR(CheckChain(chain, at));
      if (std::find(chains.begin(), chains.end(), chain) == chains.end()) chains.push_back(std::move(chain));
    }
    ++pos_;  // ')'

    std::map<std::pair<std::string, std::string>, std::int64_t> weights;
    if (admins) {
      for (const AdminMember& admin : alliance_.admins) {
        weights.emplace(std::make_pair(admin.chain, admin.id), std::max<std::int64_t>(admin.weight, 0));
      }
      return std::unique_ptr<EndorsementPolicy>(std::make_unique<WeightedPolicy>(
          threshold, "admin", std::move(weights), "the alliance's admins", "Admins(" + FormatNumber(threshold) + ")"));
    }
    if (chains.empty()) {
      std::string channel(channel_);
      if (alliance_.channels.count(channel) == 0) {
        return Problem(0, "unknown chain '" + channel + "' (the contract's channel)");
      }
      chains.push_back(std::move(channel));
    }
    std::string text = "Weighted(" + FormatNumber(threshold);
    std::string scope = "the nodes of ";
    for (size_t i = 0; i < chains.size(); ++i) {
      text += ", " + Quote(chains[i]);
      scope += (i == 0 ? "" : i + 1 == chains.size() ? " and " : ", ") + chains[i];
    }
    text += ")";
    for (const NodeMember& node : alliance_.nodes) {
      if (std::find(chains.begin(), chains.end(), node.chain) == chains.end()) continue;
      weights.emplace(std::make_pair(node.chain, node.id), std::max<std::int64_t>(node.weight, 0));
    }
    return std::unique_ptr<EndorsementPolicy>(
        std::make_unique<WeightedPolicy>(threshold, "node", std::move(weights), std::move(scope), std::move(text)));
  }

  // expression := AND(expr, ...) | OR(expr, ...) | OutOf(n, expr, ...) | 'principal'
  Result<PolicyNode> ParseExpression(int depth) {
    SkipSpace();
    size_t start = pos_;
    if (depth > kMaxPolicyDepth) {
      return Problem(start, "the policy nests deeper than " + std::to_string(kMaxPolicyDepth));
    }
    if (AtQuote()) return ParsePrincipal();
    std::string_view word = Identifier();
    PolicyNode node;
    if (EqualsIgnoringCase(word, "AND")) {
      node.gate = Gate::kAnd;
    } else if (EqualsIgnoringCase(word, "OR")) {
      node.gate = Gate::kOr;
    } else if (EqualsIgnoringCase(word, "OutOf")) {
      node.gate = Gate::kOutOf;
    } else {
      return Error(start, depth == 0 ? "Weighted, Admins, AND, OR, OutOf or a quoted principal"
                                     : "AND, OR, OutOf or a quoted principal");
    }
    ENTENTE_RETURN_IF_ERROR(Expect('('));
    size_t count_at = 0;
    double count = 0;
    if (node.gate == Gate::kOutOf) {
      SkipSpace();
      count_at = pos_;
      ENTENTE_ASSIGN_OR_RETURN(count, Number());
      if (std::floor(count) != count) {
        return Problem(count_at, "OutOf needs a whole number, not " + FormatNumber(count));
      }
      ENTENTE_RETURN_IF_ERROR(Expect(','));
    }
    while (true) {
      ENTENTE_ASSIGN_OR_RETURN(PolicyNode child, ParseExpression(depth + 1));
      node.children.push_back(std::move(child));
      if (At(')')) break;
      if (!At(',')) return Error(pos_, "',' or ')'");
      ++pos_;
    }
    ++pos_;  // ')'
    switch (node.gate) {
      case Gate::kAnd:
        node.required = node.children.size();
        break;
      case Gate::kOr:
        node.required = 1;
        break;
      case Gate::kOutOf:
        if (count < 1 || count > static_cast<double>(node.children.size())) {
          return Problem(count_at, "OutOf(" + FormatNumber(count) + ", ...) needs between 1 and " +
                                       std::to_string(node.children.size()) + " of its " +
                                       std::to_string(node.children.size()) + " sub-policies");
        }
        node.required = static_cast<size_t>(count);
        break;
    }
    return node;
  }

  // 'chain.role' or 'chain.node-id'; the chain is the longest known chain name before a '.'.
  Result<PolicyNode> ParsePrincipal() {
    size_t at = pos_;
    ENTENTE_ASSIGN_OR_RETURN(std::string text, Quoted());
    size_t split = std::string::npos;
    for (size_t dot = text.find('.'); dot != std::string::npos; dot = text.find('.', dot + 1)) {
      if (alliance_.channels.count(text.substr(0, dot)) > 0) split = dot;
    }
    if (split == std::string::npos) {
      size_t dot = text.find('.');
      if (dot == std::string::npos || dot == 0) {
        return Error(at, "a principal '<chain>.<role>' or '<chain>.<node id>'");
      }
      return Problem(at, "unknown chain '" + text.substr(0, dot) + "' in principal " + Quote(text));
    }
    PolicyNode node;
    node.is_principal = true;
    node.principal.chain = text.substr(0, split);
    std::string rest = text.substr(split + 1);
    if (rest.empty()) return Error(at, "a role or a node id after '" + node.principal.chain + ".'");
    if (IsRoleName(rest)) {
      node.principal.role = std::move(rest);
    } else {
      node.principal.id = std::move(rest);
    }
    return node;
  }

  std::string_view text_;
  std::string_view channel_;
  const AllianceView& alliance_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<EndorsementPolicy>> ParsePolicy(std::string_view text, std::string_view channel,
                                                       const AllianceView& alliance) {
  return Parser(text, channel, alliance).Parse();
}

}  // namespace entente::validation
