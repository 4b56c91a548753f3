#!/usr/bin/env bash
# Regenerates Sources/EnvoyAPI from proto/ and records a stamp that tests compare against.
#
# Needs protoc (Debian: protobuf-compiler). The protoc plugins are built from the package mirror
# at the versions Package.swift uses (first run: several minutes; later runs reuse .build-plugins).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }

scratch=.build-plugins
( cd scripts/plugin-builder &&
  swift build -c release --scratch-path "../../$scratch" --product protoc-gen-swift &&
  swift build -c release --scratch-path "../../$scratch" --product protoc-gen-grpc-swift-2 )
bin="$scratch/release"

out=Sources/EnvoyAPI/Generated
rm -rf "$out"
mkdir -p "$out"
mapfile -t protos < <(cd proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)

protoc -I proto \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  "${protos[@]}"
protoc -I proto \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
  --grpc-swift_out="$out" \
  --grpc-swift_opt=Visibility=Public,FileNaming=PathToUnderscores,Client=true,Server=true \
  envoy/service/discovery/v3/ads.proto

scripts/proto-stamp.sh > proto/GENERATED.sha256
echo "generated $(ls "$out" | wc -l) files into $out"
