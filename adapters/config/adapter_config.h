// Adapters from configuration: the `adapters:` list of relay.yaml and node.yaml, one adapter per member
// chain without Entente nodes (DESIGN.md §8, docs/adapters.md). The relay delivers committed writes
// through them; nodes read those chains through them during simulation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "runtime/common/config.h"

namespace entente::adapters {

// The adapters of an `adapters:` list:
//   - {chain: NAME, type: ethereum, endpoint: "http://host:port", bridge: "0x<contract>",
//      from: "0x<unlocked account>" | key_file: FILE (64 hex digits: raw signed transactions), gas: N}
//   - {chain: NAME, type: rest, endpoint: "https://host:port", mapping: FILE, cert: FILE, key: FILE,
//      ca: [FILE, ...]}
// `path` is the config file (relative paths resolve against its folder). Errors name the entry: an
// unknown key or type, a second adapter for a chain, or options the adapter refuses.
Result<std::vector<std::shared_ptr<ChainAdapter>>> LoadAdapters(const ConfigNode& list, const std::string& path);

}  // namespace entente::adapters
