#include <cstring>

#include "runtime/crypto/crypto.h"
#include "runtime/ledger/ledger.h"

namespace entente::ledger {
namespace {

Json HeaderJson(const BlockHeader& h) {
  return Json{{"channel", h.channel},
              {"number", h.number},
              {"prev_hash", HexEncode(h.prev_hash)},
              {"data_hash", HexEncode(h.data_hash)}};
}

Result<Hash> ParseHash(const Json& j, const char* field) {
  ENTENTE_ASSIGN_OR_RETURN(std::string hex, JsonString(j, field));
  auto bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != 32) {
    return Status::InvalidArgument(std::string("field '") + field + "' is not a 32-byte hex hash");
  }
  Hash h;
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

Hash Sha256Of(const std::string& text) { return crypto::Sha256(AsBytes(text)); }

// Adds where the block stands in a replicated log to `j`, when it does.
void AddLogPlace(const BlockMetadata& m, Json& j) {
  if (m.log_position != 0) j["log_position"] = m.log_position;
  if (m.resume_revision != 0) j["resume_revision"] = m.resume_revision;
}

}  // namespace

Hash BlockHeader::ComputeHash() const { return Sha256Of(DumpJson(HeaderJson(*this))); }

Hash Block::ComputeDataHash() const { return DataHashOf(EnvelopeHashes()); }

std::vector<Hash> Block::EnvelopeHashes() const {
  std::vector<Hash> hashes;
  hashes.reserve(envelopes.size());
  for (const Bytes& e : envelopes) hashes.push_back(crypto::Sha256(e));
  return hashes;
}

Hash Block::DataHashOf(const std::vector<Hash>& envelope_hashes) {
  std::string concatenated;
  concatenated.reserve(envelope_hashes.size() * 32);
  for (const Hash& h : envelope_hashes) concatenated.append(h.begin(), h.end());
  return Sha256Of(concatenated);
}

Bytes Block::SignedMetadataBytes() const {
  Json codes = Json::array();
  for (ValidationCode c : metadata.validation_codes) codes.push_back(static_cast<int>(c));
  Json j{{"header_hash", HexEncode(header.ComputeHash())},
         {"validation_codes", codes},
         {"timestamp_ms", metadata.timestamp_ms},
         {"alliance_height", metadata.alliance_height}};
  AddLogPlace(metadata, j);
  return ToBytes(DumpJson(j));
}

// Stored form: "ENTB" version(1), then length-prefixed (u32 big-endian) header JSON, metadata JSON,
// and each envelope's raw bytes. Binary framing keeps envelopes as they are (no base64, no escaping).
namespace {

constexpr std::string_view kBlockMagic = "ENTB\x01";

// Writes `n` big-endian at `out` and returns the position after it.
std::uint8_t* PutUint32(std::uint8_t* out, std::uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) *out++ = static_cast<std::uint8_t>((n >> shift) & 0xff);
  return out;
}

// Writes `data` with its length prefix at `out` and returns the position after it.
std::uint8_t* PutFramed(std::uint8_t* out, ByteView data) {
  out = PutUint32(out, static_cast<std::uint32_t>(data.size()));
  if (!data.empty()) std::memcpy(out, data.data(), data.size());
  return out + data.size();
}

Result<ByteView> ReadFramed(ByteView& in, const char* what) {
  if (in.size() < 4) return Status::InvalidArgument(std::string("block: truncated before ") + what);
  std::uint32_t n = (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
  if (in.size() - 4 < n) return Status::InvalidArgument(std::string("block: truncated ") + what);
  ByteView out = in.subspan(4, n);
  in = in.subspan(4 + n);
  return out;
}

Json MetadataJson(const BlockMetadata& m) {
  Json codes = Json::array();
  for (ValidationCode c : m.validation_codes) codes.push_back(static_cast<int>(c));
  Json j{{"validation_codes", codes},
         {"timestamp_ms", m.timestamp_ms},
         {"alliance_height", m.alliance_height},
         {"relay_signature", Base64Encode(m.relay_signature)}};
  if (!m.certificate.empty()) {
    Json certificate = Json::object();
    for (const auto& [relay, signature] : m.certificate) certificate[relay] = Base64Encode(signature);
    j["certificate"] = std::move(certificate);
  }
  AddLogPlace(m, j);
  return j;
}

Result<BlockHeader> ParseHeader(const Json& h) {
  BlockHeader header;
  ENTENTE_ASSIGN_OR_RETURN(header.channel, JsonString(h, "channel"));
  if (!h.contains("number") || !h["number"].is_number_unsigned()) {
    return Status::InvalidArgument("block: header.number must be an unsigned integer");
  }
  header.number = h["number"].get<std::uint64_t>();
  ENTENTE_ASSIGN_OR_RETURN(header.prev_hash, ParseHash(h, "prev_hash"));
  ENTENTE_ASSIGN_OR_RETURN(header.data_hash, ParseHash(h, "data_hash"));
  return header;
}

Result<BlockMetadata> ParseMetadata(const Json& m) {
  BlockMetadata metadata;
  if (!m.is_object() || !m.contains("validation_codes") || !m["validation_codes"].is_array()) {
    return Status::InvalidArgument("block: metadata.validation_codes must be an array");
  }
  for (const Json& c : m["validation_codes"]) {
    bool in_range = (c.is_number_unsigned() && c.get<std::uint64_t>() <= 255) ||
                    (c.is_number_integer() && !c.is_number_unsigned() && c.get<std::int64_t>() >= 0 &&
                     c.get<std::int64_t>() <= 255);
    auto code = in_range ? ValidationCodeFromNumber(c.get<int>()) : std::nullopt;
    if (!code) return Status::InvalidArgument("block: unknown validation code " + c.dump());
    metadata.validation_codes.push_back(*code);
  }
  ENTENTE_ASSIGN_OR_RETURN(metadata.timestamp_ms, JsonInt(m, "timestamp_ms"));
  if (m.contains("alliance_height")) {  // absent in genesis blocks: 0
    if (!m["alliance_height"].is_number_unsigned()) {
      return Status::InvalidArgument("block: metadata.alliance_height must be an unsigned integer");
    }
    metadata.alliance_height = m["alliance_height"].get<std::uint64_t>();
  }
  if (m.contains("log_position")) {
    if (!m["log_position"].is_number_unsigned()) {
      return Status::InvalidArgument("block: metadata.log_position must be an unsigned integer");
    }
    metadata.log_position = m["log_position"].get<std::uint64_t>();
  }
  if (m.contains("resume_revision")) {
    ENTENTE_ASSIGN_OR_RETURN(metadata.resume_revision, JsonInt(m, "resume_revision"));
    if (metadata.resume_revision < 0) return Status::InvalidArgument("block: metadata.resume_revision must not be negative");
  }
  ENTENTE_ASSIGN_OR_RETURN(metadata.relay_signature, JsonBase64(m, "relay_signature"));
  if (m.contains("certificate")) {
    const Json& certificate = m["certificate"];
    if (!certificate.is_object() || certificate.size() > 1024) {
      return Status::InvalidArgument("block: metadata.certificate must be an object of at most 1024 signatures");
    }
    for (const auto& [relay, signature] : certificate.items()) {
      ENTENTE_ASSIGN_OR_RETURN(metadata.certificate[relay], JsonBase64(certificate, relay));
    }
  }
  return metadata;
}

}  // namespace

Json Block::ToJson() const {
  Json data = Json::array();
  for (const Bytes& e : envelopes) data.push_back(Base64Encode(e));
  return Json{{"header", HeaderJson(header)}, {"data", data}, {"metadata", MetadataJson(metadata)}};
}

Hash Block::HeadDigest() const { return Sha256Of(DumpJson(HeaderJson(header)) + DumpJson(MetadataJson(metadata))); }

Bytes Block::Serialize() const {
  std::string header_json = DumpJson(HeaderJson(header));
  std::string metadata_json = DumpJson(MetadataJson(metadata));
  std::size_t total = kBlockMagic.size() + 12 + header_json.size() + metadata_json.size();
  for (const Bytes& e : envelopes) total += 4 + e.size();
  Bytes out(total);
  std::uint8_t* p = out.data();
  std::memcpy(p, kBlockMagic.data(), kBlockMagic.size());
  p += kBlockMagic.size();
  p = PutFramed(p, AsBytes(header_json));
  p = PutFramed(p, AsBytes(metadata_json));
  p = PutUint32(p, static_cast<std::uint32_t>(envelopes.size()));
  for (const Bytes& e : envelopes) p = PutFramed(p, e);
  return out;
}

Result<Block> Block::Parse(ByteView bytes) {
  if (bytes.size() < kBlockMagic.size() || ToString(bytes.first(kBlockMagic.size())) != kBlockMagic) {
    return Status::InvalidArgument("block: not an Entente block (bad magic)");
  }
  ByteView in = bytes.subspan(kBlockMagic.size());
  Block b;
  ENTENTE_ASSIGN_OR_RETURN(ByteView header_bytes, ReadFramed(in, "header"));
  ENTENTE_ASSIGN_OR_RETURN(Json header_json, ParseJson(ToString(header_bytes)));
  ENTENTE_ASSIGN_OR_RETURN(b.header, ParseHeader(header_json));
  ENTENTE_ASSIGN_OR_RETURN(ByteView metadata_bytes, ReadFramed(in, "metadata"));
  ENTENTE_ASSIGN_OR_RETURN(Json metadata_json, ParseJson(ToString(metadata_bytes)));
  ENTENTE_ASSIGN_OR_RETURN(b.metadata, ParseMetadata(metadata_json));
  if (in.size() < 4) return Status::InvalidArgument("block: truncated before the envelope count");
  std::uint32_t count = (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
  in = in.subspan(4);
  if (count > in.size() / 4) return Status::InvalidArgument("block: envelope count exceeds the data");
  b.envelopes.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    ENTENTE_ASSIGN_OR_RETURN(ByteView e, ReadFramed(in, "envelope"));
    b.envelopes.emplace_back(e.begin(), e.end());
  }
  if (!in.empty()) return Status::InvalidArgument("block: trailing bytes after the envelopes");
  return b;
}

// Parses the JSON form produced by ToJson (for tools that exchange blocks as JSON).
Result<Block> Block::FromJson(const Json& j) {
  if (!j.is_object() || !j.contains("header") || !j.contains("data") || !j.contains("metadata")) {
    return Status::InvalidArgument("block: expected header, data and metadata");
  }
  Block b;
  ENTENTE_ASSIGN_OR_RETURN(b.header, ParseHeader(j["header"]));
  if (!j["data"].is_array()) return Status::InvalidArgument("block: data must be an array");
  for (const Json& e : j["data"]) {
    if (!e.is_string()) return Status::InvalidArgument("block: data entries must be base64 strings");
    auto bytes = Base64Decode(e.get<std::string>());
    if (!bytes.ok()) return bytes.status().WithContext("block: envelope " + std::to_string(b.envelopes.size()));
    b.envelopes.push_back(std::move(*bytes));
  }
  ENTENTE_ASSIGN_OR_RETURN(b.metadata, ParseMetadata(j["metadata"]));
  return b;
}

}  // namespace entente::ledger
