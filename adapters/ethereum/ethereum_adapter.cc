// EthereumAdapter: the bridge's functions encoded with the ABI and called over JSON-RPC; transactions
// sent from an unlocked account or signed here; outcomes learned by eth_call before and after sending.
#include "adapters/ethereum/ethereum_adapter.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/ethereum/internal/abi.h"
#include "adapters/ethereum/internal/json_rpc.h"
#include "adapters/ethereum/internal/keccak.h"
#include "adapters/ethereum/internal/signer.h"
#include "adapters/internal/options.h"
#include "runtime/common/file.h"

namespace entente::adapters {
namespace {

using ethereum::AbiDecode;
using ethereum::AbiEncodeCall;
using ethereum::AbiType;
using ethereum::AbiValue;
using ethereum::DataHex;
using ethereum::ParseQuantity;
using ethereum::QuantityHex;

constexpr std::uint64_t kAnyVersion = std::numeric_limits<std::uint64_t>::max();  // the bridge's ANY
constexpr char kApplySignature[] = "applyTx(bytes32,string,string,bytes,bool,uint64)";
constexpr std::uint64_t kDeployGas = 3'000'000;  // the bridge's creation takes about 640k

std::string VersionText(std::uint64_t version) {
  return version == 0 ? "absent" : "at version " + std::to_string(version);
}

}  // namespace

Result<std::unique_ptr<EthereumAdapter>> EthereumAdapter::Create(EthereumAdapterOptions options) {
  return Make(std::move(options), /*need_bridge=*/true);
}

Result<std::unique_ptr<EthereumAdapter>> EthereumAdapter::Make(EthereumAdapterOptions options, bool need_bridge) {
  if (options.chain.empty()) return Status::InvalidArgument("option chain is empty");
  auto endpoint = ethereum::ParseRpcEndpoint(options.endpoint);
  if (!endpoint.ok()) return endpoint.status().WithContext("option endpoint");
  if (need_bridge) {
    auto bridge = ethereum::ParseAddress(options.bridge_address);
    if (!bridge.ok()) return bridge.status().WithContext("option bridge_address '" + options.bridge_address + "'");
    options.bridge_address = ethereum::AddressHex(*bridge);
  }
  if (options.from.empty() == options.private_key_file.empty()) {
    return Status::InvalidArgument("set exactly one of options from (an unlocked account) and private_key_file");
  }
  std::unique_ptr<const ethereum::AccountKey> key;
  std::string sender;
  if (!options.from.empty()) {
    auto from = ethereum::ParseAddress(options.from);
    if (!from.ok()) return from.status().WithContext("option from '" + options.from + "'");
    sender = ethereum::AddressHex(*from);
  } else {
    // A private key others can read is no longer this member's alone.
    struct stat info {};
    if (::stat(options.private_key_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
      return Status::InvalidArgument("option private_key_file: " + options.private_key_file + " has mode " + mode +
                                     ": others may read it; make it 0600");
    }
    auto text = ReadFile(options.private_key_file);
    if (!text.ok()) {
      return Status::InvalidArgument("option private_key_file: cannot read " + options.private_key_file + ": " +
                                     text.status().message());
    }
    std::string secret = *text;
    secret.erase(std::remove_if(secret.begin(), secret.end(), [](char c) { return std::isspace(c & 0xff); }),
                 secret.end());
    auto parsed = ethereum::AccountKey::FromSecretHex(secret);
    std::fill(secret.begin(), secret.end(), '\0');
    std::fill(text->begin(), text->end(), '\0');
    if (!parsed.ok()) return parsed.status().WithContext("option private_key_file " + options.private_key_file);
    key = std::make_unique<const ethereum::AccountKey>(*parsed);
    sender = key->Address();
  }
  if (options.gas == 0) return Status::InvalidArgument("option gas must be positive");
  if (options.timeout.count() <= 0) return Status::InvalidArgument("option timeout must be positive");
  if (options.receipt_timeout.count() <= 0) return Status::InvalidArgument("option receipt_timeout must be positive");
  ENTENTE_RETURN_IF_ERROR(CheckRetryOptions(options.retries, options.backoff, options.max_backoff));
  if (endpoint->tls && options.ca_files.empty()) {
    return Status::InvalidArgument("option ca_files: an https endpoint needs the CA files of the node's certificate");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("options cert_file and key_file: set both or neither");
  }
  ethereum::RpcOptions rpc;
  rpc.endpoint = *endpoint;
  rpc.tls = {options.cert_file, options.key_file, options.ca_files};
  rpc.label = options.chain + " at " + endpoint->url;
  rpc.timeout = options.timeout;
  rpc.retries = options.retries;
  rpc.backoff = options.backoff;
  rpc.max_backoff = options.max_backoff;
  return std::unique_ptr<EthereumAdapter>(new EthereumAdapter(
      std::move(options), std::make_unique<ethereum::JsonRpcClient>(std::move(rpc)), std::move(key), sender));
}

EthereumAdapter::EthereumAdapter(EthereumAdapterOptions options, std::unique_ptr<ethereum::JsonRpcClient> rpc,
                                 std::unique_ptr<const ethereum::AccountKey> key, std::string sender)
    : options_(std::move(options)), rpc_(std::move(rpc)), key_(std::move(key)), sender_(std::move(sender)) {}

EthereumAdapter::~EthereumAdapter() = default;

std::string EthereumAdapter::Where(std::string_view what) const {
  return rpc_->options().label + ": " + std::string(what);
}

Result<Bytes> EthereumAdapter::Call(const Bytes& data, std::optional<Bytes>& reverted) {
  Json call{{"from", sender_}, {"to", options_.bridge_address}, {"data", DataHex(data)}};
  ENTENTE_ASSIGN_OR_RETURN(ethereum::RpcAnswer answer, rpc_->Call("eth_call", Json::array({call, "latest"})));
  if (answer.error) {
    if (answer.error->revert_data) {
      reverted = std::move(answer.error->revert_data);
      return Bytes{};
    }
    return Status::FailedPrecondition(Where("eth_call: the node refused: ") + answer.error->message + " (code " +
                                      std::to_string(answer.error->code) + ")");
  }
  auto result = ethereum::ParseData(answer.result);
  if (!result.ok()) return Status::Internal(Where("eth_call: malformed result: ") + result.status().message());
  return std::move(result).value();
}

Result<std::optional<endorser::RemoteValue>> EthereumAdapter::Read(std::string_view contract, std::string_view key) {
  if (contract.empty()) return Status::InvalidArgument("read of " + options_.chain + ": the contract is empty");
  if (key.empty()) return Status::InvalidArgument("read of " + options_.chain + ": the key is empty");
  std::vector<AbiValue> args{AbiValue::String(contract), AbiValue::String(key)};
  ENTENTE_ASSIGN_OR_RETURN(Bytes data, AbiEncodeCall("read(string,string)", args));
  std::optional<Bytes> reverted;
  ENTENTE_ASSIGN_OR_RETURN(Bytes returned, Call(data, reverted));
  const std::string what = "read(" + std::string(contract) + ", " + std::string(key) + "): ";
  if (reverted) return Status::Internal(Where(what) + "reverted with " + DataHex(*reverted));
  const AbiType types[] = {AbiType::kBytes, AbiType::kUint64};
  auto decoded = AbiDecode(types, returned);
  if (!decoded.ok()) {
    return Status::Internal(
        Where(what) + (returned.empty() ? "no answer: is there a bridge contract at " + options_.bridge_address + "?"
                                        : "malformed answer: " + decoded.status().message()));
  }
  std::uint64_t version = (*decoded)[1].AsUint64();
  if (version == 0) return std::optional<endorser::RemoteValue>();
  return std::optional<endorser::RemoteValue>(endorser::RemoteValue{(*decoded)[0].bytes, ledger::Version{version, 0}});
}

Result<bool> EthereumAdapter::StillCurrent(std::string_view contract, std::string_view key,
                                           const ledger::Version& version) {
  ENTENTE_ASSIGN_OR_RETURN(std::optional<endorser::RemoteValue> current, Read(contract, key));
  return current.has_value() && current->version == version;
}

Result<std::uint64_t> EthereumAdapter::Height() {
  ENTENTE_ASSIGN_OR_RETURN(ethereum::RpcAnswer answer, rpc_->Call("eth_blockNumber", Json::array()));
  if (answer.error) return Status::FailedPrecondition(Where("eth_blockNumber: ") + answer.error->message);
  auto number = ParseQuantity(answer.result);
  if (!number.ok()) return Status::Internal(Where("eth_blockNumber: ") + number.status().message());
  return *number + 1;
}

Result<std::string> EthereumAdapter::Send(const std::optional<std::string>& to, const Bytes& data, std::uint64_t gas) {
  std::string method;
  Json params;
  if (!key_) {
    method = "eth_sendTransaction";
    Json tx{{"from", sender_}, {"gas", QuantityHex(gas)}, {"data", DataHex(data)}};
    if (to) tx["to"] = *to;
    params = Json::array({tx});
  } else {
    method = "eth_sendRawTransaction";
    auto quantity = [&](const char* name, Json args) -> Result<std::uint64_t> {
      ENTENTE_ASSIGN_OR_RETURN(ethereum::RpcAnswer answer, rpc_->Call(name, args));
      if (answer.error) return Status::FailedPrecondition(Where(name) + ": " + answer.error->message);
      auto value = ParseQuantity(answer.result);
      if (!value.ok()) return Status::Internal(Where(name) + ": " + value.status().message());
      return *value;
    };
    if (!chain_id_) {
      ENTENTE_ASSIGN_OR_RETURN(chain_id_, quantity("eth_chainId", Json::array()));
    }
    ethereum::LegacyTransaction tx;
    ENTENTE_ASSIGN_OR_RETURN(tx.nonce, quantity("eth_getTransactionCount", Json::array({sender_, "pending"})));
    ENTENTE_ASSIGN_OR_RETURN(tx.gas_price, quantity("eth_gasPrice", Json::array()));
    tx.gas_limit = gas;
    if (to) {
      ENTENTE_ASSIGN_OR_RETURN(tx.to, ethereum::ParseAddress(*to));
    }
    tx.data = data;
    ENTENTE_ASSIGN_OR_RETURN(Bytes raw, key_->SignLegacyTransaction(tx, *chain_id_));
    params = Json::array({DataHex(raw)});
  }
  // Not retried blindly: whether a send that lost its answer reached the node is unknown.
  auto sent = rpc_->Call(method, params, /*retry=*/false);
  if (!sent.ok() && sent.status().code() == StatusCode::kUnavailable) {
    return Status::Unavailable(sent.status().message() + " (the transaction may have been sent: deliver again)");
  }
  ENTENTE_ASSIGN_OR_RETURN(ethereum::RpcAnswer answer, std::move(sent));
  if (answer.error) return Status::FailedPrecondition(Where(method + ": the node refused: ") + answer.error->message);
  auto hash = ethereum::ParseData(answer.result);
  if (!hash.ok() || hash->size() != 32) {
    return Status::Internal(Where(method + ": not a hash: ") + answer.result.dump());
  }
  return DataHex(*hash);
}

Result<ethereum::TxReceipt> EthereumAdapter::WaitForReceipt(const std::string& hash) {
  const auto deadline = std::chrono::steady_clock::now() + options_.receipt_timeout;
  std::chrono::milliseconds wait{10};
  const std::string where = Where("eth_getTransactionReceipt(" + hash + "): ");
  while (true) {
    ENTENTE_ASSIGN_OR_RETURN(ethereum::RpcAnswer answer, rpc_->Call("eth_getTransactionReceipt", Json::array({hash})));
    if (answer.error) return Status::FailedPrecondition(where + answer.error->message);
    if (!answer.result.is_null()) {
      auto receipt = ethereum::ParseReceipt(hash, answer.result);
      if (!receipt.ok()) return Status::Internal(where + "malformed receipt: " + receipt.status().message());
      return std::move(receipt).value();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable(where + "transaction sent but no receipt after " +
                                 std::to_string(options_.receipt_timeout.count()) +
                                 " ms: its outcome is unknown, deliver it again");
    }
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds(500));
  }
}

Result<ethereum::TxReceipt> EthereumAdapter::Transact(const std::optional<std::string>& to, const Bytes& data,
                                                      std::uint64_t gas) {
  std::string hash;
  {
    // In raw-transaction mode, the nonce must not be handed out twice.
    std::unique_lock lock(send_mu_, std::defer_lock);
    if (key_) lock.lock();
    ENTENTE_ASSIGN_OR_RETURN(hash, Send(to, data, gas));
  }
  return WaitForReceipt(hash);
}

Result<Receipt> EthereumAdapter::Deliver(const CrossChainWrite& write) {
  if (write.channel != options_.chain) {
    return Status::InvalidArgument("delivery of " + write.tx_id + " to " + options_.chain +
                                   ": the write is for chain " + write.channel);
  }
  const std::string what = "delivery of " + write.tx_id + " (" + write.contract + "/" + write.key + ")";
  if (write.contract.empty() || write.key.empty()) {
    return Status::InvalidArgument(what + " to " + options_.chain + ": the contract or key is empty");
  }
  auto tx_id = write.tx_id.size() == 64 ? HexDecode(write.tx_id) : Status::InvalidArgument("length");
  if (!tx_id.ok()) {
    return Status::InvalidArgument(what + " to " + options_.chain + ": the tx id is not 64 hex digits");
  }
  std::uint64_t expected = kAnyVersion;
  if (write.check_version) {
    expected = write.expected_version ? write.expected_version->block : 0;
    if (write.expected_version && (write.expected_version->tx != 0 || expected == 0 || expected == kAnyVersion)) {
      return Status::FailedPrecondition(std::string(kConsistencyFailure) + ": " + what + " on " + options_.chain +
                                        ": the expected version is not one of this chain's");
    }
  }
  ethereum::Word id{};
  std::copy(tx_id->begin(), tx_id->end(), id.begin());
  std::vector<AbiValue> args{AbiValue::Bytes32(id),           AbiValue::String(write.contract),
                             AbiValue::String(write.key),     AbiValue::DynamicBytes(write.value),
                             AbiValue::Bool(write.is_delete), AbiValue::Uint64(expected)};
  ENTENTE_ASSIGN_OR_RETURN(Bytes data, AbiEncodeCall(kApplySignature, args));

  // Returns whether the bridge would apply the write now (false: it has it already).
  auto would_apply = [&]() -> Result<bool> {
    std::optional<Bytes> reverted;
    ENTENTE_ASSIGN_OR_RETURN(Bytes returned, Call(data, reverted));
    if (!reverted) {
      const AbiType types[] = {AbiType::kBool};
      auto decoded = AbiDecode(types, returned);
      if (!decoded.ok()) return Status::Internal(Where(what + ": malformed answer to applyTx: ") + DataHex(returned));
      return (*decoded)[0].AsBool();
    }
    if (auto m = ethereum::DecodeCustomError(*reverted, "VersionMismatch(string,string,uint64,uint64)"); m.ok()) {
      return Status::FailedPrecondition(std::string(kConsistencyFailure) + ": " + what + " on " + options_.chain +
                                        ": the key is " + VersionText((*m)[3].AsUint64()) +
                                        ", the transaction expected it " + VersionText((*m)[2].AsUint64()));
    }
    if (ethereum::DecodeCustomError(*reverted, "NotOwner()").ok()) {
      return Status::PermissionDenied(Where(what + ": the bridge " + options_.bridge_address + " refuses " + sender_ +
                                            ": only its owner may apply writes"));
    }
    auto message = ethereum::DecodeErrorString(*reverted);
    return Status::FailedPrecondition(Where(what + ": the bridge reverted: ") +
                                      (message.ok() ? *message : DataHex(*reverted)));
  };
  const std::string already = "already applied on " + options_.chain;
  ENTENTE_ASSIGN_OR_RETURN(bool apply, would_apply());
  if (!apply) return Receipt{write.tx_id, false, already};
  ENTENTE_ASSIGN_OR_RETURN(ethereum::TxReceipt sent, Transact(options_.bridge_address, data, options_.gas));
  const std::string in_block = " in block " + std::to_string(sent.block) + ", transaction " + sent.hash;
  if (sent.success) {
    // A concurrent delivery may have applied the write between the call and this transaction, which
    // then succeeded but found the write there: applyTx returned false and emitted AlreadyApplied.
    static const std::string kAlreadyApplied = "0x" + ethereum::Keccak256Hex(AsBytes("AlreadyApplied(bytes32)"));
    if (std::find(sent.events.begin(), sent.events.end(), kAlreadyApplied) != sent.events.end()) {
      return Receipt{write.tx_id, false, already + " (found by transaction " + sent.hash + ")",
                     Json{{"transaction", sent.hash}, {"block", sent.block}}};
    }
    return Receipt{write.tx_id, true, "applied" + in_block, Json{{"transaction", sent.hash}, {"block", sent.block}}};
  }
  // The transaction failed: a concurrent delivery applied the write first, the version moved, or gas ran out.
  ENTENTE_ASSIGN_OR_RETURN(apply, would_apply());
  if (!apply) return Receipt{write.tx_id, false, already + " (this delivery failed" + in_block + ")"};
  return Status::FailedPrecondition(Where(what + ": the transaction failed" + in_block +
                                          " though the bridge would apply the write: out of gas? (gas limit " +
                                          std::to_string(options_.gas) + ")"));
}

Result<std::string> EthereumAdapter::DeployBridge(const EthereumAdapterOptions& options,
                                                  const std::string& bytecode_hex) {
  ENTENTE_ASSIGN_OR_RETURN(std::unique_ptr<EthereumAdapter> adapter, Make(options, /*need_bridge=*/false));
  auto code = ethereum::ParseData(Json(bytecode_hex));
  if (!code.ok() || code->empty()) {
    return Status::InvalidArgument("the bridge's bytecode is not 0x and hex digits: " +
                                   (code.ok() ? std::string("empty") : code.status().message()));
  }
  ENTENTE_ASSIGN_OR_RETURN(ethereum::TxReceipt sent,
                           adapter->Transact(std::nullopt, *code, std::max(options.gas, kDeployGas)));
  if (!sent.success || !sent.contract_address) {
    return Status::FailedPrecondition(adapter->Where("deploying the bridge failed in block " +
                                                     std::to_string(sent.block) + ", transaction " + sent.hash));
  }
  auto address = ethereum::ParseAddress(*sent.contract_address);
  if (!address.ok()) return Status::Internal(adapter->Where("bad contract address " + *sent.contract_address));
  return ethereum::AddressHex(*address);
}

}  // namespace entente::adapters
