#!/usr/bin/env bash
# Checks that a report of 'revnmt report' renders in headless Chromium (Debian package
# `chromium`; tools/install_deps.sh --with-report installs it):
#   - report.html loads, and its DOM holds the title, every section and as many <svg> charts as
#     the file has (nothing was swallowed by a parse error);
#   - a full-page screenshot is a real PNG with content (not a blank page);
#   - every chart .svg parses as XML (Chromium shows a <parsererror> page otherwise) and
#     renders to a screenshot.
# Usage: tools/check_report_renders.sh REPORT_DIR [SCREENSHOT_DIR]
#   REPORT_DIR      holds report.html and the charts (RUN_DIR/report by default)
#   SCREENSHOT_DIR  keep the screenshots there (default: a temporary directory, removed)
# Exit codes: 0 renders, 1 does not, 2 usage, 77 skipped (no chromium; ctest SKIP_RETURN_CODE).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  [ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && exit 0
  exit 2
fi
report_dir="$(cd "$1" 2>/dev/null && pwd)" || { echo "check_report_renders: no directory $1" >&2; exit 2; }
html="$report_dir/report.html"
[ -f "$html" ] || { echo "check_report_renders: $html does not exist" >&2; exit 1; }

# $CHROMIUM names the browser binary; default: chromium (or chromium-browser) on the PATH.
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "check_report_renders: skipped: chromium is not installed${chromium:+ ($chromium)}" \
    "(tools/install_deps.sh --with-report installs it)" >&2
  exit 77
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/revnmt-render-XXXXXX")"
trap 'rm -rf "$work"' EXIT
shots="${2:-$work/shots}"
mkdir -p "$shots"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# chromium ARGS... URL: headless, offline, a fresh profile per call; stderr kept in a log.
run_chromium() {
  local profile
  profile="$(mktemp -d "$work/profile-XXXXXX")"
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" "$@" 2>>"$work/chromium.log"
}

# A PNG of at least MIN bytes: blank pages compress to a few kilobytes.
check_png() {  # check_png FILE MIN_BYTES WHAT
  if [ ! -s "$1" ]; then
    fail "$3: no screenshot was written"
    return
  fi
  if [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    fail "$3: the screenshot is not a PNG"
    return
  fi
  local size
  size="$(wc -c <"$1")"
  [ "$size" -ge "$2" ] || fail "$3: the screenshot has $size bytes, fewer than $2 (a blank page?)"
}

count() { grep -o "$1" | wc -l | tr -d ' '; }

# 1. The page: DOM after parsing.
run_chromium --dump-dom "file://$html" >"$work/report.dom" || fail "report.html: chromium --dump-dom failed"
expected_svgs="$(count '<svg ' <"$html")"
found_svgs="$(count '<svg ' <"$work/report.dom")"
[ "$expected_svgs" -gt 0 ] || fail "report.html has no <svg> chart"
[ "$found_svgs" = "$expected_svgs" ] ||
  fail "report.html: the rendered DOM has $found_svgs <svg> charts, the file $expected_svgs"
grep -q "<h1>revnmt run report" "$work/report.dom" || fail "report.html: no title in the rendered DOM"
for section in summary scores curves memory config; do
  grep -q "<section id=\"$section\">" "$work/report.dom" ||
    fail "report.html: section '$section' is missing from the rendered DOM"
done
grep -q "<script" "$work/report.dom" && fail "report.html: contains a script"

# 2. The page: a full screenshot.
run_chromium --window-size=1100,4200 --screenshot="$shots/report.png" "file://$html" >/dev/null ||
  fail "report.html: chromium --screenshot failed"
check_png "$shots/report.png" 40000 "report.html"

# 3. Every chart as a standalone SVG document (XML parser: any error shows as <parsererror>).
charts=0
for svg in "$report_dir"/*.svg; do
  [ -e "$svg" ] || break
  charts=$((charts + 1))
  name="$(basename "$svg" .svg)"
  run_chromium --dump-dom "file://$svg" >"$work/$name.dom" || fail "$name.svg: chromium --dump-dom failed"
  if grep -q "parsererror" "$work/$name.dom"; then
    fail "$name.svg: XML error: $(sed -n 's/.*<div[^>]*>\(error[^<]*\)<.*/\1/p' "$work/$name.dom")"
  elif ! grep -q "<svg " "$work/$name.dom"; then
    fail "$name.svg: no <svg> element in the rendered DOM"
  fi
  run_chromium --window-size=760,400 --screenshot="$shots/$name.png" "file://$svg" >/dev/null ||
    fail "$name.svg: chromium --screenshot failed"
  check_png "$shots/$name.png" 8000 "$name.svg"
done
[ "$charts" -gt 0 ] || fail "no .svg chart files in $report_dir"

if [ "$failures" -gt 0 ]; then
  # Chromium's own complaints, without the D-Bus noise of a machine without a session bus.
  grep -v -e dbus -e "bytes written to file" -e "^$chromium:" "$work/chromium.log" |
    tail -n 20 >&2 || true
  echo "check_report_renders: $failures problem(s) in $report_dir" >&2
  exit 1
fi
echo "check_report_renders: report.html ($found_svgs inline charts) and $charts SVG files render in" \
  "$("$chromium" --version 2>/dev/null || echo chromium)${2:+; screenshots in $shots}"
