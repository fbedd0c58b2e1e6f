#!/usr/bin/env bash
# Configures (Release) and builds revnmt into build/ (or $REVNMT_BUILD_DIR).
# Extra arguments go to CMake, e.g. tools/build.sh -DREVNMT_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${REVNMT_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
