#!/usr/bin/env python3
"""QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21) for the test bed's
QUIC servers: a server makes its connection IDs with encode() so the balancer
routes them to it; decode() is the balancer's half, here to check encode().
The same algorithms as native/tables/quic_lb.h, written again from the draft
rather than from that code, so a test comparing the two catches a
misreading in either.

    plaintext    server ID || nonce as is
    single-pass  server ID + nonce = 16 octets: one AES-128-ECB block
    four-pass    other lengths (5..19): a four-round Feistel network, AES-128-ECB
                 of one expanded half as the round function (draft 5.4.2)

AES comes from the `cryptography` package (Debian python3-cryptography; aioquic
uses the same package for its own cryptography).

Run as a program it answers requests, one JSON object a line on stdin, one a
line on stdout:
    {"configId": 0, "serverIdLength": 3, "nonceLength": 4,
     "algorithm": "four-pass", "key": "<32 hex digits>",
     "serverId": "<hex>", "nonce": "<hex>"}           -> {"cid": "<hex>"}
    {... the config ..., "cid": "<hex>"}              -> {"serverId": "<hex>" or null}
and a request it cannot serve gets {"error": "..."}.
"""
import json
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ALGORITHMS = ("plaintext", "single-pass", "four-pass")
MAX_CONFIG_ID = 6  # 7 (0b111) marks unroutable connection IDs
MAX_PLAINTEXT = 19  # a QUIC v1 connection ID is at most 20 octets
BLOCK = 16


class QuicLbConfig:
    def __init__(self, config_id, server_id_length, nonce_length, algorithm, key=None):
        if not 0 <= config_id <= MAX_CONFIG_ID:
            raise ValueError("configId must be 0 to 6, not %d" % config_id)
        if server_id_length < 1:
            raise ValueError("serverIdLength must be at least 1")
        if nonce_length < 4:
            raise ValueError("nonceLength must be at least 4")
        length = server_id_length + nonce_length
        if length > MAX_PLAINTEXT:
            raise ValueError("serverIdLength + nonceLength must be at most 19, not %d" % length)
        if algorithm not in ALGORITHMS:
            raise ValueError("algorithm must be one of %s" % ", ".join(ALGORITHMS))
        if algorithm == "single-pass" and length != BLOCK:
            raise ValueError("single-pass needs serverIdLength + nonceLength = 16")
        if algorithm == "four-pass" and length == BLOCK:
            raise ValueError("a length of 16 is encrypted single-pass")
        if algorithm != "plaintext" and (key is None or len(key) != 16):
            raise ValueError("an encrypted config needs a 16-octet key")
        self.config_id = config_id
        self.server_id_length = server_id_length
        self.nonce_length = nonce_length
        self.algorithm = algorithm
        self.length = length
        self.half = (length + 1) // 2
        self.odd = length % 2 == 1
        self._cipher = Cipher(algorithms.AES(key), modes.ECB()) if algorithm != "plaintext" else None

    def encode(self, server_id, nonce):
        """The CID for this server ID and nonce; its first octet self-encodes the
        length of the rest, as the draft's test vectors do."""
        if len(server_id) != self.server_id_length or len(nonce) != self.nonce_length:
            raise ValueError("server ID and nonce must be %d and %d octets" % (self.server_id_length, self.nonce_length))
        first = bytes([self.config_id << 5 | self.length])
        plain = bytes(server_id) + bytes(nonce)
        if self.algorithm == "plaintext":
            return first + plain
        if self.algorithm == "single-pass":
            return first + self._aes(plain)
        left, right = self._split(plain)
        right = self._clear_first(self._xor(right, self._round(left, 1)))
        left = self._clear_last(self._xor(left, self._round(right, 2)))
        right = self._clear_first(self._xor(right, self._round(left, 3)))
        left = self._clear_last(self._xor(left, self._round(right, 4)))
        return first + self._join(left, right)

    def decode(self, cid):
        """The server ID in `cid`, or None when it is not this config's or too short."""
        if len(cid) < 1 + self.length or cid[0] >> 5 != self.config_id:
            return None
        block = bytes(cid[1:1 + self.length])
        if self.algorithm == "plaintext":
            return block[:self.server_id_length]
        if self.algorithm == "single-pass":
            decryptor = self._cipher.decryptor()
            return (decryptor.update(block) + decryptor.finalize())[:self.server_id_length]
        left, right = self._split(block)
        left = self._clear_last(self._xor(left, self._round(right, 4)))
        right = self._clear_first(self._xor(right, self._round(left, 3)))
        left = self._clear_last(self._xor(left, self._round(right, 2)))
        right = self._clear_first(self._xor(right, self._round(left, 1)))
        return self._join(left, right)[:self.server_id_length]

    def _aes(self, block):
        encryptor = self._cipher.encryptor()
        return encryptor.update(block) + encryptor.finalize()

    def _round(self, half, pass_number):
        expanded = half + bytes(14 - self.half) + bytes([self.length, pass_number])
        return self._aes(expanded)[:self.half]

    def _split(self, block):
        left = bytearray(block[:self.half])
        right = bytearray(block[self.length - self.half:])
        return self._clear_last(left), self._clear_first(right)

    def _join(self, left, right):
        if not self.odd:
            return bytes(left + right)
        return bytes(left[:-1]) + bytes([left[-1] | right[0]]) + bytes(right[1:])

    def _clear_first(self, half):
        # An odd length's middle octet: its low nibble belongs to the right half.
        if self.odd:
            half[0] &= 0x0F
        return half

    def _clear_last(self, half):
        if self.odd:
            half[-1] &= 0xF0
        return half

    @staticmethod
    def _xor(a, b):
        return bytearray(x ^ y for x, y in zip(a, b))


def config_from(request):
    key = request.get("key")
    return QuicLbConfig(request["configId"], request["serverIdLength"], request["nonceLength"],
                        request["algorithm"], bytes.fromhex(key) if key else None)


def answer(request):
    try:
        config = config_from(request)
        if "cid" in request:
            server_id = config.decode(bytes.fromhex(request["cid"]))
            return {"serverId": server_id.hex() if server_id is not None else None}
        return {"cid": config.encode(bytes.fromhex(request["serverId"]), bytes.fromhex(request["nonce"])).hex()}
    except (KeyError, TypeError, ValueError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}


def main():
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
