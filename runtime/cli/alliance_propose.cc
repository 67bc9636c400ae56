// `entente alliance propose|define-contract|update-crl`: config transactions of the alliance contract,
// endorsed by the alliance's admins themselves (policy Admins(0.5): more than half of their weight). A
// node simulates the proposal (POST /v1/simulations), every admin given signs the result with its ECert,
// the first admin seals the envelope and submits it through the node (POST /v1/envelopes), which waits
// for its commit; define-contract then waits until every node of the contract's chain committed it too,
// update-crl until every node of the alliance did.
// Exits 0 for a VALID commit, 2 for a transaction committed invalid, 1 for anything refused.
#include <chrono>
#include <iostream>
#include <thread>

#include "runtime/alliance/alliance.h"
#include "runtime/common/address.h"
#include "runtime/cli/commands.h"
#include "runtime/common/file.h"
#include "runtime/common/json.h"
#include "runtime/endorser/endorser.h"
#include "runtime/http/http.h"
#include "runtime/shim/package/package.h"

namespace entente::cli {
namespace {

struct ProposeOptions {
  std::string node = "127.0.0.1:7051";
  std::vector<std::string> cas;
  std::vector<std::string> admins;  // directories holding cert.pem and key.pem
  std::string function;
  std::vector<std::string> args;
  std::string package, channel, policy;  // define-contract
  std::string crl, chain;                // update-crl
  int timeout_s = 60;
};

// An admin's ECert and key, from a directory written by `entente ca issue --role admin`.
Result<endorser::Signer> LoadAdmin(const std::string& dir) {
  ENTENTE_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(dir + "/cert.pem"));
  ENTENTE_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(dir + "/key.pem"));
  ENTENTE_ASSIGN_OR_RETURN(crypto::Certificate cert, crypto::Certificate::FromPem(cert_pem));
  ENTENTE_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromPem(key_pem));
  if (cert.subject().role_name != "admin") {
    return Status::InvalidArgument(dir + "/cert.pem is a " + cert.subject().role_name + " certificate, not an admin's");
  }
  return endorser::Signer{std::move(cert), {}, std::move(key)};
}

// A client of the node at `endpoint` ("host:port", or "https://host:port") as the first admin.
Result<http::ClientOptions> NodeClientOptions(const ProposeOptions& o, const std::string& endpoint) {
  std::optional<Address> address = ParseAddress(endpoint);
  if (!address) return Status::InvalidArgument("a node's address must be host:port, got '" + endpoint + "'");
  http::ClientOptions options;
  options.host = address->host;
  options.port = address->port;
  options.tls = {o.admins.front() + "/cert.pem", o.admins.front() + "/key.pem", o.cas};
  options.timeout = std::chrono::seconds(o.timeout_s + 5);
  return options;
}

// The node's answer as the reason of a refusal: its problem "detail" when it has one.
std::string Refused(const http::Response& answer) {
  auto j = ParseJson(answer.body);
  std::string detail = j.ok() && j->is_object() ? j->value("detail", "") : "";
  return "the node answered " + std::to_string(answer.status) + ": " + (detail.empty() ? answer.body : detail);
}

// Proposes `function(args)` of the alliance contract and prints the node's answer. Returns the exit code,
// and sets `tx_id` once the node answered the simulation.
Result<int> Propose(const ProposeOptions& o, const std::string& function, const std::vector<std::string>& args,
                    std::string* tx_id = nullptr) {
  std::vector<endorser::Signer> admins;
  for (const std::string& dir : o.admins) {
    ENTENTE_ASSIGN_OR_RETURN(endorser::Signer admin, LoadAdmin(dir));
    admins.push_back(std::move(admin));
  }
  ENTENTE_ASSIGN_OR_RETURN(http::ClientOptions client_options, NodeClientOptions(o, o.node));
  http::Client node(client_options);
  ENTENTE_ASSIGN_OR_RETURN(SignedBytes proposal,
                           endorser::MakeSignedProposal(admins.front(), alliance::kAllianceChannel,
                                                        alliance::kAllianceContract, function, args));
  ENTENTE_ASSIGN_OR_RETURN(http::Response simulated,
                           node.Post("/v1/simulations", Json{{"signed_proposal", proposal.ToJson()}}.dump()));
  if (simulated.status != 200) return Status::FailedPrecondition(Refused(simulated));
  ENTENTE_ASSIGN_OR_RETURN(Json answer, ParseJson(simulated.body));
  if (!answer.is_object() || !answer.contains("result") || !answer["result"].is_string()) {
    return Status::Internal("the node's simulation answer has no result: " + simulated.body);
  }
  ENTENTE_ASSIGN_OR_RETURN(Bytes result, Base64Decode(answer["result"].get<std::string>()));
  if (tx_id != nullptr) *tx_id = answer.value("tx_id", "");
  endorser::Envelope envelope{proposal, result, {}};
  for (const endorser::Signer& admin : admins) {
    ENTENTE_ASSIGN_OR_RETURN(endorser::Endorsement endorsement, endorser::Endorse(admin, result));
    envelope.endorsements.push_back(std::move(endorsement));
  }
  ENTENTE_ASSIGN_OR_RETURN(Bytes sealed, endorser::SealEnvelope(admins.front(), envelope));
  ENTENTE_ASSIGN_OR_RETURN(http::Response committed,
                           node.Post("/v1/envelopes?timeout_ms=" + std::to_string(o.timeout_s * 1000), ToString(sealed)));
  std::cout << committed.body << (committed.body.ends_with("\n") ? "" : "\n");
  if (committed.status >= 400) return Status::FailedPrecondition(Refused(committed));
  auto outcome = ParseJson(committed.body);
  if (!outcome.ok() || !outcome->is_object() || outcome->value("state", "") != "committed") {
    std::cerr << "entente alliance: the transaction was accepted but its commit was not seen within "
              << o.timeout_s << " s\n";
    return 1;
  }
  return outcome->value("valid", false) ? 0 : 2;
}

// The definition of a package's contract on `channel`: name, version and sha256 from its metadata.
Result<std::string> DefinitionOf(const ProposeOptions& o) {
  auto read = package::ReadPackageMetadata(o.package);
  if (!read.ok()) return read.status().WithContext(o.package);
  const package::PackageMetadata& metadata = *read;
  Json definition{{"channel", o.channel},
                  {"name", metadata.name},
                  {"version", metadata.version},
                  {"sha256", metadata.sha256},
                  {"policy", o.policy.empty() ? metadata.policy : o.policy}};
  return definition.dump();
}

// Waits until every node of `chain` (of every chain when it is empty; as the alliance lists them) has
// committed `tx_id`: from then on each of them applies what the config transaction changed. Returns the
// nodes that have not within the timeout (unreachable, or not pulling blocks), with why.
Result<std::vector<std::string>> WaitForChain(const ProposeOptions& o, const std::string& chain, const std::string& tx_id) {
  ENTENTE_ASSIGN_OR_RETURN(http::ClientOptions first, NodeClientOptions(o, o.node));
  ENTENTE_ASSIGN_OR_RETURN(http::Response listed, http::Client(first).Get("/v1/alliance"));
  ENTENTE_ASSIGN_OR_RETURN(chaincode::AllianceConfig config, [&]() -> Result<chaincode::AllianceConfig> {
    ENTENTE_ASSIGN_OR_RETURN(Json j, ParseJson(listed.body));
    try {
      return j.get<chaincode::AllianceConfig>();
    } catch (const std::exception& e) {
      return Status::Internal("the node's /v1/alliance does not parse: " + std::string(e.what()));
    }
  }());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  std::vector<std::string> behind;
  for (const chaincode::Node& node : config.nodes) {
    if (!chain.empty() && node.chain != chain) continue;
    ENTENTE_ASSIGN_OR_RETURN(http::ClientOptions options, NodeClientOptions(o, node.endpoint));
    http::Client client(options);
    for (;;) {
      auto answer = client.Get("/v1/transactions/" + tx_id);
      if (answer.ok() && answer->status == 200) break;
      if (std::chrono::steady_clock::now() > deadline) {
        behind.push_back(node.id + (answer.ok() ? "" : " (" + answer.status().message() + ")"));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return behind;
}

// define-contract: the definition's config transaction, then every node of the channel committing it.
Result<int> DefineContract(const ProposeOptions& o) {
  ENTENTE_ASSIGN_OR_RETURN(std::string definition, DefinitionOf(o));
  std::string tx_id;
  ENTENTE_ASSIGN_OR_RETURN(int exit_code, Propose(o, "DefineContract", {definition}, &tx_id));
  if (exit_code != 0 || o.channel == alliance::kAllianceChannel) return exit_code;
  ENTENTE_ASSIGN_OR_RETURN(std::vector<std::string> behind, WaitForChain(o, o.channel, tx_id));
  for (const std::string& node : behind) {
    std::cerr << "entente alliance define-contract: warning: node " << node << " has not committed the definition "
              << "within " << o.timeout_s << " s; it runs the contract once it catches up\n";
  }
  return 0;
}

// update-crl: publishes a CRL of one of the chain's CAs (PublishCrl), then waits until every node of
// the alliance committed it; each revokes what it lists from then on, on open connections too.
Result<int> UpdateCrl(const ProposeOptions& o) {
  ENTENTE_ASSIGN_OR_RETURN(std::string crl, ReadFile(o.crl));
  std::string chain = o.chain;
  if (chain.empty()) {
    ENTENTE_ASSIGN_OR_RETURN(endorser::Signer first, LoadAdmin(o.admins.front()));
    chain = first.certificate.subject().chain;
  }
  std::string tx_id;
  ENTENTE_ASSIGN_OR_RETURN(int exit_code, Propose(o, "PublishCrl", {chain, crl}, &tx_id));
  if (exit_code != 0) return exit_code;
  ENTENTE_ASSIGN_OR_RETURN(std::vector<std::string> behind, WaitForChain(o, "", tx_id));
  for (const std::string& node : behind) {
    std::cerr << "entente alliance update-crl: warning: node " << node << " has not committed the CRL within "
              << o.timeout_s << " s; it applies it once it catches up\n";
  }
  return 0;
}

int Run(const std::string& what, const Result<int>& outcome) {
  if (outcome.ok()) return *outcome;
  std::cerr << "entente alliance " << what << ": " << outcome.status().message() << "\n";
  return 1;
}

void AddConnection(CLI::App* command, ProposeOptions& o) {
  command->add_option("--node", o.node, "A node that simulates the proposal, host:port")->capture_default_str();
  command->add_option("--cacert", o.cas, "CA certificates to trust for the node (repeatable)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--admin", o.admins, "An admin's directory with cert.pem and key.pem (repeatable); the first "
                                           "one proposes, every one endorses")
      ->required()
      ->check(CLI::ExistingDirectory);
  command->add_option("--timeout", o.timeout_s, "Seconds to wait for the commit")->capture_default_str();
}

}  // namespace

void AddAlliancePropose(CLI::App* alliance, int& exit_code) {
  auto o = std::make_shared<ProposeOptions>();
  CLI::App* propose = alliance->add_subcommand("propose", "Submit a config transaction endorsed by admins");
  AddConnection(propose, *o);
  propose->add_option("--function", o->function, "The alliance contract's function, e.g. AddRoute")->required();
  propose->add_option("--arg", o->args, "An argument (repeatable, in order), e.g. a route as JSON");
  propose->callback([o, &exit_code] { exit_code = Run("propose", Propose(*o, o->function, o->args)); });

  CLI::App* define = alliance->add_subcommand(
      "define-contract", "Define a package's contract on a channel (name, version, sha256, policy)");
  AddConnection(define, *o);
  define->add_option("--package", o->package, "The contract package (.tar.gz)")->required()->check(CLI::ExistingFile);
  define->add_option("--channel", o->channel, "The chain that runs it")->required();
  define->add_option("--policy", o->policy, "Endorsement policy (default: the package's)");
  define->callback([o, &exit_code] { exit_code = Run("define-contract", DefineContract(*o)); });

  CLI::App* update_crl = alliance->add_subcommand(
      "update-crl", "Publish a CRL of one of a chain's CAs to the whole alliance (PublishCrl)");
  AddConnection(update_crl, *o);
  update_crl->add_option("--crl", o->crl, "The PEM CRL, e.g. from `entente ca crl`")->required()->check(CLI::ExistingFile);
  update_crl->add_option("--chain", o->chain, "The chain whose CA signed it (default: the first admin's)");
  update_crl->callback([o, &exit_code] { exit_code = Run("update-crl", UpdateCrl(*o)); });
}

}  // namespace entente::cli
