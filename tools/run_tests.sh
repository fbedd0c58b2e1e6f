#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test suite; then builds
# again with AddressSanitizer + UndefinedBehaviorSanitizer (-DREVNMT_SANITIZE=ON, in
# build-sanitize/ or $REVNMT_SANITIZE_BUILD_DIR) and runs the whole suite once more there.
# Any sanitizer report fails the test that triggered it: UBSan aborts on the first finding
# (-fno-sanitize-recover), ASan and LeakSanitizer end the process with an error, and the
# `revnmt` processes the command-line tests start print their reports on stderr, which those
# tests check. REVNMT_SKIP_SANITIZE=1 skips the second pass (a quick local run).
# One OpenMP thread per test so that `ctest -j` does not oversubscribe the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh --with-report  # chromium: the report-renders test runs instead of skipping

tools/build.sh "$@"
(cd "${REVNMT_BUILD_DIR:-build}" &&
  OMP_NUM_THREADS=1 ctest -j "$(nproc)" --output-on-failure --timeout 900)

if [ "${REVNMT_SKIP_SANITIZE:-0}" != 1 ]; then
  sanitize_dir="${REVNMT_SANITIZE_BUILD_DIR:-build-sanitize}"
  # -O1 -g1: quicker to build than -O2 -g, with line numbers in the reports; no NDEBUG.
  REVNMT_BUILD_DIR="$sanitize_dir" CMAKE_BUILD_TYPE=RelWithDebInfo \
    tools/build.sh -DREVNMT_SANITIZE=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" "$@"
  cd "$sanitize_dir"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    OMP_NUM_THREADS=1 ctest -j "$(nproc)" --output-on-failure --timeout 900
fi
