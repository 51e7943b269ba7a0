#!/usr/bin/env bash
# Regenerates the golden reports after an intended change of model behaviour. Review the diff
# (git diff tests/golden) before committing: every changed number should have a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build --target vfiosim
out=$(mktemp -d)
./build/vfiosim run scenarios/quickstart.json -q -o "$out/quickstart"
cp "$out/quickstart/report.json" tests/golden/quickstart.report.json
rm -rf "$out"
git --no-pager diff --stat tests/golden || true
