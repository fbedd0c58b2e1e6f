#!/bin/bash
# revnmt against PyTorch on the same model, data and machine state, in one invocation:
# training throughput and peak RSS, translation speed, memory held between forward and
# backward, the matmul peak of this machine, and the ratios against issue 5's targets.
#
#   tools/bench/run_benchmarks.sh [--build DIR] [--work DIR] [--threads N] [--rounds N] [--quick]
#                                 [--no-torch]
#
# --build   build directory holding revnmt and revnmt-bench (default: build)
# --work    scratch directory: vocabulary, batches, models, logs (default: BUILD/bench-work)
# --rounds  how many times training and translation are measured, PyTorch and revnmt in
#           turn (default 3): the machine's speed drifts by up to 25% over minutes, so
#           summarize.py takes each ratio within a round and reports the median over rounds
# --quick   one round, fewer updates and passes (a smoke test; not the documented figures)
# Everything goes to WORK/results.log; tools/bench/summarize.py prints the tables from it.
# Reads Multi30K from ../shared/data/multi30k beside the repository (or DATA=DIR); PyTorch (python3-torch) is optional.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
work=""
threads=2
updates=200
warmup=20
repeats=3
rounds=3
torch=1
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --quick) updates=30; warmup=5; repeats=1; rounds=1; shift ;;
    --no-torch) torch=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
work=${work:-$build/bench-work}
data=${DATA:-$here/../../../shared/data/multi30k}
bench=$build/revnmt-bench
python=${PYTHON:-/usr/bin/python3}
torch_bench=$here/pytorch/bench_torch.py
log=$work/results.log
mkdir -p "$work"
[ -x "$bench" ] || { echo "build revnmt-bench first: cmake --build $build" >&2; exit 1; }
: > "$log"

say() { echo "$@" | tee -a "$log"; }
run() { "$@" 2>&1 | tee -a "$log"; }
load() {
  read -r l1 l5 l15 _ < /proc/loadavg
  say "RESULT {\"kind\": \"load\", \"when\": \"$1\", \"load1\": $l1, \"load5\": $l5, \"load15\": $l15}"
}
have_torch=0
if [ $torch = 1 ]; then
  if "$python" -c "import torch" 2>/dev/null; then
    have_torch=1
  else
    say "PyTorch side skipped: python3-torch not installed"
  fi
fi
torch_run() { [ $have_torch = 1 ] && run "$python" "$torch_bench" "$@" --work "$work" --threads "$threads"; }

say "# revnmt benchmarks $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $threads threads"
say "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
load start
[ -f "$work/batches.bin" ] || run "$bench" prepare --data "$data" --work "$work"
run "$bench" peak --threads "$threads"

say "## training: $updates updates after $warmup of warm-up, batches of 64 sentences, $rounds rounds"
common=(--work "$work" --threads "$threads" --updates "$updates" --warmup "$warmup")
# Each PyTorch cell right before the four revnmt runs compared with it, in every round: the
# machine's speed drifts over minutes, and PyTorch's from one invocation to the next.
for round in $(seq "$rounds"); do
  say "# training round $round"
  for cell in gru lstm; do
    torch_run train --cell $cell --updates "$updates" --warmup "$warmup" || true
    for ours in $cell rev$cell; do
      for precision in fp32 bf16; do
        run "$bench" train --cell $ours --precision $precision "${common[@]}"
      done
    done
  done
done
load "after training"

say "## translation of test2016 (1000 sentences) with briefly trained models"
# One epoch of the benchmark batches (454 updates), trained once and kept in WORK.
for cell in gru revgru; do
  [ -f "$work/$cell.rnmt" ] ||
    "$bench" train --cell $cell --work "$work" --threads "$threads" --warmup 0 --updates 454 \
      --save "$work/$cell.rnmt" > "$work/$cell.train.txt"
done
[ -f "$work/gru.weights" ] || "$bench" export --model "$work/gru.rnmt" --out "$work/gru.weights"
for round in $(seq "$rounds"); do
  say "# translation round $round"
  for beam in 1 5; do
    for batch in 32 64; do
      hyps=$work/hyps.b$beam.$batch.bin
      run "$bench" translate --work "$work" --model "$work/gru.rnmt" --beam $beam --batch $batch \
        --threads "$threads" --repeats "$repeats" --hyps "$hyps"
      torch_run translate --weights "$work/gru.weights" --beam $beam --batch $batch \
        --repeats "$repeats" --hyps "$hyps" || true
      run "$bench" translate --work "$work" --model "$work/gru.rnmt" --beam $beam --batch $batch \
        --threads "$threads" --repeats "$repeats" --precision bf16
      run "$bench" translate --work "$work" --model "$work/revgru.rnmt" --beam $beam \
        --batch $batch --threads "$threads" --repeats "$repeats"
    done
  done
done
load "after translation"

say "## memory held between forward and backward (synthetic batches)"
for cell in gru lstm revgru revlstm; do run "$bench" memory --cell $cell --threads "$threads"; done
for cell in gru lstm; do torch_run memory --cell $cell || true; done
run "$bench" peak --threads "$threads"
load end
"$python" "$here/summarize.py" "$log" | tee "$work/summary.md"
