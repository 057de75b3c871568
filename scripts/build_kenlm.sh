#!/usr/bin/env bash
# Build KenLM's lmplz and build_binary (needed by `corpusmill train-lm`) from the `kenlm` source
# distribution on PyPI. Idempotent: does nothing when both binaries already run.
#
#   bash scripts/build_kenlm.sh [BIN_DIR]        (default: $CORPUSMILL_KENLM_BIN or $CORPUSMILL_CACHE/bin, cache default ~/.cache/corpusmill)
#
# Env: PYTHON (a python with pip; default: the venv's or python3), KENLM_VERSION (default 0.3.0),
#      CORPUSMILL_SKIP_APT=1 to skip the apt-get step (build deps already present).
set -euo pipefail

BIN_DIR="${1:-${CORPUSMILL_KENLM_BIN:-${CORPUSMILL_CACHE:-$HOME/.cache/corpusmill}/bin}}"
KENLM_VERSION="${KENLM_VERSION:-0.3.0}"
PYTHON="${PYTHON:-$(command -v python3)}"

if [[ -x "$BIN_DIR/lmplz" && -x "$BIN_DIR/build_binary" ]]; then
  echo "kenlm binaries already in $BIN_DIR"
  exit 0
fi

# --- Debian build dependencies (only the missing ones) -----------------------------------------
if [[ "${CORPUSMILL_SKIP_APT:-0}" != "1" ]]; then
  need=()
  for p in cmake g++ make libboost-program-options-dev libboost-system-dev libboost-thread-dev \
           libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if (( ${#need[@]} )); then
    SUDO=""; [[ "$(id -u)" != "0" ]] && SUDO="sudo"
    echo "installing build dependencies: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# --- source from PyPI, cmake build ---------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kenlm-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "downloading kenlm==$KENLM_VERSION source distribution from PyPI"
# build isolation: pip fetches the sdist's own build requirements (setuptools, wheel) into a
# throwaway environment, so any python with pip works, with or without `wheel` installed
"$PYTHON" -m pip download --quiet --no-deps --no-binary kenlm -d "$WORK" "kenlm==$KENLM_VERSION"
SDIST="$(ls "$WORK"/kenlm-*.tar.gz | head -1)"
tar -xzf "$SDIST" -C "$WORK"
SRC="$(find "$WORK" -maxdepth 1 -mindepth 1 -type d -name 'kenlm*' | head -1)"
mkdir -p "$SRC/build"
cd "$SRC/build"
JOBS="${KENLM_BUILD_JOBS:-$(nproc)}"
echo "building lmplz and build_binary with cmake (about 2 minutes on 2 cores)"
{ cmake .. -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 -DCOMPILE_TESTS=OFF && \
  make -j"$JOBS" lmplz build_binary; } >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
mkdir -p "$BIN_DIR"
install -m 0755 bin/lmplz bin/build_binary "$BIN_DIR/"
echo "installed lmplz and build_binary into $BIN_DIR"
