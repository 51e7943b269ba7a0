#!/usr/bin/env bash
# Configures build/ (Ninja, RelWithDebInfo unless BUILD_TYPE says otherwise). Extra arguments go
# to CMake, e.g. scripts/configure.sh -DVFIOSIM_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B "${BUILD_DIR:-build}" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
