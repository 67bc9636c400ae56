// A member of the alliance attacking the relay through its real interfaces (docs/security.md): hostile
// bytes, a damaged log, a revoked certificate, a flood of envelopes, a ledger that fails, and deep
// JSON. Each is refused with a reason; the relay keeps serving or, where it cannot, says so.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <thread>

#include "runtime/common/json.h"
#include "runtime/crypto/crypto.h"
#include "tests/integration/relay_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

const std::vector<const Member*>& Majority() {
  static const std::vector<const Member*> majority{&Fixture().node_a1, &Fixture().node_a2};
  return majority;
}

BuiltEnvelope ValidEnvelope(const Member& creator, const std::string& key) {
  return Fixture().Build(creator, {.rwset = RelayAlliance::Writes("chainA", "asset", {key}), .endorsers = Majority()});
}

// One record of the envelope log: [length u32 BE][first four bytes of SHA-256][bytes].
std::string LogRecord(const std::string& bytes) {
  std::string record(8, '\0');
  auto length = static_cast<std::uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) record[i] = static_cast<char>(length >> (24 - 8 * i));
  crypto::Digest digest = crypto::Sha256(AsBytes(bytes));
  for (int i = 0; i < 4; ++i) record[4 + i] = static_cast<char>(digest[i]);
  return record + bytes;
}

// REQUIREs that the relay still serves: /healthz is ok and a new valid transaction commits.
void StillServes(http::Client& client, const std::string& key) {
  CHECK(Send(client, "GET", "/healthz").status == 200);
  BuiltEnvelope fresh = ValidEnvelope(Fixture().client_a, key);
  Submit(client, fresh);
  CHECK(WaitSettled(client, "/v1/transactions/" + fresh.tx_id)["code_name"] == "VALID");
}

// Waits up to 10 s for `process` to exit; true when it did.
bool Exits(Process& process) {
  for (int i = 0; i < 200 && process.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return !process.running();
}

TEST_CASE("Envelopes of bytes that are not UTF-8 or not JSON are refused with a reason, and the relay keeps serving") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto client = a.ClientFor(a.client_a, relay.port);

  // The payload is the single byte 0xFF.
  std::vector<std::string> hostile{"{\"payload\":\"/w==\",\"signature\":\"AA==\"}"};
  // A signed envelope whose signed proposal is 0xFF 0xFE: parses to the proposal, not further.
  endorser::Envelope bad_proposal{SignedBytes{Bytes{0xFF, 0xFE}, Bytes{0x00}}, ToBytes("{}"), {}};
  hostile.push_back(ToString(Must(endorser::SealEnvelope(*a.client_a.signer, bad_proposal))));
  for (const std::string& body : hostile) {
    CAPTURE(body);
    http::Response refused = Send(*client, "POST", "/v1/envelopes", body);
    CHECK(refused.status == 400);
    Json problem = Body(refused);  // valid JSON, whatever the bytes quoted
    std::string detail = problem["detail"].get<std::string>();
    CHECK(detail.find("not accepted") != std::string::npos);
    CHECK(IsValidUtf8(detail));
    CHECK(detail.find('\n') == std::string::npos);
    // Nothing was logged: the relay has never accepted these bytes.
    CHECK(Send(*client, "GET", "/v1/envelopes/" + crypto::Sha256Hex(AsBytes(body))).status == 404);
  }

  // A proposal that parses, naming a channel made of control characters: a rejection whose message
  // quotes the channel escaped.
  const std::string channel = "chain\nA\x01[critical] forged";
  BuiltEnvelope forged = a.Build(a.client_a, {.channel = channel,
                                               .rwset = RelayAlliance::Writes(channel, "asset", {"k"}),
                                               .endorsers = Majority()});
  Submit(*client, forged);
  Json rejected = WaitSettled(*client, "/v1/transactions/" + forged.tx_id);
  CHECK(rejected["code_name"] == "TARGET_CHAIN_NOT_FOUND");
  std::string message = rejected["message"].get<std::string>();
  CHECK(message.find("\\x0a") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(ReadText(data.Join("relay.log")).find("[critical] forged") == std::string::npos);

  StillServes(*client, "after-hostile-bytes");
  REQUIRE(relay.process->Signal(SIGTERM) == 0);
  RunningRelay again = a.StartRelay(data.Join("relay"));
  auto after = a.ClientFor(a.client_a, again.port);
  StillServes(*after, "after-restart");
}

TEST_CASE("A relay restarted over a log holding unparseable records rejects them and keeps ordering") {
  // Logs written before submissions were checked may hold anything; replaying them must not stop
  // the relay.
  RelayAlliance& a = Fixture();
  TempDir data;
  std::string dir = data.Join("relay");
  std::filesystem::create_directories(dir);
  const std::string garbage = "{\"payload\":\"/w==\",\"signature\":\"AA==\"}";
  const std::string not_json = "\xff\xfe not json at all";
  WriteText(dir + "/envelopes.log", LogRecord(garbage) + LogRecord(not_json));

  RunningRelay relay = a.StartRelay(dir);
  auto client = a.ClientFor(a.client_a, relay.port);
  for (const std::string& record : {garbage, not_json}) {
    Json status = WaitSettled(*client, "/v1/envelopes/" + crypto::Sha256Hex(AsBytes(record)));
    CHECK(status["code_name"] == "BAD_PAYLOAD");
    CHECK(IsValidUtf8(status["message"].get<std::string>()));
  }
  StillServes(*client, "after-replay");
}

TEST_CASE("Damage inside the envelope log stops the relay naming the offset; a torn end is cut") {
  RelayAlliance& a = Fixture();
  TempDir data;
  std::string dir = data.Join("relay");
  std::vector<BuiltEnvelope> envelopes;
  {
    RunningRelay relay = a.StartRelay(dir);
    auto client = a.ClientFor(a.client_a, relay.port);
    for (int i = 0; i < 3; ++i) {
      envelopes.push_back(ValidEnvelope(a.client_a, "logged-" + std::to_string(i)));
      Submit(*client, envelopes.back());
    }
    for (const BuiltEnvelope& e : envelopes) CHECK(WaitSettled(*client, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
    REQUIRE(relay.process->Signal(SIGTERM) == 0);
  }
  const std::string log_path = dir + "/envelopes-00000000000000000000.log";  // the first segment
  const std::string intact = ReadText(log_path);
  // Where the second record starts: after the first record's header and bytes.
  REQUIRE(intact.size() > 8);
  std::size_t first_length = 0;
  for (int i = 0; i < 4; ++i) first_length = (first_length << 8) | static_cast<unsigned char>(intact[i]);
  const std::size_t second = 8 + first_length;
  REQUIRE(intact.size() > second + 8);

  // The length field of the second record damaged: two acknowledged envelopes sit behind it.
  std::string damaged = intact;
  damaged[second] = '\x7f';
  WriteText(log_path, damaged);
  {
    Process refused({EntenteBinary(), "relay", "--config", a.WriteRelayConfig(dir)}, dir + "-damaged.log");
    REQUIRE(Exits(refused));
    std::string said = refused.Log();
    CHECK(said.find("record 1 at offset " + std::to_string(second) + " is damaged") != std::string::npos);
    CHECK(ReadText(log_path) == damaged);  // nothing cut
  }

  // A torn end (half a record, as a crash during an append leaves) is cut, and everything before it
  // is still there.
  WriteText(log_path, intact + LogRecord(ValidEnvelope(a.client_a, "torn").bytes).substr(0, 100));
  RunningRelay relay = a.StartRelay(dir);
  auto client = a.ClientFor(a.client_a, relay.port);
  for (const BuiltEnvelope& e : envelopes) CHECK(WaitSettled(*client, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  CHECK(ReadText(log_path).substr(0, intact.size()) == intact);
  StillServes(*client, "after-torn-end");
}

// The files of the envelope log's segments in `dir`, in order.
std::vector<std::string> LogSegments(const std::string& dir) {
  std::vector<std::string> segments;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("envelopes-") && name.ends_with(".log")) segments.push_back(entry.path().string());
  }
  std::sort(segments.begin(), segments.end());
  return segments;
}

// The value of the relay's gauge or counter `name` in /metrics, or -1 when it has none.
double Metric(http::Client& client, const std::string& name) {
  http::Response r = Send(client, "GET", "/metrics");
  auto at = r.body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(r.body.substr(at + name.size() + 2));
}

TEST_CASE("The envelope log keeps only what is unsettled: settled segments are deleted, a restart reads the rest, and an old envelope resubmitted keeps its verdict") {
  RelayAlliance& a = Fixture();
  TempDir data;
  std::string dir = data.Join("relay");
  const std::string small_segments = "log_segment_bytes: 4096\n";
  std::vector<BuiltEnvelope> envelopes;
  {
    RunningRelay relay = a.StartRelay(dir, RelayAlliance::kBlocks, small_segments);
    auto client = a.ClientFor(a.client_a, relay.port);
    for (int i = 0; i < 24; ++i) {
      envelopes.push_back(ValidEnvelope(a.client_a, "segmented-" + std::to_string(i)));
      Submit(*client, envelopes.back());
      if (i % 4 == 3) CHECK(WaitSettled(*client, "/v1/transactions/" + envelopes.back().tx_id)["code_name"] == "VALID");
    }
    for (const BuiltEnvelope& e : envelopes) CHECK(WaitSettled(*client, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
    CHECK(Metric(*client, "entente_relay_envelopes_unsettled") == 0);
    // Far more than 4096 bytes were logged; the settled segments are gone.
    CHECK(Metric(*client, "entente_relay_log_segments") <= 2);
    CHECK(LogSegments(dir).size() <= 2);
    CHECK(LogSegments(dir).front() != dir + "/envelopes-00000000000000000000.log");

    // The first envelope again: answered as before, its verdict kept, nothing logged anew.
    double accepted = Metric(*client, "entente_relay_envelopes_accepted_total");
    http::Response again = Send(*client, "POST", "/v1/envelopes", envelopes.front().bytes);
    CHECK(again.status == 202);
    CHECK(Metric(*client, "entente_relay_envelopes_accepted_total") == accepted);
    Json status = WaitSettled(*client, "/v1/envelopes/" + envelopes.front().hash);
    CHECK(status["code_name"] == "VALID");
    REQUIRE(relay.process->Signal(SIGTERM) == 0);
  }
  RunningRelay relay = a.StartRelay(dir, RelayAlliance::kBlocks, small_segments);
  auto client = a.ClientFor(a.client_a, relay.port);
  for (const BuiltEnvelope& e : envelopes) CHECK(WaitSettled(*client, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  CHECK(relay.process->Log().find("resuming") == std::string::npos);
  StillServes(*client, "after-segments");
}

TEST_CASE("Each new segment of the envelope log has its directory synced before a record in it is acknowledged, and each deletion before the next (fsyncs recorded by strace)") {
  RelayAlliance& a = Fixture();
  TempDir data;
  std::string dir = data.Join("relay");
  std::string trace = data.Join("strace.txt");
  {
    RunningRelay relay = a.StartRelay(dir, RelayAlliance::kBlocks, "log_segment_bytes: 4096\n",
                                      {"strace", "-f", "-qq", "-y", "-e", "trace=openat,fsync,fdatasync,unlink,unlinkat", "-o", trace});
    auto client = a.ClientFor(a.client_a, relay.port);
    std::vector<BuiltEnvelope> envelopes;
    for (int i = 0; i < 6; ++i) {
      envelopes.push_back(ValidEnvelope(a.client_a, "traced-" + std::to_string(i)));
      Submit(*client, envelopes.back());
      CHECK(WaitSettled(*client, "/v1/transactions/" + envelopes.back().tx_id)["code_name"] == "VALID");
    }
    // The relay is strace's child: stopping it ends strace.
    std::istringstream children(ReadText("/proc/" + std::to_string(relay.process->pid()) + "/task/" +
                                         std::to_string(relay.process->pid()) + "/children"));
    int relay_pid = -1;
    children >> relay_pid;
    REQUIRE(relay_pid > 0);
    ::kill(relay_pid, SIGTERM);
    REQUIRE(Exits(*relay.process));
  }
  // Per segment created: the directory's fsync follows its creation, and comes before the first
  // fdatasync of the segment (which acknowledges its first records).
  std::istringstream lines(ReadText(trace));
  std::string line;
  std::string created;  // the segment created last, until its directory is synced
  std::string deleted;  // the segment deleted last, until its directory is synced
  int segments = 0;
  int synced_first = 0;
  int deletions = 0;
  int synced_deletions = 0;
  const std::string canonical_dir = std::filesystem::canonical(dir).string();
  while (std::getline(lines, line)) {
    auto segment = line.find("/envelopes-");
    if (line.find("openat(") != std::string::npos && line.find("O_CREAT") != std::string::npos &&
        segment != std::string::npos) {
      created = line.substr(segment + 1, line.find(".log", segment) + 4 - segment - 1);
      ++segments;
    } else if (line.find("unlink") != std::string::npos && segment != std::string::npos) {
      if (!deleted.empty()) FAIL("a segment was deleted before the deletion of " << deleted << " was synced");
      deleted = line.substr(segment + 1, line.find(".log", segment) + 4 - segment - 1);
      ++deletions;
    } else if (line.find("fsync(") != std::string::npos && line.find("<" + canonical_dir + ">") != std::string::npos) {
      if (!created.empty()) ++synced_first;
      if (!deleted.empty()) ++synced_deletions;
      created.clear();
      deleted.clear();
    } else if (line.find("fdatasync(") != std::string::npos && !created.empty() && line.find(created) != std::string::npos) {
      FAIL("segment " << created << " was synced before its directory");
    }
  }
  CAPTURE(ReadText(trace));
  CHECK(segments >= 2);
  CHECK(synced_first == segments);
  CHECK(deletions >= 1);
  CHECK(synced_deletions == deletions);
}

TEST_CASE("A certificate revoked while its connection stays open cannot submit once the relay reloads its CRLs") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  // A certificate revoked before: refused at the handshake.
  CHECK_FALSE(a.ClientFor(a.revoked_client, relay.port)->Get("/v1/alliance").ok());

  Member dave = a.AddClient("dave-" + std::to_string(relay.port));
  auto client = a.ClientFor(dave, relay.port);
  Submit(*client, ValidEnvelope(a.client_a, "by-dave-before"));
  a.Revoke(dave);
  relay.process->Signal(SIGHUP, /*wait=*/false);
  // The same keep-alive connection: refused on its next request once the CRL is in, nothing logged.
  http::Response refused;
  BuiltEnvelope after;
  for (int i = 0; i < 100; ++i) {
    after = ValidEnvelope(a.client_a, "by-dave-after-" + std::to_string(i));
    refused = Send(*client, "POST", "/v1/envelopes", after.bytes);
    if (refused.status != 202) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Refused before its handler (the connection's certificate is checked per request) or by the relay's
  // own check of the submitter, whichever sees the new CRL first.
  CHECK(refused.status == 403);
  CHECK(refused.body.find("revoked") != std::string::npos);
  auto alice = a.ClientFor(a.client_a, relay.port);
  CHECK(Send(*alice, "GET", "/v1/envelopes/" + after.hash).status == 404);
  // A new connection with it fails at the handshake; everyone else is still served.
  CHECK_FALSE(a.ClientFor(dave, relay.port)->Get("/v1/alliance").ok());
  StillServes(*alice, "after-revoked");
}

TEST_CASE("A submitter past submitter_quota unsettled envelopes gets 503 with Retry-After; others do not") {
  RelayAlliance& a = Fixture();
  TempDir data;
  // Blocks wait 2 s (never cut when idle), so the first envelopes stay unsettled while the next arrive.
  RunningRelay relay = a.StartRelay(data.Join("relay"), "{max_tx: 100, max_wait_ms: 2000, cut_when_idle: false}",
                                    "submitter_quota: 2\n");
  auto alice = a.ClientFor(a.client_a, relay.port);
  std::vector<BuiltEnvelope> accepted{ValidEnvelope(a.client_a, "quota-0"), ValidEnvelope(a.client_a, "quota-1")};
  for (const BuiltEnvelope& e : accepted) Submit(*alice, e);
  BuiltEnvelope third = ValidEnvelope(a.client_a, "quota-2");
  http::Response busy = Send(*alice, "POST", "/v1/envelopes", third.bytes);
  CHECK(busy.status == 503);
  bool retry_after = false;
  for (const auto& [name, value] : busy.headers) retry_after |= name == "retry-after" && !value.empty();
  CHECK(retry_after);
  CHECK(Body(busy)["detail"].get<std::string>().find("submitter_quota") != std::string::npos);

  // Another member's client has its own quota.
  auto bob = a.ClientFor(a.client_b, relay.port);
  Submit(*bob, ValidEnvelope(a.client_a, "quota-bob"));

  // Once alice's envelopes are committed, she may submit again.
  for (const BuiltEnvelope& e : accepted) CHECK(WaitSettled(*alice, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  Submit(*alice, third);
  CHECK(WaitSettled(*alice, "/v1/transactions/" + third.tx_id)["code_name"] == "VALID");
}

TEST_CASE("A relay whose ledger cannot commit says so at /healthz and refuses envelopes with 503") {
  RelayAlliance& a = Fixture();
  TempDir data;
  // Files may not grow past 96 KiB (write() fails with EFBIG, SIGXFSZ ignored): the ledger's write-ahead
  // log, which holds each block and its state, reaches that bound before the envelope log does.
  std::vector<std::string> launcher{"bash", "-c", "ulimit -f 96; trap '' XFSZ; exec \"$@\"", "relay"};
  RunningRelay relay = a.StartRelay(data.Join("relay"), RelayAlliance::kBlocks, "", launcher);
  auto client = a.ClientFor(a.client_a, relay.port);
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    BuiltEnvelope e = ValidEnvelope(a.client_a, "fill-" + std::to_string(i));
    http::Response r = Send(*client, "POST", "/v1/envelopes", e.bytes);
    if (r.status == 503) {
      refused = true;
      CHECK(Body(r)["detail"].get<std::string>().find("does not order") != std::string::npos);
      break;
    }
    REQUIRE_MESSAGE(r.status == 202, r.body);
    // Until it settles, or the relay reports that it stopped ordering.
    for (int wait = 0; wait < 500; ++wait) {
      if (Send(*client, "GET", "/healthz").status == 503) break;
      if (Body(Send(*client, "GET", "/v1/envelopes/" + e.hash))["state"] != "pending") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  REQUIRE(refused);
  http::Response health = Send(*client, "GET", "/healthz");
  CHECK(health.status == 503);
  Json body = Body(health);
  CHECK(body["status"] == "failed");
  CHECK(body["reason"].get<std::string>().find("cannot commit a block of chainA") != std::string::npos);
  CHECK(relay.process->running());
}

TEST_CASE("Eight MiB of '[' is refused before it is built, costing the relay less than 64 MiB") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"), RelayAlliance::kBlocks, "body_limit: 16777216\n");
  auto client = a.ClientFor(a.client_a, relay.port);
  CHECK(Send(*client, "GET", "/healthz").status == 200);
  REQUIRE(ResetPeakResident(relay.process->pid()));
  std::size_t before = PeakResidentBytes(relay.process->pid());
  REQUIRE(before > 0);
  http::Response refused = Send(*client, "POST", "/v1/envelopes", std::string(8 << 20, '['));
  CHECK(refused.status == 400);
  CHECK(Body(refused)["detail"].get<std::string>().find("nested deeper than") != std::string::npos);
  std::size_t after = PeakResidentBytes(relay.process->pid());  // the peak while it was refused
  CHECK(after < before + (64u << 20));
  StillServes(*client, "after-deep-json");
}

TEST_CASE("An envelope whose creator writes a chain that is not its own, along no write route, is ROUTE_NOT_ALLOWED") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto alice = a.ClientFor(a.client_a, relay.port);
  // alice (chainA) on chainB's contract `reader`, endorsed by chainB's node: the endorsement is good, the
  // creator is not chainB's.
  BuiltEnvelope e = a.Build(a.client_a, {.channel = "chainB",
                                          .contract = "reader",
                                          .rwset = RelayAlliance::Writes("chainB", "reader", {"by-chainA"}),
                                          .endorsers = {&a.node_b1}});
  Submit(*alice, e);
  auto bob = a.ClientFor(a.client_b, relay.port);  // chainB's transactions are chainB's to read
  Json status = WaitSettled(*bob, "/v1/transactions/" + e.tx_id);
  CHECK(status["code_name"] == "ROUTE_NOT_ALLOWED");
  CHECK(status["message"].get<std::string>().find("no write route from chainA to chainB/reader") != std::string::npos);
  CHECK(Send(*bob, "GET", "/v1/channels/chainB/state/reader/by-chainA").status == 404);
}

TEST_CASE("A write route lets another chain's creator write that namespace only, not others it calls into") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto alice = a.ClientFor(a.client_a, relay.port);
  auto bob = a.ClientFor(a.client_b, relay.port);
  // The route a-writes-b lets chainA's creators write chainB/snooper.
  BuiltEnvelope routed = a.Build(a.client_a, {.channel = "chainB",
                                               .contract = "snooper",
                                               .rwset = RelayAlliance::Writes("chainB", "snooper", {"routed"}),
                                               .endorsers = {&a.node_b1}});
  Submit(*alice, routed);
  CHECK(WaitSettled(*bob, "/v1/transactions/" + routed.tx_id)["code_name"] == "VALID");
  // The same proposal also writing chainB/reader, which no route from chainA reaches.
  ledger::RwSet both = RelayAlliance::Writes("chainB", "snooper", {"also"});
  both.namespaces.push_back(RelayAlliance::Writes("chainB", "reader", {"smuggled"}).namespaces.front());
  BuiltEnvelope smuggled = a.Build(a.client_a, {.channel = "chainB", .contract = "snooper", .rwset = both,
                                                 .endorsers = {&a.node_b1}});
  Submit(*alice, smuggled);
  Json status = WaitSettled(*bob, "/v1/transactions/" + smuggled.tx_id);
  CHECK(status["code_name"] == "ROUTE_NOT_ALLOWED");
  CHECK(status["message"].get<std::string>().find("chainB/reader") != std::string::npos);
  CHECK(Send(*bob, "GET", "/v1/channels/chainB/state/reader/smuggled").status == 404);
}

TEST_CASE("A tx id names its channel: one nonce gives another id on another channel, and claiming chainA's id on chainB is BAD_PROPOSAL_TXID") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto alice = a.ClientFor(a.client_a, relay.port);
  auto bob = a.ClientFor(a.client_b, relay.port);  // reads chainB
  BuiltEnvelope first = ValidEnvelope(a.client_a, "first-of-nonce");
  Submit(*alice, first);
  REQUIRE(WaitSettled(*alice, "/v1/transactions/" + first.tx_id)["code_name"] == "VALID");
  // The same creator and nonce on chainB, along the write route a-writes-b, claiming the first's id.
  auto on_chain_b = [&](std::optional<std::string> tx_id, const std::string& key) {
    return a.Build(a.client_a, {.channel = "chainB",
                                .contract = "snooper",
                                .rwset = RelayAlliance::Writes("chainB", "snooper", {key}),
                                .endorsers = {&a.node_b1},
                                .nonce = first.nonce,
                                .tx_id = std::move(tx_id)});
  };
  BuiltEnvelope claimed = on_chain_b(first.tx_id, "claimed");
  Submit(*alice, claimed);
  Json status = WaitSettled(*bob, "/v1/envelopes/" + claimed.hash);
  CHECK(status["code_name"] == "BAD_PROPOSAL_TXID");
  CHECK(status["message"].get<std::string>().find("channel") != std::string::npos);
  CHECK(Send(*bob, "GET", "/v1/channels/chainB/state/snooper/claimed").status == 404);
  // The first transaction keeps its id and its verdict.
  Json kept = WaitSettled(*alice, "/v1/transactions/" + first.tx_id);
  CHECK(kept["code_name"] == "VALID");
  CHECK(kept["channel"] == "chainA");
  // With the id the nonce gives on chainB, the write commits under an id of its own.
  BuiltEnvelope honest = on_chain_b(std::nullopt, "honest");
  CHECK(honest.tx_id != first.tx_id);
  Submit(*alice, honest);
  CHECK(WaitSettled(*bob, "/v1/transactions/" + honest.tx_id)["code_name"] == "VALID");
  StillServes(*alice, "after-claimed-tx-id");
}

TEST_CASE("Access matrix at the relay: another chain's transactions are unknown, its state readable only along a route") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto alice = a.ClientFor(a.client_a, relay.port);
  auto bob = a.ClientFor(a.client_b, relay.port);
  BuiltEnvelope e = ValidEnvelope(a.client_a, "matrix-key");
  Submit(*alice, e);
  CHECK(WaitSettled(*alice, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  // chainA's transaction, asked by chainB's client: unknown, by id and by envelope.
  CHECK(Send(*bob, "GET", "/v1/transactions/" + e.tx_id).status == 404);
  CHECK(Send(*bob, "GET", "/v1/envelopes/" + e.hash).status == 404);
  // chainA's state: namespace asset along the route b-reads-a; badpolicy along none.
  CHECK(Send(*alice, "GET", "/v1/channels/chainA/state/asset/matrix-key").status == 200);
  CHECK(Send(*bob, "GET", "/v1/channels/chainA/state/asset/matrix-key").status == 200);
  http::Response refused = Send(*bob, "GET", "/v1/channels/chainA/state/badpolicy/matrix-key");
  CHECK(refused.status == 403);
  CHECK(Body(refused)["detail"].get<std::string>().find("may not read chainA/badpolicy") != std::string::npos);
  // Every member sees the alliance and every channel's height; a node of chainB replicates chainA.
  CHECK(Send(*bob, "GET", "/v1/alliance").status == 200);
  CHECK(Send(*bob, "GET", "/v1/channels/chainA").status == 200);
  auto node_b = a.ClientFor(a.node_b1, relay.port);
  CHECK(Send(*node_b, "GET", "/v1/channels/chainA/blocks?from=0").status == 200);
}

// The value of gauge `name` in Prometheus text `metrics`, or -1.
double Gauge(const std::string& metrics, const std::string& name) {
  auto at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size() + 2));
}

TEST_CASE("Four times the relay's handler threads in long-polls hold no thread: /healthz answers within 1 s, a transaction commits within 5 s") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"));
  auto alice = a.ClientFor(a.client_a, relay.port);
  StillServes(*alice, "before-long-polls");  // block 0 of chainA
  const int kLongPolls = 4 * 16;             // the relay runs 16 handler threads
  std::uint64_t height = Body(Send(*alice, "GET", "/v1/channels/chainA"))["height"];
  std::atomic<int> answered{0};
  std::vector<std::thread> polls;
  for (int i = 0; i < kLongPolls; ++i) {
    polls.emplace_back([&] {
      auto node = a.ClientFor(a.node_a1, relay.port);
      auto r = node->Get("/v1/channels/chainA/blocks?from=" + std::to_string(height) + "&wait_ms=30000");
      if (r.ok() && r->status == 200) ++answered;
    });
  }
  double waiting = 0;
  for (int i = 0; i < 400 && waiting < kLongPolls; ++i) {
    waiting = Gauge(Send(*alice, "GET", "/metrics").body, "entente_relay_waiting_requests");
    if (waiting < kLongPolls) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  REQUIRE(waiting == kLongPolls);

  auto start = std::chrono::steady_clock::now();
  CHECK(Send(*alice, "GET", "/healthz").status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  start = std::chrono::steady_clock::now();
  BuiltEnvelope e = ValidEnvelope(a.client_a, "under-long-polls");
  Submit(*alice, e);
  CHECK(WaitSettled(*alice, "/v1/transactions/" + e.tx_id)["code_name"] == "VALID");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  // That block is what they waited for: every long-poll is answered with it.
  for (std::thread& t : polls) t.join();
  CHECK(answered == kLongPolls);
}

TEST_CASE("Past max_waits a long-poll gets 503 with Retry-After at once") {
  RelayAlliance& a = Fixture();
  TempDir data;
  RunningRelay relay = a.StartRelay(data.Join("relay"), RelayAlliance::kBlocks, "max_waits: 2\n");
  std::vector<std::thread> polls;
  for (int i = 0; i < 2; ++i) {
    polls.emplace_back([&] {
      auto node = a.ClientFor(a.node_a1, relay.port);
      (void)node->Get("/v1/channels/chainA/blocks?from=1000&wait_ms=3000");
    });
  }
  auto alice = a.ClientFor(a.client_a, relay.port);
  for (int i = 0; i < 400 && Gauge(Send(*alice, "GET", "/metrics").body, "entente_relay_waiting_requests") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto node = a.ClientFor(a.node_a2, relay.port);
  http::Response busy = Send(*node, "GET", "/v1/channels/chainA/blocks?from=1000&wait_ms=3000");
  CHECK(busy.status == 503);
  CHECK(Body(busy)["detail"].get<std::string>().find("max_waits") != std::string::npos);
  bool retry_after = false;
  for (const auto& [name, value] : busy.headers) retry_after |= name == "retry-after";
  CHECK(retry_after);
  for (std::thread& t : polls) t.join();
}

}  // namespace
}  // namespace entente::testing
