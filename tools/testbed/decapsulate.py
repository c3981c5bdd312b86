#!/usr/bin/env python3
"""A tunnel endpoint in user space, for backends on a kernel without the ipip and
fou modules (the development machine's): receives what the balancer's `tunnel`
mode sends (IPv4-in-IPv4, protocol 4, IPv6-in-IPv6, next header 41, and GUE
variant 1 over IPv4: the inner packet as the payload of a UDP datagram to the
GUE port) and writes the inner packet, unchanged,
into a tun device, where the kernel receives it as if it had arrived there. The
VIP is on lo, so the inner packet is delivered locally and the backend's answer
goes straight to the client, as with a kernel tunnel.

    decapsulate.py TUN_NAME GUE_PORT

Prints "ready" once both sockets are open. Standard library only.
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    tun_name, gue_port = sys.argv[1], int(sys.argv[2])
    tun = open_tun(tun_name)
    # A raw socket for protocol 4 gets every IPv4-in-IPv4 packet to this host, outer
    # header included; while it is open the kernel sends no protocol-unreachable.
    ipip = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
    gue = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gue.bind(("0.0.0.0", gue_port))
    sockets = [ipip, gue]
    # IPv6's raw sockets hand over the payload without the outer header: the
    # inner packet as it is. A kernel without IPv6 has no IPv6 tunnel to stand in for.
    if os.path.exists("/proc/sys/net/ipv6"):
        sockets.append(socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_IPV6))
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select(sockets, [], [])
        for s in readable:
            data = s.recv(65535)
            if s is ipip:
                data = data[(data[0] & 0x0F) * 4:]
            # Variant 1: the payload starts with the inner IP header (version 4 or 6).
            if data and data[0] >> 4 in (4, 6):
                os.write(tun, data)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
