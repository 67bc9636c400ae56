// etcd for tests (Debian's etcd-server: $ETCD_BINARY, else /usr/bin/etcd): a cluster of members on
// loopback with free ports (heartbeat 200 ms, election timeout 2 s) and their data in a temporary
// directory, serving clients over TLS with a server certificate for 127.0.0.1 and requiring client
// certificates, both from a CA made here; peers talk plain HTTP on loopback. EtcdServer is a cluster of
// one. Members still running are killed on destruction. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/common/json.h"
#include "runtime/http/http.h"
#include "tests/support/support.h"

namespace entente::testing {

class EtcdCluster {
 public:
  // Makes the CA and the certificates, picks the ports and starts `members` members; REQUIREs that
  // each answers /health within 30 s.
  // `flags` go to every member's command line after the cluster's own (e.g. a quota).
  explicit EtcdCluster(int members, std::vector<std::string> flags = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts member `i` again on its ports and data; REQUIREs that it answers /health within 30 s.
  void Start(int i);
  // Sends `signal` to member `i` (SIGKILL as a crash, SIGSTOP/SIGCONT to freeze it); waits for it to
  // end for SIGKILL and SIGTERM.
  void Signal(int i, int signal);

  int size() const { return static_cast<int>(members_.size()); }
  // The index of the member that leads now, by each running member's own status; REQUIREs one.
  int Leader() const;
  // "https://127.0.0.1:<client port>" of member `i`.
  std::string endpoint(int i) const;
  std::vector<std::string> endpoints() const;
  std::uint16_t client_port(int i) const { return members_.at(i).client_port; }
  std::string ca_file() const { return dir_.Join("ca/ca.pem"); }
  std::string client_cert_file() const { return dir_.Join("client-cert.pem"); }
  std::string client_key_file() const { return dir_.Join("client-key.pem"); }
  // A scratch directory removed with the cluster.
  const TempDir& dir() const { return dir_; }
  std::string Log(int i) const;

  // POSTs `body` to member 0's gateway at `path` with the client certificate; REQUIREs a 200 JSON answer.
  Json Call(const std::string& path, const Json& body);

 private:
  struct Member {
    std::string name;
    std::uint16_t client_port = 0;
    std::uint16_t peer_port = 0;
    int starts = 0;  // numbers the log files
    std::unique_ptr<Process> process;
  };
  // Launches member `i` with the cluster's configuration; `state` is "new" or "existing".
  void Launch(int i, const std::string& state);
  // REQUIREs that member `i` answers /health within 30 s.
  void AwaitHealthy(int i);

  TempDir dir_;
  std::vector<std::string> flags_;
  std::vector<Member> members_;
  std::unique_ptr<http::Client> client_;
};

// One etcd member, for adapter tests.
class EtcdServer {
 public:
  EtcdServer() : cluster_(1) {}

  void Start() { cluster_.Start(0); }
  void Kill();  // SIGKILL, as a crash would
  void Stop();  // SIGTERM, and waits

  std::string endpoint() const { return cluster_.endpoint(0); }
  std::uint16_t client_port() const { return cluster_.client_port(0); }
  std::string ca_file() const { return cluster_.ca_file(); }
  std::string client_cert_file() const { return cluster_.client_cert_file(); }
  std::string client_key_file() const { return cluster_.client_key_file(); }
  const TempDir& dir() const { return cluster_.dir(); }
  std::string Log() const { return cluster_.Log(0); }

  Json Call(const std::string& path, const Json& body) { return cluster_.Call(path, body); }
  // The mod_revision of `stored_key` read directly from etcd, 0 when it does not exist.
  std::uint64_t ModRevision(const std::string& stored_key);

 private:
  EtcdCluster cluster_;
};

}  // namespace entente::testing
