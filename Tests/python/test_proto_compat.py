"""Proves proto/ is wire-compatible with Envoy's own API.

Every message, field and enum value we declare must exist in Envoy's data-plane-api (as packaged by
PyPI's xds-protos) with the same number, type and cardinality. Omitting fields is fine; getting one
wrong would silently corrupt what Envoy receives.
"""

import importlib
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"

# Fields Envoy 1.40 has that the packaged descriptors predate (checked against a real Envoy 1.40
# with `envoy --mode validate`; see ../shared/reference/envoy-aws-lambda.md section 1.1).
NEWER_THAN_XDS_PROTOS = {
    "envoy.extensions.filters.http.aws_lambda.v3.Config.match_excluded_headers",
    "envoy.extensions.filters.http.aws_lambda.v3.Config.match_included_headers",
}


def our_files():
    protoc = shutil.which("protoc")
    assert protoc, "protoc is required (Debian package protobuf-compiler)"
    sources = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run([protoc, "-I", str(PROTO_DIR), f"--descriptor_set_out={out}", *sources],
                       check=True)
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(pathlib.Path(out).read_bytes())
    return list(fds.file)


def upstream(full_name, package):
    """Loads the xds-protos module(s) of a package and returns the named descriptor."""
    pool = descriptor_pool.Default()
    for finder in (pool.FindMessageTypeByName, pool.FindEnumTypeByName):
        try:
            return finder(full_name)
        except KeyError:
            pass
    spec = importlib.util.find_spec(package)
    assert spec and spec.submodule_search_locations, f"xds-protos has no package {package}"
    for directory in spec.submodule_search_locations:
        for entry in sorted(os.listdir(directory)):
            if entry.endswith("_pb2.py"):
                importlib.import_module(f"{package}.{entry[:-3]}")
    for finder in (pool.FindMessageTypeByName, pool.FindEnumTypeByName):
        try:
            return finder(full_name)
        except KeyError:
            pass
    raise AssertionError(f"{full_name} does not exist in Envoy's API")


def walk(package, prefix, messages, enums):
    for enum in enums:
        yield "enum", f"{prefix}.{enum.name}", enum, package
    for message in messages:
        name = f"{prefix}.{message.name}"
        yield "message", name, message, package
        yield from walk(package, name, message.nested_type, message.enum_type)


def declarations():
    for file in our_files():
        if file.package.startswith("google.protobuf"):
            continue
        yield from walk(file.package, file.package, file.message_type, file.enum_type)


DECLS = list(declarations())


def test_subset_is_not_empty():
    names = {name for _, name, _, _ in DECLS}
    assert "envoy.service.discovery.v3.DeltaDiscoveryRequest" in names
    assert len(names) > 80


@pytest.mark.parametrize("kind,name,decl,package", DECLS, ids=[d[1] for d in DECLS])
def test_declaration_matches_envoy(kind, name, decl, package):
    theirs = upstream(name, package)
    if kind == "enum":
        their_values = {v.name: v.number for v in theirs.values}
        for value in decl.value:
            assert their_values.get(value.name) == value.number, f"{name}.{value.name}"
        return
    their_fields = {f.name: f for f in theirs.fields}
    for field in decl.field:
        key = f"{name}.{field.name}"
        if key in NEWER_THAN_XDS_PROTOS and field.name not in their_fields:
            continue
        assert field.name in their_fields, f"{key} is not a field of Envoy's {name}"
        their = their_fields[field.name]
        assert their.number == field.number, f"{key}: number {field.number} != {their.number}"
        assert their.type == field.type, f"{key}: wire type differs"
        assert their.is_repeated == (field.label == field.LABEL_REPEATED), f"{key}: cardinality"
        if field.type_name:
            their_type = (their.message_type or their.enum_type).full_name
            assert field.type_name.lstrip(".") == their_type, f"{key}: {field.type_name}"
        ours_oneof = decl.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None
        their_oneof = their.containing_oneof.name if their.containing_oneof else None
        assert ours_oneof == their_oneof, f"{key}: oneof {ours_oneof} != {their_oneof}"
