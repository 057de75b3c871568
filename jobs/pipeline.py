"""The stage order, and running a list of stages in it."""
from __future__ import annotations

import importlib
import importlib.util
import logging

from jobs.config import Config
from jobs.stage import StageResult, new_run_id

log = logging.getLogger("corpusmill")

# name -> job module; each module has run(spark, config, *, force, inputs, run_id) -> StageResult
STAGES: dict[str, str] = {
    "format": "jobs.format",
    "rules": "jobs.rules",
    "dedup": "jobs.dedup",
    "safety": "jobs.safety",
    "quality": "jobs.quality",
    "longctx": "jobs.longctx",
    "code": "jobs.code_repos",
}


def available_stages() -> list[str]:
    """Stages whose job module is present in this build, in pipeline order."""
    return [s for s, m in STAGES.items() if importlib.util.find_spec(m) is not None]


def stage_module(name: str):
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r} (stages: {', '.join(STAGES)})")
    return importlib.import_module(STAGES[name])


def run_pipeline(spark, config: Config, stages: list[str] | None = None, *, inputs: list[str] | None = None,
                 force: bool = False, progress=None) -> list[StageResult]:
    """Run stages in pipeline order; `inputs` goes to the first stage that reads files."""
    names = stages or available_stages()
    for n in names:
        stage_module(n)  # fail fast on a typo before any work
    order = [s for s in STAGES if s in names]
    run_id = new_run_id()
    results = []
    for i, name in enumerate(order, 1):
        if progress:
            progress(f"[{i}/{len(order)}] {name} ...")
        result = stage_module(name).run(spark, config, force=force, inputs=inputs, run_id=run_id)
        results.append(result)
        if progress:
            progress(f"[{i}/{len(order)}] {name}: {result.status}, {result.rows_in:,} in, {result.rows_out:,} out, "
                     f"{result.rows_rejected:,} rejected, {result.seconds:.1f}s")
    return results
