"""Asks a DPDK telemetry socket (SOCK_SEQPACKET, which Node cannot open) each
command given on the command line and prints one JSON reply per line."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
sock.settimeout(5)
sock.connect(sys.argv[1])
sock.recv(16384)  # the greeting: version, pid, max output length
for command in sys.argv[2:]:
    sock.send(command.encode())
    print(sock.recv(1 << 20).decode())
