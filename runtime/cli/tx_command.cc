// `entente tx submit|query|status`: a REST client of a node for scripts. Prints the node's JSON answer
// on one line; exits 0 for a committed VALID transaction (or a successful query or status), 2 for a
// transaction committed invalid, 1 for anything refused or unreachable.
#include <iostream>

#include "runtime/common/address.h"
#include "runtime/cli/commands.h"
#include "runtime/common/json.h"
#include "runtime/http/http.h"

namespace entente::cli {
namespace {

struct TxOptions {
  std::string node = "127.0.0.1:7051";
  std::string cert, key;
  std::vector<std::string> cas;
  std::string channel, contract, function, tx_id;
  std::vector<std::string> args, endorsers;
  int retry = 0;
  bool no_wait = false;
  int timeout_s = 60;
};

int Fail(const std::string& what, const std::string& why) {
  std::cerr << "entente tx " << what << ": " << why << "\n";
  return 1;
}

// Sends one request to the node and prints its answer; returns the exit code.
int Call(const TxOptions& o, const std::string& what, const std::string& method, const std::string& target,
         const std::string& body) {
  std::optional<Address> address = ParseAddress(o.node);
  if (!address) return Fail(what, "--node must be host:port, got '" + o.node + "'");
  http::ClientOptions options;
  options.host = address->host;
  options.port = address->port;
  options.tls = {o.cert, o.key, o.cas};
  options.timeout = std::chrono::seconds(o.timeout_s + 5);
  http::Client client(options);
  auto response = client.Send(method, target, body, {{"Content-Type", "application/json"}});
  if (!response.ok()) return Fail(what, response.status().message());
  std::cout << response->body << (response->body.ends_with("\n") ? "" : "\n");
  if (response->status >= 400) return 1;
  auto answer = ParseJson(response->body);
  if (answer.ok() && answer->is_object() && answer->contains("valid") && (*answer)["valid"] == false) return 2;
  return 0;
}

// The body of POST /v1/transactions (`submission`) or /v1/queries, which takes no wait, retry or timeout.
Json RequestBody(const TxOptions& o, bool submission) {
  Json body{{"contract", o.contract}, {"function", o.function}, {"args", o.args}};
  if (!o.channel.empty()) body["channel"] = o.channel;
  if (!o.endorsers.empty()) body["endorsers"] = o.endorsers;
  if (!submission) return body;
  if (o.retry > 0) body["retry"] = o.retry;
  if (o.no_wait) body["wait"] = false;
  body["timeout_ms"] = o.timeout_s * 1000;
  return body;
}

void AddConnection(CLI::App* command, TxOptions& o) {
  command->add_option("--node", o.node, "The node, host:port")->capture_default_str();
  command->add_option("--cert", o.cert, "Your ECert (PEM)")->required()->check(CLI::ExistingFile);
  command->add_option("--key", o.key, "Its key")->required()->check(CLI::ExistingFile);
  command->add_option("--cacert", o.cas, "CA certificates to trust for the node (repeatable)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--timeout", o.timeout_s, "Seconds to wait for the commit")->capture_default_str();
}

void AddCall(CLI::App* command, TxOptions& o) {
  AddConnection(command, o);
  command->add_option("--channel", o.channel, "Channel (default: the node's chain)");
  command->add_option("--contract", o.contract, "Contract name")->required();
  command->add_option("--function", o.function, "Function")->required();
  command->add_option("--arg", o.args, "An argument (repeatable, in order)");
}

}  // namespace

void AddTxCommands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TxOptions>();
  CLI::App* tx = app.add_subcommand("tx", "Transactions through a node's REST API, for scripts");
  tx->require_subcommand(1);

  CLI::App* submit = tx->add_subcommand("submit", "Submit a transaction and wait for its commit");
  AddCall(submit, *o);
  submit->add_option("--endorser", o->endorsers, "Ask exactly these nodes (repeatable)");
  submit->add_option("--retry", o->retry, "Endorse again up to N times after MVCC_READ_CONFLICT")->check(CLI::Range(0, 10));
  submit->add_flag("--no-wait", o->no_wait, "Return once the relay accepted it");
  submit->callback([o, &exit_code] {
    exit_code = Call(*o, "submit", "POST", "/v1/transactions", RequestBody(*o, true).dump());
  });

  CLI::App* query = tx->add_subcommand("query", "Evaluate a transaction on the node; nothing is submitted");
  AddCall(query, *o);
  query->callback([o, &exit_code] { exit_code = Call(*o, "query", "POST", "/v1/queries", RequestBody(*o, false).dump()); });

  CLI::App* status = tx->add_subcommand("status", "The status of a transaction on the node");
  AddConnection(status, *o);
  status->add_option("tx_id", o->tx_id, "Transaction id")->required();
  status->callback([o, &exit_code] { exit_code = Call(*o, "status", "GET", "/v1/transactions/" + o->tx_id, ""); });
}

}  // namespace entente::cli
