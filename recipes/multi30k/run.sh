#!/usr/bin/env bash
# Multi30K English→German, end to end, for one recipe:
#   1. check the data, 2. train (rerunning resumes from the newest checkpoint, or does nothing if
#   training has finished), 3. translate test_2016_flickr with beam 5 using model.best.rnmt,
#   4. score it: cased BLEU and chrF (sacreBLEU defaults) and lowercased BLEU (for comparison with
#   the paper's tokenized-lowercased numbers) -> RUN_DIR/scores.json and scores.txt,
#   5. measure the memory held for backward -> RUN_DIR/memory.json and memory.txt,
#   6. write the report -> RUN_DIR/report/report.html (+ the charts as .svg),
# and print the scores and memory ratios. Steps 3-6 are redone on every run.
#
# Usage: recipes/multi30k/run.sh RECIPE [DATA_DIR] [--set key=value ...]
#   RECIPE    a recipe of this folder by name (revgru, gru, ...) or the path of a recipe YAML file
#   DATA_DIR  the Multi30K task-1 raw files: train.{en,de}.gz, val.{en,de}.gz and
#             test_2016_flickr.{en,de}.gz, gzipped as published. Default: data/multi30k in the
#             repository; download them there from the official Multi30K release,
#             https://github.com/multi30k/dataset, folder data/task1/raw/.
#             On the project's machines the files are in ../shared/data/multi30k:
#               recipes/multi30k/run.sh revgru ../shared/data/multi30k
#   --set     recipe overrides, as for 'revnmt train' (e.g. --set train.max_epochs=2)
# The script works from any working directory: DATA_DIR is taken relative to the caller's
# directory; the recipe's own relative paths (run_dir: runs/...) relative to the repository.
# Environment: REVNMT = the revnmt binary (default: build/revnmt, built if missing).
set -euo pipefail

usage() {  # usage EXIT_CODE
  sed -n 's/^# \{0,1\}//; 11,22p' "${BASH_SOURCE[0]}" >&2
  exit "$1"
}
die() {
  echo "run.sh: error: $*" >&2
  exit 1
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ $# -ge 1 ] || usage 2
case "$1" in -h | --help) usage 0 ;; esac

# The recipe: a path, or a name in recipes/multi30k.
recipe_arg="$1"
shift
if [ -f "$recipe_arg" ]; then
  recipe="$(cd "$(dirname "$recipe_arg")" && pwd)/$(basename "$recipe_arg")"
elif [ -f "$repo/recipes/multi30k/$recipe_arg.yaml" ]; then
  recipe="$repo/recipes/multi30k/$recipe_arg.yaml"
else
  names=""
  for file in "$repo"/recipes/multi30k/*.yaml; do
    [ -e "$file" ] && names="$names $(basename "$file" .yaml)"
  done
  die "no recipe '$recipe_arg' (neither a file nor recipes/multi30k/$recipe_arg.yaml; recipes:$names)"
fi

data_dir="$repo/data/multi30k"
if [ $# -ge 1 ] && [ "${1#--}" = "$1" ]; then
  data_dir="$1"
  shift
fi
[ -d "$data_dir" ] || die "data directory '$data_dir' does not exist; download the Multi30K" \
  "task-1 raw files (https://github.com/multi30k/dataset, data/task1/raw/) into it, or pass" \
  "the directory that holds them as the second argument"
data_dir="$(cd "$data_dir" && pwd)"

revnmt="${REVNMT:-$repo/build/revnmt}"
if [ ! -x "$revnmt" ]; then
  echo "== building revnmt (tools/build.sh)" >&2
  "$repo/tools/build.sh"
  revnmt="$repo/build/revnmt"
fi

cd "$repo"
overrides=(--set "data.dir=$data_dir" "$@")

# The effective configuration decides where things are: run_dir and the test files.
config="$("$revnmt" train "$recipe" "${overrides[@]}" --dump-config)"
# value SECTION KEY: a scalar of the dumped YAML (SECTION "" = top level), quotes removed.
value() {
  printf '%s\n' "$config" | awk -v section="$1" -v key="$2" '
    /^[^ ]/ { current = ""; if ($0 ~ /^[A-Za-z_]+:[ ]*$/) { current = $1; sub(":", "", current) } }
    {
      line = $0
      if (section == "") { if (line !~ /^[^ ]/) next } else {
        if (current != section || line !~ /^  [^ ]/) next
        sub(/^  /, "", line)
      }
      if (index(line, key ": ") == 1) {
        v = substr(line, length(key) + 3)
        if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
        print v
        exit
      }
    }'
}
absolute() {  # a path relative to the repository (where revnmt resolves it from) made absolute
  case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$repo/$1" ;; esac
}
run_dir="$(absolute "$(value "" run_dir)")"
test_src="$(value data test_src)"
test_tgt="$(value data test_tgt)"
if [ -z "$test_src" ] || [ -z "$test_tgt" ]; then
  die "the recipe names no test set (data.test_src / data.test_tgt)"
fi
case "$test_src" in /*) ;; *) test_src="$data_dir/$test_src" ;; esac
case "$test_tgt" in /*) ;; *) test_tgt="$data_dir/$test_tgt" ;; esac

echo "== [1/6] data: $data_dir" >&2
for key in train_src train_tgt valid_src valid_tgt; do
  file="$(value data "$key")"
  case "$file" in /*) ;; *) file="$data_dir/$file" ;; esac
  [ -r "$file" ] || die "data.$key: '$file' is missing or unreadable (see DATA_DIR in run.sh --help)"
done
for file in "$test_src" "$test_tgt"; do
  [ -r "$file" ] || die "test set: '$file' is missing or unreadable (see DATA_DIR in run.sh --help)"
done

echo "== [2/6] train: $recipe -> $run_dir" >&2
"$revnmt" train "$recipe" "${overrides[@]}"
model="$run_dir/model.best.rnmt"
[ -f "$model" ] || die "training left no $model"

test_name="$(basename "$test_src")"
test_name="${test_name%.gz}"
test_name="${test_name%.*}" # test_2016_flickr.en -> test_2016_flickr
mkdir -p "$run_dir/test"
hyp="$run_dir/test/$test_name.hyp"
ref="$run_dir/test/$test_name.ref"

# Writes stdin to $1 atomically (temporary file + rename).
write_atomic() {
  local tmp="$1.tmp.$$"
  cat >"$tmp"
  mv -f "$tmp" "$1"
}

echo "== [3/6] translate $test_name (beam 5) with $model" >&2
"$revnmt" translate -m "$model" -i "$test_src" -o "$hyp" --beam 5
case "$test_tgt" in
  *.gz) gzip -dc "$test_tgt" | write_atomic "$ref" ;;
  *) write_atomic "$ref" <"$test_tgt" ;;
esac

echo "== [4/6] score" >&2
json_string() {  # a JSON string literal
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}
bleu_json="$("$revnmt" score --ref "$ref" "$hyp" --format json)"
chrf_json="$("$revnmt" score --ref "$ref" "$hyp" --metric chrf --format json)"
lc_json="$("$revnmt" score --ref "$ref" "$hyp" --lowercase --format json)"
{
  printf '{\n"test_set": %s,\n"model": %s,\n"beam": 5,\n"hypotheses": %s,\n' \
    "$(json_string "$test_name")" "$(json_string "$model")" "$(json_string "$hyp")"
  printf '"bleu": %s,\n"chrf": %s,\n"bleu_lowercased": %s\n}\n' "$bleu_json" "$chrf_json" "$lc_json"
} | write_atomic "$run_dir/scores.json"
{
  echo "$test_name, beam 5, $model"
  echo "BLEU (cased):      $("$revnmt" score --ref "$ref" "$hyp")"
  echo "chrF:              $("$revnmt" score --ref "$ref" "$hyp" --metric chrf)"
  echo "BLEU (lowercased, for comparison with the paper's tokenized-lowercased numbers):"
  echo "                   $("$revnmt" score --ref "$ref" "$hyp" --lowercase)"
} | write_atomic "$run_dir/scores.txt"

echo "== [5/6] memory (the trained model's ledger over 10 training batches)" >&2
"$revnmt" memory "$recipe" "${overrides[@]}" --model "$model" --batches 10 --quiet \
  --json "$run_dir/memory.json" | write_atomic "$run_dir/memory.txt"

echo "== [6/6] report" >&2
"$revnmt" report "$run_dir" --quiet

echo
echo "Test scores ($run_dir/scores.txt):"
sed 's/^/  /' "$run_dir/scores.txt"
echo
echo "Memory held for backward ($run_dir/memory.txt):"
grep -E "^  (Activation memory|actual ratio|optimal ratio|paper's actual ratio|Real bytes|whole model)" \
  "$run_dir/memory.txt"
echo
echo "Report: $run_dir/report/report.html"
