#include "runtime/http/http.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "certs/ca.h"
#include "runtime/common/json.h"
#include "runtime/common/validation_code.h"
#include "tests/support/support.h"

using namespace entente;
using namespace entente::http;
using crypto::Role;
using entente::testing::TempDir;

namespace {

Request Make(std::string method, std::string target, std::optional<crypto::Certificate> peer = std::nullopt) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  REQUIRE(ParseTarget(request).ok());
  request.peer = std::move(peer);
  return request;
}

Json BodyOf(const Response& response) {
  auto json = ParseJson(response.body);
  REQUIRE(json.ok());
  return *json;
}

// A CA in `dir` and an ECert of each role, issued once per test that needs them.
struct Identities {
  explicit Identities(const TempDir& dir) {
    auto made = certs::CertificateAuthority::Init(dir.Join("ca"), "chainA", false);
    REQUIRE(made.ok());
    ca.emplace(std::move(made).value());
    node = ca->IssueEcert(Role::kNode, "node-1", 30).value().certificate;
    client = ca->IssueEcert(Role::kClient, "client-1", 30).value().certificate;
  }
  std::optional<certs::CertificateAuthority> ca;
  std::optional<crypto::Certificate> node;
  std::optional<crypto::Certificate> client;
};

Response Echo(const Request& request) {
  Json params = Json::object();
  for (const auto& [name, value] : request.path_params) params[name] = value;
  return JsonResponse(200, {{"params", params}, {"method", request.method}});
}

}  // namespace

TEST_CASE("ParseTarget splits the path from the query and percent-decodes both") {
  Request request;
  request.target = "/v1/a%20b/c?from=3&name=x%2By+z&flag&=empty&from=4";
  REQUIRE(ParseTarget(request).ok());
  CHECK(request.path == "/v1/a b/c");
  CHECK(request.query.at("from") == "4");
  CHECK(request.query.at("name") == "x+y z");
  CHECK(request.query.at("flag").empty());
  CHECK(request.Query("missing") == std::nullopt);
}

TEST_CASE("ParseTarget refuses targets that are not absolute paths or are badly encoded") {
  for (std::string target : {"", "v1/x", "http://host/x", "*", "/a%2", "/a%zz", "/a%00b", "/x?k=%G1"}) {
    CAPTURE(target);
    Request request;
    request.target = target;
    Status status = ParseTarget(request);
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(status.message().empty());
  }
}

TEST_CASE("Problem builds an RFC 7807 problem+json body with the validation code and its name") {
  Response plain = Problem(404, "Not Found", "no transaction abc");
  CHECK(plain.status == 404);
  CHECK(plain.content_type == "application/problem+json");
  Json body = BodyOf(plain);
  CHECK(body["type"] == "urn:entente:problem:not-found");
  CHECK(body["title"] == "Not Found");
  CHECK(body["status"] == 404);
  CHECK(body["detail"] == "no transaction abc");
  CHECK_FALSE(body.contains("code"));

  int mvcc = static_cast<int>(ValidationCode::kMvccReadConflict);
  Json with_code = BodyOf(Problem(409, "Transaction Invalid", "key k changed", Json{{"code", mvcc}}));
  CHECK(with_code["code"] == mvcc);
  CHECK(with_code["code_name"] == "MVCC_READ_CONFLICT");
  CHECK(with_code["type"] == "urn:entente:problem:transaction-invalid");
}

TEST_CASE("JsonResponse replaces invalid UTF-8 instead of throwing") {
  Response response = JsonResponse(200, {{"text", std::string("bad \xff byte")}});
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/json");
  CHECK(ParseJson(response.body).ok());
}

TEST_CASE("The router answers 404 with a problem for a path no route matches") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/v1/transactions/{id}", {}, Echo);
  for (std::string target : {"/v1/other", "/v1/transactions", "/v1/transactions/", "/v1/transactions/a/b", "/"}) {
    CAPTURE(target);
    Response response = router.Handle(Make("GET", target, ids.client));
    CHECK(response.status == 404);
    CHECK(response.content_type == "application/problem+json");
    CHECK(BodyOf(response)["status"] == 404);
  }
}

TEST_CASE("The router answers 405 with an Allow header for a known path and another method") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/v1/envelopes/{id}", {}, Echo);
  router.Add("POST", "/v1/envelopes/{id}", {}, Echo);
  Response response = router.Handle(Make("DELETE", "/v1/envelopes/7", ids.client));
  CHECK(response.status == 405);
  REQUIRE(response.headers.size() == 1);
  CHECK(response.headers[0].first == "Allow");
  CHECK(response.headers[0].second == "GET, POST");
  CHECK(BodyOf(response)["detail"].get<std::string>().find("DELETE") != std::string::npos);
}

TEST_CASE("The router fills path parameters, percent-decoded segment by segment") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/v1/channels/{ch}/state/{ns}/{key}", {}, Echo);
  Response response = router.Handle(Make("GET", "/v1/channels/ch1/state/asset/a%2Fb%20c?x=1", ids.client));
  REQUIRE(response.status == 200);
  Json params = BodyOf(response)["params"];
  CHECK(params["ch"] == "ch1");
  CHECK(params["ns"] == "asset");
  CHECK(params["key"] == "a/b c");
}

TEST_CASE("The router prefers a literal segment over a parameter") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/v1/transactions/{id}", {}, [](const Request&) { return TextResponse(200, "by id"); });
  router.Add("GET", "/v1/transactions/latest", {}, [](const Request&) { return TextResponse(200, "latest"); });
  CHECK(router.Handle(Make("GET", "/v1/transactions/latest", ids.client)).body == "latest");
  CHECK(router.Handle(Make("GET", "/v1/transactions/abc", ids.client)).body == "by id");
}

TEST_CASE("The router answers 403 when the certificate's role is not allowed and 401 without a certificate") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("POST", "/v1/proposals", {Role::kNode}, Echo);
  router.Add("GET", "/v1/alliance", {}, Echo);

  CHECK(router.Handle(Make("POST", "/v1/proposals", ids.node)).status == 200);
  Response forbidden = router.Handle(Make("POST", "/v1/proposals", ids.client));
  CHECK(forbidden.status == 403);
  CHECK(BodyOf(forbidden)["detail"].get<std::string>().find("client") != std::string::npos);
  CHECK(router.Handle(Make("POST", "/v1/proposals")).status == 401);

  CHECK(router.Handle(Make("GET", "/v1/alliance", ids.client)).status == 200);
  CHECK(router.Handle(Make("GET", "/v1/alliance")).status == 401);
}

TEST_CASE("A public route admits a client without a certificate") {
  Router router;
  router.AddPublic("GET", "/healthz", [](const Request&) { return TextResponse(200, "ok"); });
  Response response = router.Handle(Make("GET", "/healthz"));
  CHECK(response.status == 200);
  CHECK(response.body == "ok");
}

TEST_CASE("A handler that throws becomes a 500 problem") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/boom", {}, [](const Request&) -> Response { throw std::runtime_error("secret detail"); });
  router.Add("GET", "/int", {}, [](const Request&) -> Response { throw 42; });
  for (std::string target : {"/boom", "/int"}) {
    Response response = router.Handle(Make("GET", target, ids.client));
    CHECK(response.status == 500);
    CHECK(response.content_type == "application/problem+json");
    CHECK(response.body.find("secret detail") == std::string::npos);
  }
}

TEST_CASE("Adding the same method and pattern again replaces the route") {
  TempDir dir;
  Identities ids(dir);
  Router router;
  router.Add("GET", "/x", {}, [](const Request&) { return TextResponse(200, "first"); });
  router.Add("GET", "/x", {}, [](const Request&) { return TextResponse(200, "second"); });
  CHECK(router.Handle(Make("GET", "/x", ids.client)).body == "second");
}
