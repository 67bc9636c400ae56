// The ledger on disk (DESIGN.md §5): a writer process killed at random moments leaves a ledger that
// reopens consistent and equal to a replay of its blocks; a flipped byte in a stored block is refused
// by Open/VerifyChain and by `entente ledger verify`; and `entente ledger verify|dump` on a healthy
// ledger print what an operator needs.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/common/bytes.h"
#include "runtime/common/json.h"
#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"
#include "tests/integration/ledger_crash_workload.h"
#include "tests/support/support.h"

#ifndef LEDGER_CRASH_WRITER
#error "LEDGER_CRASH_WRITER must name the ledger_crash_writer executable"
#endif

namespace entente::ledger {
namespace {

using entente::testing::CommandResult;
using entente::testing::ReadText;
using entente::testing::RunEntente;
using entente::testing::TempDir;

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True when `text` holds `number` not glued to other digits.
bool NamesNumber(const std::string& text, std::uint64_t number) {
  return std::regex_search(text, std::regex("(^|[^0-9])" + std::to_string(number) + "([^0-9]|$)"));
}

bool MentionsCorruption(const std::string& text) {
  std::string l = Lower(text);
  return Contains(l, "corrupt") || Contains(l, "checksum") || Contains(l, "crc");
}

// ---- Killing the writer ----

struct Killed {
  bool by_sigkill = false;
  std::string stderr_text;
  std::uint64_t last_reported = 0;  // the last height the writer printed (0: none)
};

// Starts the writer on `dir`, lets it run `ms` milliseconds, and SIGKILLs it.
Killed RunAndKill(const std::string& dir, const std::string& scratch, int ms) {
  const std::string out_path = scratch + "/writer.out";
  const std::string err_path = scratch + "/writer.err";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    const char* writer = LEDGER_CRASH_WRITER;
    ::execl(writer, writer, dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Killed k;
  k.by_sigkill = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  k.stderr_text = ReadText(err_path);
  std::istringstream lines(ReadText(out_path));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) k.last_reported = std::stoull(line);
  }
  return k;
}

TEST_CASE("a ledger killed at random moments reopens consistent, never lower, and equal to a replay") {
  namespace cw = crash_workload;
  TempDir tmp;
  const std::string dir = tmp.Join("ledger");
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> run_ms(20, 300);

  constexpr int kRounds = 24;
  std::uint64_t previous = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int ms = run_ms(rng);
    CAPTURE(round);
    CAPTURE(ms);
    Killed k = RunAndKill(dir, tmp.path(), ms);
    REQUIRE_MESSAGE(k.by_sigkill, "the writer stopped by itself: " << k.stderr_text);

    auto opened = Ledger::Open(dir);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    std::unique_ptr<Ledger> ledger = std::move(opened).value();
    const Savepoint sp = ledger->GetSavepoint(cw::kChannel);
    CAPTURE(sp.height);
    CHECK(sp.height >= previous);
    // A commit the writer reported had returned from its synced write.
    CHECK(sp.height >= k.last_reported);
    previous = sp.height;
    if (sp.height == 0) continue;

    Status chain = ledger->VerifyChain(cw::kChannel);
    REQUIRE_MESSAGE(chain.ok(), chain.ToString());

    const cw::Replay replay = cw::ReplayBlocks(sp.height);
    CHECK(sp.last_hash == replay.last_hash);
    auto last = ledger->GetBlock(cw::kChannel, sp.height - 1);
    REQUIRE_MESSAGE(last.ok(), last.status().ToString());
    CHECK(last->header.ComputeHash() == replay.last_hash);
    CHECK(ledger->GetBlock(cw::kChannel, sp.height).status().IsNotFound());

    auto snap = ledger->GetSnapshot();
    auto all = snap->Range(cw::kChannel, cw::kContract, "", "");
    REQUIRE_MESSAGE(all.ok(), all.status().ToString());
    std::map<std::string, VersionedValue> stored(all->entries.begin(), all->entries.end());
    CHECK(stored.size() == all->entries.size());
    CHECK(stored == replay.state);
    // Point reads agree with the range, missing keys included.
    for (std::uint64_t i = 0; i < cw::kKeys; ++i) {
      const std::string key = "k" + std::to_string(i);
      auto got = snap->Get(cw::kChannel, cw::kContract, key);
      REQUIRE(got.ok());
      auto it = replay.state.find(key);
      if (it == replay.state.end()) {
        CHECK_FALSE(got->has_value());
      } else {
        REQUIRE(got->has_value());
        CHECK(**got == it->second);
      }
    }
    // The tx index holds the last block's transactions and nothing beyond.
    const std::uint64_t n = sp.height - 1;
    auto found = snap->FindTx(cw::kChannel, "tx-" + std::to_string(n) + "-2");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    auto last_block = ledger->GetBlock(cw::kChannel, n);
    REQUIRE(last_block.ok());
    CHECK(**found == TxLocation{n, 2, ValidationCode::kValid, crypto::Sha256(last_block->envelopes.at(2))});
    auto beyond = snap->FindTx(cw::kChannel, "tx-" + std::to_string(n + 1) + "-0");
    REQUIRE(beyond.ok());
    CHECK_FALSE(beyond->has_value());
  }
  MESSAGE("final height " << previous << " after " << kRounds << " kills (seed " << seed << ")");
  CHECK(previous > 0);
}

// ---- Flipping a byte on disk ----

// CRC-32C (Castagnoli), as LevelDB's log records use it, and LevelDB's mask.
std::uint32_t Crc32c(const std::uint8_t* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

std::uint32_t MaskCrc(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// In a LevelDB log file (32 KiB blocks of records: crc32c(4) length(2) type(1) payload), recomputes the
// checksum of the record holding `offset`, so that the flip is seen by the ledger and not by LevelDB.
// Returns false when `offset` is not inside a record's payload.
bool FixLogRecordCrc(std::string& file, std::size_t offset) {
  constexpr std::size_t kBlock = 32768;
  constexpr std::size_t kHeader = 7;
  std::size_t pos = 0;
  while (pos < file.size()) {
    const std::size_t left = kBlock - pos % kBlock;
    if (left < kHeader) {
      pos += left;
      continue;
    }
    if (pos + kHeader > file.size()) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(file.data() + pos);
    const std::size_t length = p[4] | (static_cast<std::size_t>(p[5]) << 8);
    if (length == 0 && p[6] == 0) {  // zero padding up to the block's end
      pos += left;
      continue;
    }
    const std::size_t payload = pos + kHeader;
    if (payload + length > file.size()) return false;
    if (offset >= payload && offset < payload + length) {
      std::uint32_t crc = MaskCrc(Crc32c(p + 6, 1 + length));
      for (int i = 0; i < 4; ++i) file[pos + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (8 * i)) & 0xff);
      return true;
    }
    pos = payload + length;
  }
  return false;
}

struct Flips {
  int count = 0;
  bool all_behind_leveldb_checksums = true;  // every flip was in a log record whose CRC was fixed
};

// Replaces one character in the middle of every occurrence of `needle` in the files of `dir` by a
// different character of the same class (hex digit or base64 letter).
Flips FlipEverywhere(const std::string& dir, const std::string& needle) {
  Flips flips;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    std::string data = ReadText(path);
    bool changed = false;
    for (std::size_t at = data.find(needle); at != std::string::npos; at = data.find(needle, at + 1)) {
      const std::size_t i = at + needle.size() / 2;
      data[i] = data[i] == '0' ? '1' : '0';
      changed = true;
      ++flips.count;
      const bool is_log = entry.path().extension() == ".log";
      if (!(is_log && FixLogRecordCrc(data, i))) flips.all_behind_leveldb_checksums = false;
    }
    if (changed) entente::testing::WriteText(path, data);
  }
  return flips;
}

// An envelope no other envelope shares four bytes with in a row (so compression leaves it literal).
Bytes UniqueEnvelope(std::uint64_t number, std::mt19937& rng) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz23456789";
  std::string text = "ENVELOPE-MARKER-" + std::to_string(1000 + number) + ":";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  while (text.size() < 60) text.push_back(alphabet[pick(rng)]);
  return ToBytes(text);
}

// Commits `blocks` blocks of one tx on `channel`; returns their envelopes.
std::vector<Bytes> CommitMarked(Ledger& ledger, const std::string& channel, std::uint64_t blocks, std::mt19937& rng) {
  std::vector<Bytes> envelopes;
  Hash prev{};
  for (std::uint64_t n = 0; n < blocks; ++n) {
    Block b;
    b.header.channel = channel;
    b.header.number = n;
    b.header.prev_hash = prev;
    b.envelopes.push_back(UniqueEnvelope(n, rng));
    b.header.data_hash = b.ComputeDataHash();
    b.metadata.validation_codes.push_back(ValidationCode::kValid);
    b.metadata.timestamp_ms = 1700000000000 + static_cast<std::int64_t>(n);
    NamespaceRwSet ns;
    ns.channel = channel;
    ns.contract = "cc";
    ns.writes.push_back(KeyWrite{"k" + std::to_string(n), false, ToBytes("v")});
    CommittedTx tx{"tx-" + channel + "-" + std::to_string(n), ValidationCode::kValid, RwSet{{ns}}};
    Status s = ledger.Commit(b, {tx});
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    prev = b.header.ComputeHash();
    envelopes.push_back(b.envelopes[0]);
  }
  return envelopes;
}

// Where a damaged block must be named: the channel and the number, unless LevelDB's own checksum
// caught the flip first (then a message about corruption or a checksum is enough).
void CheckNamesDamage(const std::string& message, const std::string& channel, std::uint64_t number,
                      const Flips& flips) {
  CAPTURE(message);
  const bool names_block = Contains(message, channel) && NamesNumber(message, number);
  if (flips.all_behind_leveldb_checksums) {
    CHECK(names_block);
  } else {
    CHECK((names_block || MentionsCorruption(message)));
  }
}

TEST_CASE("a flipped byte in a stored block makes open and `entente ledger verify` fail with a clear message") {
  TempDir tmp;
  const std::string dir = tmp.Join("ledger");
  std::mt19937 rng(20240601);
  constexpr std::uint64_t kBlocks = 14;
  std::vector<Bytes> envelopes;
  Hash last_data_hash{};
  {
    auto opened = Ledger::Open(dir);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    envelopes = CommitMarked(**opened, "chainA", kBlocks, rng);
    CommitMarked(**opened, "chainB", 3, rng);
    auto last = (*opened)->GetBlock("chainA", kBlocks - 1);
    REQUIRE(last.ok());
    last_data_hash = last->header.data_hash;
  }
  // Nothing reopens the ledger before the flip: its last writes are still in LevelDB's log, where the
  // test can keep LevelDB's record checksums valid so that the ledger's own checks must find the damage.

  SUBCASE("an envelope of a block inside the chain") {
    constexpr std::uint64_t kDamaged = 11;
    const std::string b64 = Base64Encode(envelopes[kDamaged]);
    Flips flips = FlipEverywhere(dir, b64.substr(24, 40));
    if (flips.count == 0) flips = FlipEverywhere(dir, ToString(envelopes[kDamaged]).substr(24, 30));
    REQUIRE_MESSAGE(flips.count > 0, "the envelope of block 11 was not found in the ledger's files");

    auto opened = Ledger::Open(dir);
    std::string message;
    if (!opened.ok()) {
      CHECK(opened.status().IsCorruption());
      message = opened.status().message();
    } else {
      Status s = (*opened)->VerifyChain("chainA");
      REQUIRE_FALSE(s.ok());
      CHECK(s.IsCorruption());
      message = s.message();
      CHECK((*opened)->VerifyChain("chainB").ok());
      CHECK_FALSE((*opened)->GetBlock("chainA", kDamaged).ok());
    }
    CheckNamesDamage(message, "chainA", kDamaged, flips);
    opened = Status::Internal("closed");

    CommandResult cli = RunEntente({"ledger", "verify", "--data", dir});
    CAPTURE(cli.output);
    CHECK(cli.exit_code != 0);
    CheckNamesDamage(cli.output, "chainA", kDamaged, flips);
  }

  SUBCASE("an envelope in a table file, behind LevelDB's block checksums") {
    // Opening the ledger once moves its log into a table file; a flip there is caught by LevelDB's
    // checksum or by the ledger, and either way nothing may read the block as if it were intact.
    {
      auto reopened = Ledger::Open(dir);
      REQUIRE_MESSAGE(reopened.ok(), reopened.status().ToString());
    }
    constexpr std::uint64_t kDamaged = 6;
    const std::string b64 = Base64Encode(envelopes[kDamaged]);
    Flips flips = FlipEverywhere(dir, b64.substr(24, 40));
    if (flips.count == 0) flips = FlipEverywhere(dir, ToString(envelopes[kDamaged]).substr(24, 30));
    REQUIRE_MESSAGE(flips.count > 0, "the envelope of block 6 was not found in the ledger's files");

    auto opened = Ledger::Open(dir);
    std::string message;
    if (!opened.ok()) {
      message = opened.status().message();
    } else {
      Status s = (*opened)->VerifyChain("chainA");
      REQUIRE_FALSE(s.ok());
      message = s.message();
      CHECK_FALSE((*opened)->GetBlock("chainA", kDamaged).ok());
    }
    CheckNamesDamage(message, "chainA", kDamaged, flips);
    opened = Status::Internal("closed");

    CommandResult cli = RunEntente({"ledger", "verify", "--data", dir});
    CAPTURE(cli.output);
    CHECK(cli.exit_code != 0);
    CheckNamesDamage(cli.output, "chainA", kDamaged, flips);
  }

  SUBCASE("the header of the last block") {
    const std::uint64_t damaged = kBlocks - 1;
    const std::string hex = HexEncode(last_data_hash);
    Flips flips = FlipEverywhere(dir, hex.substr(8, 48));
    REQUIRE_MESSAGE(flips.count > 0, "the data_hash of the last block was not found in the ledger's files");

    auto opened = Ledger::Open(dir);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().IsCorruption());
    CheckNamesDamage(opened.status().message(), "chainA", damaged, flips);

    CommandResult cli = RunEntente({"ledger", "verify", "--data", dir});
    CAPTURE(cli.output);
    CHECK(cli.exit_code != 0);
    CheckNamesDamage(cli.output, "chainA", damaged, flips);
  }
}

TEST_CASE("`entente ledger verify` prints each channel's height and last block hash, and `dump` a block as JSON") {
  TempDir tmp;
  const std::string dir = tmp.Join("ledger");
  std::mt19937 rng(7);
  Hash last_a{};
  Hash last_b{};
  {
    auto opened = Ledger::Open(dir);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    CommitMarked(**opened, "chainA", 5, rng);
    CommitMarked(**opened, "chainB", 2, rng);
    last_a = (*opened)->GetSavepoint("chainA").last_hash;
    last_b = (*opened)->GetSavepoint("chainB").last_hash;
  }

  CommandResult verify = RunEntente({"ledger", "verify", "--data", dir});
  CAPTURE(verify.output);
  CHECK(verify.exit_code == 0);
  std::istringstream lines(verify.output);
  std::string line;
  bool saw_a = false;
  bool saw_b = false;
  while (std::getline(lines, line)) {
    if (Contains(line, "chainA")) {
      saw_a = true;
      CHECK(Contains(line, "height 5"));
      CHECK(Contains(line, HexEncode(last_a)));
    }
    if (Contains(line, "chainB")) {
      saw_b = true;
      CHECK(Contains(line, "height 2"));
      CHECK(Contains(line, HexEncode(last_b)));
    }
  }
  CHECK(saw_a);
  CHECK(saw_b);

  CommandResult dump = RunEntente({"ledger", "dump", "--data", dir, "--channel", "chainA", "--block", "3"});
  CAPTURE(dump.output);
  REQUIRE(dump.exit_code == 0);
  const std::size_t open = dump.output.find('{');
  const std::size_t close = dump.output.rfind('}');
  REQUIRE(open != std::string::npos);
  REQUIRE(close != std::string::npos);
  Json j = Json::parse(dump.output.substr(open, close - open + 1), nullptr, /*allow_exceptions=*/false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j.contains("header"));
  CHECK(j["header"]["number"] == 3);
  CHECK(j["header"]["channel"] == "chainA");

  CommandResult beyond = RunEntente({"ledger", "dump", "--data", dir, "--channel", "chainA", "--block", "5"});
  CHECK(beyond.exit_code != 0);
  CommandResult unknown = RunEntente({"ledger", "dump", "--data", dir, "--channel", "nochain", "--block", "0"});
  CHECK(unknown.exit_code != 0);
}

TEST_CASE("`entente ledger verify` and `dump` on an empty directory say there is no ledger and create none") {
  TempDir tmp;
  const std::string dir = tmp.Join("empty");
  std::filesystem::create_directories(dir);
  auto entries = [&] {
    std::string names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names += e.path().filename().string() + " ";
    return names;
  };

  CommandResult verify = RunEntente({"ledger", "verify", "--data", dir});
  CAPTURE(verify.output);
  CHECK(verify.exit_code != 0);
  CHECK(Contains(Lower(verify.output), "no ledger"));
  CHECK_MESSAGE(entries().empty(), "created: " << entries());

  CommandResult dump = RunEntente({"ledger", "dump", "--data", dir, "--channel", "chainA", "--block", "0"});
  CAPTURE(dump.output);
  CHECK(dump.exit_code != 0);
  CHECK(Contains(Lower(dump.output), "no ledger"));
  CHECK_MESSAGE(entries().empty(), "created: " << entries());

  // A directory that does not exist is not created either.
  CommandResult missing = RunEntente({"ledger", "verify", "--data", tmp.Join("missing")});
  CHECK(missing.exit_code != 0);
  CHECK_FALSE(std::filesystem::exists(tmp.Join("missing")));
}

}  // namespace
}  // namespace entente::ledger
