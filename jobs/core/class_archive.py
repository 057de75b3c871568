"""A class-data-sharing archive (Java AppCDS) of the classes a local session loads, so that every later
local command's JVM starts faster.

Why: a local `corpusmill sql`, `tables` or `run` first spends seconds starting the JVM, most of them
loading and verifying Spark's, Delta's and Hadoop's classes from hundreds of jars. A dynamic CDS
archive holds those classes already parsed and verified, and the JVM maps it instead (bench/README.md,
"JVM start": session start and a first Delta write and read, with and without it).

`scripts/setup.sh` builds it once per machine (`python -m corpusmill.jobs.core.class_archive`) into
$CORPUSMILL_CACHE/jvm/, named by a key over the java binary, pyspark's jars and the jar cache: a
session uses it only when that key matches, and the JVM checks it again itself (an archive from
another JDK or class path is ignored, silently). A missing archive only means a slower start. Sessions
whose JVM spark-submit starts never use it: their JVM options are spark-submit's.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from corpusmill.jobs.core.config import cache_dir

log = logging.getLogger("corpusmill")

QUIET = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")     # an unusable archive is skipped without a word


def java_binary() -> Path | None:
    """The java that pyspark starts: $JAVA_HOME/bin/java, else java on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else None
    if found is None or not found.is_file():
        which = shutil.which("java")
        found = Path(which) if which else None
    return found.resolve() if found else None


def _jar_listing(folder: Path) -> list[str]:
    return [f"{p.name}:{p.stat().st_size}" for p in sorted(folder.glob("*.jar"))]


def archive_path(jars: list[str]) -> Path | None:
    """Where the archive for this JDK, pyspark and these extra jars is (or would be); None without java."""
    import pyspark

    java = java_binary()
    if java is None:
        return None
    st = java.stat()
    parts = [str(java), str(st.st_size), str(int(st.st_mtime)), pyspark.__version__,
             *_jar_listing(Path(pyspark.__file__).parent / "jars"),
             *(f"{j}:{os.path.getsize(j)}" for j in jars if os.path.exists(j))]
    key = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
    return cache_dir() / "jvm" / f"spark-{key}.jsa"


def java_options(jars: list[str]) -> list[str]:
    """Driver JVM options that map the archive for these jars, or [] when there is none."""
    path = archive_path(jars)
    if path is None or not path.is_file():
        return []
    return [f"-XX:SharedArchiveFile={path}", *QUIET]


# The work whose classes go into the archive: a writer session with the Derby catalog, Delta writes,
# reads, a merge-free overwrite, SQL, a join, an aggregation and an Arrow batch UDF, as stages do.
WORKLOAD = r"""
import sys
import pandas as pd
from corpusmill.jobs.registry import load_config
from corpusmill.jobs.core import rootlock
from corpusmill.jobs.core.session import get_spark
from pyspark.sql import functions as F

root, opts = sys.argv[1], sys.argv[2]
config = load_config(None, [f"storage.root={root}", "spark.master=local[2]", "spark.shuffle_partitions=2",
                            "spark.conf={spark.driver.extraJavaOptions: '" + opts + "'}"])
rootlock.claim(config, "class archive")
spark = get_spark(config)
df = spark.range(2000).select(F.col("id"), (F.col("id") % 7).cast("string").alias("k"),
                              F.sha1(F.col("id").cast("string")).alias("text"))
path = config.table_path("archive_probe")
df.write.format("delta").mode("overwrite").save(path)
df.write.format("delta").mode("overwrite").save(path)
spark.sql(f"CREATE TABLE IF NOT EXISTS probe USING delta LOCATION '{path}'")
t = spark.read.format("delta").load(path)

def lengths(batches):
    for b in batches:
        yield pd.DataFrame({"id": b["id"], "n": b["text"].str.len()})

joined = t.mapInPandas(lengths, "id long, n long").join(t, "id").groupBy("k").agg(F.sum("n").alias("n"))
joined.write.format("delta").mode("overwrite").save(path + "_agg")
spark.read.format("delta").load(path + "_agg").orderBy("k").collect()
spark.sql("SELECT k, count(*) FROM probe GROUP BY k").collect()
spark.stop()
"""


def build(jars: list[str], timeout: float = 900) -> Path | None:
    """Run WORKLOAD in a new local session whose JVM writes the archive of what it loaded at exit;
    returns its path (None when this JDK cannot write one). Kept when present."""
    target = archive_path(jars)
    if target is None:
        log.warning("class archive: no java found")
        return None
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corpusmill-class-archive-") as tmp:
        dump = Path(tmp) / "spark.jsa"
        opts = f"-XX:ArchiveClassesAtExit={dump} {' '.join(QUIET)}"
        env = {k: v for k, v in os.environ.items() if k != "PYSPARK_GATEWAY_PORT"}
        p = subprocess.run([sys.executable, "-c", WORKLOAD, str(Path(tmp) / "store"), opts],
                           capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp)
        if p.returncode != 0 or not dump.is_file():
            log.warning("class archive: this JVM wrote none (exit %s): %s", p.returncode,
                        (p.stderr or p.stdout).strip().splitlines()[-1:] or "")
            return None
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.move(str(dump), partial)
        os.replace(partial, target)
    for old in target.parent.glob("spark-*.jsa"):     # archives of earlier jars or JDKs
        if old != target:
            old.unlink(missing_ok=True)
    return target


def main() -> int:
    """`python -m corpusmill.jobs.core.class_archive`: build the archive for the jar cache that local
    sessions use ($CORPUSMILL_JARS, else $CORPUSMILL_CACHE/jars; scripts/setup.sh runs it); prints its
    path and size as JSON."""
    import glob

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    jars_dir = os.environ.get("CORPUSMILL_JARS") or str(cache_dir() / "jars")
    path = build(sorted(glob.glob(os.path.join(os.path.expanduser(jars_dir), "*.jar"))))
    print(json.dumps({"archive": str(path) if path else None,
                      "mb": round(path.stat().st_size / 2**20) if path else 0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
