#!/usr/bin/env python3
"""A Consul HTTP API simulator for lambda-xds tests (Python standard library plus cryptography).

Serves the endpoints lambda-xds watches with Consul's JSON shapes and headers and real
blocking-query behaviour (index + wait, X-Consul-Index, jitter up to wait/16), including
/v1/health/connect/<service> (sidecars, Connect-native instances and linked terminating gateways)
and ?filter (go-bexpr expressions: `ServiceKind == "mesh-gateway"` on /v1/catalog/services,
`Service.Kind == ...` on /v1/health/service|connect), takes writes through
PUT /v1/catalog/register, PUT /v1/catalog/deregister, PUT /v1/config and DELETE /v1/config, keeps a
KV store (PUT, GET with ?recurse, DELETE /v1/kv/<key>; values base64 in answers, 404 when none),
federates over the WAN with other simulators (--wan dc2=URL: ?dc=dc2 requests are answered by
that one; /v1/catalog/datacenters lists them), and
injects faults on request (PUT /_sim/faults): 5xx bursts (a count or a time span), delays, dropped
connections, hangs (reads answered only after a time span), refused connections (the listener
closed, every connection reset, and reopened on the same port after a time span), slow leaf
certificates (leaf_delay_ms), a runaway answer (huge_body_mb), an index reset
to a lower value, and 403 for a wrong token. GET /_sim/stats counts requests per path.

Also runs a Connect CA (roots and per-service leaf certificates; PUT /_sim/rotate-leaf/<service>
reissues one); with --ca-dir DIR its root key and certificate are DIR/ca-key.pem and DIR/ca.pem,
made there by the first simulator and loaded by the next, so WAN-federated simulators share one
root and trust domain (leaves still name each one's own datacenter). Needs the `cryptography` package.

Usage: consul_simulator.py --port 0 [--token SECRET] [--datacenter dc1] [--load CATALOG_FILE]
[--wan DC=URL] [--ca-dir DIR]; prints "listening PORT".
"""

import argparse
import base64
import datetime
import fcntl
import ipaddress
import json
import os
import signal
import socket
import socketserver
import ssl
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ANONYMOUS_FORBIDDEN = "ACL not found"


class State:
    def __init__(self, datacenter, token, ca_dir=None):
        self.datacenter = datacenter
        self.token = token
        self.lock = threading.Condition()
        self.index = 10
        self.nodes = {}       # node name -> {"Node", "Address", "Meta", index}
        self.services = {}    # service id -> {"node", "service": {...}, "checks": [...], index}
        self.entries = {}     # (kind, name) -> entry with indexes
        self.kv = {}          # key -> {"Key", "Value" (bytes), "CreateIndex", "ModifyIndex"}
        self.wan = {}         # other datacenter -> its simulator's base URL (WAN federation)
        self.ca = ConnectCA("11111111-2222-3333-4444-555555555555.consul", datacenter, ca_dir)
        self.trust_domain = self.ca.trust_domain  # a shared root's, whoever made it
        self.acl = None  # token -> services it may write; None: no ACL checks
        self.acl_default = "allow"  # Consul sends "allow" when ACLs are off
        self.faults = {}
        self.stats = {}
        self.connections = set()  # open client sockets, reset when refusing
        self.refuse = threading.Event()  # set with refuse_seconds: the listener closes for a while

    def bump(self):
        self.index += 1
        self.lock.notify_all()
        return self.index

    # Writes, as PUT /v1/catalog/register, PUT /v1/config and PUT /v1/kv/<key> make them (lock held).
    def register(self, body):
        index = self.bump()
        node = body["Node"]
        if not body.get("SkipNodeUpdate") or node not in self.nodes:
            self.nodes[node] = {"Node": node, "Address": body.get("Address", ""), "Meta": body.get("NodeMeta"),
                                "TaggedAddresses": body.get("TaggedAddresses")}
        service = body.get("Service")
        if service:
            service = dict(service)
            service.setdefault("ID", service["Service"])
            checks = list(body.get("Checks") or [])
            if body.get("Check"):
                checks.append(body["Check"])
            self.services[service["ID"]] = {"node": node, "service": service, "checks": checks, "index": index}

    def put_config(self, body):
        index = self.bump()
        entry = dict(body)
        key = (entry["Kind"], entry["Name"])
        entry["CreateIndex"] = self.entries.get(key, {}).get("CreateIndex", index)
        entry["ModifyIndex"] = index
        self.entries[key] = entry

    def put_kv(self, key, value):
        index = self.bump()
        created = self.kv.get(key, {}).get("CreateIndex", index)
        self.kv[key] = {"Key": key, "Value": value, "CreateIndex": created, "ModifyIndex": index}

    def load(self, path):
        """A lambda-xds catalog file (registrations, config_entries, kv) as if PUT one by one."""
        with open(path) as f:
            document = json.load(f)
        with self.lock:
            for body in document.get("registrations") or []:
                self.register(body)
            for body in document.get("config_entries") or []:
                self.put_config(body)
            for key, value in (document.get("kv") or {}).items():
                self.put_kv(key, (value if isinstance(value, str) else json.dumps(value)).encode())


class ConnectCA:
    """Consul's built-in Connect CA: one EC root and a leaf per service on first request, with the
    SPIFFE identities and JSON shapes of /v1/connect/ca/roots and /v1/agent/connect/ca/leaf."""

    def __init__(self, trust_domain, datacenter, directory=None):
        self.datacenter = datacenter
        self.key, self.root = self.shared(directory, trust_domain) if directory else self.generate(trust_domain)
        # The trust domain is the root's URI SAN (spiffe://<trust-domain>): one per shared root.
        san = self.root.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.trust_domain = san.get_values_for_type(x509.UniformResourceIdentifier)[0].removeprefix("spiffe://")
        self.root_id = self.root.fingerprint(hashes.SHA1()).hex(":")
        self.leaves = {}

    @staticmethod
    def generate(trust_domain):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Consul CA 7")])
        root = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .add_extension(x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(f"spiffe://{trust_domain}")]), critical=False)
                .sign(key, hashes.SHA256()))
        return key, root

    @classmethod
    def shared(cls, directory, trust_domain):
        """The root key and certificate in directory (ca-key.pem, ca.pem), generated and written
        there (each file atomically) when missing; a lock keeps simulators started together from
        making two roots."""
        os.makedirs(directory, exist_ok=True)
        key_path, cert_path = os.path.join(directory, "ca-key.pem"), os.path.join(directory, "ca.pem")
        with open(os.path.join(directory, ".ca.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(key_path) and os.path.exists(cert_path):
                with open(key_path, "rb") as f:
                    key = serialization.load_pem_private_key(f.read(), None)
                with open(cert_path, "rb") as f:
                    return key, x509.load_pem_x509_certificate(f.read())
            key, root = cls.generate(trust_domain)
            pem = serialization.Encoding.PEM
            for path, data, mode in [
                    (key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600),
                    (cert_path, root.public_bytes(pem), 0o644)]:
                temporary = f"{path}.{os.getpid()}.tmp"
                with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
                    f.write(data)
                os.replace(temporary, path)
            return key, root

    def roots(self):
        pem = self.root.public_bytes(serialization.Encoding.PEM).decode()
        return {"ActiveRootID": self.root_id, "TrustDomain": self.trust_domain, "Roots": [{
            "ID": self.root_id, "Name": "Consul CA Primary Cert", "SerialNumber": self.root.serial_number % 2**53,
            "SigningKeyID": self.root_id, "ExternalTrustDomain": self.trust_domain.split(".")[0],
            "NotBefore": self.root.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
            "NotAfter": self.root.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
            "RootCert": pem, "IntermediateCerts": None, "Active": True, "PrivateKeyType": "ec",
            "PrivateKeyBits": 256, "CreateIndex": 8, "ModifyIndex": 8}]}

    def leaf(self, service, state):
        if service not in self.leaves:
            key = ec.generate_private_key(ec.SECP256R1())
            now = datetime.datetime.now(datetime.timezone.utc)
            uri = f"spiffe://{self.trust_domain}/ns/default/dc/{self.datacenter}/svc/{service}"
            cert = (x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
                    .issuer_name(self.root.subject).public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(minutes=1))
                    .not_valid_after(now + datetime.timedelta(hours=72))
                    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                    .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
                    .sign(self.key, hashes.SHA256()))
            self.leaves[service] = {
                "SerialNumber": cert.serial_number.to_bytes(20, "big").hex(":"),
                "CertPEM": cert.public_bytes(serialization.Encoding.PEM).decode(),
                "PrivateKeyPEM": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                   serialization.NoEncryption()).decode(),
                "Service": service, "ServiceURI": uri,
                "ValidAfter": cert.not_valid_before_utc.isoformat().replace("+00:00", "Z"),
                "ValidBefore": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
                "CreateIndex": state.index, "ModifyIndex": state.index}
        return self.leaves[service]


class Runaway:
    """The huge_body_mb fault's answer, in place of a body."""

    def __init__(self, mebibytes):
        self.mebibytes = mebibytes


def parse_wait(text):
    if text is None:
        return 300.0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not match:
        raise ValueError("Invalid wait time")
    value, unit = float(match.group(1)), match.group(2)
    seconds = value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return min(seconds, 600.0)


AGENT_NODE = "consul-agent"  # the node of the agent that answers /v1/agent/*


def run_http_check(state, registration, url, interval):
    """Runs one agent HTTP check until its service is deregistered (or registered again)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                code = response.status
        except urllib.error.HTTPError as error:
            code = error.code
        except OSError:
            code = 0
        status = "passing" if 200 <= code < 300 else "warning" if code == 429 else "critical"
        with state.lock:
            if state.services.get(registration["service"]["ID"]) is not registration:
                return
            if registration["checks"][0]["Status"] != status:
                registration["checks"][0]["Status"] = status
                registration["index"] = state.bump()
        time.sleep(interval)


def health_entry(state, service):
    node = state.nodes.get(service["node"], {"Node": service["node"], "Address": ""})
    body = dict(service["service"])
    body.setdefault("Tags", [])
    body.setdefault("Address", "")
    body.setdefault("Meta", None)
    if body.get("Kind", "") == "":
        body.pop("Kind", None)
    if not body.get("Port"):
        body.pop("Port", None)
    # TaggedAddresses: {"lan": {"Address", "Port"}, "wan": ...}, both keys always; omitted when empty.
    tagged = {tag: {"Address": value.get("Address", ""), "Port": value.get("Port", 0)}
              for tag, value in (body.get("TaggedAddresses") or {}).items()}
    body.pop("TaggedAddresses", None)
    if tagged:
        body["TaggedAddresses"] = tagged
    body.setdefault("Weights", {"Passing": 1, "Warning": 1})
    body.setdefault("EnableTagOverride", False)
    proxy = dict(body.get("Proxy") or {})
    proxy.setdefault("Mode", "")
    proxy.setdefault("MeshGateway", {})
    proxy.setdefault("Expose", {})
    body["Proxy"] = proxy
    body["Connect"] = body.get("Connect") or {}
    body["PeerName"] = ""
    body["CreateIndex"] = body["ModifyIndex"] = service["index"]
    checks = []
    for check in service["checks"]:
        checks.append({"Node": node["Node"], "CheckID": check.get("CheckID", "check"),
                       "Name": check.get("Name", ""), "Status": check.get("Status", "critical"),
                       "ServiceID": check.get("ServiceID", ""), "ServiceName": "", "Notes": "",
                       "Output": "", "ServiceTags": [], "Type": "", "CreateIndex": service["index"],
                       "ModifyIndex": service["index"]})
    return {"Node": {"ID": "", "Node": node["Node"], "Address": node["Address"],
                     "Datacenter": state.datacenter, "TaggedAddresses": node.get("TaggedAddresses"),
                     "Meta": node.get("Meta"), "CreateIndex": service["index"],
                     "ModifyIndex": service["index"]},
            "Service": body, "Checks": checks}


def catalog_row(state, service):
    """A registration as a catalog row (Consul's ServiceNode): what catalog filters select on."""
    entry = health_entry(state, service)
    node, body = entry["Node"], entry["Service"]
    return {"ID": node["ID"], "Node": node["Node"], "Address": node["Address"], "Datacenter": node["Datacenter"],
            "TaggedAddresses": node["TaggedAddresses"], "NodeMeta": node["Meta"],
            "ServiceKind": body.get("Kind", ""), "ServiceID": body["ID"], "ServiceName": body["Service"],
            "ServiceTags": body["Tags"], "ServiceAddress": body["Address"],
            "ServiceTaggedAddresses": body.get("TaggedAddresses"), "ServiceWeights": body["Weights"],
            "ServiceMeta": body["Meta"], "ServicePort": body.get("Port", 0), "ServiceSocketPath": body.get("SocketPath", ""),
            "ServiceEnableTagOverride": body["EnableTagOverride"], "ServiceProxy": body["Proxy"],
            "ServiceConnect": body["Connect"], "PeerName": ""}


def health_filter_view(entry):
    """A health entry with the Service fields its JSON omits when empty, as filters see them."""
    return dict(entry, Service={"Kind": "", "Port": 0, "TaggedAddresses": None, "SocketPath": "", **entry["Service"]})


def connect_endpoints(state, name):
    """The registrations /v1/health/connect/<name> lists (Consul's CheckConnectServiceNodes): the
    sidecars (connect-proxy, Proxy.DestinationServiceName) and Connect-native instances of the
    service, then the instances of each terminating gateway whose config entry links it by name or
    by `*`. As in Consul's gateway-services table, `*` links every service but consul that has an
    instance of the typical kind that is not Connect-native (whether or not it also has sidecars)."""
    registrations = sorted(state.services.values(), key=lambda s: s["service"]["ID"])
    kind = lambda s: s["service"].get("Kind") or ""
    native = lambda s: bool((s["service"].get("Connect") or {}).get("Native"))

    def serves(s):
        if kind(s) == "connect-proxy":
            return (s["service"].get("Proxy") or {}).get("DestinationServiceName") == name
        return native(s) and s["service"]["Service"] == name

    mesh = [s for s in registrations if serves(s)]
    wildcard = name != "consul" and any(s["service"]["Service"] == name and kind(s) == "" and not native(s)
                                        for s in registrations)
    gateways = {gateway for (entry_kind, gateway), entry in state.entries.items() if entry_kind == "terminating-gateway"
                and any(link.get("Name") == name or (link.get("Name") == "*" and wildcard)
                        for link in entry.get("Services") or [])}
    return mesh + [s for s in registrations if s["service"]["Service"] in gateways]


class FilterError(ValueError):
    """A ?filter expression go-bexpr rejects; the message is Consul's."""


# The selectors filters accept (go-bexpr over Consul's structs): a catalog row's fields, a health
# entry's Node and Service fields; deeper parts (Meta keys, Proxy fields) are not checked.
CATALOG_FIELDS = dict.fromkeys([
    "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta", "ServiceKind", "ServiceID",
    "ServiceName", "ServiceTags", "ServiceAddress", "ServiceTaggedAddresses", "ServiceWeights", "ServiceMeta",
    "ServicePort", "ServiceSocketPath", "ServiceEnableTagOverride", "ServiceProxy", "ServiceConnect", "PeerName"])
HEALTH_FIELDS = {
    "Node": dict.fromkeys(["ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "PeerName"]),
    "Service": dict.fromkeys(["Kind", "ID", "Service", "Tags", "Address", "TaggedAddresses", "Meta", "Port",
                              "SocketPath", "Weights", "EnableTagOverride", "Proxy", "Connect", "PeerName"])}

FILTER_TOKEN = re.compile(r'\s*(?:(==|!=|\(|\))|("(?:[^"\\]|\\.)*"|`[^`]*`)|(-?\d+(?:\.\d+)?)(?![\w.])|'
                          r'([A-Za-z_]\w*(?:\.\w+|\["(?:[^"\\]|\\.)*"\])*))')
SELECTOR_PART = re.compile(r'\.?(\w+)|\[("(?:[^"\\]|\\.)*")\]')


def parse_filter(text, fields):
    """A go-bexpr expression (Consul's ?filter) as a predicate over one datum, None when empty:
    `==`, `!=`, `contains`, `in`, `is empty`, `matches` (each negated with `not`), `and`, `or`,
    `not`, parentheses; values "quoted", `raw`, or bare words and numbers."""
    if not text.strip():
        return None
    tokens, position = [], 0
    while text[position:].strip():
        match = FILTER_TOKEN.match(text, position)
        if not match:
            position += len(text[position:]) - len(text[position:].lstrip())
            tokens.append(("bad", text[position], position))
            break
        tokens.append((["op", "string", "number", "word"][match.lastindex - 1], match.group(match.lastindex),
                       match.start(match.lastindex)))
        position = match.end()
    at = 0

    def peek(offset=0):
        return tokens[at + offset] if at + offset < len(tokens) else ("end", None, len(text))

    def word(offset=0):
        kind, token, _ = peek(offset)
        return token if kind == "word" else None

    def take():
        nonlocal at
        token = peek()
        at = min(at + 1, len(tokens))
        return token

    def fail(expected, token=None):
        where = (token or peek())[2]
        raise FilterError(f"Failed to create boolean expression evaluator: 1:{where + 1} ({where}): "
                          f"no match found, expected: {expected}")

    def selector(token):
        kind, text_, _ = token
        if kind != "word":
            fail("a selector", token)
        path = [json.loads(quoted) if quoted else part for part, quoted in SELECTOR_PART.findall(text_)]
        allowed = fields
        for part in path[:2]:
            if not isinstance(allowed, dict):
                break
            if part not in allowed:
                raise FilterError(f'Failed to create boolean expression evaluator: Selector "{text_}" is not valid')
            allowed = allowed[part]
        return path

    def value(token):
        kind, text_, _ = token
        if kind == "string":
            return json.loads(text_) if text_.startswith('"') else text_[1:-1]
        if kind in ("number", "word"):
            return text_
        fail('a value ("quoted", `raw`, a number or a word)', token)

    def match():
        first = take()
        if peek()[1] in ("==", "!="):
            negate, path, literal = take()[1] == "!=", selector(first), value(take())
            test = lambda datum: filter_equal(filter_lookup(datum, path), literal)
        elif word() == "is":
            take()
            negate = word() == "not"
            if negate:
                take()
            if word() != "empty":
                fail('"empty" or "not"')
            take()
            path = selector(first)
            test = lambda datum: filter_lookup(datum, path) in (None, "", [], {})
        else:
            negate = word() == "not"
            if negate:
                take()
            operator = word()
            if operator == "in":
                take()
                literal, path = value(first), selector(take())
                test = lambda datum: filter_contains(filter_lookup(datum, path), literal)
            elif operator == "contains":
                take()
                path, literal = selector(first), value(take())
                test = lambda datum: filter_contains(filter_lookup(datum, path), literal)
            elif operator == "matches":
                take()
                path, literal = selector(first), value(take())
                try:
                    pattern = re.compile(literal)
                except re.error as error:
                    raise FilterError(f"Failed to create boolean expression evaluator: invalid regular expression: {error}")
                test = lambda datum: isinstance(found := filter_lookup(datum, path), str) and bool(pattern.search(found))
            else:
                fail('"!=", "==", "contains", "in", "is", "matches" or "not"')
        return (lambda datum: not test(datum)) if negate else test

    def term():
        if word() == "not":
            take()
            inner = term()
            return lambda datum: not inner(datum)
        if peek()[1] == "(" and peek()[0] == "op":
            take()
            inner = disjunction()
            if peek()[1] != ")":
                fail('")", "and" or "or"')
            take()
            return inner
        if peek()[0] not in ("word", "string", "number"):
            fail('"(", "not" or a selector')
        return match()

    def conjunction():
        terms = [term()]
        while word() == "and":
            take()
            terms.append(term())
        return lambda datum: all(t(datum) for t in terms)

    def disjunction():
        terms = [conjunction()]
        while word() == "or":
            take()
            terms.append(conjunction())
        return lambda datum: any(t(datum) for t in terms)

    predicate = disjunction()
    if at < len(tokens):
        fail('"and", "or" or EOF')
    return predicate


def filter_lookup(datum, path):
    """The value a selector names; None when a part is missing (a Meta key, a field left out)."""
    for part in path:
        if not isinstance(datum, dict) or part not in datum:
            return None
        datum = datum[part]
    return datum


def filter_equal(value, literal):
    """go-bexpr's ==: the value text converted to the field's type."""
    if isinstance(value, bool):
        return literal == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(literal) == value
        except ValueError:
            return False
    return isinstance(value, str) and value == literal


def filter_contains(value, literal):
    """`contains` / `in`: an element of a list, a key of a map, a substring of a string."""
    if isinstance(value, list):
        return any(filter_equal(element, literal) for element in value)
    if isinstance(value, dict):
        return literal in value
    return isinstance(value, str) and literal in value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with self.state.lock:
            self.state.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.state.lock:
                self.state.connections.discard(self.connection)

    # -- plumbing -----------------------------------------------------------------------------
    def reply(self, status, body, index=None, text=False):
        data = (body if text else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Consul-Default-Acl-Policy", self.state.acl_default)
        if index is not None:
            self.send_header("X-Consul-Index", str(index))
            self.send_header("X-Consul-Knownleader", "true")
            self.send_header("X-Consul-Lastcontact", "0")
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        self.reply(status, message, text=True)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def faulted(self, path, write=False):
        """Applies injected faults; returns True when the request was answered by one.

        Faults hit reads only (what lambda-xds does); writes, the tests' own set-up, still work.
        """
        state = self.state
        with state.lock:
            state.stats[path] = state.stats.get(path, 0) + 1
            faults = {} if write else state.faults
            delay = faults.get("delay_ms", 0) / 1000
            drop = faults.get("drop", 0) > 0
            if drop:
                faults["drop"] -= 1
            status = None
            if faults.get("error_count", 0) > 0:
                faults["error_count"] -= 1
                status = faults.get("error_status", 500)
            if time.monotonic() < faults.get("error_until", 0):
                status = faults.get("error_status", 500)
        self.wait_out_hang(write)
        if delay:
            time.sleep(delay)
        if drop:
            self.close_connection = True
            self.connection.close()
            return True
        if status:
            self.error(status, "No cluster leader" if status == 500 else "simulated failure")
            return True
        if state.token is not None and self.headers.get("X-Consul-Token") != state.token:
            self.error(403, ANONYMOUS_FORBIDDEN)
            return True
        return False

    def forwarded(self, query):
        """WAN federation: a request for another datacenter (`?dc=`) goes to that datacenter's
        servers (here: the simulator given with --wan DC=URL) and its answer comes back as is;
        an unknown datacenter is Consul's 500 "No path to datacenter". Returns True when handled."""
        dc = query.get("dc", [self.state.datacenter])[0]
        if dc == self.state.datacenter:
            return False
        peer = self.state.wan.get(dc)
        if peer is None:
            self.error(500, "No path to datacenter")
            return True
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(peer + self.path, data=body, method=self.command)
        for name in ["X-Consul-Token", "Content-Type"]:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            response = urllib.request.urlopen(request, timeout=600)
        except urllib.error.HTTPError as error:
            response = error
        data = response.read()
        self.send_response(response.status if hasattr(response, "status") else response.code)
        for name in ["Content-Type", "X-Consul-Index", "X-Consul-Knownleader", "X-Consul-Lastcontact",
                     "X-Consul-Default-Acl-Policy"]:
            if response.headers.get(name):
                self.send_header(name, response.headers[name])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def filter(self, query, fields):
        """The ?filter expression as a predicate (None without one), or False once a bad one is
        answered as Consul answers it: 500 (the servers' RPC error, not a 400), plain text."""
        try:
            return parse_filter(query.get("filter", [""])[0], fields)
        except FilterError as error:
            self.error(500, str(error))
            return False

    def wait_out_hang(self, write=False):
        """While a hang is injected, reads are answered only once it is over."""
        if write:
            return
        with self.state.lock:
            until = self.state.faults.get("hang_until", 0)
        while time.monotonic() < until:
            time.sleep(min(0.05, until - time.monotonic()))

    def blocking(self, query, compute):
        """Consul's blocking query: answer at once without index, else wait for a change."""
        try:
            wait = parse_wait(query.get("wait", [None])[0])
            index = int(query.get("index", ["0"])[0])
        except ValueError as error:
            return self.error(400, "Invalid wait time" if "wait" in str(error) else "Invalid index")
        state = self.state
        deadline = time.monotonic() + wait + random.uniform(0, wait / 16)
        with state.lock:
            while index > 0 and state.index <= index and time.monotonic() < deadline:
                state.lock.wait(timeout=max(0.0, deadline - time.monotonic()))
            body, status = compute()
            reported = max(1, state.index)
        self.wait_out_hang()
        if isinstance(body, Runaway):
            return self.runaway(body.mebibytes, reported)
        self.reply(status, body, index=reported)

    def runaway(self, mebibytes, index):
        """Valid JSON padded with that many MiB of spaces."""
        data = b"{}" + b" " * (mebibytes << 20)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Consul-Index", str(index))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass  # the client stopped reading, as it should

    # -- reads --------------------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        state = self.state
        if path == "/_sim/stats":
            with state.lock:
                return self.reply(200, {"requests": state.stats, "index": state.index})
        if self.faulted(path):
            return
        if self.forwarded(query):
            return
        if path == "/v1/catalog/datacenters":
            return self.reply(200, [state.datacenter] + sorted(state.wan))
        if path == "/v1/status/leader":  # needs no token, as in Consul
            return self.reply(200, "127.0.0.1:8300")
        if "ns" in query or "partition" in query:
            return self.error(400, 'Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature')
        if path == "/v1/agent/self":  # the agent's own configuration (the fields lambda-xds reads)
            return self.reply(200, {"Config": {"Datacenter": state.datacenter, "NodeName": AGENT_NODE,
                                               "Server": True, "Version": "1.18.0"},
                                    "Member": {"Name": AGENT_NODE, "Addr": "127.0.0.1", "Status": 1}})
        if path == "/v1/catalog/services":
            keep = self.filter(query, CATALOG_FIELDS)
            if keep is False:
                return
            def services():
                # A runaway answer, decided when the answer is written (a blocking query that was
                # waiting when the fault was set answers runaway too).
                if state.faults.get("huge_body_mb", 0):
                    return Runaway(state.faults["huge_body_mb"]), 200
                # Each service with an instance the filter keeps, with those instances' tags.
                result = {}
                for service in sorted(state.services.values(), key=lambda s: s["service"]["ID"]):
                    if keep is None or keep(catalog_row(state, service)):
                        tags = result.setdefault(service["service"]["Service"], [])
                        tags += [tag for tag in service["service"].get("Tags") or [] if tag not in tags]
                return dict(sorted(result.items())), 200
            return self.blocking(query, services)
        match = re.fullmatch(r"/v1/health/(service|connect)/([^/]+)", path)
        if match:
            connect, name = match.group(1) == "connect", urllib.parse.unquote(match.group(2))
            passing = "passing" in query
            keep = self.filter(query, HEALTH_FIELDS)
            if keep is False:
                return
            def entries():
                if connect:
                    found = connect_endpoints(state, name)
                else:
                    found = sorted((s for s in state.services.values() if s["service"]["Service"] == name),
                                   key=lambda s: s["service"]["ID"])
                result = [health_entry(state, s) for s in found]
                if passing:
                    result = [e for e in result if all(c["Status"] == "passing" for c in e["Checks"])]
                if keep is not None:
                    result = [e for e in result if keep(health_filter_view(e))]
                return result, 200
            return self.blocking(query, entries)
        match = re.fullmatch(r"/v1/config/([^/]+)(?:/([^/]+))?", path)
        if match:
            kind, name = match.group(1), match.group(2)
            def config():
                if name is None:
                    return [e for (k, _), e in sorted(state.entries.items()) if k == kind], 200
                entry = state.entries.get((kind, name))
                return (entry, 200) if entry else (f'Config entry not found for "{kind}" / "{name}"', 404)
            if name is not None and (kind, name) not in state.entries and "index" not in query:
                return self.error(404, f'Config entry not found for "{kind}" / "{name}"')
            return self.blocking(query, config)
        if path.startswith("/v1/kv/"):
            key = urllib.parse.unquote(path[len("/v1/kv/"):])
            recurse = "recurse" in query
            def kv():
                found = [entry for k, entry in sorted(state.kv.items()) if k == key or (recurse and k.startswith(key))]
                if not found:
                    return "", 404  # Consul: empty body, with X-Consul-Index
                return [{"Key": e["Key"], "Value": base64.b64encode(e["Value"]).decode() if e["Value"] else None,
                         "Flags": 0, "LockIndex": 0, "CreateIndex": e["CreateIndex"], "ModifyIndex": e["ModifyIndex"]}
                        for e in found], 200
            return self.blocking(query, kv)
        if path == "/v1/connect/ca/roots":
            def roots():
                return state.ca.roots(), 200
            return self.blocking(query, roots)
        match = re.fullmatch(r"/v1/agent/connect/ca/leaf/([^/]+)", path)
        if match:
            service = match.group(1)
            if state.acl is not None:
                allowed = state.acl.get(self.headers.get("X-Consul-Token", ""), [])
                if service not in allowed and "*" not in allowed:
                    return self.error(403, f"Permission denied: token with AccessorID '' lacks permission 'service:write' on \"{service}\"")
            def leaf():
                return state.ca.leaf(service, state), 200
            with state.lock:
                slow = state.faults.get("leaf_delay_ms", 0) / 1000
            if slow:
                time.sleep(slow)  # the agent signing a new leaf takes a while
            return self.blocking(query, leaf)
        self.error(404, "Invalid URL path: not a recognized HTTP API endpoint")

    # -- writes -------------------------------------------------------------------------------
    def do_PUT(self):
        url = urllib.parse.urlparse(self.path)
        path, state = url.path, self.state
        match = re.fullmatch(r"/_sim/rotate-leaf/([^/]+)", path)
        if match:
            self.body()  # read it, or it would be taken for the next request on this connection
            with state.lock:
                state.ca.leaves.pop(match.group(1), None)
                state.bump()
            return self.reply(200, True)
        if path == "/_sim/faults":
            faults = self.body() or {}
            now = time.monotonic()
            with state.lock:
                if "reset_index" in faults:
                    state.index = int(faults.pop("reset_index"))
                    state.lock.notify_all()
                for span in ["error", "hang"]:
                    if f"{span}_seconds" in faults:
                        faults[f"{span}_until"] = now + float(faults.pop(f"{span}_seconds"))
                state.faults = faults
            self.reply(200, True)
            if "refuse_seconds" in faults:
                state.refuse_seconds = float(faults.pop("refuse_seconds"))
                state.refuse.set()
            return
        if self.faulted(path, write=True):
            return
        if self.forwarded(urllib.parse.parse_qs(url.query)):
            return
        if path.startswith("/v1/kv/"):
            key = urllib.parse.unquote(path[len("/v1/kv/"):])
            value = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.put_kv(key, value)
            return self.reply(200, True)
        body = self.body()
        if path == "/v1/catalog/register":
            with state.lock:
                state.register(body)
            return self.reply(200, True)
        if path == "/v1/agent/service/register":
            return self.agent_register(body)
        match = re.fullmatch(r"/v1/agent/service/deregister/([^/]+)", path)
        if match:
            with state.lock:
                if state.services.pop(urllib.parse.unquote(match.group(1)), None) is None:
                    return self.error(404, f'Unknown service ID "{match.group(1)}". Ensure that the service ID is passed, not the service name.')
                state.bump()
            return self.reply(200, True)
        if path == "/v1/catalog/deregister":
            with state.lock:
                state.bump()
                if body.get("ServiceID"):
                    state.services.pop(body["ServiceID"], None)
                else:
                    state.nodes.pop(body["Node"], None)
                    for key in [k for k, s in state.services.items() if s["node"] == body["Node"]]:
                        del state.services[key]
            return self.reply(200, True)
        if path == "/v1/config":
            with state.lock:
                state.put_config(body)
            return self.reply(200, True)
        if path == "/v1/connect/ca/trust-domain":  # test helper: rotate the trust domain
            with state.lock:
                state.bump()
                state.trust_domain = body
            return self.reply(200, True)
        self.error(405, "method PUT not allowed")

    def agent_register(self, body):
        """The local agent registers a service on its own node; an HTTP check starts critical and
        is run by the agent every Interval, passing on a 2xx answer (429: warning)."""
        state = self.state
        service_id = body.get("ID") or body["Name"]
        check = body.get("Check")
        with state.lock:
            index = state.bump()
            state.nodes.setdefault(AGENT_NODE, {"Node": AGENT_NODE, "Address": "127.0.0.1", "Meta": None})
            service = {"ID": service_id, "Service": body["Name"], "Port": body.get("Port", 0),
                       "Address": body.get("Address", ""), "Meta": body.get("Meta"), "Tags": body.get("Tags") or []}
            for key in ["Kind", "TaggedAddresses", "Proxy", "Connect", "Weights", "EnableTagOverride"]:
                if body.get(key) is not None:
                    service[key] = body[key]
            # The agent adds lan_ipv4 and wan_ipv4 (lan_ipv6, wan_ipv6) for an IP service address.
            try:
                version = ipaddress.ip_address(service["Address"]).version
            except ValueError:
                version = None
            if version:
                tagged = dict(service.get("TaggedAddresses") or {})
                for tag in [f"lan_ipv{version}", f"wan_ipv{version}"]:
                    tagged.setdefault(tag, {"Address": service["Address"], "Port": service["Port"]})
                service["TaggedAddresses"] = tagged
            checks = []
            if check:
                checks.append({"CheckID": f"service:{service_id}", "Status": check.get("Status", "critical"),
                               "Name": check.get("Name", f"Service '{body['Name']}' check"), "ServiceID": service_id})
            registration = {"node": AGENT_NODE, "service": service, "checks": checks, "index": index}
            state.services[service_id] = registration
        if check and check.get("HTTP"):
            interval = float(str(check.get("Interval", "10s")).rstrip("s"))
            threading.Thread(target=run_http_check, args=(state, registration, check["HTTP"], interval),
                             daemon=True).start()
        return self.reply(200, True)

    def do_DELETE(self):
        path = urllib.parse.urlparse(self.path).path
        match = re.fullmatch(r"/v1/config/([^/]+)/([^/]+)", path)
        if self.faulted(self.path, write=True):
            return
        if self.forwarded(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)):
            return
        if path.startswith("/v1/kv/"):
            with self.state.lock:
                self.state.bump()
                self.state.kv.pop(urllib.parse.unquote(path[len("/v1/kv/"):]), None)
            return self.reply(200, True)
        if not match:
            return self.error(405, "method DELETE not allowed")
        with self.state.lock:
            self.state.bump()
            self.state.entries.pop((match.group(1), match.group(2)), None)
        self.reply(200, True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token")
    parser.add_argument("--datacenter", default="dc1")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    parser.add_argument("--unix", help="listen on this Unix socket instead of TCP")
    parser.add_argument("--acl-default", default="allow", choices=["allow", "deny"],
                        help="the ACL default policy Consul reports (X-Consul-Default-Acl-Policy)")
    parser.add_argument("--wan", action="append", default=[],
                        help="DC=URL: another datacenter's simulator; requests with ?dc=DC are forwarded to it")
    parser.add_argument("--load", help="start with this lambda-xds catalog file's registrations, config entries and kv")
    parser.add_argument("--ca-dir", help="the Connect CA's root key and certificate: loaded from DIR/ca-key.pem and "
                        "DIR/ca.pem, or made and written there (simulators sharing DIR share the root)")
    parser.add_argument("--acl", action="append", default=[],
                        help="TOKEN=svc1,svc2: the services a token may write (leaf certificates need it)")
    args = parser.parse_args()
    # Exit at once on SIGTERM, whatever signal disposition or mask the parent process left us
    # (a child started from a Swift test process inherits its blocked signals).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    Handler.state = State(args.datacenter, args.token, args.ca_dir)
    Handler.state.acl_default = args.acl_default
    if args.load:
        Handler.state.load(args.load)
    Handler.state.wan = dict(item.split("=", 1) for item in args.wan)
    if args.acl:
        Handler.state.acl = {item.split("=", 1)[0]: item.split("=", 1)[1].split(",") for item in args.acl}
    def make_server(port):
        if args.unix:
            server = UnixHTTPServer(args.unix, Handler)
        else:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert, args.tls_key)
            if args.tls_client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(args.tls_client_ca)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    state = Handler.state
    server = make_server(args.port)
    port = 0 if args.unix else server.server_address[1]
    print(f"listening {port}", flush=True)
    while True:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        state.refuse.wait()
        # Refused connections: nothing listens on the port and open connections are reset.
        server.shutdown()
        server.server_close()
        with state.lock:
            for connection in list(state.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        time.sleep(state.refuse_seconds)
        state.refuse.clear()
        server = make_server(port)


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Consul's agent can listen on a Unix socket (CONSUL_HTTP_ADDR=unix://...)."""

    def get_request(self):
        request, _ = super().get_request()
        return request, ("unix", 0)


if __name__ == "__main__":
    main()
