#!/usr/bin/env python3
"""Sends every frame of a classic pcap out of one interface, unchanged and in
order, through an AF_PACKET socket; prints how many were sent.

    send_frames.py IFACE PCAP [--batch N] [--gap-ms MS]

Run it inside the namespace that holds IFACE (ip netns exec NS python3 ...).
Standard library only, so any python3 on the machine will do.
"""
import argparse
import socket
import struct
import sys
import time

# Magic read little-endian -> the file's byte order; microsecond and nanosecond
# files differ only in timestamps, which are not used.
MAGICS = {
    0xA1B2C3D4: "<",
    0xA1B23C4D: "<",
    0xD4C3B2A1: ">",
    0x4D3CB2A1: ">",
}
LINKTYPE_ETHERNET = 1


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than a pcap header")
    (magic,) = struct.unpack_from("<I", data, 0)
    order = MAGICS.get(magic)
    if order is None:
        raise ValueError(f"{path}: magic {magic:#010x} is not a classic pcap")
    (linktype,) = struct.unpack_from(order + "I", data, 20)
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {linktype}, expected Ethernet")
    frames = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError(f"{path}: record header cut at byte {off}")
        _, _, cap_len, _ = struct.unpack_from(order + "IIII", data, off)
        off += 16
        if off + cap_len > len(data):
            raise ValueError(f"{path}: record of {cap_len} bytes cut at byte {off}")
        frames.append(data[off:off + cap_len])
        off += cap_len
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("iface")
    ap.add_argument("pcap")
    ap.add_argument("--batch", type=int, default=0, help="frames between pauses; 0 sends without pausing")
    ap.add_argument("--gap-ms", type=float, default=1.0, help="pause after each batch")
    args = ap.parse_args()

    frames = read_pcap(args.pcap)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    sent = 0
    for frame in frames:
        n = s.send(frame)
        if n != len(frame):
            raise OSError(f"frame {sent}: sent {n} of {len(frame)} bytes")
        sent += 1
        if args.batch > 0 and sent % args.batch == 0:
            time.sleep(args.gap_ms / 1000.0)
    s.close()
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
