#!/usr/bin/env bash
# Installs the Debian packages revnmt needs, only those that are missing.
# Usage: tools/install_deps.sh [--with-bench] [--with-report]
#   --with-bench   also python3-torch + libopenblas0-openmp (the PyTorch comparison)
#   --with-report  also chromium (checks that the HTML report renders)
set -euo pipefail

packages=(g++ cmake pkg-config make libdnnl-dev libsentencepiece-dev sentencepiece
          libboost-program-options-dev libyaml-cpp-dev libgtest-dev libgmock-dev googletest
          zlib1g-dev)
for arg in "$@"; do
  case "$arg" in
    --with-bench) packages+=(python3-torch libopenblas0-openmp) ;;
    --with-report) packages+=(chromium) ;;
    *) echo "install_deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
