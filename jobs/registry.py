"""Everything the stage and tool records declare, gathered: the verbs, the config sections, and the
config loader that knows them all. Only the entry points (jobs/cli.py, `spark-submit` of a stage
module, tests, bench) import this module; stages and tools get their config passed in.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from corpusmill.jobs import tools as tools_pkg
from corpusmill.jobs import training as training_pkg
from corpusmill.jobs.core import config as config_mod
from corpusmill.jobs.core import rootlock
from corpusmill.jobs.core.config import Config
from corpusmill.jobs.core.console import fail, pop_global_flags, print_funnel, progress, setup_logging
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.pipeline import preflight, run_pipeline
from corpusmill.jobs.stages import all_stages

TOOL_PACKAGES = (training_pkg, tools_pkg)


def all_tools() -> list[Tool]:
    """The tool verbs of this build (each module in jobs/training and jobs/tools may declare `TOOLS`)."""
    found: dict[str, Tool] = {}
    for pkg in TOOL_PACKAGES:
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            for tool in getattr(importlib.import_module(info.name), "TOOLS", ()):
                if tool.name in found:
                    raise RuntimeError(f"two modules declare the tool {tool.name!r}")
                found[tool.name] = tool
    return sorted(found.values(), key=lambda t: t.name)


def section_types() -> dict[str, type]:
    """YAML section -> dataclass, from every stage and tool record."""
    out: dict[str, type] = {s.name: s.section for s in all_stages()}
    for t in all_tools():
        if t.section is None:
            continue
        name = t.section_name or t.name
        if out.get(name, t.section) is not t.section:
            raise RuntimeError(f"config section {name!r} declared with two different types")
        out[name] = t.section
    return out


def load_config(path: str | None = None, overrides: list[str] | None = None, layers: tuple[str, ...] = ()) -> Config:
    """conf/default.yaml, then `layers` (conf/demo.yaml for the demo), then the user's file, then `--set`
    overrides, validated (jobs/core/config.py)."""
    return config_mod.load(path, overrides, section_types(), layers)


def add_config_arguments(ap: argparse.ArgumentParser) -> None:
    """`--conf` and `--set`, which every verb and stage entry point takes."""
    ap.add_argument("--conf", metavar="FILE",
                    help="YAML config read over conf/default.yaml (keys it leaves out keep their defaults)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override one config value, after --conf (repeatable), e.g. --set storage.root=/data/cm")


def add_global_flags(ap: argparse.ArgumentParser) -> None:
    """`-v` / `-q`, listed in every help; taken out of argv before parsing (console.pop_global_flags), so
    they work in any position."""
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks (any position)")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="log warnings and errors only: no progress lines on stderr (any position)")


def stage_main(stage: str, argv: list[str] | None = None) -> int:
    """Entry point of `spark-submit jobs/stages/<stage>.py --conf FILE [--set k=v] [--input P ...] [--force]`."""
    argv, verbose, quiet = pop_global_flags(list(sys.argv[1:] if argv is None else argv))
    ap = argparse.ArgumentParser(prog=f"jobs/stages/{stage}.py",
                                 description=f"Run the {stage} stage (spark-submit entry point; skipped when done "
                                             f"for the same inputs and config).")
    add_config_arguments(ap)
    add_global_flags(ap)
    ap.add_argument("--input", nargs="+", metavar="PATH", help="input paths/globs (several, or comma-separated)")
    ap.add_argument("--force", action="store_true", help="re-run even if done for the same inputs and config")
    args = ap.parse_args(argv)
    setup_logging(verbose, quiet)
    config = None
    try:
        config = load_config(args.conf, args.set)
        rootlock.claim(config, f"spark-submit jobs/stages/{stage}.py")   # before Spark: one writer per root
        preflight(config, [stage])
        spark = get_spark(config, app_name=f"corpusmill-{stage}")
        results = run_pipeline(spark, config, [stage], inputs=split_inputs(args.input), force=args.force,
                               progress=progress)
    except Exception as e:  # noqa: BLE001 - spark-submit logs keep the traceback of an unexpected failure
        return fail(e, config, verbose=verbose, traceback_unless_known=True)
    print_funnel(results)
    return 0


def split_inputs(values: list[str] | None) -> list[str] | None:
    """`--input a b` (what a shell glob expands to), `--input a,b` and repeated `--input` all work."""
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]

