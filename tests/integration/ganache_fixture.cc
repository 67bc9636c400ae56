#include "tests/integration/ganache_fixture.h"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <vector>

#include "adapters/ethereum/internal/abi.h"
#include "certs/ca.h"
#include "adapters/ethereum/internal/json_rpc.h"
#include "runtime/common/json.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

std::string BridgeDir() {
  const char* source = std::getenv("ENTENTE_SOURCE_DIR");
  REQUIRE_MESSAGE(source != nullptr, "ENTENTE_SOURCE_DIR is not set (run the test with ctest)");
  return std::string(source) + "/adapters/ethereum/bridge";
}

// The bridge's init code, compiled once per test process (solc-js takes seconds).
const std::string& BridgeBytecode() {
  static const std::string bytecode = [] {
    TempDir dir;
    const std::string artifact = dir.Join("EntenteBridge.json");
    CommandResult compiled = RunCommand({"node", BridgeDir() + "/compile.js", artifact});
    REQUIRE_MESSAGE(compiled.exit_code == 0, ("node compile.js failed: " + compiled.output));
    Json parsed = Must(ParseJson(ReadText(artifact)));
    return Must(JsonString(parsed, "bytecode"));
  }();
  return bytecode;
}

}  // namespace

GanacheChain::GanacheChain() : port_(FreePort()), bytecode_(BridgeBytecode()) {
  Start();
  bridge_ = Must(adapters::EthereumAdapter::DeployBridge(Options(), bytecode_));
}

// ganache_'s Process kills ganache (SIGKILL) and reaps it; the database dies with dir_.
GanacheChain::~GanacheChain() = default;

void GanacheChain::Start() {
  ++starts_;
  const std::string log = dir_.Join("ganache-" + std::to_string(starts_) + ".log");
  ganache_.reset();
  ganache_ = std::make_unique<Process>(
      std::vector<std::string>{BridgeDir() + "/node_modules/.bin/ganache", "--server.host", "127.0.0.1",
                               "--server.port", std::to_string(port_), "--wallet.deterministic", "--chain.chainId",
                               "1337", "--database.dbPath", dir_.Join("db"), "--logging.quiet"},
      log);
  const std::string ready = "RPC Listening on 127.0.0.1:" + std::to_string(port_);
  ganache_->WaitForLine(ready, 60000);  // returns the rest of the line: "" either way
  REQUIRE_MESSAGE(ganache_->Log().find(ready) != std::string::npos, ("ganache did not start:\n" + ganache_->Log()));
}

void GanacheChain::Kill() {
  REQUIRE(ganache_);
  ganache_->Signal(SIGKILL);
}

void GanacheChain::Restart() {
  REQUIRE_FALSE(ganache_->running());
  Start();
}

adapters::EthereumAdapterOptions GanacheChain::Options() const {
  adapters::EthereumAdapterOptions options;
  options.chain = "eth1";
  options.endpoint = endpoint();
  options.bridge_address = bridge_;
  options.from = kGanacheAccount0;
  options.timeout = std::chrono::milliseconds(5000);
  options.receipt_timeout = std::chrono::milliseconds(10000);
  return options;
}

std::string GanacheChain::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::uint64_t GanacheChain::Writes(const std::string& bridge) const {
  using namespace adapters::ethereum;
  RpcOptions options{Must(ParseRpcEndpoint(endpoint())), "ganache",
                     std::chrono::milliseconds(5000),    3,
                     std::chrono::milliseconds(100),     std::chrono::milliseconds(1000)};
  JsonRpcClient rpc(options);
  Bytes data = Must(AbiEncodeCall("writes()", {}));
  Json call{{"to", bridge.empty() ? bridge_ : bridge}, {"data", DataHex(data)}};
  RpcAnswer answer = Must(rpc.Call("eth_call", Json::array({call, "latest"})));
  REQUIRE_MESSAGE(!answer.error.has_value(), (answer.error ? answer.error->message : std::string()));
  const AbiType types[] = {AbiType::kUint64};
  auto decoded = Must(AbiDecode(types, Must(ParseData(answer.result))));
  return decoded[0].AsUint64();
}

TlsTerminatingProxy::TlsTerminatingProxy(std::uint16_t target_port) {
  auto ca = Must(certs::CertificateAuthority::Init(dir_.Join("ca"), "proxy", false));
  MustOk(Must(ca.IssueEcert(crypto::Role::kNode, "proxy", 1, {"127.0.0.1"}))
             .Save(dir_.Join("cert.pem"), dir_.Join("key.pem")));
  http::ClientOptions upstream;
  upstream.port = target_port;
  upstream.plain_http = true;
  upstream_ = std::make_unique<http::Client>(upstream);
  http::ServerOptions options;
  options.tls = {dir_.Join("cert.pem"), dir_.Join("key.pem"), {}};
  options.require_client_certificate = false;
  options.handler_threads = 4;
  http::Client* forward = upstream_.get();
  server_ = Must(http::Server::Start(options, [forward](const http::Request& request) {
    auto answer = forward->Post("/", request.body);
    if (!answer.ok()) return http::Problem(502, "Bad Gateway", answer.status().message());
    http::Response forwarded = *answer;
    forwarded.headers.clear();  // hop-by-hop and framing headers are the proxy's own
    return forwarded;
  }));
}

TlsTerminatingProxy::~TlsTerminatingProxy() { server_->Stop(); }

std::string TlsTerminatingProxy::endpoint() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

}  // namespace entente::testing
