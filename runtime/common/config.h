// ConfigNode is a read-only view of a YAML configuration file (yaml-cpp underneath) whose every
// error names the file, the line and the key path: "node.yaml:7: key 'listen.port': expected an
// integer, got 'http'". Cheap to copy; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/common/status.h"

namespace entente {

// The bounds of a service (relay.yaml, node.yaml); past each, a request gets 503 with Retry-After.
struct ServiceBounds {
  std::size_t max_waits = 1024;            // requests waiting for blocks at once (long-polls, event streams)
  std::size_t max_waits_per_member = 512;  // of those, from one member chain
  std::size_t max_connections = 4096;      // open connections; above max_waits, so waits alone cannot fill it
  std::size_t max_requests = 256;          // requests running or queued for a handler thread
};

class ConfigNode {
 public:
  // Returns NotFound for a missing file, InvalidArgument "file:line: ..." for a YAML syntax error.
  static Result<ConfigNode> LoadFile(const std::string& path);
  // Parses YAML text; `source_name` stands for the file name in messages.
  static Result<ConfigNode> Parse(std::string_view text, std::string source_name);

  bool Has(std::string_view key) const;
  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;

  // Returns the child under `key`; InvalidArgument "missing key ..." when absent.
  Result<ConfigNode> Child(std::string_view key) const;
  // Returns the elements of a sequence; InvalidArgument when this is not a sequence.
  Result<std::vector<ConfigNode>> Elements() const;
  // Returns the plain (scalar) keys of a map in file order; empty for a non-map.
  std::vector<std::string> Keys() const;

  // Scalar conversions of this node, InvalidArgument on a type mismatch.
  Result<std::string> AsString() const;
  Result<std::int64_t> AsInt() const;
  Result<double> AsDouble() const;
  Result<bool> AsBool() const;

  // Required children by key.
  Result<std::string> GetString(std::string_view key) const;
  Result<std::int64_t> GetInt(std::string_view key) const;
  Result<double> GetDouble(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<std::vector<std::string>> GetStringList(std::string_view key) const;

  // Optional children: the fallback when absent, an error when present but mistyped.
  Result<std::string> GetString(std::string_view key, std::string fallback) const;
  Result<std::int64_t> GetInt(std::string_view key, std::int64_t fallback) const;
  Result<double> GetDouble(std::string_view key, double fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;

  // Reads the optional `listen: {address, port}` child of this map into `address` and `port`, which
  // keep their values when it is absent. InvalidArgument for another key or a port outside 0-65535.
  Status GetListen(std::string& address, std::uint16_t& port) const;
  // Reads max_waits, max_waits_per_member, max_connections and max_requests of this map into `bounds`
  // where present; InvalidArgument for one that is not positive.
  Status GetServiceBounds(ServiceBounds& bounds) const;

  // Returns InvalidArgument naming the first key of this map that is not in `allowed` (typos in an
  // operator's file should not be silently ignored).
  Status CheckKeys(std::initializer_list<std::string_view> allowed) const;

  // Returns an InvalidArgument status "file:line: key 'path': message" located at this node.
  Status Error(std::string_view message) const;

  // "file:line" of this node, and its dotted key path ("" at the root).
  std::string Location() const;
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  ConfigNode(std::shared_ptr<const Impl> impl, std::string path);

  std::shared_ptr<const Impl> impl_;
  std::string path_;
};

}  // namespace entente
