#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (-fsanitize=fuzzer,address,undefined) and
# runs each for a bounded time from the seed corpus in tests/fixtures/fuzz, then prints the
# executions and crashes of every target. Exit status 1 when any target found a crash (the
# reproducer is in $build_dir/crashes/), 0 otherwise.
#
#   tools/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET] [TARGET ...]
#
# SECONDS_PER_TARGET defaults to 60; TARGETs default to all four (recipe model line_reader
# bleu). REVNMT_FUZZ_BUILD_DIR (default build-fuzz) holds the build, the growing corpora
# (corpus/<target>, kept between runs) and crash reproducers. FUZZ_JOBS=N runs N targets at
# a time (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(recipe model line_reader bleu)
build_dir="${REVNMT_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_JOBS:-1}"

# clang with the libFuzzer runtime (libclang-rt-14-dev) and LLVM's OpenMP, plus the usual deps.
tools/install_deps.sh
missing=()
for p in clang libclang-rt-14-dev libomp-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DREVNMT_FUZZ=ON -DREVNMT_SANITIZE=ON -DREVNMT_BUILD_TESTS=OFF >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build_dir" -j "$(nproc)" --target "${build_targets[@]}"

mkdir -p "$build_dir/crashes" "$build_dir/logs"
run_one() {
  local t="$1"
  local corpus="$build_dir/corpus/$t" log="$build_dir/logs/$t.log"
  local options=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
                 -artifact_prefix="$build_dir/crashes/$t-")
  case "$t" in
    recipe) options+=(-dict=tools/fuzz/recipe.dict -max_len=4096) ;;
    model) options+=(-max_len=20000) ;;
    line_reader) options+=(-max_len=65536) ;;
    bleu) options+=(-max_len=4096) ;;
  esac
  mkdir -p "$corpus"
  # The first directory receives new inputs; the committed seeds are only read.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build_dir/fuzz/fuzz_$t" "${options[@]}" "$corpus" "tests/fixtures/fuzz/$t" >"$log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
  # Crash files of an earlier run would be counted again: start clean.
  rm -f "$build_dir/crashes/$t-"*
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-12s %12s %10s %8s %8s  %s\n' target executions exec/s corpus crashes "log"
for t in "${targets[@]}"; do
  log="$build_dir/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$build_dir/corpus/$t" -type f | wc -l)
  crashes=$(find "$build_dir/crashes" -name "$t-*" -type f | wc -l)
  # A run that ended without final stats died in a way libFuzzer could not report.
  if [ -z "$execs" ]; then
    execs="?"
    crashes=$((crashes > 0 ? crashes : 1))
  fi
  printf '%-12s %12s %10s %8s %8s  %s\n' "$t" "$execs" "${rate:-?}" "$corpus" "$crashes" "$log"
  [ "$crashes" -eq 0 ] || status=1
done
if [ "$status" -ne 0 ]; then
  echo "crashes found: reproduce with $build_dir/fuzz/fuzz_<target> $build_dir/crashes/<file>" >&2
fi
exit "$status"
