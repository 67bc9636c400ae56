// A local Ethereum chain for adapter tests: ganache (from adapters/ethereum/bridge/node_modules) on a
// free loopback port with its database in a temporary directory, and the EntenteBridge contract
// compiled with compile.js (once per process) and deployed by ganache's first deterministic account.
// The destructor stops ganache. Thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/ethereum/ethereum_adapter.h"
#include "runtime/http/http.h"
#include "tests/support/support.h"

namespace entente::testing {

// ganache's deterministic accounts (--wallet.deterministic): #0 is unlocked and deploys the bridge.
inline constexpr char kGanacheAccount0[] = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1";
inline constexpr char kGanacheAccount1[] = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";
inline constexpr char kGanacheKey1[] = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";

class GanacheChain {
 public:
  // Starts ganache and deploys the bridge; REQUIREs that both work.
  GanacheChain();
  ~GanacheChain();
  GanacheChain(const GanacheChain&) = delete;
  GanacheChain& operator=(const GanacheChain&) = delete;

  // Options for an adapter of chain "eth1" to this node's bridge, sending from account #0 (dev mode).
  adapters::EthereumAdapterOptions Options() const;
  // "http://127.0.0.1:<port>".
  std::string endpoint() const;
  std::uint16_t port() const { return port_; }
  const std::string& bridge() const { return bridge_; }
  // The bridge's init code ("0x..."), as compile.js wrote it.
  const std::string& bytecode() const { return bytecode_; }
  const TempDir& dir() const { return dir_; }

  // Kills ganache with SIGKILL and waits for it to exit.
  void Kill();
  // Starts ganache again on the same port and database; REQUIREs that it becomes ready.
  void Restart();

  // Returns the bridge's writes(): how many writes it has applied (the last version handed out).
  // REQUIREs that the call works.
  std::uint64_t Writes(const std::string& bridge = "") const;

 private:
  void Start();

  TempDir dir_;
  std::uint16_t port_ = 0;
  int starts_ = 0;
  std::unique_ptr<Process> ganache_;
  std::string bytecode_;
  std::string bridge_;
};

// A TLS-terminating proxy in front of a plain-HTTP JSON-RPC node, as an operator puts one before
// ganache or geth: HTTPS (TLS 1.3) on a free loopback port with a certificate for 127.0.0.1 from its own
// CA, forwarding each POST body to http://127.0.0.1:<target_port>/ and its answer back.
class TlsTerminatingProxy {
 public:
  explicit TlsTerminatingProxy(std::uint16_t target_port);
  ~TlsTerminatingProxy();
  std::string endpoint() const;  // "https://127.0.0.1:<port>"
  // The CA that issued the proxy's certificate: what a client must trust.
  std::string ca_file() const { return dir_.Join("ca/ca.pem"); }

 private:
  TempDir dir_;
  std::unique_ptr<http::Client> upstream_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace entente::testing
