"""Domain and URL blocking against lists of millions of entries.

Lists: UT1's folder format (a folder per category holding `domains` and/or `urls`, one entry a line,
and a `usage` file where "white" marks an allow-list category, skipped) and plain one-domain-a-line
files (hosts-file lines such as "0.0.0.0 example.com" are read too). A URL is blocked when its host or
any parent domain is listed (sub.example.com matches example.com), or when it starts with a listed URL
at a path boundary (example.com/a matches example.com/a and example.com/a/b, not example.com/ab).
Hosts and entries are lower-cased and lose a leading "www.". The most specific match wins; among
lists holding the same entry, the first one configured wins.

Two lookups with identical results (bench/bench_domains.py measures both):
- `DomainIndex` (the default): every entry as a 64-bit hash in one sorted numpy array plus a category
  code array, about 9 bytes per entry (5M entries: 45 MB), broadcast once and searched with one
  vectorised `np.searchsorted` per Arrow batch.
- `match_join`: Spark built-ins explode each host's parent domains and URL prefixes and join them
  with the list as a DataFrame: no per-worker memory bound, costs a shuffle.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

DOMAIN, URL = "d", "u"


# ---- reading lists ------------------------------------------------------------------------------
def normalize_domain(d: str) -> str:
    d = d.strip().lower().rstrip(".")
    if d.startswith("*."):
        d = d[2:]
    d = d.lstrip(".")
    if d.startswith("www."):
        d = d[4:]
    return d


def normalize_url_entry(u: str) -> str:
    """'https://www.Example.com/a/' -> 'example.com/a'; 'x.com/?v=1' -> 'x.com/?v=1' (the candidates' form)."""
    u = u.strip().lower()
    if "://" in u:
        u = u.split("://", 1)[1]
    m = re.match(r"([^/?]*)(/[^?]*)?(\?.*)?$", u.split("#")[0])
    host = normalize_domain(m.group(1).split("@")[-1].split(":")[0])
    path = (m.group(2) or "")[1:].rstrip("/")
    query = (m.group(3) or "")[1:]
    out = host
    if path or query:
        out += "/" + path
    if query:
        out += "?" + query
    return out


def _entries(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield line.split()[-1]  # hosts-file lines: "0.0.0.0 example.com"


@dataclass
class ListFile:
    kind: str        # DOMAIN or URL
    category: str
    path: Path


def _is_category_dir(d: Path) -> bool:
    return (d / "domains").is_file() or (d / "urls").is_file()


def _usage_is_white(d: Path) -> bool:
    u = d / "usage"
    if not u.is_file():
        return False
    first = next((ln.strip().lower() for ln in u.read_text(errors="replace").splitlines() if ln.strip()), "")
    return first == "white"


def list_files(path: str, category: str = "", categories: Iterable[str] = ()) -> list[ListFile]:
    """The list files behind one configured path: a UT1 root, a UT1 category folder or a plain file.

    category names a plain file's category (default: its file name); categories selects UT1
    categories (default: every category not marked "white" in its usage file).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"blocklist {path} does not exist")
    wanted = set(categories)
    if p.is_file():
        return [ListFile(DOMAIN, category or p.name.removesuffix(".txt").removesuffix(".list"), p)]
    dirs = [p] if _is_category_dir(p) else sorted(d for d in p.iterdir() if d.is_dir() and _is_category_dir(d))
    if not dirs:
        raise ValueError(f"blocklist {path}: a folder without UT1 category folders (each with domains/urls files)")
    out = []
    for d in dirs:
        cat = category if (category and d == p) else d.name
        if wanted and cat not in wanted:
            continue
        if not wanted and _usage_is_white(d):
            continue
        for kind, name in ((DOMAIN, "domains"), (URL, "urls")):
            if (d / name).is_file():
                out.append(ListFile(kind, cat, d / name))
    return out


def read_entries(files: list[ListFile]) -> Iterator[tuple[str, str, str]]:
    """(kind, normalized entry, category) for every line of every file, in config order."""
    for lf in files:
        norm = normalize_domain if lf.kind == DOMAIN else normalize_url_entry
        for e in _entries(lf.path):
            e = norm(e)
            if e:
                yield lf.kind, e, lf.category


# ---- candidates of one URL ----------------------------------------------------------------------
# Same expressions as match_join's Spark built-ins, so both lookups see the same candidates.
_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:]+)")
_URL_PATH = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]*/([^?#]*)")
_URL_QUERY = re.compile(r"^[a-z][a-z0-9+.-]*://[^?#]*\?([^#]*)")


def host_of(url: str | None, host: str | None = None) -> str:
    """Normalised host: the host column when set, else parsed from the URL."""
    if not host:
        m = _URL_HOST.match((url or "").lower())
        host = m.group(2) if m else ""
    return re.sub(r"^www\.", "", host.lower().rstrip("."))


def domain_candidates(host: str) -> list[str]:
    """host and its parent domains, most specific first: a.b.c -> [a.b.c, b.c, c]."""
    if not host:
        return []
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def url_candidates(url: str | None, host: str) -> list[str]:
    """URL-list keys of a URL, most specific first: host/path?query (when there is a query), then
    host + every path prefix ending at a '/' boundary, longest first, then the bare host."""
    if url is None or not host:
        return []
    low = url.lower()
    m = _URL_PATH.match(low)
    path = m.group(1).rstrip("/") if m else ""
    q = _URL_QUERY.match(low)
    query = q.group(1) if q else ""
    out = [f"{host}/{path}?{query}"] if query else []
    if path:
        parts = path.split("/")
        out += [host + "/" + "/".join(parts[:i]) for i in range(len(parts), 0, -1)]
    return out + [host]


# ---- the broadcast index ------------------------------------------------------------------------
def hash_keys(keys: list[str]) -> np.ndarray:
    """64-bit hashes of "kind:entry" keys, vectorised (pandas' SipHash with its fixed key: the same
    value in every process, so the driver's index and the workers' lookups agree)."""
    import pandas as pd

    if not keys:
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)


def key_hash(kind: str, entry: str) -> int:
    return int(hash_keys([f"{kind}:{entry}"])[0])


@dataclass
class DomainIndex:
    """Sorted 64-bit entry hashes + category codes: ~9 bytes per entry, vectorised lookups."""

    keys: np.ndarray          # uint64, sorted, unique
    codes: np.ndarray         # uint16 index into categories
    categories: list[str]

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str, str]]) -> "DomainIndex":
        cats: dict[str, int] = {}
        ks: list[str] = []
        cs: list[int] = []
        for kind, e, cat in entries:
            ks.append(f"{kind}:{e}")
            cs.append(cats.setdefault(cat, len(cats)))
        keys = hash_keys(ks)
        del ks
        codes = np.array(cs, dtype=np.uint16)
        # stable sort + first of each run keeps the first configured list's category for duplicates
        order = np.argsort(keys, kind="stable")
        keys, codes = keys[order], codes[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        return cls(keys[first], codes[first], list(cats))

    def __len__(self) -> int:
        return len(self.keys)

    def lookup_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Category code per hash, -1 where not listed."""
        if len(self.keys) == 0 or len(hashes) == 0:
            return np.full(len(hashes), -1, dtype=np.int32)
        order = np.argsort(hashes, kind="stable")   # sorted probes: neighbouring searches share cache lines
        pos = np.empty(len(hashes), dtype=np.int64)
        pos[order] = np.searchsorted(self.keys, hashes[order])
        pos_c = np.minimum(pos, len(self.keys) - 1)
        found = self.keys[pos_c] == hashes
        return np.where(found, self.codes[pos_c].astype(np.int32), -1)

    def match_batch(self, urls, hosts) -> tuple[list, list, list]:
        """Per row: (block kind 'domain'/'url' or None, category or None, matched entry or None).

        URL-prefix matches win over domain matches (they are the more specific entries); within a
        kind the longest candidate wins.
        """
        cand_row: list[int] = []
        cand_kind: list[str] = []
        cand_text: list[str] = []
        for i, (u, h) in enumerate(zip(urls, hosts)):
            u = u if isinstance(u, str) else None
            host = host_of(u, h if isinstance(h, str) else None)
            for c in url_candidates(u, host):
                cand_row.append(i)
                cand_kind.append(URL)
                cand_text.append(c)
            for c in domain_candidates(host):
                cand_row.append(i)
                cand_kind.append(DOMAIN)
                cand_text.append(c)
        n = len(urls)
        kinds: list = [None] * n
        cats: list = [None] * n
        matched: list = [None] * n
        if not cand_text:
            return kinds, cats, matched
        hashes = hash_keys([f"{k}:{t}" for k, t in zip(cand_kind, cand_text)])
        codes = self.lookup_hashes(hashes)
        for j in np.flatnonzero(codes >= 0):   # candidates are in priority order within a row
            r = cand_row[j]
            if kinds[r] is None:
                kinds[r] = "url" if cand_kind[j] == URL else "domain"
                cats[r] = self.categories[int(codes[j])]
                matched[r] = cand_text[j]
        return kinds, cats, matched

    def digest(self) -> str:
        h = hashlib.sha1(self.keys.tobytes())
        h.update(self.codes.tobytes())
        h.update("\n".join(self.categories).encode())
        return h.hexdigest()[:16]


def build_index(specs: list[tuple[str, str, list[str]]]) -> DomainIndex:
    """Index of every configured list: specs are (path, category, categories)."""
    files = [lf for path, cat, cats in specs for lf in list_files(path, cat, cats)]
    return DomainIndex.from_entries(read_entries(files))


# ---- Spark adapters -----------------------------------------------------------------------------
_INDEXES: dict[str, DomainIndex] = {}


def cached_index(digest: str, load) -> DomainIndex:
    """The worker's index (load() gives it: a broadcast value), kept across tasks and batches."""
    idx = _INDEXES.get(digest)
    if idx is None:
        _INDEXES.clear()
        idx = _INDEXES[digest] = load()
    return idx


def _normalize_arrow(kind: str, category: str, priority: int):
    import pyarrow as pa

    norm = normalize_domain if kind == DOMAIN else normalize_url_entry

    def fn(batches):
        for b in batches:
            out = []
            for line in b.column(0).to_pylist():
                line = (line or "").split("#", 1)[0].strip()
                e = norm(line.split()[-1]) if line else ""
                if e:
                    out.append(e)
            yield pa.RecordBatch.from_pydict({
                "kind": pa.array([kind] * len(out), pa.string()), "entry": pa.array(out, pa.string()),
                "category": pa.array([category] * len(out), pa.string()),
                "priority": pa.array([priority] * len(out), pa.int32())})
    return fn


ENTRY_SCHEMA = "kind string, entry string, category string, priority int"


def entries_frame(spark, specs: list[tuple[str, str, list[str]]]):
    """The configured lists as a DataFrame (kind, entry, category, priority), read and normalised by
    Spark tasks with the same Python normalisation the index uses (nothing passes the driver)."""
    frames = []
    for path, cat, cats in specs:
        for lf in list_files(path, cat, cats):
            raw = spark.read.text(str(lf.path))
            frames.append(raw.mapInArrow(_normalize_arrow(lf.kind, lf.category, len(frames)), ENTRY_SCHEMA))
    if not frames:
        return spark.createDataFrame([], ENTRY_SCHEMA)
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def match_join(df, entries, url_col: str = "url", host_col: str = "host", key_col: str = "doc_id"):
    """df's key with block_kind, block_category, block_match, via a join on exploded candidates.

    Same answers as DomainIndex.match_batch (tests check it). Returns one row per key of df.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    given = F.lower(F.col(host_col))
    parsed = F.regexp_extract(F.lower(F.col(url_col)), r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:]+)", 2)
    host = F.when(F.coalesce(given, F.lit("")) != "", given).otherwise(F.coalesce(parsed, F.lit("")))
    host = F.regexp_replace(F.regexp_replace(host, r"\.+$", ""), r"^www\.", "")
    base = df.select(F.col(key_col).alias("_key"), F.col(url_col).alias("_url"), host.alias("_host"))
    labels = F.split(F.col("_host"), r"\.")
    dom = base.where(F.col("_host") != "").select(
        "_key", F.lit(DOMAIN).alias("kind"),
        F.posexplode(F.transform(F.sequence(F.lit(1), F.size(labels)),
                                 lambda i: F.array_join(F.slice(labels, i, F.size(labels) - i + 1), "."))
                     ).alias("rank", "entry"))
    low = F.lower(F.coalesce(F.col("_url"), F.lit("")))
    path = F.regexp_replace(F.regexp_extract(low, r"^[a-z][a-z0-9+.-]*://[^/?#]*/([^?#]*)", 1), r"/+$", "")
    query = F.regexp_extract(low, r"^[a-z][a-z0-9+.-]*://[^?#]*\?([^#]*)", 1)
    segs = F.split(path, "/")
    prefixes = F.transform(F.sequence(F.size(segs), F.lit(1), F.lit(-1)),
                           lambda i: F.concat(F.col("_host"), F.lit("/"), F.array_join(F.slice(segs, 1, i), "/")))
    keys = F.concat(
        F.when(query != "", F.array(F.concat(F.col("_host"), F.lit("/"), path, F.lit("?"), query)))
         .otherwise(F.array().cast("array<string>")),
        F.when(path != "", prefixes).otherwise(F.array().cast("array<string>")),
        F.array(F.col("_host")))
    url = base.where((F.col("_host") != "") & F.col("_url").isNotNull()).select(
        "_key", F.lit(URL).alias("kind"), F.posexplode(keys).alias("rank", "entry"))
    # url prefixes rank before domains; within a kind, the longest candidate (rank 0) first
    cands = url.withColumn("rank", F.col("rank") - 10_000).unionByName(dom)
    firsts = entries.groupBy("kind", "entry").agg(F.min_by("category", "priority").alias("category"))
    hits = cands.join(firsts, ["kind", "entry"])
    best = (hits.withColumn("_n", F.row_number().over(Window.partitionBy("_key").orderBy("rank")))
            .where(F.col("_n") == 1)
            .select("_key", F.when(F.col("kind") == URL, "url").otherwise("domain").alias("block_kind"),
                    F.col("category").alias("block_category"), F.col("entry").alias("block_match")))
    return (base.select("_key").join(best, "_key", "left").withColumnRenamed("_key", key_col))
