#!/usr/bin/env bash
# Sets up corpusmill on a fresh machine that reaches only the package registries, then runs:
#   bash scripts/setup.sh demo     # the demo (generates a sample crawl, runs every stage)
#   bash scripts/setup.sh test     # the test suite (extra args go to pytest)
#   bash scripts/setup.sh          # set up only
# What it installs, each step skipped when already done:
#   - Debian packages (Java 17, Maven, KenLM build deps, Chromium for the report test) via apt-get
#   - Python dependencies (with the ml, test and bench extras) into a cached venv keyed on
#     pyproject.toml ($CORPUSMILL_CACHE/deps-<hash>), so PyTorch (a multi-GB CUDA build on PyPI)
#     downloads once per machine, not per clone
#   - ./.venv: a light per-clone venv that sees the cached dependencies and this checkout
#   - reader venvs for the export tests ($CORPUSMILL_CACHE/readers-<name>-<hash>), layered over the
#     dependencies ([tool.corpusmill.readers] in pyproject.toml)
#   - Delta, hadoop-aws and AWS SDK v2 jars resolved by Maven from jars/pom.xml into $CORPUSMILL_CACHE/jars
#   - KenLM's lmplz/build_binary built from the kenlm sdist into $CORPUSMILL_CACHE/bin
#   - a JVM class archive of what a local session loads ($CORPUSMILL_CACHE/jvm): faster local starts
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CORPUSMILL_CACHE:-$HOME/.cache/corpusmill}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
mkdir -p "$CACHE"
log() { echo "[setup] $*" >&2; }

# --- Debian packages --------------------------------------------------------------------------
need_pkgs=()
command -v java >/dev/null || need_pkgs+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_pkgs+=(maven)
command -v cmake >/dev/null || need_pkgs+=(cmake)
command -v g++ >/dev/null || need_pkgs+=(g++)
for p in libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev \
         zlib1g-dev libbz2-dev liblzma-dev chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "apt-get install ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    log "missing Debian packages (run as root or install them): ${need_pkgs[*]}"
  fi
fi

# --- Python dependencies (cached venv keyed on the dependency set) ------------------------------
REQS="$(mktemp)"
"$PY" - "$ROOT/pyproject.toml" > "$REQS" <<'PYEOF'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
reqs = list(p["dependencies"])
for extra in ("ml", "test", "bench"):
    reqs += p.get("optional-dependencies", {}).get(extra, [])
print("\n".join(reqs))
PYEOF
DEPS_HASH="$(sha1sum < "$REQS" | cut -c1-12)-$("$PY" -c 'import sys;print("py%d%d"%sys.version_info[:2])')"
DEPS="$CACHE/deps-$DEPS_HASH"
if [ ! -f "$DEPS/.complete" ]; then
  log "installing Python dependencies into $DEPS (PyTorch is large: first time only)"
  rm -rf "$DEPS"
  "$PY" -m venv "$DEPS"
  "$DEPS/bin/pip" install -q --upgrade pip
  cp "$REQS" "$DEPS/requirements.txt"
  "$DEPS/bin/pip" install -q -r "$DEPS/requirements.txt"
  touch "$DEPS/.complete"
fi

# --- per-clone venv: sees the cached dependencies and this checkout ------------------------------
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.deps" 2>/dev/null)" != "$DEPS" ]; then
  log "creating $VENV"
  rm -rf "$VENV"
  "$PY" -m venv --without-pip "$VENV"
  SP="$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')"
  DSP="$("$DEPS/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')"
  echo "$ROOT" > "$SP/00-corpusmill-src.pth"
  echo "$DSP" > "$SP/01-corpusmill-deps.pth"
  for tool in spark-submit spark-class pyspark; do ln -sf "$DEPS/bin/$tool" "$VENV/bin/$tool" 2>/dev/null || true; done
  echo "$DEPS" > "$VENV/.deps"
fi
# the venv's python finds the jar and KenLM caches of this set-up, whatever CORPUSMILL_CACHE was
SP="$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')"
echo "import os; os.environ.setdefault('CORPUSMILL_CACHE', '$CACHE')" > "$SP/02-corpusmill-cache.pth"
cat > "$VENV/bin/corpusmill" <<SH
#!/usr/bin/env bash
exec "$VENV/bin/python" -m corpusmill "\$@"
SH
chmod +x "$VENV/bin/corpusmill"
# ipykernel for the notebook tests, pointing at this venv's python
"$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name python3 >/dev/null 2>&1 || true

# --- reader venvs for the export tests ----------------------------------------------------------
# datasets and mosaicml-streaming pin versions the dependency venv cannot hold (pyarrow, numpy,
# transformers), so each gets a cached overlay venv that sees the dependencies (torch included)
# but installs its own versions in front of them; $VENV/.readers/<name> holds its python's path
DSP="$("$DEPS/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')"
READERS="$("$PY" - "$ROOT/pyproject.toml" <<'PYEOF'
import sys, tomllib
readers = tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("corpusmill", {}).get("readers", {})
for name, reqs in readers.items():
    print(name, *reqs, sep="\t")
PYEOF
)"
rm -rf "$VENV/.readers"
mkdir -p "$VENV/.readers"
while IFS=$'\t' read -r -a reader; do
  name="${reader[0]:-}"
  [ -n "$name" ] || continue
  R="$CACHE/readers-$name-$(printf '%s\n' "${reader[@]:1}" "$DEPS_HASH" | sha1sum | cut -c1-12)"
  if [ ! -f "$R/.complete" ]; then
    log "building the $name reader venv in $R"
    rm -rf "$R"
    "$PY" -m venv "$R"
    RSP="$("$R/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')"
    echo "$DSP" > "$RSP/zz-corpusmill-deps.pth"     # after the venv's own packages: they shadow the deps'
    printf '%s\n' "${reader[@]:1}" > "$R/requirements.txt"
    if ! "$R/bin/pip" install -q --disable-pip-version-check -r "$R/requirements.txt" > "$R/pip.log" 2>&1; then
      tail -n 30 "$R/pip.log" >&2
      log "installing the $name reader venv failed (log: $R/pip.log)"
      exit 1
    fi
    touch "$R/.complete"
  fi
  echo "$R/bin/python" > "$VENV/.readers/$name"
done <<< "$READERS"

# --- JVM jars --------------------------------------------------------------------------------
bash "$ROOT/scripts/resolve_jars.sh" "$CACHE/jars"

# --- git (code stage ingest of git repositories) ----------------------------------------------
command -v git >/dev/null || bash "$ROOT/scripts/setup_code.sh"

# --- KenLM binaries (lmplz, build_binary) -------------------------------------------------------
# with the dependency venv's python: the system python3 may lack what pip needs to build an sdist
PYTHON="$DEPS/bin/python" bash "$ROOT/scripts/build_kenlm.sh" "$CACHE/bin"

# --- JVM class archive (jobs/core/class_archive.py): local sessions start faster with it ----------
"$VENV/bin/python" -m corpusmill.jobs.core.class_archive >/dev/null \
  || log "no JVM class archive was built: local sessions start without it"

log "ready: $VENV (deps: $DEPS)"
cd "$ROOT"
case "${1:-}" in
  demo) shift; exec "$VENV/bin/corpusmill" demo "$@" ;;
  test) shift; exec "$VENV/bin/python" -m pytest "$@" ;;
  "") ;;
  *) echo "usage: bash scripts/setup.sh [demo|test] [args...]" >&2; exit 2 ;;
esac
