#!/usr/bin/env bash
# Resolve the JVM jars of jars/pom.xml (Delta; hadoop-aws and the AWS SDK v2 modules for s3a://) with
# Maven into a jar folder that `spark.jars` reads. Each jar is listed in the pom (no transitive
# resolution: pyspark/jars already holds Hadoop, netty, httpclient, jackson).
# Idempotent: does nothing when the folder was filled from this same pom (its hash in .pom.sha256).
#
#   bash scripts/resolve_jars.sh [JAR_DIR]     (default: $CORPUSMILL_CACHE/jars or ~/.cache/corpusmill/jars)
#
# Env: MAVEN_REPO_LOCAL = Maven's local repository (default: Maven's own, ~/.m2/repository).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JARS="${1:-${CORPUSMILL_CACHE:-$HOME/.cache/corpusmill}/jars}"
POM_HASH="$(sha256sum "$ROOT/jars/pom.xml" | cut -d' ' -f1)"
if [[ "$(cat "$JARS/.pom.sha256" 2>/dev/null)" == "$POM_HASH" ]] && ls "$JARS"/delta-spark_*.jar >/dev/null 2>&1; then
  exit 0
fi
echo "[setup] resolving the Delta and hadoop-aws jars with Maven into $JARS" >&2
args=(-q -B dependency:copy-dependencies -DoutputDirectory="$JARS" -DexcludeTransitive=true)
[[ -n "${MAVEN_REPO_LOCAL:-}" ]] && args+=(-Dmaven.repo.local="$MAVEN_REPO_LOCAL")
(cd "$ROOT/jars" && mvn "${args[@]}")
ls "$JARS"/delta-spark_*.jar "$JARS"/hadoop-aws-*.jar >/dev/null
echo "$POM_HASH" > "$JARS/.pom.sha256"
