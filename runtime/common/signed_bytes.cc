#include "runtime/common/signed_bytes.h"

namespace entente {

Json SignedBytes::ToJson() const {
  return Json{{"payload", Base64Encode(payload)}, {"signature", Base64Encode(signature)}};
}

Result<SignedBytes> SignedBytes::FromJson(const Json& json) {
  SignedBytes out;
  ENTENTE_ASSIGN_OR_RETURN(out.payload, JsonBase64(json, "payload"));
  ENTENTE_ASSIGN_OR_RETURN(out.signature, JsonBase64(json, "signature"));
  return out;
}

Result<SignedBytes> SignedBytes::Parse(std::string_view text) {
  ENTENTE_ASSIGN_OR_RETURN(Json json, ParseJson(text));
  return FromJson(json);
}

}  // namespace entente
