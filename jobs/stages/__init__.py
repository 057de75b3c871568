"""The pipeline's stages: one module per stage, each declaring one `Stage` record as `STAGE`.

`all_stages()` finds them here, so adding a stage is one module (plus its YAML section and its
tables' schemas); the pipeline order is the records' `order`.
"""
from __future__ import annotations

import importlib
import pkgutil

from corpusmill.jobs.core.stage import Stage


def all_stages() -> list[Stage]:
    """Every stage of this build, in pipeline order."""
    found = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        record = getattr(importlib.import_module(info.name), "STAGE", None)
        if isinstance(record, Stage):
            found.append(record)
    names = [s.name for s in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuntimeError(f"two stage modules declare the stage name(s) {dupes}")
    return sorted(found, key=lambda s: (s.order, s.name))


def stage_names() -> list[str]:
    return [s.name for s in all_stages()]
