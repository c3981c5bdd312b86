// The destination connection ID of a QUIC packet, found by the version-
// independent invariants (RFC 8999) alone, so a QUIC-LB decoder can route
// packets of versions the balancer knows nothing about. Pure, inline, no
// allocation: the worker calls it on a UDP payload per packet.
// INTERFACE CONTRACT:
//
//   QuicHeaderStatus ParseQuicDcid(const uint8_t* payload, uint32_t len,
//                                  uint8_t short_dcid_length, QuicDcid* out);
//
// - Long header (first bit 1): version (4 bytes), DCID length byte, DCID. A
//   length above kQuicMaxCidLength is kDcidTooLong: RFC 8999 allows 255 for
//   future versions, but no QUIC-LB CID is longer than 20 octets, so such a
//   DCID can only take the fallback. Version 0 is kVersionNegotiation, with
//   the DCID filled in: servers send those, so one arriving at the balancer
//   names a connection ID the client chose and is routed by the fallback.
// - Short header (first bit 0): the DCID starts at the second byte and its
//   length is not on the wire; it is `short_dcid_length`, the length the
//   caller's config gives its servers' CIDs (above kQuicMaxCidLength:
//   kDcidTooLong).
// - Nothing past the DCID is read or checked (the source CID, the rest of a
//   version's header): the balancer routes by the DCID only, and every further
//   check is one more way to turn a future version's packet away.
// - A payload too short for the header up to the DCID's last byte is
//   kTruncated. No byte at or beyond payload[len] is read. `out` is written
//   only for kLong, kShort and kVersionNegotiation.
#pragma once

#include <cstdint>

namespace sluice {

// QUIC version 1's limit (RFC 9000, 17.2), and QUIC-LB's.
constexpr uint32_t kQuicMaxCidLength = 20;

enum class QuicHeaderStatus : uint8_t {
  kLong = 0,            // long header; out->version set
  kShort,               // short header; out->version 0
  kVersionNegotiation,  // long header with version 0
  kTruncated,
  kDcidTooLong,
};

struct QuicDcid {
  const uint8_t* data;  // points into the payload
  uint8_t length;
  uint32_t version;     // host order; 0 for a short header
};

namespace quic_detail {
constexpr uint8_t kLongHeaderBit = 0x80;
// first byte, version, DCID length byte
constexpr uint32_t kLongDcidOffset = 6;
constexpr uint32_t kShortDcidOffset = 1;
}  // namespace quic_detail

inline QuicHeaderStatus ParseQuicDcid(const uint8_t* payload, uint32_t len, uint8_t short_dcid_length,
                                      QuicDcid* out) {
  using namespace quic_detail;
  if (len == 0) return QuicHeaderStatus::kTruncated;
  if ((payload[0] & kLongHeaderBit) == 0) {
    if (short_dcid_length > kQuicMaxCidLength) return QuicHeaderStatus::kDcidTooLong;
    if (len < kShortDcidOffset + short_dcid_length) return QuicHeaderStatus::kTruncated;
    out->data = payload + kShortDcidOffset;
    out->length = short_dcid_length;
    out->version = 0;
    return QuicHeaderStatus::kShort;
  }
  if (len < kLongDcidOffset) return QuicHeaderStatus::kTruncated;
  const uint8_t dcid_length = payload[5];
  if (dcid_length > kQuicMaxCidLength) return QuicHeaderStatus::kDcidTooLong;
  if (len < kLongDcidOffset + dcid_length) return QuicHeaderStatus::kTruncated;
  const uint32_t version = (static_cast<uint32_t>(payload[1]) << 24) | (static_cast<uint32_t>(payload[2]) << 16) |
                           (static_cast<uint32_t>(payload[3]) << 8) | payload[4];
  out->data = payload + kLongDcidOffset;
  out->length = dcid_length;
  out->version = version;
  return version == 0 ? QuicHeaderStatus::kVersionNegotiation : QuicHeaderStatus::kLong;
}

}  // namespace sluice
