#include "tables/quic_lb.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "common/coded_error.h"

namespace sluice {
namespace {

// Four-pass expand (draft 5.4.2.2): the half, zeros, then L and the pass
// number in the block's last two octets.
constexpr uint32_t kExpandLengthOctet = 14;
constexpr uint32_t kExpandPassOctet = 15;
constexpr uint32_t kConfigShift = 5;
constexpr uint8_t kLengthBits = 0x1f;

void Require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw CodedError(codes::kInvalidArgument, where + ": " + what);
}

void Validate(const QuicLbConfig& c, const std::string& where) {
  Require(c.config_id <= kQuicLbMaxConfigId, where,
          "configId must be 0 to 6 (7, 0b111, marks unroutable connection IDs), not " + std::to_string(c.config_id));
  Require(c.server_id_length >= kQuicLbMinServerIdLength, where,
          "serverIdLength must be at least 1, not " + std::to_string(c.server_id_length));
  Require(c.nonce_length >= kQuicLbMinNonceLength, where,
          "nonceLength must be at least 4, not " + std::to_string(c.nonce_length));
  const uint32_t sum = uint32_t{c.server_id_length} + c.nonce_length;
  Require(sum <= kQuicLbMaxPlaintextLength, where,
          "serverIdLength + nonceLength must be at most 19 (a connection ID is at most 20 octets), not " +
              std::to_string(sum));
  switch (c.algorithm) {
    case QuicLbAlgorithm::kPlaintext:
      return;
    case QuicLbAlgorithm::kSinglePass:
      Require(sum == kQuicLbAesBlock, where,
              "single-pass needs serverIdLength + nonceLength = 16 (one AES block), not " + std::to_string(sum));
      return;
    case QuicLbAlgorithm::kFourPass:
      Require(sum != kQuicLbAesBlock, where,
              "serverIdLength + nonceLength = 16 is encrypted single-pass; four-pass is for other lengths");
      return;
  }
  Require(false, where, "algorithm must be plaintext, single-pass or four-pass");
}

}  // namespace

// Splits an L-octet block into halves of ceil(L / 2) octets; when L is odd the
// middle octet's high nibble goes left and its low nibble right (draft step 2).
void QuicLbCodec::Split(const uint8_t* block, Half* left, Half* right) const {
  std::memset(left, 0, sizeof(*left));
  std::memset(right, 0, sizeof(*right));
  std::memcpy(left->bytes, block, half_length_);
  std::memcpy(right->bytes, block + plaintext_length_ - half_length_, half_length_);
  for (uint32_t i = 0; i < kQuicLbAesBlock; ++i) {
    left->bytes[i] &= left_mask_.bytes[i];
    right->bytes[i] &= right_mask_.bytes[i];
  }
}

void QuicLbCodec::Join(const Half& left, const Half& right, uint8_t* block) const {
  const uint32_t half = half_length_;
  for (uint32_t i = 0; i < half; ++i) block[i] = left.bytes[i] & left_mask_.bytes[i];
  if (odd_) {
    block[half - 1] |= right.bytes[0] & right_mask_.bytes[0];
    std::memcpy(block + half, right.bytes + 1, half - 1);
  } else {
    std::memcpy(block + half, right.bytes, half);
  }
}

void QuicLbCodec::CtxDeleter::operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }

QuicLbCodec::QuicLbCodec(const QuicLbConfig& config, const std::string& where) : config_(config) {
  Validate(config, where);
  plaintext_length_ = uint32_t{config.server_id_length} + config.nonce_length;
  half_length_ = (plaintext_length_ + 1) / 2;
  odd_ = (plaintext_length_ & 1) != 0;
  MakeMasks();
  if (config.algorithm == QuicLbAlgorithm::kPlaintext) config_.key.fill(0);  // keep no key nobody uses
  KeyContexts();
}

QuicLbCodec::QuicLbCodec(const QuicLbCodec& other)
    : config_(other.config_),
      plaintext_length_(other.plaintext_length_),
      half_length_(other.half_length_),
      odd_(other.odd_),
      left_mask_(other.left_mask_),
      right_mask_(other.right_mask_) {
  KeyContexts();
}

QuicLbCodec::QuicLbCodec(QuicLbCodec&&) noexcept = default;
QuicLbCodec& QuicLbCodec::operator=(QuicLbCodec&&) noexcept = default;

QuicLbCodec::~QuicLbCodec() { OPENSSL_cleanse(config_.key.data(), config_.key.size()); }

void QuicLbCodec::MakeMasks() {
  left_mask_ = {};
  right_mask_ = {};
  std::memset(left_mask_.bytes, 0xff, half_length_);
  std::memset(right_mask_.bytes, 0xff, half_length_);
  if (odd_) {
    left_mask_.bytes[half_length_ - 1] = 0xf0;
    right_mask_.bytes[0] = 0x0f;
  }
}

void QuicLbCodec::KeyContexts() {
  if (config_.algorithm == QuicLbAlgorithm::kPlaintext) return;
  // Padding off: with it, a decrypting update holds back its last full block
  // for the final call, and the data path makes only updates.
  const auto keyed = [this](int enc) {
    Ctx ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, config_.key.data(), nullptr, enc) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
      throw CodedError(codes::kInternal, "quicLb: OpenSSL could not key an AES-128-ECB context");
    }
    return ctx;
  };
  encrypt_ = keyed(1);
  if (config_.algorithm == QuicLbAlgorithm::kSinglePass) decrypt_ = keyed(0);
}

bool QuicLbCodec::Encrypt(const uint8_t* in, uint8_t* out) {
  int n = 0;
  return EVP_EncryptUpdate(encrypt_.get(), out, &n, in, kQuicLbAesBlock) == 1 && n == kQuicLbAesBlock;
}

bool QuicLbCodec::Decrypt(const uint8_t* in, uint8_t* out) {
  int n = 0;
  return EVP_DecryptUpdate(decrypt_.get(), out, &n, in, kQuicLbAesBlock) == 1 && n == kQuicLbAesBlock;
}

// The draft clears the other half's nibble of an odd L's middle octet after
// every round; here the octets past a half's length hold whatever the XORs
// left, and the mask drops them where they would count: in expand's input and
// in Join. Bits never cross octets, so the halves' own bits come out the same,
// and a round is whole-block operations the compiler makes two vector
// instructions of, rather than loops of the half's length.
bool QuicLbCodec::Round(const Half& from, const Half& mask, uint8_t pass, Half* half) {
  uint8_t block[kQuicLbAesBlock];
  for (uint32_t i = 0; i < kQuicLbAesBlock; ++i) block[i] = from.bytes[i] & mask.bytes[i];
  block[kExpandLengthOctet] = static_cast<uint8_t>(plaintext_length_);
  block[kExpandPassOctet] = pass;
  uint8_t pad[kQuicLbAesBlock];
  if (!Encrypt(block, pad)) return false;
  for (uint32_t i = 0; i < kQuicLbAesBlock; ++i) half->bytes[i] ^= pad[i];
  return true;
}

bool QuicLbCodec::FourPassEncrypt(const uint8_t* plain, uint8_t* cipher) {
  Half left, right;
  Split(plain, &left, &right);
  if (!Round(left, left_mask_, 1, &right) || !Round(right, right_mask_, 2, &left) ||
      !Round(left, left_mask_, 3, &right) || !Round(right, right_mask_, 4, &left)) {
    return false;
  }
  Join(left, right, cipher);
  return true;
}

QuicLbDecodeStatus QuicLbCodec::Decode(const uint8_t* dcid, uint32_t length, QuicLbServerId* out) {
  if (length == 0) return QuicLbDecodeStatus::kTooShort;
  if ((dcid[0] >> kConfigShift) != config_.config_id) return QuicLbDecodeStatus::kOtherConfig;
  if (length < 1 + plaintext_length_) return QuicLbDecodeStatus::kTooShort;
  const uint8_t* block = dcid + 1;
  const uint32_t sid_length = config_.server_id_length;
  uint8_t plain[kQuicLbAesBlock];
  std::memset(out, 0, sizeof(*out));
  out->length = static_cast<uint8_t>(sid_length);
  switch (config_.algorithm) {
    case QuicLbAlgorithm::kPlaintext:
      std::memcpy(out->bytes, block, sid_length);
      return QuicLbDecodeStatus::kOk;
    case QuicLbAlgorithm::kSinglePass:
      if (!Decrypt(block, plain)) return QuicLbDecodeStatus::kCipherFailed;
      std::memcpy(out->bytes, plain, sid_length);
      return QuicLbDecodeStatus::kOk;
    case QuicLbAlgorithm::kFourPass:
      break;
  }
  Half left, right;
  Split(block, &left, &right);
  if (!Round(right, right_mask_, 4, &left) || !Round(left, left_mask_, 3, &right) ||
      !Round(right, right_mask_, 2, &left)) {
    return QuicLbDecodeStatus::kCipherFailed;
  }
  // left_0 holds the first floor(L / 2) octets whole: a server ID no longer
  // than that (no longer than the nonce) needs no fourth pass.
  if (sid_length <= plaintext_length_ / 2) {
    std::memcpy(out->bytes, left.bytes, sid_length);
    return QuicLbDecodeStatus::kOk;
  }
  if (!Round(left, left_mask_, 1, &right)) return QuicLbDecodeStatus::kCipherFailed;
  uint8_t joined[kQuicLbMaxPlaintextLength];
  Join(left, right, joined);
  std::memcpy(out->bytes, joined, sid_length);
  return QuicLbDecodeStatus::kOk;
}

std::vector<uint8_t> QuicLbCodec::Encode(const std::vector<uint8_t>& server_id, const std::vector<uint8_t>& nonce) {
  Require(server_id.size() == config_.server_id_length, "quicLb encode",
          "server ID must be " + std::to_string(config_.server_id_length) + " octets, not " +
              std::to_string(server_id.size()));
  Require(nonce.size() == config_.nonce_length, "quicLb encode",
          "nonce must be " + std::to_string(config_.nonce_length) + " octets, not " + std::to_string(nonce.size()));
  uint8_t plain[kQuicLbMaxPlaintextLength];
  std::memcpy(plain, server_id.data(), server_id.size());
  std::memcpy(plain + server_id.size(), nonce.data(), nonce.size());
  std::vector<uint8_t> cid(1 + plaintext_length_);
  cid[0] = static_cast<uint8_t>(config_.config_id << kConfigShift | (plaintext_length_ & kLengthBits));
  bool ok = true;
  switch (config_.algorithm) {
    case QuicLbAlgorithm::kPlaintext:
      std::memcpy(cid.data() + 1, plain, plaintext_length_);
      break;
    case QuicLbAlgorithm::kSinglePass:
      ok = Encrypt(plain, cid.data() + 1);
      break;
    case QuicLbAlgorithm::kFourPass:
      ok = FourPassEncrypt(plain, cid.data() + 1);
      break;
  }
  OPENSSL_cleanse(plain, sizeof(plain));
  if (!ok) throw CodedError(codes::kInternal, "quicLb encode: OpenSSL refused an AES block");
  return cid;
}

}  // namespace sluice
