// An etcd server for adapter tests (Debian's etcd-server: $ETCD_BINARY, else /usr/bin/etcd): one member
// on loopback with free ports and its data in a temporary directory, serving clients over TLS with a
// server certificate for 127.0.0.1 and requiring client certificates, both from a CA made here. Killed
// if still running on destruction. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/common/json.h"
#include "runtime/http/http.h"
#include "tests/support/support.h"

namespace entente::testing {

class EtcdServer {
 public:
  // Makes the CA and the certificates, picks the ports and starts etcd (see Start).
  EtcdServer();
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Starts etcd on the same ports and data directory; REQUIREs that it answers /health over TLS with
  // the client certificate within 30 s.
  void Start();
  // Kills etcd with SIGKILL, as a crash would.
  void Kill();
  // Stops etcd with SIGTERM and waits for it.
  void Stop();

  // "https://127.0.0.1:<client port>".
  std::string endpoint() const;
  std::uint16_t client_port() const { return client_port_; }
  std::string ca_file() const { return dir_.Join("ca/ca.pem"); }
  std::string client_cert_file() const { return dir_.Join("client-cert.pem"); }
  std::string client_key_file() const { return dir_.Join("client-key.pem"); }
  // A scratch directory removed with the server.
  const TempDir& dir() const { return dir_; }
  std::string Log() const;

  // POSTs `body` to the gateway at `path` with the client certificate; REQUIREs a 200 JSON answer.
  Json Call(const std::string& path, const Json& body);
  // The mod_revision of `stored_key` read directly from etcd, 0 when it does not exist.
  std::uint64_t ModRevision(const std::string& stored_key);

 private:
  TempDir dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  int starts_ = 0;  // numbers the log files
  std::unique_ptr<Process> process_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace entente::testing
