"""The stage order, and running a list of stages in it."""
from __future__ import annotations

import importlib
import importlib.util
import logging

from jobs.core.config import Config, ConfigError
from jobs.core.stage import StageResult, new_run_id

log = logging.getLogger("corpusmill")

# name -> job module; each module has run(spark, config, *, force, inputs, run_id) -> StageResult
STAGES: dict[str, str] = {
    "format": "jobs.stages.format",
    "rules": "jobs.stages.rules",
    "dedup": "jobs.stages.dedup",
    "safety": "jobs.stages.safety",
    "quality": "jobs.stages.quality",
    "longctx": "jobs.stages.longctx",
    "code": "jobs.stages.code",
}


def available_stages() -> list[str]:
    """Stages whose job module is present in this build, in pipeline order."""
    return [s for s, m in STAGES.items() if importlib.util.find_spec(m) is not None]


def check_stage_names(names: list[str]) -> list[str]:
    """names, after checking each is a stage of this build (a typo fails before Spark starts)."""
    known = available_stages()
    for n in names:
        if n not in known:
            raise ConfigError(f"--stages: unknown stage {n!r} (stages, in order: {', '.join(known)})")
    return names


def stage_module(name: str):
    check_stage_names([name])
    return importlib.import_module(STAGES[name])


# Checks that need no SparkSession (models, block lists, KenLM files): run before Spark starts, so a
# missing model fails the run at once rather than after the earlier stages' hours of work.
PREFLIGHT = {"safety": "check", "quality": "check", "longctx": "check_models"}


def preflight(config: Config, stages: list[str] | None = None) -> None:
    for name in stages or available_stages():
        if name in PREFLIGHT:
            getattr(stage_module(name), PREFLIGHT[name])(config)


def run_pipeline(spark, config: Config, stages: list[str] | None = None, *, inputs: list[str] | None = None,
                 force: bool = False, progress=None) -> list[StageResult]:
    """Run stages in pipeline order; `inputs` goes to the first stage that reads files.

    Holds the storage root's writer lock throughout (jobs/core/rootlock.py: RootBusy when another process
    writes the root); the CLI takes it earlier, before Spark starts, and this nests in it.
    """
    from jobs.core import rootlock

    names = stages or available_stages()
    for n in names:
        stage_module(n)  # fail fast on a typo before any work
    order = [s for s in STAGES if s in names]
    run_id = new_run_id()
    results = []
    with rootlock.hold(config, f"run_pipeline {','.join(order)}"):
        for i, name in enumerate(order, 1):
            if progress:
                progress(f"[{i}/{len(order)}] {name} ...")
            result = stage_module(name).run(spark, config, force=force, inputs=inputs, run_id=run_id)
            results.append(result)
            if progress:
                progress(f"[{i}/{len(order)}] {name}: {result.status}, {result.rows_in:,} in, {result.rows_out:,} "
                         f"out, {result.rows_rejected:,} rejected, {result.seconds:.1f}s")
    return results
