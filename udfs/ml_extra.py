"""The `[ml]` extra is optional: a core install (`pip install corpusmill`) runs format, rules, dedup,
the blocklists and KenLM; the classifiers, the causal-LM coherence scorer and training them need
torch, transformers and scikit-learn (`pip install 'corpusmill[ml]'`). Code that needs them calls
`require` before any work starts, so a core install fails with one line naming the extra."""
from __future__ import annotations

import importlib.util

ML_MODULES = ("torch", "transformers", "sklearn")


class MissingExtra(ImportError):
    """An optional dependency set is not installed (the CLI prints one line and exits 2)."""

    cli_kind = "missing extra"


def missing(modules: tuple[str, ...] = ML_MODULES) -> list[str]:
    """The modules of `modules` that cannot be imported here."""
    out = []
    for m in modules:
        try:
            if importlib.util.find_spec(m) is None:
                out.append(m)
        except (ImportError, ValueError):
            out.append(m)
    return out


def require(what: str, modules: tuple[str, ...] = ML_MODULES) -> None:
    """Raise MissingExtra naming `what` and the extra when any of `modules` is missing."""
    gone = missing(modules)
    if gone:
        raise MissingExtra(f"{what} needs the ML extra ({', '.join(gone)} not installed): "
                           f"pip install 'corpusmill[ml]'")
