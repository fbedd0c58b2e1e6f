#!/usr/bin/env bash
# ctest: a tiny run end to end (recipes/multi30k/run.sh on the tiny revgru recipe and the test
# fixtures), then tools/check_report_renders.sh on its report. Exit 77 = skipped (no chromium).
# Usage: render_check.sh REVNMT_BINARY SOURCE_DIR
set -euo pipefail
revnmt="$1"
source_dir="$2"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
  [ -z "${CHROMIUM:-}" ]; then
  echo "skipped: chromium is not installed (tools/install_deps.sh --with-report installs it)"
  exit 77
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/revnmt-render-test-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fixtures="$source_dir/tests/fixtures/train"
REVNMT="$revnmt" bash "$source_dir/recipes/multi30k/run.sh" "$source_dir/recipes/tiny/revgru.yaml" \
  "$fixtures" --set "run_dir=$work/run" --set data.test_src=valid.en \
  --set data.test_tgt=valid.de --set train.max_updates=20 --set train.log_every=5 \
  >"$work/run.out" 2>"$work/run.err" || {
  cat "$work/run.err" >&2
  exit 1
}
bash "$source_dir/tools/check_report_renders.sh" "$work/run/report"
