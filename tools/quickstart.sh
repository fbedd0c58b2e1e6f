#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs revnmt's self-check of the
# reversible stacks (exact reversal, memory held vs optimal, gradients).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
tools/build.sh
build/revnmt selftest
