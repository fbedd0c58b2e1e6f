#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test suite.
# One OpenMP thread per test so that `ctest -j` does not oversubscribe the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh "$@"
cd "${REVNMT_BUILD_DIR:-build}"
OMP_NUM_THREADS=1 ctest -j "$(nproc)" --output-on-failure --timeout 900
