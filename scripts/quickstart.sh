#!/usr/bin/env bash
# From a fresh Debian 12 machine to the first timing report: install what is missing, build the
# simulator, run scenarios/quickstart.json and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/configure.sh
cmake --build build --target vfiosim -j "$(nproc)"
exec build/vfiosim run scenarios/quickstart.json -o vfiosim-out/quickstart
