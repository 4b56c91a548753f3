#!/usr/bin/env python3
"""A mesh service's local application for lambda-xds's demo and end-to-end tests.

Answers every HTTP request with JSON naming the service, the method and path it saw, and the
caller's identity as the sidecar forwarded it (the URI in x-forwarded-client-cert), so a test
can tell which service answered and who called. Standard library only.

Usage: mesh_app.py --name api [--port 0] [--host 127.0.0.1] [--tls-cert PEM --tls-key PEM];
prints "listening PORT". With a certificate it serves HTTPS (a service a gateway originates TLS to).
"""

import argparse
import json
import os
import re
import signal
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = "app"

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        xfcc = self.headers.get("x-forwarded-client-cert", "")
        caller = re.search(r"URI=(spiffe://[^;,]+)", xfcc)
        body = json.dumps({"service": self.name, "method": self.command, "path": self.path,
                           "caller": caller.group(1) if caller else None, "xfcc": xfcc,
                           "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    Handler.name = args.name
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
