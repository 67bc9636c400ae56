// The replicated relays' ordered log on etcd (runtime/relay/internal/batch_log): idempotent appends,
// one order for every reader, batch limits, and hostile values decoded alike by everyone.
#include "runtime/relay/internal/batch_log.h"

#include <doctest/doctest.h>

#include <thread>

#include "tests/integration/etcd_fixture.h"
#include "tests/support/must.h"

namespace entente::relay::internal {
namespace {

using testing::EtcdCluster;

EtcdCluster& Etcd() {
  static EtcdCluster cluster(1);
  return cluster;
}

std::unique_ptr<etcd::Client> ClientOf(const EtcdCluster& cluster) {
  etcd::ClientOptions options;
  options.endpoints = cluster.endpoints();
  options.cert_file = cluster.client_cert_file();
  options.key_file = cluster.client_key_file();
  options.ca_files = {cluster.ca_file()};
  return testing::Must(etcd::Client::Create(std::move(options)));
}

std::vector<Bytes> Envelopes(const std::string& tag, int n) {
  std::vector<Bytes> out;
  for (int i = 0; i < n; ++i) out.push_back(ToBytes(tag + "-" + std::to_string(i)));
  return out;
}

// Every batch under `prefix` from `revision` on, until `count` arrived or 5 s passed.
std::vector<Batch> ReadAll(etcd::Client& client, const std::string& prefix, std::int64_t revision, std::size_t count) {
  BatchLog reader(client, prefix, "reader");
  std::vector<Batch> seen;
  testing::MustOk(reader
                      .Read(revision, [&](const Batch& b) {
                        seen.push_back(b);
                        return seen.size() < count;
                      }, std::chrono::seconds(5))
                      .status());
  return seen;
}

TEST_CASE("Batches of two relays are read in one order by every reader; a retried append writes nothing, and a key another wrote is refused") {
  auto client = ClientOf(Etcd());
  BatchLog r1(*client, "/order", "r1");
  BatchLog r2(*client, "/order", "r2");
  auto first = testing::Must(r1.Append(0, Envelopes("a", 2), false, 1000));
  REQUIRE(first.has_value());
  REQUIRE(testing::Must(r2.Append(0, Envelopes("b", 1), true, 1001)).has_value());
  REQUIRE(testing::Must(r1.Append(1, Envelopes("c", 3), false, 1002)).has_value());
  // The answer to the first append was lost; the retry finds it written where it was.
  CHECK(testing::Must(r1.Append(0, Envelopes("a", 2), false, 1000)) == first);
  // Someone else wrote r2's next key first: r2's append there is refused, and it takes the next one.
  testing::Must(client->PutIfAbsent(r2.KeyOf("r2", 1), testing::Must(EncodeBatch(Envelopes("forged", 1), false, 1))));
  CHECK_FALSE(testing::Must(r2.Append(1, Envelopes("d", 1), false, 1003)).has_value());

  std::vector<Batch> one = ReadAll(*client, "/order", *first, 3);
  std::vector<Batch> two = ReadAll(*client, "/order", *first, 3);
  REQUIRE(one.size() == 3);
  REQUIRE(two.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(one[i].relay == two[i].relay);
    CHECK(one[i].seq == two[i].seq);
    CHECK(one[i].revision == two[i].revision);
    CHECK(one[i].envelopes == two[i].envelopes);
  }
  CHECK(one[0].relay == "r1");
  CHECK(one[0].envelopes == Envelopes("a", 2));
  CHECK(one[0].time_ms == 1000);
  CHECK(one[1].relay == "r2");
  CHECK(one[1].cut_after);
  CHECK(one[2].seq == 1);
  CHECK(one[0].revision < one[1].revision);
  CHECK(one[1].revision < one[2].revision);
  CHECK(testing::Must(r1.NextSeq()) == 2);
  CHECK(testing::Must(r2.NextSeq()) == 2);
  CHECK(testing::Must(BatchLog(*client, "/order", "r3").NextSeq()) == 0);
}

TEST_CASE("A reader goes on where it stopped, and sees a batch appended while it reads") {
  auto client = ClientOf(Etcd());
  BatchLog relay(*client, "/live", "r1");
  std::int64_t start = *testing::Must(relay.Append(0, Envelopes("x", 1), false, 1));
  std::vector<Batch> seen;
  std::int64_t next = testing::Must(relay.Read(start, [&](const Batch& b) {
    seen.push_back(b);
    return false;
  }, std::chrono::seconds(5)));
  REQUIRE(seen.size() == 1);
  CHECK(next == seen[0].revision + 1);
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto other = ClientOf(Etcd());
    testing::MustOk(BatchLog(*other, "/live", "r2").Append(0, Envelopes("y", 1), false, 2).status());
  });
  seen.clear();
  testing::Must(relay.Read(next, [&](const Batch& b) {
    seen.push_back(b);
    return false;
  }, std::chrono::seconds(5)));
  appender.join();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].relay == "r2");
}

TEST_CASE("A batch past 256 KiB is refused before anything is written") {
  auto client = ClientOf(Etcd());
  BatchLog relay(*client, "/big", "r1");
  std::vector<Bytes> big{Bytes(kMaxBatchBytes, 'x')};
  auto refused = relay.Append(0, big, false, 1);
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(testing::Must(relay.NextSeq()) == 0);
}

TEST_CASE("Hostile batch values decode alike at every reader: a reason and no envelopes, never a crash") {
  auto client = ClientOf(Etcd());
  Bytes good = testing::Must(EncodeBatch(Envelopes("ok", 2), true, 7));
  std::vector<std::pair<std::string, Bytes>> hostile{
      {"empty", {}},
      {"no magic", ToBytes("XXXX not a batch at all")},
      {"bad flag", [&] { Bytes b = good; b[4] = 9; return b; }()},
      {"length past the end", [&] { Bytes b = good; b[17] = 0x7f; return b; }()},
      {"count past the end", [&] { Bytes b = good; b[16] = 3; return b; }()},
      {"trailing bytes", [&] { Bytes b = good; b.push_back(0); return b; }()},
  };
  std::int64_t from = 0;
  std::uint64_t seq = 0;
  for (const auto& [name, value] : hostile) {
    std::int64_t at = *testing::Must(client->PutIfAbsent(BatchLog(*client, "/hostile", "evil").KeyOf("evil", seq++), value));
    if (from == 0) from = at;
  }
  // A rewrite of a batch is no batch: it is skipped.
  testing::Must(client->Put(BatchLog(*client, "/hostile", "evil").KeyOf("evil", 0), good));
  std::vector<Batch> one = ReadAll(*client, "/hostile", from, hostile.size());
  std::vector<Batch> two = ReadAll(*client, "/hostile", from, hostile.size());
  REQUIRE(one.size() == hostile.size());
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    CAPTURE(hostile[i].first);
    CHECK_FALSE(one[i].malformed.empty());
    CHECK(one[i].envelopes.empty());
    CHECK(one[i].malformed == two[i].malformed);
  }
  Batch decoded;
  DecodeBatch(good, decoded);
  CHECK(decoded.malformed.empty());
  CHECK(decoded.envelopes == Envelopes("ok", 2));
  CHECK(decoded.cut_after);
  CHECK(decoded.time_ms == 7);
}

}  // namespace
}  // namespace entente::relay::internal
