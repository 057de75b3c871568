"""Running stages in pipeline order under the storage root's writer lock."""
from __future__ import annotations

from corpusmill.jobs.core import rootlock
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import Stage, StageResult, new_run_id
from corpusmill.jobs.stages import all_stages


def stages_by_name(names: list[str] | None = None) -> list[Stage]:
    """The named stages (all when None) in pipeline order; an unknown name fails before Spark starts."""
    known = all_stages()
    if names is None:
        return known
    by_name = {s.name: s for s in known}
    for n in names:
        if n not in by_name:
            raise ConfigError(f"--stages: unknown stage {n!r} (stages, in order: {', '.join(by_name)})")
    return [s for s in known if s.name in names]


def preflight(config: Config, stages: list[str] | None = None) -> None:
    """Checks that need no SparkSession (models, block lists, KenLM files), run before Spark starts, so
    a missing model fails the run at once rather than after the earlier stages' hours of work. Every
    stage is checked: one ConfigError lists all that is missing, each with its ways out."""
    problems = []
    for stage in stages_by_name(stages):
        if stage.check is not None:
            try:
                stage.check(config)
            except ConfigError as e:
                problems.append(str(e))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} things to settle before the run can start:\n"
                          + "\n".join(f"  - {p}" for p in problems))


def run_pipeline(spark, config: Config, stages: list[str] | None = None, *, inputs: list[str] | None = None,
                 force: bool = False, progress=None) -> list[StageResult]:
    """Run stages in pipeline order; `inputs` goes to the stages that read files.

    Holds the storage root's writer lock throughout (jobs/core/rootlock.py: RootBusy when another
    process writes the root); the CLI takes it earlier, before Spark starts, and this nests in it.
    """
    order = stages_by_name(stages)
    run_id = new_run_id()
    results = []
    with rootlock.hold(config, f"run_pipeline {','.join(s.name for s in order)}"):
        for i, stage in enumerate(order, 1):
            if progress:
                progress(f"[{i}/{len(order)}] {stage.name} ...")
            result = stage.run(spark, config, force=force, inputs=inputs, run_id=run_id)
            results.append(result)
            if progress:
                progress(f"[{i}/{len(order)}] {stage.name}: {result.status}, {result.rows_in:,} in, "
                         f"{result.rows_out:,} out, {result.rows_rejected:,} rejected, {result.seconds:.1f}s")
    return results
