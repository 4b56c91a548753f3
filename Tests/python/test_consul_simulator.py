"""The Consul simulator's outage faults behave like the outages they stand for."""

import base64
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

SIMULATOR = pathlib.Path(__file__).parents[1] / "simulators" / "consul_simulator.py"


@pytest.fixture
def consul():
    process = subprocess.Popen([sys.executable, str(SIMULATOR), "--port", "0"], stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline().split()[-1])
    yield f"http://127.0.0.1:{port}", port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null"), response.headers


def put(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def test_status_leader_answers_like_consul(consul):
    base, _ = consul
    assert get(base + "/v1/status/leader")[:2] == (200, "127.0.0.1:8300")


def test_errors_for_a_time_span_then_answers(consul):
    base, _ = consul
    put(base + "/_sim/faults", {"error_seconds": 0.5, "error_status": 500})
    with pytest.raises(urllib.error.HTTPError) as failure:
        get(base + "/v1/catalog/services")
    assert failure.value.code == 500
    time.sleep(0.6)
    assert get(base + "/v1/catalog/services")[0] == 200


def test_a_hang_answers_reads_only_once_it_is_over(consul):
    base, _ = consul
    put(base + "/_sim/faults", {"hang_seconds": 1})
    start = time.monotonic()
    assert get(base + "/v1/status/leader")[0] == 200
    assert time.monotonic() - start >= 0.9


def test_refused_connections_then_the_same_port_again(consul):
    base, port = consul
    put(base + "/_sim/faults", {"refuse_seconds": 1})
    time.sleep(0.3)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    time.sleep(1.2)
    assert get(base + "/v1/status/leader")[0] == 200


def test_an_index_reset_is_seen_by_the_next_answer(consul):
    base, _ = consul
    put(base + "/v1/catalog/register", {"Node": "n", "Service": {"Service": "web"}})
    before = int(get(base + "/v1/catalog/services")[2]["X-Consul-Index"])
    put(base + "/_sim/faults", {"reset_index": 2})
    assert int(get(base + "/v1/catalog/services")[2]["X-Consul-Index"]) < before


def test_agent_registration_runs_its_http_check_and_deregisters(consul):
    """A service registered with the agent appears on the agent's node, critical until its HTTP
    check answers 2xx, critical again when it does not; deregistering removes it."""
    import http.server
    import threading

    answer = {"status": 503}

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answer["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    ready = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=ready.serve_forever, daemon=True).start()
    base, _ = consul
    check = {"HTTP": f"http://127.0.0.1:{ready.server_port}/readyz", "Interval": "0.1s"}
    assert put(base + "/v1/agent/service/register", {"ID": "x-1", "Name": "x", "Port": 18000, "Check": check}) == 200

    def status():
        entries = get(base + "/v1/health/service/x")[1]
        return [(e["Node"]["Node"], e["Service"]["Port"], e["Checks"][0]["Status"]) for e in entries]

    def eventually(expected):
        for _ in range(100):
            if status() == expected:
                return
            time.sleep(0.05)
        assert status() == expected

    eventually([("consul-agent", 18000, "critical")])
    answer["status"] = 200
    eventually([("consul-agent", 18000, "passing")])
    assert get(base + "/v1/health/service/x?passing")[1][0]["Service"]["ID"] == "x-1"
    answer["status"] = 503
    eventually([("consul-agent", 18000, "critical")])
    assert put(base + "/v1/agent/service/deregister/x-1", None) == 200
    assert status() == []
    with pytest.raises(urllib.error.HTTPError) as missing:
        put(base + "/v1/agent/service/deregister/x-1", None)
    assert missing.value.code == 404
    ready.shutdown()


def test_agent_self_names_the_datacenter():
    """/v1/agent/self carries the agent's datacenter (Config.Datacenter), as Consul's does."""
    process = subprocess.Popen([sys.executable, str(SIMULATOR), "--port", "0", "--datacenter", "eu-west"],
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline().split()[-1])
        status, body, _ = get(f"http://127.0.0.1:{port}/v1/agent/self")
        assert status == 200 and body["Config"]["Datacenter"] == "eu-west"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_kv_as_consul_stores_and_answers_it(consul):
    base, _ = consul
    prefix = base + "/v1/kv/lambda-xds/services/"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(prefix + "?recurse")
    assert missing.value.code == 404 and int(missing.value.headers["X-Consul-Index"]) > 0
    put(prefix + "checkout", {"timeout": "30s"})
    put(base + "/v1/kv/lambda-xds/other", "x")
    status, entries, headers = get(prefix + "?recurse")
    assert status == 200 and [e["Key"] for e in entries] == ["lambda-xds/services/checkout"]
    assert json.loads(base64.b64decode(entries[0]["Value"])) == {"timeout": "30s"}
    assert entries[0]["CreateIndex"] == entries[0]["ModifyIndex"] <= int(headers["X-Consul-Index"])

    # A blocking read on that index returns once the key changes, with its new ModifyIndex.
    index = headers["X-Consul-Index"]
    started = time.monotonic()
    writer = subprocess.Popen([sys.executable, "-c", f"import time, urllib.request; time.sleep(0.5); "
                               f"urllib.request.urlopen(urllib.request.Request('{prefix}checkout', data=b'{{}}', method='PUT'))"])
    _, changed, _ = get(prefix + f"?recurse&index={index}&wait=10s", timeout=15)
    writer.wait(timeout=10)
    assert 0.4 < time.monotonic() - started < 5
    assert changed[0]["ModifyIndex"] > entries[0]["ModifyIndex"] and changed[0]["CreateIndex"] == entries[0]["CreateIndex"]

    request = urllib.request.Request(prefix + "checkout", method="DELETE")
    urllib.request.urlopen(request, timeout=5)
    with pytest.raises(urllib.error.HTTPError):
        get(prefix + "?recurse")


def test_load_starts_with_a_catalog_file(tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({
        "registrations": [{"Node": "n", "Address": "10.0.0.1", "Service": {"Service": "web", "Port": 80}}],
        "config_entries": [{"Kind": "service-defaults", "Name": "web", "Protocol": "http"}],
        "kv": {"lambda-xds/services/web": {"timeout": "30s"}}}))
    process = subprocess.Popen([sys.executable, str(SIMULATOR), "--port", "0", "--load", str(catalog)],
                               stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{int(process.stdout.readline().split()[-1])}"
        assert "web" in get(base + "/v1/catalog/services")[1]
        assert get(base + "/v1/health/service/web")[1][0]["Service"]["Port"] == 80
        assert get(base + "/v1/config/service-defaults/web")[1]["Protocol"] == "http"
        value = get(base + "/v1/kv/lambda-xds/services/web")[1][0]["Value"]
        assert json.loads(base64.b64decode(value)) == {"timeout": "30s"}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_wan_federation_forwards_other_datacenters():
    def start(*arguments):
        process = subprocess.Popen([sys.executable, str(SIMULATOR), "--port", "0", *arguments], stdout=subprocess.PIPE, text=True)
        return process, f"http://127.0.0.1:{int(process.stdout.readline().split()[-1])}"
    dc2, dc2_url = start("--datacenter", "dc2")
    dc1, dc1_url = start("--wan", f"dc2={dc2_url}")
    try:
        assert get(dc1_url + "/v1/catalog/datacenters")[1] == ["dc1", "dc2"]
        put(dc2_url + "/v1/catalog/register", {"Node": "n2", "Address": "10.2.0.1", "Service": {"Service": "billing", "Port": 80}})
        put(dc1_url + "/v1/catalog/register", {"Node": "n1", "Address": "10.1.0.1", "Service": {"Service": "web", "Port": 80}})
        assert set(get(dc1_url + "/v1/catalog/services?dc=dc2")[1]) == {"billing"}
        assert set(get(dc1_url + "/v1/catalog/services")[1]) == {"web"}
        status, entries, headers = get(dc1_url + "/v1/health/service/billing?dc=dc2")
        assert entries[0]["Node"]["Address"] == "10.2.0.1" and int(headers["X-Consul-Index"]) > 0
        # A write for dc2 lands in dc2; an unknown datacenter is Consul's error.
        put(dc1_url + "/v1/catalog/register?dc=dc2", {"Node": "n3", "Service": {"Service": "ledger"}})
        assert "ledger" in get(dc2_url + "/v1/catalog/services")[1]
        with pytest.raises(urllib.error.HTTPError) as unknown:
            get(dc1_url + "/v1/catalog/services?dc=dc9")
        assert unknown.value.code == 500 and unknown.value.read() == b"No path to datacenter"
    finally:
        for process in (dc1, dc2):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def start_simulator(*arguments):
    process = subprocess.Popen([sys.executable, str(SIMULATOR), "--port", "0", *arguments], stdout=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{int(process.stdout.readline().split()[-1])}"


def stop_simulators(*processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_health_connect_lists_sidecars_native_instances_and_linked_gateways(consul):
    base, _ = consul
    put(base + "/v1/catalog/register", {"Node": "n1", "Address": "10.0.0.1", "Service": {"Service": "web", "ID": "web-1", "Port": 8080}})
    put(base + "/v1/catalog/register", {
        "Node": "n1", "Address": "10.0.0.1",
        "Service": {"Kind": "connect-proxy", "Service": "web-sidecar-proxy", "ID": "web-sidecar-proxy-1", "Port": 21000,
                    "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web-1"}},
        "Checks": [{"CheckID": "sidecar", "Status": "critical", "ServiceID": "web-sidecar-proxy-1"}]})
    put(base + "/v1/catalog/register", {"Node": "n2", "Address": "10.0.0.2", "Service": {"Service": "api", "ID": "api-1", "Connect": {"Native": True}}})
    put(base + "/v1/catalog/register", {"Node": "n3", "Address": "10.0.0.3", "Service": {"Service": "ledger", "ID": "ledger-1"}})
    put(base + "/v1/catalog/register", {"Node": "gw", "Address": "10.0.0.9",
                                        "Service": {"Kind": "terminating-gateway", "Service": "edge-gw", "ID": "edge-gw-1", "Port": 8443}})

    def ids(service, query=""):
        status, entries, headers = get(base + f"/v1/health/connect/{service}{query}")
        assert status == 200 and int(headers["X-Consul-Index"]) > 0
        return [(e["Service"]["ID"], e["Service"].get("Kind"), e["Service"].get("Port")) for e in entries]

    assert ids("web") == [("web-sidecar-proxy-1", "connect-proxy", 21000)]
    assert ids("web", "?passing") == []
    assert ids("api") == [("api-1", None, None)]
    assert ids("ledger") == [] and ids("payments") == []
    # Linked by name (instances or not), and by `*`: every service with a typical instance that
    # is not Connect-native, as in Consul (web keeps its sidecar and gets the gateway too).
    put(base + "/v1/config", {"Kind": "terminating-gateway", "Name": "edge-gw", "Services": [{"Name": "payments"}, {"Name": "*"}]})
    gateway = ("edge-gw-1", "terminating-gateway", 8443)
    assert ids("payments") == ids("ledger") == [gateway]
    assert ids("web") == [("web-sidecar-proxy-1", "connect-proxy", 21000), gateway]
    assert ids("api") == [("api-1", None, None)] and ids("consul") == [] and ids("edge-gw") == []
    assert ids("web", "?filter=" + urllib.parse.quote('Service.Kind == "terminating-gateway"')) == [gateway]

    # A blocking read returns once the gateway's links change.
    index = get(base + "/v1/health/connect/ledger")[2]["X-Consul-Index"]
    started = time.monotonic()
    writer = subprocess.Popen([sys.executable, "-c", "import time, urllib.request; time.sleep(0.5); urllib.request.urlopen("
                               f"urllib.request.Request('{base}/v1/config', data=b'{{\"Kind\": \"terminating-gateway\", "
                               "\"Name\": \"edge-gw\", \"Services\": [{\"Name\": \"payments\"}]}', method='PUT'))"])
    status, entries, _ = get(base + f"/v1/health/connect/ledger?index={index}&wait=10s", timeout=15)
    writer.wait(timeout=10)
    assert 0.4 < time.monotonic() - started < 5 and entries == []


def test_catalog_services_filter_as_consul_evaluates_it(consul):
    base, _ = consul
    put(base + "/v1/catalog/register", {"Node": "n1", "Service": {"Service": "web", "ID": "web-1", "Tags": ["v1"]}})
    put(base + "/v1/catalog/register", {"Node": "n1", "Service": {"Service": "web", "ID": "web-2", "Tags": ["v2", "v1"]}})
    for node in ["gw1", "gw2"]:
        put(base + "/v1/catalog/register", {"Node": node, "Service": {"Kind": "mesh-gateway", "Service": "mesh-gateway",
                                                                      "ID": f"mesh-gateway-{node}", "Port": 8443}})
    put(base + "/v1/catalog/register", {"Node": "gw3", "Service": {"Kind": "terminating-gateway", "Service": "edge-gw"}})

    def services(expression):
        return get(base + "/v1/catalog/services?filter=" + urllib.parse.quote(expression))[1]

    assert get(base + "/v1/catalog/services")[1] == {"edge-gw": [], "mesh-gateway": [], "web": ["v1", "v2"]}
    assert get(base + "/v1/catalog/services?filter=ServiceKind%20%3D%3D%20%22mesh-gateway%22")[1] == {"mesh-gateway": []}
    assert services('ServiceKind != "mesh-gateway"') == {"edge-gw": [], "web": ["v1", "v2"]}
    assert services('ServiceKind == `mesh-gateway` and ServiceName == "mesh-gateway"') == {"mesh-gateway": []}
    assert services('ServiceName == "web" and ServiceID == "web-2"') == {"web": ["v2", "v1"]}
    assert services('ServiceKind == ""') == {"web": ["v1", "v2"]}
    assert services('ServiceKind == "ingress-gateway"') == {}
    for bad, message in [("ServiceKind = \"x\"", "1:13 (12): no match found"), ('ServiceKind == "x" and', "1:23 (22)"),
                         ('Kind == "mesh-gateway"', 'Selector "Kind" is not valid')]:
        with pytest.raises(urllib.error.HTTPError) as failure:
            services(bad)
        body = failure.value.read().decode()
        assert failure.value.code == 500 and failure.value.headers["Content-Type"].startswith("text/plain")
        assert body.startswith("Failed to create boolean expression evaluator: ") and message in body


def test_mesh_gateways_keep_their_tagged_addresses(tmp_path):
    tagged = {"lan": {"Address": "10.0.0.5", "Port": 8443}, "wan": {"Address": "198.18.0.5", "Port": 443}}
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"registrations": [{"Node": "gw1", "Address": "10.0.0.5", "Service": {
        "Kind": "mesh-gateway", "Service": "mesh-gateway", "ID": "mgw-1", "Port": 8443, "Address": "10.0.0.5",
        "TaggedAddresses": tagged, "Meta": {"consul-wan-federation": "1"}}}]}))
    process, base = start_simulator("--load", str(catalog))
    try:
        put(base + "/v1/catalog/register", {"Node": "gw2", "Address": "10.0.0.6", "Service": {
            "Kind": "mesh-gateway", "Service": "mesh-gateway", "ID": "mgw-2", "Port": 8443,
            "TaggedAddresses": {"lan": {"Address": "10.0.0.6"}, "wan": {"Address": "198.18.0.6", "Port": 443}}}})
        put(base + "/v1/agent/service/register", {"Kind": "mesh-gateway", "ID": "mgw-3", "Name": "mesh-gateway",
                                                  "Address": "10.0.0.7", "Port": 8443, "TaggedAddresses": tagged})
        entries = {e["Service"]["ID"]: e["Service"] for e in get(base + "/v1/health/service/mesh-gateway")[1]}
        assert {service["Kind"] for service in entries.values()} == {"mesh-gateway"}
        assert entries["mgw-1"]["TaggedAddresses"] == tagged and entries["mgw-1"]["Meta"] == {"consul-wan-federation": "1"}
        assert entries["mgw-2"]["TaggedAddresses"] == {"lan": {"Address": "10.0.0.6", "Port": 0},
                                                       "wan": {"Address": "198.18.0.6", "Port": 443}}
        # The agent adds lan_ipv4 / wan_ipv4 for the service's IP address, as Consul's does.
        assert entries["mgw-3"]["TaggedAddresses"] == {**tagged, "lan_ipv4": {"Address": "10.0.0.7", "Port": 8443},
                                                       "wan_ipv4": {"Address": "10.0.0.7", "Port": 8443}}
        put(base + "/v1/catalog/register", {"Node": "n", "Service": {"Service": "web"}})
        assert "TaggedAddresses" not in get(base + "/v1/health/service/web")[1][0]["Service"]  # omitted when empty
        mesh_gateways = get(base + "/v1/catalog/services?filter=" + urllib.parse.quote('ServiceKind == "mesh-gateway"'))[1]
        assert mesh_gateways == {"mesh-gateway": []}
    finally:
        stop_simulators(process)


def test_a_shared_ca_dir_gives_federated_datacenters_one_root(tmp_path):
    from cryptography import x509

    ca_dir = tmp_path / "ca"
    dc2, dc2_url = start_simulator("--datacenter", "dc2", "--ca-dir", str(ca_dir))
    dc1, dc1_url = start_simulator("--wan", f"dc2={dc2_url}", "--ca-dir", str(ca_dir))
    try:
        assert (ca_dir / "ca.pem").exists() and (ca_dir / "ca-key.pem").exists()
        roots = [get(url + "/v1/connect/ca/roots")[1] for url in (dc1_url, dc2_url)]
        assert roots[0] == roots[1] == get(dc1_url + "/v1/connect/ca/roots?dc=dc2")[1]
        assert roots[0]["Roots"][0]["RootCert"] == (ca_dir / "ca.pem").read_text()
        root = x509.load_pem_x509_certificate(roots[0]["Roots"][0]["RootCert"].encode())
        trust_domain = roots[0]["TrustDomain"]
        for url, dc in [(dc1_url, "dc1"), (dc2_url, "dc2")]:
            leaf = get(url + "/v1/agent/connect/ca/leaf/web")[1]
            assert leaf["ServiceURI"] == f"spiffe://{trust_domain}/ns/default/dc/{dc}/svc/web"
            x509.load_pem_x509_certificate(leaf["CertPEM"].encode()).verify_directly_issued_by(root)

        # ?dc=dc2 on health/connect is answered by dc2.
        put(dc2_url + "/v1/catalog/register", {"Node": "n2", "Address": "10.2.0.1", "Service": {
            "Kind": "connect-proxy", "Service": "billing-sidecar-proxy", "ID": "billing-sidecar-proxy-1", "Port": 21000,
            "Proxy": {"DestinationServiceName": "billing"}}})
        assert get(dc1_url + "/v1/health/connect/billing")[1] == []
        entries = get(dc1_url + "/v1/health/connect/billing?dc=dc2")[1]
        assert [(e["Node"]["Datacenter"], e["Service"]["ID"]) for e in entries] == [("dc2", "billing-sidecar-proxy-1")]
    finally:
        stop_simulators(dc1, dc2)
    # A simulator started later with the same directory loads the same root.
    again, again_url = start_simulator("--ca-dir", str(ca_dir))
    try:
        assert get(again_url + "/v1/connect/ca/roots")[1] == roots[0]
    finally:
        stop_simulators(again)
