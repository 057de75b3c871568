"""A tiny seeded template grammar for the sample-data generator.

Templates mix alternations ``[a|b|c]`` (nestable) and slots ``{name}``; a slot is filled by a
callable and its value is expanded again, so banks can hold templates too. Everything draws from
one ``random.Random`` so the same seed always yields the same text.
"""
from __future__ import annotations

import hashlib
import random
import re
from typing import Callable

_ALT = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def rng_for(*parts: object) -> random.Random:
    """An independent, reproducible random stream named by ``parts`` (never Python's hash())."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def expand(template: str, rng: random.Random, fill: Callable[[str], str], depth: int = 0) -> str:
    """Resolve alternations (innermost first), then slots; slot values are expanded recursively."""
    text = template
    while True:
        new = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), text)
        if new == text:
            break
        text = new
    if depth > 6:
        return text
    return _SLOT.sub(lambda m: expand(fill(m.group(1)), rng, fill, depth + 1), text)


class Deck:
    """Draw items without replacement, reshuffling when exhausted (limits repeats inside a page)."""

    def __init__(self, items, rng: random.Random):
        self.items = list(items)
        self.rng = rng
        self.pool: list = []

    def draw(self):
        if not self.pool:
            self.pool = self.items[:]
            self.rng.shuffle(self.pool)
        return self.pool.pop()


def split_list(spec: str) -> list[str]:
    """Banks are written as ';'-separated strings to keep the source compact."""
    return [s.strip() for s in spec.split(";") if s.strip()]
