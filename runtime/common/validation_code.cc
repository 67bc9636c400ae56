#include "runtime/common/validation_code.h"

#include <array>
#include <utility>

namespace entente {
namespace {

constexpr std::array<std::pair<ValidationCode, std::string_view>, 18> kNames = {{
    {ValidationCode::kValid, "VALID"},
    {ValidationCode::kBadPayload, "BAD_PAYLOAD"},
    {ValidationCode::kBadCreatorSignature, "BAD_CREATOR_SIGNATURE"},
    {ValidationCode::kBadProposalTxid, "BAD_PROPOSAL_TXID"},
    {ValidationCode::kDuplicateTxid, "DUPLICATE_TXID"},
    {ValidationCode::kEndorsementPolicyFailure, "ENDORSEMENT_POLICY_FAILURE"},
    {ValidationCode::kMvccReadConflict, "MVCC_READ_CONFLICT"},
    {ValidationCode::kPhantomReadConflict, "PHANTOM_READ_CONFLICT"},
    {ValidationCode::kTargetChainNotFound, "TARGET_CHAIN_NOT_FOUND"},
    {ValidationCode::kBadResponsePayload, "BAD_RESPONSE_PAYLOAD"},
    {ValidationCode::kIllegalWriteset, "ILLEGAL_WRITESET"},
    {ValidationCode::kInvalidChaincode, "INVALID_CHAINCODE"},
    {ValidationCode::kCertificateUntrusted, "CERTIFICATE_UNTRUSTED"},
    {ValidationCode::kCertificateExpired, "CERTIFICATE_EXPIRED"},
    {ValidationCode::kCertificateRevoked, "CERTIFICATE_REVOKED"},
    {ValidationCode::kRouteNotAllowed, "ROUTE_NOT_ALLOWED"},
    {ValidationCode::kProposalExpired, "PROPOSAL_EXPIRED"},
    {ValidationCode::kInvalidOtherReason, "INVALID_OTHER_REASON"},
}};

}  // namespace

std::string_view ValidationCodeName(ValidationCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "UNKNOWN";
}

std::optional<ValidationCode> ValidationCodeFromNumber(int number) {
  for (const auto& [c, name] : kNames) {
    if (static_cast<int>(c) == number) return c;
  }
  return std::nullopt;
}

std::optional<ValidationCode> ValidationCodeFromName(std::string_view wanted) {
  for (const auto& [c, name] : kNames) {
    if (name == wanted) return c;
  }
  return std::nullopt;
}

}  // namespace entente
