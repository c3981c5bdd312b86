#!/usr/bin/python3
"""Writes the fuzzers' seed corpus into native/fuzz/corpus/<harness>/: small
valid frames of every kind the data path handles, so the fuzzers start from
inputs that reach deep into it. The output is committed; run this again after
changing it (Debian's python3 and python3-scapy, which scripts/setup.sh installs):

    /usr/bin/python3 native/fuzz/make_corpus.py

The addresses match native/fuzz/packet_path_fuzz.cc: the ring port's MAC and
address, the VIPs and ports of its service variants."""

import os
import shutil
import struct
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6PacketTooBig, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                                ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

PORT_MAC = "02:53:4c:00:00:00"
PORT_IP = "10.99.0.2"
CLIENT_MAC = "02:00:00:00:00:99"
CLIENT_IP = "10.99.0.1"
VIP = "10.99.0.100"
VIP2 = "10.99.0.101"
VIP3 = "10.99.0.102"
BROADCAST = "ff:ff:ff:ff:ff:ff"
# The IPv6 modes' addresses: a.b.c.N above as fd00:99::N.
PORT_IP6 = "fd00:99::2"
CLIENT_IP6 = "2001:db8::1"
VIP6 = "fd00:99::64"
BACKEND6 = "fd00:99::b"
NAT_POOL = "10.99.0.200"
NAT_MODE = 6  # index in packet_path_fuzz.cc's kModes
NAT_POOL6 = "fd00:99::c8"  # NAT_POOL as fd00:99::N
NAT6_MODE = 7

HERE = os.path.dirname(os.path.abspath(__file__))


def eth(dst=PORT_MAC, src=CLIENT_MAC):
    return Ether(dst=dst, src=src)


def tcp(flags, sport=40000, dst=VIP, dport=80, payload=b""):
    return eth() / IP(src=CLIENT_IP, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=1000) / payload


def udp(sport=40000, dst=VIP, dport=53, payload=b"query"):
    return eth() / IP(src=CLIENT_IP, dst=dst) / UDP(sport=sport, dport=dport) / payload


def echo(dst=PORT_IP, payload=b"ping" * 8):
    return eth() / IP(src=CLIENT_IP, dst=dst) / ICMP(type=8, id=0x1234, seq=1) / payload


def arp_request(target):
    return Ether(dst=BROADCAST, src=CLIENT_MAC) / ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=target)


def nat_reply(backend, sport, flags, dport=20000):
    mac = "02:00:00:00:01:%02x" % (int(backend.rsplit(".", 1)[1]) - 10)
    return eth(src=mac) / IP(src=backend, dst=NAT_POOL) / TCP(sport=sport, dport=dport, flags=flags, seq=5000, ack=1001)


def nat6_reply(backend6, sport, flags, dport=20000):
    mac = "02:00:00:00:01:%02x" % (int(backend6.rsplit(":", 1)[1], 16) - 10)
    return eth(src=mac) / IPv6(src=backend6, dst=NAT_POOL6) / TCP(sport=sport, dport=dport, flags=flags, seq=5000,
                                                                  ack=1001)


FRAMES = {
    "arp_request_port": arp_request(PORT_IP),
    "arp_request_vip": arp_request(VIP),
    "arp_request_other": arp_request("10.99.0.50"),
    "arp_reply": eth() / ARP(op=2, hwsrc="02:00:00:00:01:01", psrc="10.99.0.11", hwdst=PORT_MAC, pdst=PORT_IP),
    "arp_request_vlan": Ether(dst=BROADCAST, src=CLIENT_MAC) / Dot1Q(vlan=100)
    / ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, pdst=VIP),
    "icmp_echo_port": echo(),
    "icmp_echo_vip": echo(dst=VIP),
    "icmp_echo_ip_options": eth() / IP(src=CLIENT_IP, dst=PORT_IP, options=b"\x01\x01\x01\x00")
    / ICMP(type=8, id=7, seq=9) / b"opts",
    "icmp_echo_vlan": eth() / Dot1Q(vlan=7) / IP(src=CLIENT_IP, dst=VIP) / ICMP(type=8, id=1, seq=2) / (b"x" * 21),
    "icmp_unreachable": eth() / IP(src=CLIENT_IP, dst=PORT_IP) / ICMP(type=3, code=3) / (b"\0" * 28),
    "tcp_syn": tcp("S"),
    "tcp_ack": tcp("A", payload=b"GET / HTTP/1.1\r\n\r\n"),
    "tcp_fin": tcp("FA"),
    "tcp_rst": tcp("R"),
    "tcp_syn_vip2": tcp("S", dst=VIP2, dport=443),
    "tcp_syn_qinq": eth() / Dot1AD(vlan=10) / Dot1Q(vlan=20) / IP(src=CLIENT_IP, dst=VIP) / TCP(dport=80, flags="S"),
    "udp_dns": udp(),
    "udp_vip3": udp(dst=VIP3, dport=80),
    "udp_no_service": udp(dport=9999),
    # QUIC to the variant 0 UDP service, which routes plaintext connection IDs
    # (config 1, server ID {0, backend id + 1}, six-octet nonce): to backend 4,
    # to backend 3 (its MAC unknown), to no backend, and a client's Initial.
    "quic_to_backend4": udp(payload=bytes([0x40, 0x28, 0x00, 0x05]) + b"nonce6" + b"\x00" * 20),
    "quic_to_backend3": udp(payload=bytes([0x40, 0x28, 0x00, 0x04]) + b"nonce6" + b"\x00" * 20),
    "quic_to_nobody": udp(payload=bytes([0x40, 0x28, 0x00, 0x77]) + b"nonce6" + b"\x00" * 20),
    "quic_initial": udp(payload=bytes([0xc0, 0, 0, 0, 1, 8]) + b"clientid" + b"\x00" * 24),
    "ipv6_tcp": eth() / IPv6(src="2001:db8::1", dst="2001:db8::64") / TCP(dport=80, flags="S"),
    "ipv6_hbh_udp": eth() / IPv6(src="2001:db8::1", dst="2001:db8::64") / IPv6ExtHdrHopByHop() / UDP(dport=53),
    "ipv6_fragment": eth() / IPv6(src="2001:db8::1", dst="2001:db8::64") / IPv6ExtHdrFragment(m=1) / UDP(dport=53),
    "icmpv6_echo": eth() / IPv6(src="2001:db8::1", dst="2001:db8::64") / ICMPv6EchoRequest(),
    "ns_vip6": Ether(dst="33:33:ff:00:00:64", src=CLIENT_MAC) / IPv6(src="fd00:99::1", dst="ff02::1:ff00:64", hlim=255)
    / ICMPv6ND_NS(tgt=VIP6) / ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC),
    "ns_port6_unicast": eth() / IPv6(src="fe80::1", dst=PORT_IP6, hlim=255) / ICMPv6ND_NS(tgt=PORT_IP6)
    / ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC),
    "na_backend6": eth(src="02:00:00:00:01:0c") / IPv6(src=BACKEND6, dst=PORT_IP6, hlim=255)
    / ICMPv6ND_NA(tgt=BACKEND6, S=1, O=1, R=0) / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:01:0c"),
    "icmpv6_echo_vip6": eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / ICMPv6EchoRequest(id=7, seq=1, data=b"ping6"),
    # A router's packet-too-big and unreachable about a backend's reply from the VIP6: routed to the flow's backend.
    "icmpv6_ptb_vip6": eth() / IPv6(src="fd00:99::fe", dst=VIP6) / ICMPv6PacketTooBig(mtu=1280)
    / IPv6(src=VIP6, dst=CLIENT_IP6) / TCP(sport=80, dport=40000, flags="A") / (b"r" * 64),
    "icmpv6_unreach_vip6": eth() / IPv6(src="fd00:99::fe", dst=VIP6) / ICMPv6DestUnreach(code=4)
    / IPv6(src=VIP6, dst=CLIENT_IP6) / TCP(sport=80, dport=40000, flags="A"),
    "tcp6_syn": eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / TCP(sport=40000, dport=80, flags="S"),
    "tcp6_ack": eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / TCP(sport=40000, dport=80, flags="A") / b"GET / HTTP/1.1\r\n\r\n",
    "udp6_dns": eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / UDP(sport=40000, dport=53) / b"query",
    "ipv4_first_fragment": eth() / IP(src=CLIENT_IP, dst=VIP, flags="MF") / UDP(dport=53) / (b"a" * 32),
    "ipv4_later_fragment": eth() / IP(src=CLIENT_IP, dst=VIP, frag=4, proto=17) / (b"b" * 16),
    "gre_to_vip": eth() / IP(src=CLIENT_IP, dst=VIP, proto=47) / (b"\0" * 8),
    # A router's fragmentation-needed about a backend's reply from the VIP: routed to the flow's backend.
    "icmp_frag_needed_vip": eth() / IP(src="10.99.0.254", dst=VIP) / ICMP(type=3, code=4, nexthopmtu=1400)
    / IP(src=VIP, dst=CLIENT_IP) / TCP(sport=80, dport=40000, flags="A", seq=1) / (b"r" * 64),
    "icmp_frag_needed_vip2_udp": eth() / IP(src="10.99.0.254", dst=VIP2) / ICMP(type=3, code=4, nexthopmtu=1280)
    / IP(src=VIP2, dst=CLIENT_IP) / UDP(sport=53, dport=40000) / (b"a" * 16),
    # nat: backends answer the pool (10.99.0.200-201, ports 20000-20003) from their
    # service port plus 8000; which backend a flow got is the lookup table's pick, so both answer.
    "arp_request_nat_pool": arp_request(NAT_POOL),
    "nat_reply_b0": nat_reply("10.99.0.11", 8080, "SA"),
    "nat_reply_b1": nat_reply("10.99.0.12", 8080, "SA"),
    "nat_reply_fin_b0": nat_reply("10.99.0.11", 8080, "FA"),
    "nat_reply_udp_b4": eth(src="02:00:00:00:01:05") / IP(src="10.99.0.15", dst=NAT_POOL)
    / UDP(sport=8053, dport=20000) / b"answer",
    "nat_reply_unknown_port": nat_reply("10.99.0.11", 8080, "A", dport=20003),
    # nat6: the same over IPv6, the pool fd00:99::c8-c9 and the backends fd00:99::b, ::c, ...
    "ns_nat_pool6": Ether(dst="33:33:ff:00:00:c8", src=CLIENT_MAC) / IPv6(src="fd00:99::1", dst="ff02::1:ff00:c8", hlim=255)
    / ICMPv6ND_NS(tgt=NAT_POOL6) / ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC),
    "nat6_reply_b0": nat6_reply("fd00:99::b", 8080, "SA"),
    "nat6_reply_b1": nat6_reply("fd00:99::c", 8080, "SA"),
    "nat6_reply_fin_b0": nat6_reply("fd00:99::b", 8080, "FA"),
    "nat6_reply_udp_b4": eth(src="02:00:00:00:01:05") / IPv6(src="fd00:99::f", dst=NAT_POOL6)
    / UDP(sport=8053, dport=20000) / b"answer",
    "nat6_reply_udp_no_checksum": eth(src="02:00:00:00:01:05") / IPv6(src="fd00:99::f", dst=NAT_POOL6)
    / UDP(sport=8053, dport=20000, chksum=0) / b"answer",
    "nat6_reply_unknown_port": nat6_reply("fd00:99::b", 8080, "A", dport=20003),
    "tcp6_fin": eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / TCP(sport=40000, dport=80, flags="FA"),
}


def frame_bytes(name):
    data = bytes(FRAMES[name])
    # Ethernet pads to 60 bytes on the wire (FCS excluded); keep that, as NICs deliver it.
    return data + b"\0" * max(0, 60 - len(data))


def packet_path_input(names, mode=0, force_mac=False, variants=(0, 0), split=None, advance=0, extra=None):
    """The packet_path_fuzz input layout (see its header comment)."""
    frames = [frame_bytes(n) for n in names] + (extra or [])
    head = bytes([(mode & 0x0F) | (0x10 if force_mac else 0), variants[0], variants[1],
                  len(frames) if split is None else split, advance])
    return head + b"".join(struct.pack(">H", len(f)) + f for f in frames)


def big_tcp6():
    # Past the MTU once encapsulated: tunnel modes answer with packet-too-big.
    return bytes(eth() / IPv6(src=CLIENT_IP6, dst=VIP6) / TCP(sport=40001, dport=80, flags="A") / (b"y" * 1440))


def big_tcp():
    # Longer than one mbuf's data room: arrives as a chain of segments.
    return bytes(tcp("A", payload=b"z" * 3000))


def fragments(packet, size=48, order=None):
    """`packet`'s IP payload cut into fragments of `size` bytes (a multiple of 8),
    each a frame, in `order` (indices; default as sent). IPv4 keeps the packet's
    ID; IPv6 gets a fragment header with ID 7."""
    v6 = IPv6 in packet
    ip = packet[IPv6] if v6 else packet[IP]
    payload = bytes(ip.payload)
    out = []
    for off in range(0, len(payload), size):
        piece, more = payload[off:off + size], off + size < len(payload)
        if v6:
            l3 = (IPv6(src=ip.src, dst=ip.dst) / IPv6ExtHdrFragment(nh=ip.nh, offset=off // 8, m=int(more), id=7)
                  / piece)
        else:
            l3 = IP(src=ip.src, dst=ip.dst, id=ip.id, proto=ip.proto, flags="MF" if more else 0, frag=off // 8) / piece
        out.append(bytes(eth() / l3))
    return [out[i] for i in (order or range(len(out)))]


def udp_datagram(dst=VIP, sport=40000, v6=False):
    l3 = IPv6(src=CLIENT_IP6, dst=VIP6) if v6 else IP(src=CLIENT_IP, dst=dst, id=77)
    return eth() / l3 / UDP(sport=sport, dport=53) / (b"d" * 150)


# Single fragments for the parsers (worker/fragments.cc's ParseFragment).
FRAMES.update({
    "udp_fragment_first": fragments(udp_datagram())[0],
    "udp_fragment_later": fragments(udp_datagram())[1],
    "udp6_fragment_first": fragments(udp_datagram(v6=True))[0],
})


PACKET_PATH = {
    "quic_by_connection_id": packet_path_input(["quic_to_backend4", "quic_to_backend3", "quic_to_nobody", "quic_initial",
                                                "quic_to_backend4"], force_mac=True),
    "tcp_flow": packet_path_input(["tcp_syn", "tcp_ack", "tcp_ack", "tcp_fin"]),
    "tcp_flow_config_change": packet_path_input(["tcp_syn", "tcp_ack", "tcp_ack", "tcp_fin"], variants=(0, 1), split=2),
    "service_id_reused": packet_path_input(["tcp_syn", "udp_vip3", "tcp_ack"], variants=(0, 3), split=1),
    "flows_expire": packet_path_input(["udp_dns", "tcp_fin", "udp_dns", "tcp_syn"], split=2, advance=255),
    "local_replies": packet_path_input(["arp_request_port", "arp_request_vip", "arp_request_vlan", "icmp_echo_port",
                                        "icmp_echo_vip", "icmp_echo_vlan", "icmp_echo_ip_options"]),
    "drops": packet_path_input(["arp_request_other", "arp_reply", "icmp_unreachable", "udp_no_service", "ipv6_tcp",
                                "ipv6_fragment", "ipv4_first_fragment", "ipv4_later_fragment", "gre_to_vip",
                                "tcp_syn_vip2"]),
    "vlan_and_ipv6": packet_path_input(["tcp_syn_qinq", "ipv6_hbh_udp", "icmpv6_echo", "udp_dns"], force_mac=True),
    "no_services": packet_path_input(["tcp_syn", "arp_request_vip", "icmp_echo_vip"], variants=(2, 2)),
    "chained_mbufs": packet_path_input(["tcp_syn"], extra=[big_tcp()], variants=(0, 0)),
    "icmp_errors": packet_path_input(["tcp_syn", "icmp_frag_needed_vip", "icmp_frag_needed_vip2_udp", "tcp_ack"]),
    "icmp_errors_tunnel": packet_path_input(["tcp_syn", "icmp_frag_needed_vip"], mode=1),
    "icmpv6_errors_dsr6": packet_path_input(["tcp6_syn", "icmpv6_ptb_vip6", "icmpv6_unreach_vip6"], mode=3),
    "icmpv6_errors_ip6ip6": packet_path_input(["tcp6_syn", "icmpv6_ptb_vip6"], mode=4),
    "ipv6_dsr": packet_path_input(["tcp6_syn", "tcp6_ack", "udp6_dns", "ns_vip6", "ns_port6_unicast", "na_backend6",
                                   "icmpv6_echo_vip6"], mode=3, variants=(0, 1), split=4),
    "ipv6_ip6ip6": packet_path_input(["tcp6_syn", "tcp6_ack", "udp6_dns"], mode=4, extra=[big_tcp6()]),
    "ipv6_gue": packet_path_input(["udp6_dns", "tcp6_syn", "icmpv6_echo_vip6"], mode=5, extra=[big_tcp6()],
                                  variants=(3, 0), split=2, advance=40),
    # Ethernet "padding" filling whole trailing segments: cut off before encapsulating.
    "padded_segments_gue": packet_path_input([], mode=2, extra=[bytes(udp()) + b"\0" * 3000]),
    "padded_segments_gue6": packet_path_input([], mode=5, extra=[frame_bytes("udp6_dns") + b"\0" * 3000]),
    "many_flows": packet_path_input([], extra=[bytes(tcp("S", sport=1000 + i)) for i in range(32)], split=16, advance=8),
    "nat_tcp_both_ways": packet_path_input(["tcp_syn", "nat_reply_b0", "nat_reply_b1", "tcp_ack", "nat_reply_fin_b0",
                                            "tcp_fin", "nat_reply_unknown_port"], mode=NAT_MODE, split=1),
    "nat_udp_and_arp": packet_path_input(["udp_dns", "nat_reply_udp_b4", "arp_request_nat_pool", "udp_dns"],
                                         mode=NAT_MODE, split=1),
    "nat_pool_exhausted": packet_path_input([], extra=[bytes(tcp("S", sport=1000 + i)) for i in range(32)],
                                            mode=NAT_MODE, split=16, advance=12),
    "nat_config_change": packet_path_input(["tcp_syn", "tcp_ack", "nat_reply_b0", "nat_reply_b1"], mode=NAT_MODE,
                                           variants=(0, 1), split=2, advance=200),
    "nat6_tcp_both_ways": packet_path_input(["tcp6_syn", "nat6_reply_b0", "nat6_reply_b1", "tcp6_ack",
                                             "nat6_reply_fin_b0", "tcp6_fin", "nat6_reply_unknown_port"],
                                            mode=NAT6_MODE, split=1),
    "nat6_udp_and_ns": packet_path_input(["udp6_dns", "nat6_reply_udp_b4", "ns_nat_pool6", "nat6_reply_udp_no_checksum",
                                          "udp6_dns"], mode=NAT6_MODE, split=1),
    "nat6_pool_exhausted": packet_path_input([], extra=[bytes(eth() / IPv6(src=CLIENT_IP6, dst=VIP6)
                                                              / TCP(sport=1000 + i, dport=80, flags="S"))
                                                        for i in range(32)], mode=NAT6_MODE, split=16, advance=12),
    "nat6_config_change": packet_path_input(["tcp6_syn", "tcp6_ack", "nat6_reply_b0", "nat6_reply_b1"],
                                            mode=NAT6_MODE, variants=(0, 1), split=2, advance=200),
    # IP fragments (worker/fragments.cc): in order, last first (held, then sent behind their first),
    # held past the hold time, and per mode and family.
    "fragments_in_order": packet_path_input(["udp_dns"], extra=fragments(udp_datagram())),
    "fragments_out_of_order": packet_path_input([], extra=fragments(udp_datagram(), order=[3, 1, 2, 0])),
    "fragments_held_too_long": packet_path_input([], extra=fragments(udp_datagram(), order=[2, 1, 0, 3]), split=2,
                                                 advance=4),
    "fragments_tunnel": packet_path_input([], extra=fragments(udp_datagram(), order=[1, 0, 2, 3]), mode=2),
    "fragments_nat": packet_path_input(["udp_dns"], extra=fragments(udp_datagram(), order=[0, 2, 1, 3]), mode=NAT_MODE),
    "fragments6_dsr": packet_path_input([], extra=fragments(udp_datagram(v6=True), order=[1, 0, 2, 3]), mode=3),
    "fragments6_tunnel": packet_path_input([], extra=fragments(udp_datagram(v6=True)), mode=4),
    "fragments6_nat": packet_path_input([], extra=fragments(udp_datagram(v6=True), order=[2, 0, 1, 3]), mode=NAT6_MODE),
}


def write(harness, items):
    out = os.path.join(HERE, "corpus", harness)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, data in sorted(items.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{out}: {len(items)} files", file=sys.stderr)


def main():
    frames = {name: frame_bytes(name) for name in FRAMES}
    write("parse_fuzz", frames)
    write("local_reply_fuzz", frames)
    write("packet_path_fuzz", PACKET_PATH)


if __name__ == "__main__":
    main()
