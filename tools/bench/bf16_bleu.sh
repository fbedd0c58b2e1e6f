#!/bin/bash
# Effect of train.precision bf16 on speed, validation perplexity and BLEU: trains the
# benchmark GRU (tools/bench/gru_bench.yaml) twice with the same seed, fp32 and bf16, for
# EPOCHS epochs, then translates test2016 (beam 5) with each and scores it.
#
#   tools/bench/bf16_bleu.sh [BUILD_DIR] [WORK_DIR] [EPOCHS] [extra --set flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
work=${2:-$build/bench-work}
epochs=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
data=${DATA:-$here/../../../shared/data/multi30k}  # DATA=DIR to read Multi30K elsewhere
revnmt=$build/revnmt
mkdir -p "$work"
for precision in fp32 bf16; do
  run=$work/bleu-$precision
  echo "== $precision: $run (uptime: $(uptime | sed 's/.*load/load/'))"
  start=$(date +%s)
  "$revnmt" train "$here/gru_bench.yaml" --set run_dir="$run" --set data.dir="$data" \
    --set train.precision=$precision --set train.max_epochs="$epochs" "$@" 2>&1 |
    grep -E "valid|epoch|tok/s" | tail -n 12 || true
  echo "train seconds: $(( $(date +%s) - start ))"
  "$revnmt" translate -m "$run/model.rnmt" -i "$data/test_2016_flickr.en.gz" -o "$run/test.hyp" \
    -b 5 --batch 64 -q
  printf "test2016 beam 5: "
  "$revnmt" score --ref <(zcat "$data/test_2016_flickr.de.gz") "$run/test.hyp"
done
