#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS: scripts/fuzz.sh TARGET SECONDS
#   TARGET: catalog-file, consul-answers, lambda-declarations or xds-requests (Sources/Fuzzing)
# Builds Fuzz/ with -sanitize=fuzzer,address into .build-fuzz (the first build takes several
# minutes), starts from the seeds in Tests/FuzzRegressionTests/corpus/TARGET, and prints how many
# inputs it ran. A crash, hang or memory blow-up fails the run; the input that caused it is copied
# to Tests/FuzzRegressionTests/regressions/TARGET/, where FuzzRegressionTests replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
product="fuzz-$target"
[ -d "Fuzz/Sources/$product" ] || { echo "unknown fuzz target $target: $(ls Fuzz/Sources | sed 's/^fuzz-//' | tr '\n' ' ')" >&2; exit 2; }

echo "== building $product with libFuzzer and AddressSanitizer"
swift build --package-path Fuzz --scratch-path "$PWD/.build-fuzz" -c debug --product "$product" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -3
binary="$PWD/.build-fuzz/debug/$product"

work=$(mktemp -d /tmp/lambda-xds-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp Tests/FuzzRegressionTests/corpus/"$target"/* "$work/corpus/" 2>/dev/null || true
regressions="Tests/FuzzRegressionTests/regressions/$target"

echo "== fuzzing $target for $seconds s"
set +e
(cd "$work" && "$binary" corpus -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 > log 2>&1)
status=$?
set -e
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ +DONE" "$work/log" | sed 's/^/   /'
if [ $status -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
  mkdir -p "$regressions"
  cp "$work"/artifacts/* "$regressions/" 2>/dev/null || true
  tail -40 "$work/log"
  echo "fuzz target $target failed (exit $status); the input is in $regressions/" >&2
  exit 1
fi
echo "== $target: no crash, hang or leak in $seconds s"
