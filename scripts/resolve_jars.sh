#!/usr/bin/env bash
# Resolve the JVM jars of jars/pom.xml (Delta) with Maven into a jar folder that `spark.jars` reads.
# Idempotent: does nothing when the folder already holds delta-spark.
#
#   bash scripts/resolve_jars.sh [JAR_DIR]     (default: $CORPUSMILL_CACHE/jars or ~/.cache/corpusmill/jars)
#
# Env: MAVEN_REPO_LOCAL = Maven's local repository (default: Maven's own, ~/.m2/repository).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JARS="${1:-${CORPUSMILL_CACHE:-$HOME/.cache/corpusmill}/jars}"
if ls "$JARS"/delta-spark_*.jar >/dev/null 2>&1; then
  exit 0
fi
echo "[setup] resolving the Delta jars with Maven into $JARS" >&2
args=(-q -B dependency:copy-dependencies -DoutputDirectory="$JARS" -DexcludeTransitive=true)
[[ -n "${MAVEN_REPO_LOCAL:-}" ]] && args+=(-Dmaven.repo.local="$MAVEN_REPO_LOCAL")
(cd "$ROOT/jars" && mvn "${args[@]}")
ls "$JARS"/delta-spark_*.jar >/dev/null
