"""An HTTP backend and its clients in one namespace, talking through a nat VIP.

The server listens on the backend address and answers every GET with the
address:port it saw the connection come from; the clients connect from their
own address to the VIP, one connection at a time, and check the answer.
Prints one JSON line: {"completed": n, "peers": ["addr:port", ...]}.

usage: http_through_nat.py BACKEND_ADDR BACKEND_PORT CLIENT_ADDR VIP VIP_PORT COUNT
"""
import http.client
import http.server
import json
import sys
import threading


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{self.client_address[0]}:{self.client_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    backend, backend_port, client, vip, vip_port, count = sys.argv[1:7]
    server = http.server.ThreadingHTTPServer((backend, int(backend_port)), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    completed, peers = 0, []
    for _ in range(int(count)):
        conn = http.client.HTTPConnection(vip, int(vip_port), timeout=5, source_address=(client, 0))
        try:
            conn.request("GET", "/")
            res = conn.getresponse()
            if res.status == 200:
                peers.append(res.read().decode())
                completed += 1
        except OSError as e:
            print(f"connection failed: {e}", file=sys.stderr)
        finally:
            conn.close()
    server.shutdown()
    print(json.dumps({"completed": completed, "peers": peers}))


if __name__ == "__main__":
    main()
