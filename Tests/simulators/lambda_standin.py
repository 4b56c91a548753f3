#!/usr/bin/env python3
"""A local stand-in for AWS Lambda's Invoke API, for lambda-xds's end-to-end tests.

Accepts POST /2015-03-31/functions/<ARN>/invocations, checks the SigV4 signature with botocore
(an independent implementation) by recomputing it from the request's own SignedHeaders list,
records who signed (access key id), which ARN was invoked, the invocation type and the body, and
answers like Lambda. GET /_standin/invocations returns the record; DELETE clears it.

The function's answer is JSON describing the invocation. When the request body is Envoy's JSON
envelope (payload_passthrough off) the answer is {statusCode, headers, body} as a function behind
Envoy returns; a body containing "raise-error" makes the function fail (X-Amz-Function-Error).
A bad signature gets 403 with AWS's message, as real Lambda would.

Usage: lambda_standin.py --port 0 --credential AKID:SECRET [...]; prints "listening PORT".
"""

import argparse
import json
import os
import re
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<arn>[^/]+)/invocations$")
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


SLEEP = re.compile(rb"sleep-(\d{1,6})ms")


def signed_headers(headers):
    """The SignedHeaders list of the request's Authorization, or [] when it has none."""
    match = AUTHORIZATION.match(headers.get("authorization", ""))
    return match["signed"].split(";") if match else []


class ReplaySigner(SigV4Auth):
    """botocore's SigV4 with the header list the client declared (Envoy signs user-agent, which
    botocore's own list leaves out)."""

    def __init__(self, credentials, region, signed_headers):
        super().__init__(credentials, "lambda", region)
        self.signed = signed_headers

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name in self.signed:
            headers[name] = request.headers[name]
        return headers


def verify(method, path, headers, body, secrets):
    """Returns (access key id, None) when the signature is valid, else (key id or None, reason)."""
    match = AUTHORIZATION.match(headers.get("authorization", ""))
    if not match:
        return None, "no SigV4 Authorization header"
    akid = match["akid"]
    if akid not in secrets:
        return akid, f"unknown access key {akid}"
    if match["service"] != "lambda":
        return akid, f"signed for service {match['service']}"
    signed = match["signed"].split(";")
    missing = [name for name in signed if name not in headers]
    if missing:
        return akid, f"signed headers missing from the request: {missing}"
    request = AWSRequest(method=method, url="http://" + headers["host"] + path, data=body,
                         headers={name: headers[name] for name in signed})
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = ReplaySigner(Credentials(akid, secrets[akid], headers.get("x-amz-security-token")), match["region"], signed)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        return akid, "The request signature we calculated does not match the signature you provided"
    return akid, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-requestid", "standin-request")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def headers_map(self):
        joined = {}
        for key in self.headers.keys():
            name = key.lower()
            if name not in joined:
                joined[name] = ",".join(v.strip() for v in self.headers.get_all(key))
        return joined

    def do_GET(self):
        if self.path == "/_standin/invocations":
            with self.server.lock:
                return self.reply(200, self.server.invocations)
        self.reply(404, {"message": "not found"})

    def do_DELETE(self):
        with self.server.lock:
            self.server.invocations.clear()
        self.reply(200, {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = self.path
        match = INVOKE_PATH.match(path)
        if not match:
            return self.reply(404, {"message": f"unknown path {path}"})
        headers = self.headers_map()
        akid, problem = verify("POST", path, headers, body, self.server.secrets)
        arn = urllib.parse.unquote(match["arn"])
        envelope = None
        try:
            parsed = json.loads(body) if body else None
            if isinstance(parsed, dict) and "raw_path" in parsed and "is_base64_encoded" in parsed:
                envelope = parsed
        except ValueError:
            pass
        record = {
            "arn": arn, "access_key_id": akid, "signature_valid": problem is None, "problem": problem,
            "invocation_type": headers.get("x-amz-invocation-type"), "host": headers.get("host"),
            "envelope": envelope is not None, "body": body[:4096].decode(errors="replace"),
            "body_bytes": len(body), "signed_headers": signed_headers(headers),
        }
        with self.server.lock:
            self.server.invocations.append(record)
        if problem is not None:
            return self.reply(403, {"message": problem})
        result = {"invoked": arn, "signed_by": akid, "invocation_type": record["invocation_type"]}
        if envelope is not None:
            result["raw_path"] = envelope.get("raw_path")
        pause = SLEEP.search(body)
        if pause:
            time.sleep(int(pause[1]) / 1000)
        if b"raise-error" in body:
            return self.reply(200, {"errorMessage": "the function failed", "errorType": "Error"},
                              {"x-amz-function-error": "Unhandled"})
        if headers.get("x-amz-invocation-type") == "Event":
            return self.reply(202, b"")
        if envelope is not None:
            return self.reply(200, {"statusCode": 201, "headers": {"x-standin": "envelope"}, "body": json.dumps(result)})
        self.reply(200, result)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--credential", action="append", default=[], help="ACCESS_KEY_ID:SECRET")
    args = parser.parse_args()
    # Children of the Swift test runner inherit a blocked SIGTERM; take it back.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.invocations = []
    server.secrets = dict(item.split(":", 1) for item in args.credential)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
