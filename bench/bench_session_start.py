"""A local command's start with and without the JVM class archive (jobs/core/class_archive.py).

    .venv/bin/python bench/bench_session_start.py [--repeats 5]

Each repeat runs, alternating, the same two commands in new processes, as a user would: `corpusmill
tables` on an empty store (interpreter, JVM and Spark start, nothing else) and a small script that
starts a session and writes and reads a 10,000-row Delta table (a stage's first job). "Without" points
CORPUSMILL_JARS at a copy of the jar folder (links): another key, so no archive is found, everything
else the same. Prints the medians and their ratio; run it alone on the machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpusmill.jobs.core import class_archive
from corpusmill.jobs.core.config import cache_dir

DELTA = r"""
import sys
from corpusmill.jobs.registry import load_config
from corpusmill.jobs.core.session import get_spark
config = load_config(None, [f"storage.root={sys.argv[1]}", "storage.catalog=none", "spark.master=local[2]"])
spark = get_spark(config)
spark.range(10000).selectExpr("id", "cast(id % 97 as string) AS k").write.format("delta").save(sys.argv[1] + "/t")
assert spark.read.format("delta").load(sys.argv[1] + "/t").groupBy("k").count().count() == 97
"""


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=600)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    jars_dir = Path(os.environ.get("CORPUSMILL_JARS") or cache_dir() / "jars")
    jars = sorted(str(p) for p in jars_dir.glob("*.jar"))
    archive = class_archive.archive_path(jars)
    if archive is None or not archive.is_file():
        print(f"no class archive for these jars ({archive}): run bash scripts/setup.sh first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-session-start-") as tmp:
        copy = Path(tmp) / "jars"
        copy.mkdir()
        for j in jars:
            (copy / Path(j).name).symlink_to(j)
        envs = {"with": dict(os.environ, CORPUSMILL_JARS=str(jars_dir)),
                "without": dict(os.environ, CORPUSMILL_JARS=str(copy))}
        times: dict[tuple[str, str], list[float]] = {}
        for i in range(args.repeats):
            for name, env in envs.items():
                store = Path(tmp) / f"{name}-{i}"
                cmds = {"corpusmill tables": [sys.executable, "-m", "corpusmill", "tables", "--set",
                                              f"storage.root={store}", "--set", "storage.catalog=none"],
                        "session + Delta write/read": [sys.executable, "-c", DELTA, str(store / "d")]}
                for what, cmd in cmds.items():
                    times.setdefault((what, name), []).append(timed(cmd, env))
    print(f"archive: {archive} ({archive.stat().st_size / 2**20:.0f} MB); medians of {args.repeats}, seconds")
    print("| command | without | with | with / without |\n|---|---|---|---|")
    for what in ("corpusmill tables", "session + Delta write/read"):
        a, b = statistics.median(times[(what, "without")]), statistics.median(times[(what, "with")])
        print(f"| {what} | {a:.1f} | {b:.1f} | {b / a:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
