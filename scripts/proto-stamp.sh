#!/usr/bin/env bash
# Prints the SHA-256 of every proto source and every generated Swift file. generate-protos.sh
# stores this as proto/GENERATED.sha256; the tests recompute it, so a proto edited without
# regenerating, or generated code edited by hand, fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
{ find proto -name '*.proto'; find Sources/EnvoyAPI/Generated -name '*.swift'; } |
  LC_ALL=C sort | xargs sha256sum
