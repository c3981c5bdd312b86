// QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21, the latest draft;
// its editor's copy after -21 changes no algorithm): a server writes its server
// ID into every connection ID it issues, so the balancer routes a connection by
// its DCID wherever the client's address moves. A QuicLbCodec is one config
// (one config ID of one service), built on the control thread; its Decode is
// the per-packet half, its Encode the server's half (tests, `sluice quic-lb
// config`, the test bed's server).
//
// CID layout: first octet (config ID in its top 3 bits, then 5 bits that a
// server may use to self-encode the length of the rest, draft 3.3), then the
// plaintext block, server ID || nonce (server_id_length + nonce_length = L
// octets), as is or encrypted; a server may append bytes of its own after it.
//   plaintext    the block as is
//   single-pass  L = 16: the block is one AES-128-ECB block
//   four-pass    L in 5..19 but not 16: a four-round Feistel network whose round
//                function is AES-128-ECB of one half, expanded to a block
//                (draft 5.4.2); decoding takes three rounds when the server ID
//                fits in the left half (server_id_length <= nonce_length), four
//                otherwise
//
// AES is OpenSSL libcrypto's, through EVP contexts keyed once at build: EVP
// uses AES-NI where the CPU has it, which is constant-time and measured at ~80
// cycles a block against ~400 for the deprecated AES_encrypt (a table-based
// software cipher, open to cache-timing probes by whoever chooses the DCIDs).
// EVP_EncryptUpdate on a keyed ECB context without padding neither allocates,
// locks nor makes syscalls, but a context is mutable state OpenSSL does not
// promise may be shared between threads. So Decode is non-const: each lcore
// gets its own copy (the copy constructor keys new contexts), and a const
// snapshot cannot call it by mistake.
//
// INTERFACE CONTRACT:
// - QuicLbCodec(config, where) throws CodedError SLUICE_INVALID_ARGUMENT
//   "<where>: ..." unless: config_id 0..6 (0b111 marks unroutable CIDs, draft
//   3.2), server_id_length >= 1, nonce_length >= 4, their sum <= 19 (draft 5.3),
//   single-pass only with sum 16 and four-pass only without (the draft makes
//   the sum choose). SLUICE_INTERNAL if OpenSSL cannot key a context.
// - Decode(dcid, length, out): kOk and the server ID in `out` (bytes beyond its
//   length zero) when the first octet's config bits are this config's and the
//   DCID holds at least 1 + L octets (octets beyond are the server's own and
//   ignored, as are the first octet's low 5 bits); kOtherConfig or kTooShort
//   otherwise, `out` unwritten. No allocation, lock, syscall or exception.
//   Any DCID of the right config decodes to some server ID: whether it names a
//   backend is the caller's lookup.
// - Cost of ParseQuicDcid + Decode (callgrind, -O3 as the addon): ~80
//   instructions plaintext, ~335 single-pass, ~860 four-pass with three
//   passes, ~1140 with four; each AES block is ~215 of them, two thirds EVP's
//   dispatch around the AES-NI rounds.
// - Encode(server_id, nonce) returns the CID (1 + L octets, first octet config
//   ID and L, as the draft's test vectors self-encode the length), and throws
//   SLUICE_INVALID_ARGUMENT for a server ID or nonce of the wrong length.
//   Decode(Encode(s, n)) == s for every s and n.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace sluice {

constexpr uint8_t kQuicLbMaxConfigId = 6;
constexpr uint8_t kQuicLbUnroutableConfigId = 7;
constexpr uint32_t kQuicLbMinServerIdLength = 1;
constexpr uint32_t kQuicLbMinNonceLength = 4;
// QUIC v1's 20-octet limit less the first octet.
constexpr uint32_t kQuicLbMaxPlaintextLength = 19;
constexpr uint32_t kQuicLbMaxServerIdLength = kQuicLbMaxPlaintextLength - kQuicLbMinNonceLength;
constexpr uint32_t kQuicLbMaxNonceLength = kQuicLbMaxPlaintextLength - kQuicLbMinServerIdLength;
constexpr uint32_t kQuicLbAesBlock = 16;
constexpr uint32_t kQuicLbKeyLength = 16;

enum class QuicLbAlgorithm : uint8_t { kPlaintext, kSinglePass, kFourPass };

struct QuicLbConfig {
  uint8_t config_id;
  uint8_t server_id_length;
  uint8_t nonce_length;
  QuicLbAlgorithm algorithm;
  std::array<uint8_t, kQuicLbKeyLength> key;  // unused by kPlaintext
};

struct QuicLbServerId {
  uint8_t length;
  // Beyond `length` always zero, so the 16 bytes compare and hash as a key.
  uint8_t bytes[kQuicLbMaxServerIdLength];
};
static_assert(sizeof(QuicLbServerId) == 16, "compared as two 64-bit words");

enum class QuicLbDecodeStatus : uint8_t {
  kOk = 0,
  kOtherConfig,   // config bits not this config's (0b111 included)
  kTooShort,      // fewer than 1 + L octets
  kCipherFailed,  // OpenSSL refused a block: never seen, counted rather than assumed away
};

class QuicLbCodec {
 public:
  explicit QuicLbCodec(const QuicLbConfig& config, const std::string& where = "quicLb");
  QuicLbCodec(const QuicLbCodec& other);
  QuicLbCodec& operator=(const QuicLbCodec&) = delete;
  QuicLbCodec(QuicLbCodec&&) noexcept;
  QuicLbCodec& operator=(QuicLbCodec&&) noexcept;
  ~QuicLbCodec();

  QuicLbDecodeStatus Decode(const uint8_t* dcid, uint32_t length, QuicLbServerId* out);

  std::vector<uint8_t> Encode(const std::vector<uint8_t>& server_id, const std::vector<uint8_t>& nonce);

  const QuicLbConfig& config() const { return config_; }
  // 1 + L: the shortest DCID Decode accepts, and the short-header DCID length
  // of CIDs this codec's Encode makes.
  uint32_t cid_length() const { return 1u + plaintext_length_; }

 private:
  struct CtxDeleter {
    void operator()(EVP_CIPHER_CTX* ctx) const;
  };
  using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

  // A four-pass half (ceil(L / 2) octets) in a whole block.
  struct Half {
    uint8_t bytes[kQuicLbAesBlock];
  };

  void MakeMasks();
  void KeyContexts();
  bool Encrypt(const uint8_t* in, uint8_t* out);
  bool Decrypt(const uint8_t* in, uint8_t* out);
  void Split(const uint8_t* block, Half* left, Half* right) const;
  void Join(const Half& left, const Half& right, uint8_t* block) const;
  // One Feistel round: `half` ^= AES(expand(L, pass, from's octets under `mask`)).
  bool Round(const Half& from, const Half& mask, uint8_t pass, Half* half);
  bool FourPassEncrypt(const uint8_t* plain, uint8_t* cipher);

  QuicLbConfig config_;
  uint32_t plaintext_length_;
  uint32_t half_length_;  // ceil(L / 2)
  bool odd_;
  // A half's octets; when L is odd, without the other half's nibble of the
  // middle octet (the left half's last octet keeps its high nibble, the right
  // half's first its low one).
  Half left_mask_;
  Half right_mask_;
  Ctx encrypt_;  // single-pass encode, every four-pass round
  Ctx decrypt_;  // single-pass decode
};

}  // namespace sluice
