#!/usr/bin/env python3
"""UDP datagrams whose arrival is checked end to end, for fragments-e2e.

    udp_digest.py serve NAME PORT ADDRESS...
        Answers every datagram to ADDRESS:PORT (IPv4 or IPv6, one socket each,
        so an answer leaves from the address it was sent to: the VIP in dsr and
        tunnel) with "NAME LENGTH SHA256" of what arrived. Prints "ready" once
        every socket is bound.

    udp_digest.py send ADDRESS PORT FLOWS PER_FLOW BYTES TIMEOUT_S [echo]
        From FLOWS sockets (each its own local port, so its own flow), sends
        PER_FLOW datagrams of BYTES random octets each to ADDRESS:PORT, one at a
        time, waiting up to TIMEOUT_S for each answer; prints one JSON line: per
        datagram its flow's port, whether the answer's length and hash matched,
        and the backend that answered. With `echo` the datagrams ask for
        themselves back, and the answer must be them whole.

Standard library only. The digest answer is a few dozen octets, so it is never
fragmented itself: what is tested is the client's datagram reaching a backend
whole. An echo answer ("NAME " and the datagram) is as long as the datagram,
so the backend's kernel fragments it too: what is tested then is also the
fragmented answer reaching the client whole.
"""
import hashlib
import json
import os
import select
import socket
import sys


# The first octets of a datagram that asks to be echoed whole.
ECHO = b"ECHO"


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(name, port, addresses):
    sockets = []
    for address in addresses:
        s = socket.socket(family_of(address), socket.SOCK_DGRAM)
        s.bind((address, port))
        sockets.append(s)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select(sockets, [], [])
        for s in readable:
            data, peer = s.recvfrom(65535)
            if data.startswith(ECHO):
                s.sendto(f"{name} ".encode() + data, peer)
                continue
            answer = f"{name} {len(data)} {hashlib.sha256(data).hexdigest()}"
            s.sendto(answer.encode(), peer)


def send(address, port, flows, per_flow, size, timeout, echo):
    results = []
    sockets = []
    for _ in range(flows):
        s = socket.socket(family_of(address), socket.SOCK_DGRAM)
        s.bind(("::" if ":" in address else "0.0.0.0", 0))
        s.settimeout(timeout)
        sockets.append(s)
    for i in range(per_flow):
        for s in sockets:
            payload = (ECHO if echo else b"") + os.urandom(size - (len(ECHO) if echo else 0))
            s.sendto(payload, (address, port))
            result = {"port": s.getsockname()[1], "ok": False, "backend": None}
            try:
                answer = s.recv(65535)
                if echo:
                    backend, _, data = answer.partition(b" ")
                    result["backend"] = backend.decode()
                    result["ok"] = data == payload
                else:
                    backend, length, digest = answer.decode().split()
                    result["backend"] = backend
                    result["ok"] = int(length) == size and digest == hashlib.sha256(payload).hexdigest()
            except socket.timeout:
                pass
            results.append(result)
    print(json.dumps(results), flush=True)


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    else:
        address, port, flows, per_flow, size, timeout = sys.argv[2:8]
        echo = sys.argv[8:9] == ["echo"]
        send(address, int(port), int(flows), int(per_flow), int(size), float(timeout), echo)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
