// ValidationCode: why a transaction is valid or invalid (DESIGN.md §3). Fabric's numbers where the
// meaning is the same; the alliance's own above 100. A rejected transaction carries one of these as
// its result; it is never a Status error.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace entente {

enum class ValidationCode : std::uint8_t {
  kValid = 0,
  kBadPayload = 2,
  kBadCreatorSignature = 4,
  kBadProposalTxid = 8,
  kDuplicateTxid = 9,
  kEndorsementPolicyFailure = 10,
  kMvccReadConflict = 11,
  kPhantomReadConflict = 12,
  kTargetChainNotFound = 14,
  kBadResponsePayload = 21,
  kIllegalWriteset = 23,
  kInvalidChaincode = 25,
  kCertificateUntrusted = 101,
  kCertificateExpired = 102,
  kCertificateRevoked = 103,
  kRouteNotAllowed = 104,
  kProposalExpired = 105,
  kInvalidOtherReason = 255,
};

// Returns the code's name as in DESIGN.md §3, e.g. "MVCC_READ_CONFLICT".
std::string_view ValidationCodeName(ValidationCode code);
// Returns the code with that number or name; nullopt for neither.
std::optional<ValidationCode> ValidationCodeFromNumber(int number);
std::optional<ValidationCode> ValidationCodeFromName(std::string_view name);

}  // namespace entente
