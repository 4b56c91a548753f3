#!/usr/bin/env bash
# The README's "run it" command. Builds lambda-xds, starts `lambda-xds serve` on the example
# catalog (envoy-configs/catalog.json, no Consul needed), starts a real Envoy 1.40 from the
# bootstrap that `lambda-xds bootstrap` prints, shows what the server read and that Envoy
# connected over ADS, then stops everything it started (by PID).
#
# The translation from catalog to Envoy resources is not built yet; until it is, the server has
# no snapshot for this node and Envoy waits for one.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/python-env.sh
echo "== building"
swift build --product lambda-xds 2>&1 | tail -1
bin=$(swift build --show-bin-path)/lambda-xds

work=$(mktemp -d /tmp/lambda-xds-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --catalog-file envoy-configs/catalog.json --xds-address 127.0.0.1:18000 \
  --log-level info 2>"$work/server.log" &
pids+=($!)
"$bin" bootstrap --node-id api-sidecar-proxy --xds-address 127.0.0.1:18000 \
  --admin-address 127.0.0.1:19000 --output "$work/bootstrap.json"
.venv/bin/envoy -c "$work/bootstrap.json" --disable-hot-restart --log-path "$work/envoy.log" &
pids+=($!)

for _ in $(seq 1 100); do
  state=$(curl -s 127.0.0.1:19000/stats 2>/dev/null | grep '^control_plane.connected_state' || true)
  [ "$state" = "control_plane.connected_state: 1" ] && break
  sleep 0.1
done
sleep 0.5
echo "== Envoy (node api-sidecar-proxy) -> lambda-xds: ${state:-not connected}"
echo "== lambda-xds log:"
cat "$work/server.log"
