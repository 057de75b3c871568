"""Replacing personal data with placeholders, and the Arrow batch adapter the `pii` stage runs.

`scan` returns the counts per kind and the finds' spans; `redact` applies spans with the placeholder
of each kind. The stage stores the spans (offsets only, never the personal data) in `pii_signals`,
so the decision and the placeholders can change without scanning again; the redaction pass only
slices. Memory per document is bounded by the text itself plus at most `limit` finds per kind.
"""
from __future__ import annotations

from dataclasses import dataclass

from corpusmill.udfs.pii.detect import KINDS, Find, find_all


@dataclass(frozen=True)
class ScanSettings:
    kinds: tuple[str, ...] = KINDS
    limit: int = 10_000              # finds collected per kind and document at most
    ip_global_only: bool = True


def scan(text: str, s: ScanSettings) -> list[Find]:
    return find_all(text or "", s.kinds, s.limit, s.ip_global_only)


def counts(finds: list[Find]) -> dict[str, int]:
    out = {k: 0 for k in KINDS}
    for f in finds:
        out[f.kind] += 1
    return out


def redact(text: str, finds: list[Find] | list[tuple[int, int, str]], placeholders: dict[str, str]) -> str:
    """text with every find replaced by its kind's placeholder (finds sorted, not overlapping)."""
    if not finds:
        return text
    parts, pos = [], 0
    for start, end, kind in finds:
        parts.append(text[pos:start])
        parts.append(placeholders[kind])
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


# ---- Arrow adapters (mapInArrow) -------------------------------------------------------------------
def scan_arrow(batches, settings: ScanSettings, text_col: str = "text", pass_cols: tuple[str, ...] = ("doc_id",)):
    """Batches with pass_cols and text -> pass_cols, n_<kind> per kind, spans (list of {start, end, kind})."""
    import pyarrow as pa

    for b in batches:
        texts = b.column(text_col).to_pylist()
        per_kind: dict[str, list[int]] = {k: [] for k in KINDS}
        spans = []
        for t in texts:
            finds = scan(t, settings)
            c = counts(finds)
            for k in KINDS:
                per_kind[k].append(c[k])
            spans.append([{"start": f.start, "end": f.end, "kind": f.kind} for f in finds])
        cols = {c: b.column(c) for c in pass_cols}
        cols.update({f"n_{k}": pa.array(v, pa.int32()) for k, v in per_kind.items()})
        cols["spans"] = pa.array(spans, pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()),
                                                            ("kind", pa.string())])))
        yield pa.RecordBatch.from_pydict(cols)


def redact_series(texts, spans, placeholders: dict[str, str]) -> list[str | None]:
    """Element-wise redact over a batch (spans: lists of {start, end, kind} dicts, or None)."""
    out = []
    for t, sp in zip(texts, spans):
        if t is None or sp is None or len(sp) == 0:
            out.append(t)
        else:
            out.append(redact(t, [(s["start"], s["end"], s["kind"]) for s in sp], placeholders))
    return out
