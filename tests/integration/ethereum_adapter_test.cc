// EthereumAdapter against a real local Ethereum node (ganache) running the EntenteBridge contract:
// delivery, idempotency, the data-consistency check, raw signed transactions, and a node killed with
// SIGKILL in the middle of deliveries.
#include "adapters/ethereum/ethereum_adapter.h"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <thread>
#include <vector>

#include "certs/ca.h"
#include "tests/integration/ganache_fixture.h"
#include "tests/support/must.h"

using namespace entente;
using namespace entente::adapters;
using entente::testing::GanacheChain;
using entente::testing::Must;

namespace {

// A tx id as Entente makes them (64 hex digits, a SHA-256), all one digit.
std::string TxId(char digit) { return std::string(64, digit); }

CrossChainWrite Write(char tx, std::string key, std::string value) {
  CrossChainWrite write;
  write.tx_id = TxId(tx);
  write.channel = "eth1";
  write.contract = "data_exchange";
  write.key = std::move(key);
  write.value = ToBytes(value);
  return write;
}

std::unique_ptr<EthereumAdapter> Adapter(const EthereumAdapterOptions& options) {
  return Must(EthereumAdapter::Create(options));
}

}  // namespace

TEST_CASE("A write delivered to Ethereum is read back with the version the bridge gave it, and the chain grows") {
  GanacheChain chain;
  auto adapter = Adapter(chain.Options());
  std::uint64_t height = Must(adapter->Height());
  CHECK(height >= 2);  // the genesis block and the bridge's deployment

  Receipt receipt = Must(adapter->Deliver(Write('1', "offer-7", "price=12")));
  CHECK(receipt.applied);
  CHECK(receipt.tx_id == TxId('1'));
  CHECK(receipt.detail.rfind("applied in block ", 0) == 0);
  CHECK(receipt.detail.find(", transaction 0x") != std::string::npos);
  CHECK(Must(adapter->Height()) == height + 1);

  std::optional<endorser::RemoteValue> read = Must(adapter->Read("data_exchange", "offer-7"));
  REQUIRE(read.has_value());
  CHECK(ToString(read->value) == "price=12");
  CHECK(read->version == ledger::Version{1, 0});
  CHECK(Must(adapter->StillCurrent("data_exchange", "offer-7", read->version)));
  CHECK_FALSE(Must(adapter->StillCurrent("data_exchange", "offer-7", ledger::Version{2, 0})));
  CHECK(chain.Writes() == 1);

  // A second transaction's write takes the next version; a delete makes the key absent.
  CHECK(Must(adapter->Deliver(Write('2', "offer-7", "price=13"))).applied);
  CHECK(Must(adapter->Read("data_exchange", "offer-7"))->version == ledger::Version{2, 0});
  CHECK_FALSE(Must(adapter->StillCurrent("data_exchange", "offer-7", read->version)));
  CrossChainWrite erase = Write('3', "offer-7", "");
  erase.is_delete = true;
  CHECK(Must(adapter->Deliver(erase)).applied);
  CHECK_FALSE(Must(adapter->Read("data_exchange", "offer-7")).has_value());
}

TEST_CASE("The same write delivered to Ethereum twice takes effect once") {
  GanacheChain chain;
  auto adapter = Adapter(chain.Options());
  CrossChainWrite write = Write('a', "k", "v1");
  REQUIRE(Must(adapter->Deliver(write)).applied);
  std::uint64_t height = Must(adapter->Height());

  Receipt again = Must(adapter->Deliver(write));
  CHECK_FALSE(again.applied);
  CHECK(again.detail == "already applied on eth1");
  auto read = Must(adapter->Read("data_exchange", "k"));
  REQUIRE(read.has_value());
  CHECK(ToString(read->value) == "v1");
  CHECK(read->version == ledger::Version{1, 0});
  CHECK(chain.Writes() == 1);
  CHECK(Must(adapter->Height()) == height);  // found out by a call: no transaction was sent

  // The same transaction's write of another key is another write.
  CHECK(Must(adapter->Deliver(Write('a', "k2", "v2"))).applied);
  CHECK(chain.Writes() == 2);
}

TEST_CASE("Concurrent deliveries of one write to Ethereum report it applied exactly once") {
  GanacheChain chain;
  constexpr int kDeliveries = 4;
  std::vector<std::unique_ptr<EthereumAdapter>> adapters;
  for (int i = 0; i < kDeliveries; ++i) adapters.push_back(Adapter(chain.Options()));
  for (char tx : {'1', '2', '3'}) {
    CrossChainWrite write = Write(tx, "contended", std::string("by ") + tx);
    std::vector<std::optional<Result<Receipt>>> outcomes(kDeliveries);
    std::vector<std::thread> threads;
    for (int i = 0; i < kDeliveries; ++i) {
      threads.emplace_back([&, i] { outcomes[i].emplace(adapters[i]->Deliver(write)); });
    }
    for (std::thread& t : threads) t.join();
    int applied = 0;
    int raced = 0;  // deliveries whose transaction found the write applied by another one
    for (auto& outcome : outcomes) {
      REQUIRE_MESSAGE(outcome->ok(), outcome->status().ToString());
      if ((*outcome)->applied) ++applied;
      if ((*outcome)->detail.find("found by transaction") != std::string::npos) ++raced;
    }
    CHECK(applied == 1);
    MESSAGE("write " << std::string(1, tx) << ": " << raced << " of " << kDeliveries
                     << " deliveries lost the race in a transaction");
  }
  CHECK(chain.Writes() == 3);
  CHECK(ToString(Must(adapters[0]->Read("data_exchange", "contended"))->value) == "by 3");
}

TEST_CASE("A write whose expected version on Ethereum is stale is a consistency failure and changes nothing") {
  GanacheChain chain;
  auto adapter = Adapter(chain.Options());
  REQUIRE(Must(adapter->Deliver(Write('1', "k", "first"))).applied);   // version 1
  REQUIRE(Must(adapter->Deliver(Write('2', "k", "second"))).applied);  // version 2
  std::uint64_t height = Must(adapter->Height());

  CrossChainWrite stale = Write('3', "k", "third");
  stale.check_version = true;
  stale.expected_version = ledger::Version{1, 0};
  auto refused = adapter->Deliver(stale);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().rfind(kConsistencyFailure, 0) == 0);
  CHECK(refused.status().message().find("at version 2") != std::string::npos);
  CHECK(refused.status().message().find("expected it at version 1") != std::string::npos);

  // Expecting the key absent when it exists fails the same way.
  CrossChainWrite absent = Write('4', "k", "fourth");
  absent.check_version = true;
  auto refused_absent = adapter->Deliver(absent);
  REQUIRE_FALSE(refused_absent.ok());
  CHECK(refused_absent.status().message().rfind(kConsistencyFailure, 0) == 0);

  auto read = Must(adapter->Read("data_exchange", "k"));
  CHECK(ToString(read->value) == "second");
  CHECK(read->version == ledger::Version{2, 0});
  CHECK(chain.Writes() == 2);
  CHECK(Must(adapter->Height()) == height);

  // At the current version the checked write applies.
  stale.expected_version = ledger::Version{2, 0};
  CHECK(Must(adapter->Deliver(stale)).applied);
  CrossChainWrite fresh = Write('5', "new-key", "x");
  fresh.check_version = true;  // read as absent
  CHECK(Must(adapter->Deliver(fresh)).applied);
}

TEST_CASE("Over HTTPS through a TLS-terminating proxy the adapter reads and delivers; an untrusted proxy is refused") {
  GanacheChain chain;
  testing::TlsTerminatingProxy proxy(chain.port());
  EthereumAdapterOptions options = chain.Options();
  options.endpoint = proxy.endpoint();
  options.ca_files = {proxy.ca_file()};
  auto adapter = Adapter(options);
  CHECK(Must(adapter->Deliver(Write('e', "tls-k", "over-tls"))).applied);
  auto read = Must(adapter->Read("data_exchange", "tls-k"));
  REQUIRE(read.has_value());
  CHECK(ToString(read->value) == "over-tls");

  // An https endpoint needs the CAs it trusts; a proxy certificate from another CA fails the handshake.
  EthereumAdapterOptions no_ca = options;
  no_ca.ca_files.clear();
  CHECK(EthereumAdapter::Create(no_ca).status().code() == StatusCode::kInvalidArgument);
  testing::TempDir other;
  auto other_ca = Must(certs::CertificateAuthority::Init(other.Join("ca"), "other", false));
  EthereumAdapterOptions untrusted = options;
  untrusted.ca_files = {other.Join("ca/ca.pem")};
  untrusted.retries = 0;
  auto refused = Adapter(untrusted)->Read("data_exchange", "tls-k");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("Signed raw transactions deliver to a bridge that the key's account deployed") {
  GanacheChain chain;
  const std::string key_file = chain.dir().Join("account1.key");
  testing::WriteText(key_file, std::string(testing::kGanacheKey1) + "\n");
  // A key file that others may read is refused, with its mode.
  EthereumAdapterOptions readable = chain.Options();
  readable.from.clear();
  readable.private_key_file = key_file;
  REQUIRE(::chmod(key_file.c_str(), 0644) == 0);
  auto refused_key = EthereumAdapter::Create(readable);
  REQUIRE_FALSE(refused_key.ok());
  CHECK(refused_key.status().message().find("has mode 0644: others may read it") != std::string::npos);
  REQUIRE(::chmod(key_file.c_str(), 0600) == 0);
  EthereumAdapterOptions options = chain.Options();
  options.from.clear();
  options.private_key_file = key_file;
  options.bridge_address = Must(EthereumAdapter::DeployBridge(options, chain.bytecode()));

  auto adapter = Adapter(options);
  CHECK(adapter->sender() == "0xffcf8fdee72ac11b5c542428b35eef5769c409f0");
  CHECK(Must(adapter->Deliver(Write('b', "k", "raw-1"))).applied);
  CHECK(Must(adapter->Deliver(Write('c', "k", "raw-2"))).applied);  // the next nonce
  CHECK_FALSE(Must(adapter->Deliver(Write('c', "k", "raw-2"))).applied);
  auto read = Must(adapter->Read("data_exchange", "k"));
  CHECK(ToString(read->value) == "raw-2");
  CHECK(read->version == ledger::Version{2, 0});
  CHECK(chain.Writes(options.bridge_address) == 2);

  // The first bridge belongs to account #0: account #1 may not write to it.
  options.bridge_address = chain.bridge();
  auto refused = Adapter(options)->Deliver(Write('d', "k", "x"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kPermissionDenied);
  CHECK(chain.Writes() == 0);
}

TEST_CASE("Deliveries to an Ethereum node killed with SIGKILL and restarted take effect exactly once") {
  GanacheChain chain;
  EthereumAdapterOptions options = chain.Options();
  options.retries = 1;
  auto adapter = Adapter(options);

  // Killed right after a delivery returned: the write was durable, or is applied again on redelivery.
  CrossChainWrite first = Write('1', "k1", "one");
  auto started = std::chrono::steady_clock::now();
  REQUIRE(Must(adapter->Deliver(first)).applied);
  auto took = std::chrono::steady_clock::now() - started;
  chain.Kill();

  // While the node is down, every call is Unavailable and names the endpoint.
  auto down = adapter->Height();
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().code() == StatusCode::kUnavailable);
  CHECK(down.status().message().find(chain.endpoint()) != std::string::npos);
  auto down_delivery = adapter->Deliver(Write('2', "k2", "two"));
  CHECK(down_delivery.status().code() == StatusCode::kUnavailable);

  chain.Restart();
  CHECK(Must(adapter->Deliver(first)).tx_id == first.tx_id);  // applied = false if it was durable
  CHECK(ToString(Must(adapter->Read("data_exchange", "k1"))->value) == "one");
  CHECK(chain.Writes() == 1);

  // Killed while deliveries are on their way, at different moments of them: delivering again after the
  // restart completes each write exactly once.
  int writes = 1;
  for (int i = 0; i < 3; ++i) {
    CrossChainWrite write = Write(static_cast<char>('4' + i), "k" + std::to_string(4 + i), "v" + std::to_string(i));
    std::optional<Result<Receipt>> outcome;
    std::thread delivery([&] { outcome.emplace(adapter->Deliver(write)); });
    std::this_thread::sleep_for(took * i / 2);
    chain.Kill();
    delivery.join();
    REQUIRE(outcome.has_value());
    if (!outcome->ok()) CHECK(outcome->status().code() == StatusCode::kUnavailable);
    chain.Restart();
    Receipt receipt = Must(adapter->Deliver(write));
    MESSAGE("kill after " << i << "/2 of a delivery: first " << (outcome->ok() ? "ok" : outcome->status().ToString())
                          << ", again applied=" << receipt.applied);
    CHECK_FALSE(Must(adapter->Deliver(write)).applied);
    auto read = Must(adapter->Read("data_exchange", write.key));
    REQUIRE(read.has_value());
    CHECK(ToString(read->value) == ToString(write.value));
    CHECK(chain.Writes() == static_cast<std::uint64_t>(++writes));
  }
}

TEST_CASE("Reading a key the Ethereum bridge does not hold gives nullopt") {
  GanacheChain chain;
  auto adapter = Adapter(chain.Options());
  CHECK_FALSE(Must(adapter->Read("data_exchange", "missing")).has_value());
  CHECK_FALSE(Must(adapter->StillCurrent("data_exchange", "missing", ledger::Version{1, 0})));
  CHECK(adapter->Read("", "k").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("The Ethereum adapter refuses options and writes that cannot work") {
  EthereumAdapterOptions options;
  options.chain = "eth1";
  options.endpoint = "http://127.0.0.1:8545";
  options.bridge_address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  options.from = testing::kGanacheAccount0;
  REQUIRE(EthereumAdapter::Create(options).ok());

  auto invalid = [](EthereumAdapterOptions o) { return EthereumAdapter::Create(o).status().code(); };
  EthereumAdapterOptions o = options;
  o.endpoint = "https://127.0.0.1:8545";
  CHECK(invalid(o) == StatusCode::kInvalidArgument);
  o = options;
  o.bridge_address = "0x1234";
  CHECK(invalid(o) == StatusCode::kInvalidArgument);
  o = options;
  o.from.clear();
  CHECK(invalid(o) == StatusCode::kInvalidArgument);  // neither from nor a key
  o.private_key_file = "/nonexistent/key";
  CHECK(invalid(o) == StatusCode::kInvalidArgument);
  o = options;
  o.gas = 0;
  CHECK(invalid(o) == StatusCode::kInvalidArgument);

  auto adapter = Adapter(options);
  CrossChainWrite write = Write('1', "k", "v");
  write.tx_id = "not-a-sha256";
  CHECK(adapter->Deliver(write).status().code() == StatusCode::kInvalidArgument);
  write = Write('1', "k", "v");
  write.channel = "eth2";
  CHECK(adapter->Deliver(write).status().code() == StatusCode::kInvalidArgument);
}
