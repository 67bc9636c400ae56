// The etcd client (runtime/etcd) against a real cluster of three members on loopback: idempotent
// appends, ranges, deletes and compaction, leases, watches, and members that crash or freeze.
#include "runtime/etcd/etcd.h"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include "tests/integration/etcd_fixture.h"
#include "tests/support/must.h"

namespace entente::testing {
namespace {

std::unique_ptr<etcd::Client> ClientOf(const EtcdCluster& cluster, std::chrono::milliseconds timeout) {
  etcd::ClientOptions options;
  options.endpoints = cluster.endpoints();
  options.cert_file = cluster.client_cert_file();
  options.key_file = cluster.client_key_file();
  options.ca_files = {cluster.ca_file()};
  options.timeout = timeout;
  return Must(etcd::Client::Create(std::move(options)));
}

EtcdCluster& Cluster() {
  static EtcdCluster cluster(3);
  return cluster;
}

TEST_CASE("PutIfAbsent writes a key once: the same append again writes nothing and says so") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  auto first = Must(client->PutIfAbsent("log/r1/0001", AsBytes("batch one")));
  REQUIRE(first.has_value());
  CHECK(*first > 0);
  CHECK_FALSE(Must(client->PutIfAbsent("log/r1/0001", AsBytes("batch one, retried"))).has_value());
  etcd::RangeResult read = Must(client->Range({"log/r1/0001"}));
  REQUIRE(read.kvs.size() == 1);
  CHECK(ToString(read.kvs[0].value) == "batch one");
  CHECK(read.kvs[0].create_revision == *first);
  CHECK(read.revision >= *first);
}

TEST_CASE("Range reads a prefix in key order, bytes intact, cut by a limit, and from a revision on") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  const std::string binary("\x00\xff\x80 bytes", 9);
  std::int64_t before = Must(client->Put("range/b", AsBytes(binary)));
  Must(client->Put("range/a", AsBytes("A")));
  Must(client->Put("range/c", AsBytes("C")));
  Must(client->Put("rangeX", AsBytes("outside the prefix")));
  etcd::RangeResult all = Must(client->Range({"range/", etcd::PrefixEnd("range/")}));
  REQUIRE(all.kvs.size() == 3);
  CHECK(all.kvs[0].key == "range/a");
  CHECK(all.kvs[1].key == "range/b");
  CHECK(ToString(all.kvs[1].value) == binary);
  CHECK(all.kvs[2].key == "range/c");
  etcd::RangeResult two = Must(client->Range({"range/", etcd::PrefixEnd("range/"), 2}));
  CHECK(two.kvs.size() == 2);
  CHECK(two.more);
  CHECK(two.count == 3);
  etcd::RangeResult later = Must(client->Range({"range/", etcd::PrefixEnd("range/"), 0, 0, before + 1}));
  REQUIRE(later.kvs.size() == 2);
  CHECK(later.kvs[0].key == "range/a");
}

TEST_CASE("DeleteRange removes a prefix, and Compact discards the history before a revision") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  std::int64_t old = Must(client->Put("gone/1", AsBytes("1")));
  std::int64_t now = Must(client->Put("gone/2", AsBytes("2")));
  CHECK(Must(client->DeleteRange("gone/", etcd::PrefixEnd("gone/"))) == 2);
  CHECK(Must(client->Range({"gone/", etcd::PrefixEnd("gone/")})).kvs.empty());
  MustOk(client->Compact(now));
  auto compacted = client->Range({"gone/", etcd::PrefixEnd("gone/"), 0, old});
  CHECK_FALSE(compacted.ok());
  CHECK(compacted.status().message().find("compacted") != std::string::npos);
}

TEST_CASE("A lease lives while kept alive; once revoked it is gone") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  std::int64_t lease = Must(client->GrantLease(10));
  MustOk(client->KeepAlive(lease));
  Must(client->Put("leased/holder", AsBytes("relay1"), lease));
  MustOk(client->RevokeLease(lease));
  CHECK(client->KeepAlive(lease).code() == StatusCode::kNotFound);
  CHECK(Must(client->Range({"leased/holder"})).kvs.empty());
}

TEST_CASE("Watch hands over every change of a prefix from a revision on, in order, and where to go on from") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  const etcd::RangeRequest prefix{"watched/", etcd::PrefixEnd("watched/")};
  std::int64_t from = Must(client->Put("watched/0", AsBytes("zero"))) + 1;
  Must(client->Put("watched/1", AsBytes("one")));
  Must(client->Put("watched/2", AsBytes("two")));
  std::int64_t deleted = Must(client->DeleteRange("watched/1")) > 0 ? 1 : 0;
  REQUIRE(deleted == 1);
  std::vector<etcd::WatchEvent> seen;
  auto collect = [&](std::size_t want) {
    return [&seen, want](const std::vector<etcd::WatchEvent>& events) {
      seen.insert(seen.end(), events.begin(), events.end());
      return seen.size() < want;
    };
  };
  std::int64_t next = Must(client->Watch(prefix, from, collect(3), std::chrono::seconds(10)));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].kv.key == "watched/1");
  CHECK(ToString(seen[0].kv.value) == "one");
  CHECK(seen[1].kv.key == "watched/2");
  CHECK(seen[2].type == etcd::WatchEvent::Type::kDelete);
  CHECK(seen[2].kv.key == "watched/1");
  CHECK(next == seen[2].kv.mod_revision + 1);

  // A change made while the watch runs arrives as it happens.
  seen.clear();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Must(ClientOf(Cluster(), std::chrono::seconds(5))->Put("watched/3", AsBytes("three")));
  });
  auto start = std::chrono::steady_clock::now();
  std::int64_t after = Must(client->Watch(prefix, next, collect(1), std::chrono::seconds(10)));
  writer.join();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kv.key == "watched/3");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  // Nothing more: the watch ends with its duration, to go on from the same revision.
  CHECK(Must(client->Watch(prefix, after, collect(100), std::chrono::milliseconds(300))) == after);
}

TEST_CASE("Watch from a revision compacted away is refused, saying so") {
  auto client = ClientOf(Cluster(), std::chrono::seconds(5));
  std::int64_t old = Must(client->Put("compacted/a", AsBytes("1")));
  std::int64_t now = Must(client->Put("compacted/a", AsBytes("2")));
  MustOk(client->Compact(now));
  auto refused = client->Watch({"compacted/", etcd::PrefixEnd("compacted/")}, old,
                               [](const std::vector<etcd::WatchEvent>&) { return true; }, std::chrono::seconds(5));
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("compacted") != std::string::npos);
}

TEST_CASE("A watch whose member dies goes on at the next member and hands over each change once") {
  EtcdCluster own(3);
  auto writer = ClientOf(own, std::chrono::seconds(2));
  std::int64_t from = 0;
  for (int i = 0; i < 5; ++i) {
    std::int64_t revision = Must(writer->Put("once/" + std::to_string(i), AsBytes("x")));
    if (from == 0) from = revision;
  }
  auto watcher = ClientOf(own, std::chrono::seconds(2));  // its calls go to member 0 first
  std::vector<std::string> seen;
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    own.Signal(0, SIGKILL);
    for (int i = 5; i < 10; ++i) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!writer->Put("once/" + std::to_string(i), AsBytes("x")).ok() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  auto watched = watcher->Watch({"once/", etcd::PrefixEnd("once/")}, from,
                                [&](const std::vector<etcd::WatchEvent>& events) {
                                  for (const etcd::WatchEvent& e : events) seen.push_back(e.kv.key);
                                  return seen.size() < 10;
                                },
                                std::chrono::seconds(30));
  later.join();
  CHECK(watched.ok());
  std::set<std::string> distinct(seen.begin(), seen.end());
  CHECK(seen.size() == 10);
  CHECK(distinct.size() == seen.size());
  CHECK(distinct.count("once/9") == 1);
}

TEST_CASE("With one member of three killed the client goes on; with two frozen it answers Unavailable, and after SIGCONT goes on") {
  EtcdCluster& cluster = Cluster();
  auto client = ClientOf(cluster, std::chrono::seconds(2));
  Must(client->Put("faults/before", AsBytes("1")));
  cluster.Signal(0, SIGKILL);
  // Killing the leader costs an election (2-4 s here); the client answers Unavailable until a leader
  // exists again, and then goes on with two members of three.
  auto start = std::chrono::steady_clock::now();
  Status during = Status::Unavailable("not tried");
  while (!during.ok() && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    auto put = client->PutIfAbsent("faults/one-down", AsBytes("2"));
    during = put.status();
    if (!during.ok()) REQUIRE_MESSAGE(during.code() == StatusCode::kUnavailable, during.ToString());
  }
  REQUIRE_MESSAGE(during.ok(), during.ToString());
  auto one_down = Must(client->Range({"faults/one-down"}));
  REQUIRE(one_down.kvs.size() == 1);
  CHECK(ToString(one_down.kvs[0].value) == "2");

  cluster.Signal(1, SIGSTOP);
  auto no_quorum = client->Put("faults/no-quorum", AsBytes("3"));
  CHECK(no_quorum.status().code() == StatusCode::kUnavailable);
  CHECK(no_quorum.status().message().find("no etcd member answered") != std::string::npos);
  cluster.Signal(1, SIGCONT);
  cluster.Start(0);
  std::optional<std::int64_t> written;
  for (int i = 0; i < 50 && !written; ++i) {
    auto again = client->PutIfAbsent("faults/after", AsBytes("4"));
    if (again.ok()) written = again->value_or(0);
    if (!written) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(written.has_value());
  CHECK(Must(client->Range({"faults/", etcd::PrefixEnd("faults/")})).kvs.size() >= 3);
}

}  // namespace
}  // namespace entente::testing
