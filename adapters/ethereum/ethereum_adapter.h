// The adapter of an Ethereum chain (DESIGN.md §8): reads and writes the EntenteBridge contract
// (adapters/ethereum/bridge/EntenteBridge.sol) through a node's JSON-RPC API over plain HTTP, retrying
// unreachable nodes with exponential backoff. Transactions come from an account the node unlocks (a
// development node such as ganache) or are signed here with a private key and sent raw. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "runtime/common/bytes.h"
#include "runtime/common/status.h"

namespace entente::adapters {

namespace ethereum {
class AccountKey;
class JsonRpcClient;
struct TxReceipt;
}  // namespace ethereum

struct EthereumAdapterOptions {
  std::string chain;           // the chain's name in the alliance
  std::string endpoint;        // the node's JSON-RPC endpoint: "http://host:port" (or "host:port"), or "https://host:port"
  // For an https:// endpoint: the CA certificates trusted for the node's certificate (required), and a
  // client certificate and key when the node asks for one. TLS 1.3.
  std::vector<std::string> ca_files;
  std::string cert_file;
  std::string key_file;
  std::string bridge_address;  // the EntenteBridge contract: "0x" and 40 hex digits
  // Development mode: the account the node unlocks, which sends transactions (eth_sendTransaction).
  std::string from;
  // Raw-transaction mode (instead of `from`): a file holding the account's secret key as 64 hex digits.
  // Transactions are signed here (legacy, EIP-155 with the node's eth_chainId) and sent with
  // eth_sendRawTransaction; nonce from eth_getTransactionCount(pending), price from eth_gasPrice.
  std::string private_key_file;
  std::uint64_t gas = 0x100000;              // gas limit of each applyTx transaction
  std::chrono::milliseconds timeout{10000};  // per request, connecting included
  int retries = 3;                           // further attempts while the node is unreachable
  std::chrono::milliseconds backoff{100};    // wait before the first retry; doubles after each
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds receipt_timeout{60000};  // how long Deliver waits for a sent transaction's receipt
};

// An Ethereum chain reached through its EntenteBridge contract, which keeps (namespace, key) ->
// (value, version) and applies each write (tx id, namespace, key) at most once:
//   Read, StillCurrent  eth_call read(contract, key); version v > 0 is ledger::Version{v, 0}, 0 absent
//   Height              eth_blockNumber + 1 (blocks, the genesis block included)
//   Deliver             eth_call applyTx(...) first, to learn the outcome without spending gas; then
//                       the transaction, and its receipt.
// Deliver returns applied = false with a detail starting "already applied on <chain>" when the bridge
// has the write already (also when a concurrent delivery's transaction applied it first), and
// applied = true with "applied in block N, transaction 0x..." when this delivery applied it;
// FailedPrecondition starting with kConsistencyFailure when write.check_version is set and the key's
// version differs (nothing is applied); PermissionDenied when the sending account is not the bridge's
// owner; Unavailable when the node cannot be reached or the receipt did not come within
// receipt_timeout: the outcome is then unknown and Deliver may be called again (a write already
// applied is reported as applied = false, never applied twice).
// Other errors: InvalidArgument for an empty contract or key, a write for another chain or a tx id that
// is not 64 hex digits (a SHA-256); FailedPrecondition when the node refuses a request (an RPC error)
// or a transaction fails for another reason (e.g. out of gas); Internal naming the endpoint and the
// method for an answer that is not the bridge's (e.g. no contract at bridge_address).
class EthereumAdapter : public ChainAdapter {
 public:
  // Returns InvalidArgument naming the option for an empty chain, an endpoint that is not
  // http(s)://host:port (https without ca_files), a bridge_address that is not an address, neither or both of from and
  // private_key_file, an unreadable or invalid key file or one that others may read (mode & 077), gas 0,
  // a non-positive timeout or receipt_timeout, or negative retries or backoff.
  static Result<std::unique_ptr<EthereumAdapter>> Create(EthereumAdapterOptions options);

  // Deploys EntenteBridge from `bytecode_hex` ("0x..." init code, as compile.js writes it) with the
  // account of `options` (bridge_address is ignored), and returns the new contract's address ("0x" and
  // 40 lowercase hex digits) once its receipt shows success. Errors as for Create and Deliver.
  static Result<std::string> DeployBridge(const EthereumAdapterOptions& options, const std::string& bytecode_hex);

  ~EthereumAdapter() override;
  EthereumAdapter(const EthereumAdapter&) = delete;
  EthereumAdapter& operator=(const EthereumAdapter&) = delete;

  const std::string& chain() const override { return options_.chain; }
  // The address that sends transactions: `from`, or the key's address ("0x" and 40 hex digits).
  const std::string& sender() const { return sender_; }

  Result<std::optional<endorser::RemoteValue>> Read(std::string_view contract, std::string_view key) override;
  Result<bool> StillCurrent(std::string_view contract, std::string_view key, const ledger::Version& version) override;
  Result<Receipt> Deliver(const CrossChainWrite& write) override;
  Result<std::uint64_t> Height() override;

 private:
  EthereumAdapter(EthereumAdapterOptions options, std::unique_ptr<ethereum::JsonRpcClient> rpc,
                  std::unique_ptr<const ethereum::AccountKey> key, std::string sender);
  // Create without requiring bridge_address (for DeployBridge).
  static Result<std::unique_ptr<EthereumAdapter>> Make(EthereumAdapterOptions options, bool need_bridge);
  // eth_call of `data` to the bridge from sender(); returns the return data, or the revert data as
  // `reverted`. Errors for an RPC error without revert data.
  Result<Bytes> Call(const Bytes& data, std::optional<Bytes>& reverted);
  // Sends a transaction to `to` (nullopt: contract creation) with `data` and gas limit `gas`, then
  // waits for its receipt.
  Result<ethereum::TxReceipt> Transact(const std::optional<std::string>& to, const Bytes& data, std::uint64_t gas);
  // Returns the transaction hash of a sent transaction.
  Result<std::string> Send(const std::optional<std::string>& to, const Bytes& data, std::uint64_t gas);
  // Returns the receipt of transaction `hash`, polling until it exists or receipt_timeout passes.
  Result<ethereum::TxReceipt> WaitForReceipt(const std::string& hash);
  // "<chain> at <endpoint>: " + what, for error messages.
  std::string Where(std::string_view what) const;

  const EthereumAdapterOptions options_;
  const std::unique_ptr<ethereum::JsonRpcClient> rpc_;
  const std::unique_ptr<const ethereum::AccountKey> key_;  // raw-transaction mode only
  const std::string sender_;
  std::mutex send_mu_;                     // serializes nonce assignment and sending in raw-transaction mode
  std::optional<std::uint64_t> chain_id_;  // GUARDED_BY(send_mu_); fetched on the first raw send
};

}  // namespace entente::adapters
