"""File order inside one repository: depth-first over the tree, or import-dependency (topological).

Both orders are pure functions of the repository's paths and import edges, so a re-run gives the
same order. Depth-first: a folder's README, then its other docs, then its files, then its
sub-folders, each level sorted by name. Dependency order: Kahn's algorithm where the next file is
always the ready file that comes first depth-first; when none is ready (a cycle), the waiting file
with the fewest unplaced imports is taken (ties: depth-first position, i.e. alphabetical), as
DeepSeek-Coder does; then each folder's docs move right before the first code file of that folder
(or of its sub-folders), as InternLM2 does.
"""
from __future__ import annotations

import heapq
import posixpath


def _file_rank(name: str, is_doc: bool) -> int:
    low = name.lower()
    if low.startswith("readme"):
        return 0
    return 1 if is_doc else 2


def depth_first_key(path: str, is_doc: bool = False) -> tuple:
    """Sort key: at every level a folder's files (README, docs, code) come before its sub-folders."""
    parts = path.split("/")
    key = [(1, p) for p in parts[:-1]]
    key.append((0, _file_rank(parts[-1], is_doc), parts[-1]))
    return tuple(key)


def depth_first_order(paths: list[str], docs: set[str] | None = None) -> list[str]:
    docs = docs or set()
    return sorted(paths, key=lambda p: depth_first_key(p, p in docs))


def dependency_order(paths: list[str], imports: dict[str, list[str]], docs: set[str] | None = None
                     ) -> tuple[list[str], int]:
    """Every file after the files it imports (when acyclic). Returns (order, cycle_breaks).

    `imports[f]` lists files of the repository f imports; edges to unknown files are ignored.
    """
    docs = docs or set()
    code = [p for p in paths if p not in docs]
    code_set = set(code)
    pos = {p: i for i, p in enumerate(depth_first_order(paths, docs))}
    deps = {p: sorted({d for d in imports.get(p, []) if d in code_set and d != p}) for p in code}
    users: dict[str, list[str]] = {p: [] for p in code}
    for p, ds in deps.items():
        for d in ds:
            users[d].append(p)
    waiting = {p: len(ds) for p, ds in deps.items()}
    ready = [(pos[p], p) for p in code if waiting[p] == 0]
    heapq.heapify(ready)
    placed: set[str] = set()
    order: list[str] = []
    breaks = 0
    # cycle-breaking candidates: (unplaced imports, depth-first position); lazily refreshed
    pending = [(waiting[p], pos[p], p) for p in code]
    heapq.heapify(pending)
    while len(order) < len(code):
        if ready:
            _, p = heapq.heappop(ready)
            if p in placed:
                continue
        else:
            while True:
                w, _, p = heapq.heappop(pending)
                if p not in placed and w == waiting[p]:
                    break
                if p not in placed:
                    heapq.heappush(pending, (waiting[p], pos[p], p))
            breaks += 1
        placed.add(p)
        order.append(p)
        for u in users[p]:
            if u in placed:
                continue
            waiting[u] -= 1
            heapq.heappush(pending, (waiting[u], pos[u], u))
            if waiting[u] == 0:
                heapq.heappush(ready, (pos[u], u))
    return place_docs(order, [p for p in paths if p in docs]), breaks


def place_docs(code_order: list[str], doc_paths: list[str]) -> list[str]:
    """Insert each folder's docs right before the first code file in that folder or below it.

    Docs of a folder without any code below it go at the end, depth-first.
    """
    first_at: dict[str, int] = {}
    for i, p in enumerate(code_order):
        d = posixpath.dirname(p)
        while True:
            first_at.setdefault(d, i)
            if not d:
                break
            d = posixpath.dirname(d)
    before: dict[int, list[str]] = {}
    tail: list[str] = []
    for doc in depth_first_order(doc_paths, set(doc_paths)):
        d = posixpath.dirname(doc)
        if d in first_at:
            before.setdefault(first_at[d], []).append(doc)
        else:
            tail.append(doc)
    out: list[str] = []
    for i, p in enumerate(code_order):
        out += before.get(i, [])
        out.append(p)
    return out + tail


def order_files(paths: list[str], imports: dict[str, list[str]], docs: set[str], mode: str
                ) -> tuple[list[str], int]:
    """(order, cycle breaks) for mode 'depth_first' or 'dependency'."""
    if mode == "depth_first":
        return depth_first_order(paths, docs), 0
    if mode == "dependency":
        return dependency_order(paths, imports, docs)
    raise ValueError(f"unknown ordering {mode!r} (depth_first or dependency)")
