#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs into Tests/FuzzRegressionTests/corpus/<target>/.

Seeds are valid inputs of each kind, so the fuzzers start from real shapes: the catalog files of
the example and the golden fixtures; Consul answers of every endpoint lambda-xds reads, from the
Consul simulator; Lambda declarations in both forms; and xDS request sequences in both variants
(encoded with Envoy's own descriptors from PyPI's xds-protos). Run from the repository root with
the test virtualenv (scripts/test.sh makes it): .venv/bin/python scripts/fuzz-seeds.py
"""

import json
import pathlib
import shutil
import subprocess
import sys
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT / "Tests" / "FuzzRegressionTests" / "corpus"


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def catalog_files():
    write("catalog-file", "example.json", (ROOT / "envoy-configs" / "catalog.json").read_bytes())
    for path in sorted((ROOT / "Tests" / "TranslationTests" / "Fixtures" / "catalogs").glob("*.json")):
        write("catalog-file", path.name, path.read_bytes())
    write("catalog-file", "yaml.yaml", "datacenter: dc2\nregistrations:\n  - {Node: n, Service: {Service: s, Port: 1}}\n")


def consul_answers():
    simulator = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "simulators" / "consul_simulator.py"), "--port", "0"],
                                 stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{simulator.stdout.readline().split()[-1]}"
        catalog = json.loads((ROOT / "envoy-configs" / "catalog.json").read_text())
        for body, path in [(r, "/v1/catalog/register") for r in catalog["registrations"]] + \
                          [(e, "/v1/config") for e in catalog["config_entries"]]:
            urllib.request.urlopen(urllib.request.Request(base + path, json.dumps(body).encode(), method="PUT"))
        for name, path in [("services", "/v1/catalog/services"), ("health-api", "/v1/health/service/api"),
                           ("health-api-sidecar", "/v1/health/service/api-sidecar-proxy"),
                           ("health-gateway", "/v1/health/service/terminating-gateway"),
                           ("service-defaults", "/v1/config/service-defaults"),
                           ("intentions", "/v1/config/service-intentions"),
                           ("terminating-gateway", "/v1/config/terminating-gateway"),
                           ("roots", "/v1/connect/ca/roots"), ("leaf", "/v1/agent/connect/ca/leaf/api")]:
            write("consul-answers", name + ".json", urllib.request.urlopen(base + path).read())
    finally:
        simulator.terminate()
        simulator.wait()


def lambda_declarations():
    write("lambda-declarations", "arn", "arn:aws:lambda:us-east-1:123456789012:function:payments:live")
    write("lambda-declarations", "url", "https://vpce-0123.lambda.us-east-1.vpce.amazonaws.com:8443")
    write("lambda-declarations", "extension.json", json.dumps({
        "Kind": "service-defaults", "Name": "f", "Protocol": "http", "Meta": {"lambda-xds/filter-mode": "upstream"},
        "EnvoyExtensions": [{"Name": "builtin/aws/lambda", "Arguments": {
            "ARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "PayloadPassthrough": True,
            "InvocationMode": "asynchronous"}}]}))
    prefix = "serverless.consul.hashicorp.com/v1alpha1/lambda/"
    write("lambda-declarations", "legacy.json", json.dumps({
        "Kind": "service-defaults", "Name": "g", "Protocol": "http", "Meta": {
            prefix + "enabled": "true", prefix + "arn": "arn:aws:lambda:eu-west-1:123456789012:function:g",
            prefix + "region": "eu-west-1", prefix + "payload-passthrough": "false", "lambda-xds/endpoint": "http://127.0.0.1:9001"}}))


def xds_requests():
    from envoy.service.discovery.v3 import discovery_pb2
    types = ["type.googleapis.com/envoy.config.cluster.v3.Cluster",
             "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
             "type.googleapis.com/envoy.config.listener.v3.Listener",
             "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
             "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"]

    def record(kind, data):
        assert len(data) < 256
        return bytes([kind, len(data)]) + data

    def snapshot(index):
        return bytes([3 | (index << 2), 0])

    sotw = [snapshot(0)]
    for nonce, (type_url, names) in enumerate([(types[0], []), (types[1], ["a"]), (types[4], ["leaf"]),
                                               (types[2], []), (types[3], ["r"])], start=1):
        first = discovery_pb2.DiscoveryRequest(type_url=type_url, resource_names=names)
        first.node.id = "n"
        sotw.append(record(0, first.SerializeToString()))
        ack = discovery_pb2.DiscoveryRequest(type_url=type_url, resource_names=names, response_nonce=str(nonce), version_info="v")
        sotw.append(record(0, ack.SerializeToString()))
    sotw.append(snapshot(1))
    nack = discovery_pb2.DiscoveryRequest(type_url=types[0], response_nonce="6")
    nack.error_detail.message = "rejected"
    sotw.append(record(0, nack.SerializeToString()))
    write("xds-requests", "sotw", bytes([0]) + b"".join(sotw))

    delta = [snapshot(1)]
    first = discovery_pb2.DeltaDiscoveryRequest(type_url=types[0])
    first.node.id = "n"
    first.initial_resource_versions["a"] = "old"
    delta.append(record(0, first.SerializeToString()))
    delta.append(record(0, discovery_pb2.DeltaDiscoveryRequest(type_url=types[1], resource_names_subscribe=["a", "b", "gone"]).SerializeToString()))
    delta.append(record(0, discovery_pb2.DeltaDiscoveryRequest(type_url=types[0], response_nonce="1").SerializeToString()))
    delta.append(snapshot(2))
    delta.append(record(0, discovery_pb2.DeltaDiscoveryRequest(type_url=types[1], resource_names_unsubscribe=["a"]).SerializeToString()))
    write("xds-requests", "delta", bytes([1]) + b"".join(delta))


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    catalog_files()
    consul_answers()
    lambda_declarations()
    xds_requests()
    for target in sorted(CORPUS.iterdir()):
        print(f"{target.name}: {len(list(target.iterdir()))} seeds")
