#include "runtime/common/signed_bytes.h"

#include <doctest/doctest.h>

#include <string>

using namespace entente;

TEST_CASE("SignedBytes::ToJson carries payload and signature as base64 strings") {
  SignedBytes signed_bytes{ToBytes("foobar"), Bytes{0x30, 0x44, 0xff}};
  Json json = signed_bytes.ToJson();
  REQUIRE(json.is_object());
  CHECK(json.size() == 2);
  CHECK(json["payload"] == "Zm9vYmFy");
  CHECK(json["signature"] == "MET/");
}

TEST_CASE("SignedBytes survives ToJson, canonical serialization and Parse unchanged") {
  Bytes payload = ToBytes(R"({"tx_id":"ab","nonce":"\u0000"})");
  payload.push_back(0);
  payload.push_back(0xfe);
  SignedBytes original{payload, Bytes{1, 2, 3, 4, 5}};
  auto text = CanonicalJson(original.ToJson());
  REQUIRE(text.ok());
  CHECK(*text == R"({"payload":")" + Base64Encode(payload) + R"(","signature":"AQIDBAU="})");
  auto parsed = SignedBytes::Parse(*text);
  REQUIRE(parsed.ok());
  CHECK(*parsed == original);
  auto from_json = SignedBytes::FromJson(original.ToJson());
  REQUIRE(from_json.ok());
  CHECK(*from_json == original);
}

TEST_CASE("SignedBytes with empty payload and signature round-trips") {
  SignedBytes empty;
  auto parsed = SignedBytes::FromJson(empty.ToJson());
  REQUIRE(parsed.ok());
  CHECK(parsed->payload.empty());
  CHECK(parsed->signature.empty());
}

TEST_CASE("SignedBytes::FromJson rejects a missing payload or signature") {
  auto no_signature = SignedBytes::FromJson(Json{{"payload", "Zg=="}});
  REQUIRE_FALSE(no_signature.ok());
  CHECK(no_signature.status().code() == StatusCode::kInvalidArgument);
  CHECK(no_signature.status().message().find("signature") != std::string::npos);

  auto no_payload = SignedBytes::FromJson(Json{{"signature", "Zg=="}});
  REQUIRE_FALSE(no_payload.ok());
  CHECK(no_payload.status().message().find("payload") != std::string::npos);
}

TEST_CASE("SignedBytes::FromJson rejects fields that are not strings or not base64") {
  CHECK(SignedBytes::FromJson(Json{{"payload", 5}, {"signature", "Zg=="}}).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK_FALSE(SignedBytes::FromJson(Json{{"payload", "Zg=="}, {"signature", Json::array()}}).ok());
  CHECK_FALSE(SignedBytes::FromJson(Json{{"payload", "Zg="}, {"signature", "Zg=="}}).ok());
  CHECK_FALSE(SignedBytes::FromJson(Json{{"payload", "Zg=="}, {"signature", "Z h="}}).ok());
  CHECK_FALSE(SignedBytes::FromJson(Json::array({"Zg==", "Zg=="})).ok());
}

TEST_CASE("SignedBytes::Parse rejects malformed JSON with InvalidArgument") {
  for (std::string_view text : {"", "{", R"({"payload":"Zg==","signature":"Zg=="} x)", "null"}) {
    CAPTURE(text);
    auto r = SignedBytes::Parse(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("SignedBytes compare equal only when both payload and signature match") {
  SignedBytes a{ToBytes("p"), ToBytes("s")};
  CHECK(a == SignedBytes{ToBytes("p"), ToBytes("s")});
  CHECK_FALSE(a == SignedBytes{ToBytes("p"), ToBytes("t")});
  CHECK_FALSE(a == SignedBytes{ToBytes("q"), ToBytes("s")});
}
