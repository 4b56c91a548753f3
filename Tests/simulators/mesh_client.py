#!/usr/bin/env python3
"""Calls a terminating gateway the way a sidecar would, for lambda-xds's security tests.

Opens TLS to 127.0.0.1:PORT with SNI = the service's SNI, verifies the gateway against the mesh
CA, optionally presents a client certificate minted on the spot for --as SERVICE (signed with
the dev CA's key, so it is a valid mesh identity), sends one HTTP POST and prints the status
code, or "tls-error: ..." when the handshake or connection fails.

Usage: mesh_client.py --port P --sni SNI --ca CA.pem [--ca-key KEY.pem --trust-domain TD --as SERVICE]
"""

import argparse
import datetime
import os
import socket
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def mint(ca_path, ca_key_path, trust_domain, service, directory):
    ca = x509.load_pem_x509_certificate(open(ca_path, "rb").read())
    ca_key = serialization.load_pem_private_key(open(ca_key_path, "rb").read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    uri = f"spiffe://{trust_domain}/ns/default/dc/dc1/svc/{service}"
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "client.pem"), os.path.join(directory, "client-key.pem")
    open(cert_path, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(key_path, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return cert_path, key_path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sni", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--ca-key")
    parser.add_argument("--trust-domain")
    parser.add_argument("--as", dest="service")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    context.check_hostname = False  # mesh identities are SPIFFE URIs, not host names
    with tempfile.TemporaryDirectory() as directory:
        if args.service:
            context.load_cert_chain(*mint(args.ca, args.ca_key, args.trust_domain, args.service, directory))
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname=args.sni) as tls:
                    tls.sendall(b"POST /charge HTTP/1.1\r\nhost: payments\r\ncontent-type: application/json\r\n"
                                b"content-length: 2\r\nconnection: close\r\n\r\n{}")
                    response = b""
                    while chunk := tls.recv(4096):
                        response += chunk
            print(response.split(b" ")[1].decode() if response.startswith(b"HTTP/") else f"tls-error: empty answer")
        except (ssl.SSLError, ConnectionError, OSError) as error:
            print(f"tls-error: {error}")


if __name__ == "__main__":
    main()
