"""What format and safety share about the domain / URL blocklists (`safety.domain_lists`): the list
entries of the config, their checks and fingerprints, and the index the workers look URLs up in.

Safety matches every document it reads; format matches each WARC record's URL before Trafilatura
runs, so a page from a blocked site is rejected without paying for its extraction.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import fingerprint
from corpusmill.udfs.safety import domains
from corpusmill.udfs.safety.domains import list_files

log = logging.getLogger("corpusmill")


@dataclass
class DomainListSpec:
    """A list entry: a user's list replaces the default one whole, so the YAML cannot fill in an
    entry's missing keys; category and categories keep their defaults here."""

    path: str                   # UT1 root, UT1 category folder or a one-domain-a-line file (relative: under storage.root)
    category: str = ""          # category of a plain file (default: the file name)
    categories: list[str] = field(default_factory=list)  # UT1 categories to use ([] = all not marked "white")


def files_fingerprint(paths: list[str]) -> str:
    items = []
    for path in paths:
        p = Path(path)
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        items += [f"{f}|{f.stat().st_size}|{int(f.stat().st_mtime)}" for f in files]
    return fingerprint(items)


def _checked(config: Config, i: int, d: DomainListSpec) -> tuple[str, str, list[str]]:
    """(path, category, categories) of list i after checking that it can be read; ConfigError names the key."""
    path = config.path(d.path)
    key = f"safety.domain_lists[{i}].path"
    if not os.path.exists(path):
        raise ConfigError(f"{key}: path {path} does not exist (a UT1 folder or a one-domain-a-line file)")
    try:
        list_files(path, d.category, d.categories)
    except ValueError as e:
        raise ConfigError(f"{key}: {e}") from None
    return path, d.category, list(d.categories)


def domain_specs(config: Config) -> list[tuple[str, str, list[str]]]:
    """Every configured list, checked: a missing or malformed one is a ConfigError (safety needs them all)."""
    return [_checked(config, i, d) for i, d in enumerate(config.safety.domain_lists)]


def early_specs(config: Config) -> list[tuple[str, str, list[str]]] | None:
    """The lists format checks URLs against before extraction, or None when it checks none.

    None when format.blocklists_first is off, there is no safety section or no list, safety looks
    domains up with a Spark join (lists too big to hold in each worker), or a configured list does not
    exist yet: that one is safety's preflight error, as it is without this check (a run of format alone
    on a new store still works). A list that exists but cannot be read is a ConfigError here too.
    """
    if not config.format.blocklists_first or "safety" not in config.sections or not config.safety.domain_lists:
        return None
    if config.safety.domain_lookup != "broadcast":
        log.info("[format] safety.domain_lookup is %s: blocklists are checked by safety only",
                 config.safety.domain_lookup)
        return None
    missing = [config.path(d.path) for d in config.safety.domain_lists if not os.path.exists(config.path(d.path))]
    if missing:
        log.warning("[format] blocklists not checked before extraction: %s does not exist (safety.domain_lists)",
                    ", ".join(missing))
        return None
    return domain_specs(config)


def specs_fingerprint(specs: list[tuple[str, str, list[str]]]) -> str:
    """Changes when a list's files or its entry in the config change."""
    return fingerprint([files_fingerprint([p for p, _, _ in specs]), repr(specs)])


def broadcast_index(spark, specs: list[tuple[str, str, list[str]]]):
    """(index digest, broadcast of its arrays): each worker rebuilds the index once (domains.cached_index)."""
    index = domains.build_index(specs)
    log.info("[blocklists] domain index: %d entries, %s", len(index), ", ".join(index.categories))
    return index.digest(), spark.sparkContext.broadcast((index.keys, index.codes, index.categories))
