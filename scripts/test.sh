#!/usr/bin/env bash
# Builds everything (warnings are errors) and runs the whole test suite. Pass ctest arguments to
# run a part, e.g. scripts/test.sh -L scenario
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/configure.sh -DVFIOSIM_WERROR=ON
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
