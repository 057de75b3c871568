"""`python -m schemas`: the table reference (Markdown) generated from the schema modules."""
import importlib
import pkgutil
from pathlib import Path

import schemas
from schemas.base import Table


def all_tables() -> list[Table]:
    out = []
    for m in sorted(pkgutil.iter_modules([str(Path(schemas.__file__).parent)]), key=lambda m: m.name):
        if m.name in ("base", "__main__"):
            continue
        t = getattr(importlib.import_module(f"schemas.{m.name}"), "TABLE", None)
        if isinstance(t, Table):
            out.append(t)
    return out


def reference() -> str:
    return "\n\n".join(t.describe() for t in all_tables()) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
