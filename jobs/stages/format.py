"""Stage `format`: WARC/ARC files, Common Crawl WET/WAT files and JSONL/Parquet text -> `documents`.

Distributed by file: the driver only lists files (and cuts big record-gzipped WARCs into byte
ranges); each Spark task opens its file in the Python worker and streams it record by record
(`mapInArrow`, batches out). Files on a Hadoop FS (s3a://, hdfs://, ...) come in through Spark's
`binaryFile` source instead, one file per row.

Every input record becomes one row of an intermediate outcome set: accepted documents go to
`documents`, everything else to `rejected` with a reason. How records are counted (rows_in):
  * every WARC/ARC record read, of every type: warcinfo, request, metadata, revisit ... are
    rejected as `not_response` (detail = the record type; WAT metadata: "metadata (WAT)"), so the
    books always add up;
  * every non-blank JSONL line / Parquet row of a text source;
  * one extra row per file-level failure: `read_error` (corrupt or truncated file, not a WARC;
    its good records are kept) or `empty_file`.
So rows_in == rows_out + rows_rejected holds for every run.

WET `conversion` records (text/plain) become documents without extraction (udfs/format/wet.py):
their doc_id is built from WARC-Refers-To, the id of the response they were made from, so a page
gets the same doc_id from the WET as from the WARC of the same crawl. When one run reads both, the
documents table keeps one row per doc_id (the response's Trafilatura text over the WET text) and
rejects the other as `duplicate_record` (detail = the kept record).

Cheap before expensive: a WARC record whose URL is on the safety section's domain / URL blocklists
(`format.blocklists_first`, jobs/stages/blocklists.py) is rejected before Trafilatura runs, under the
reason safety gives it (`domain_blocklist:<category>`, `url_blocklist:<category>`; detail
`match=<entry>`). Only records that would otherwise be extracted are looked up, so a record keeps
one reason; safety still checks every document it reads (text sources, lists changed later).

Reject reasons: not_response, http_status (non-2xx), non_html, html_too_large, truncated_record,
domain_blocklist:<category>, url_blocklist:<category>, undecodable, extraction_timeout,
parse_error, empty_extraction, too_short, read_error, empty_file, empty_text (text sources, WET),
text_too_large (WET), duplicate_record.
"""
from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Iterator

from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.stage import Counts, Stage, StageResult, StageRun, fingerprint, fingerprint_files, run_stage
from corpusmill.jobs.stages import blocklists
from corpusmill.schemas import documents as documents_schema
from corpusmill.udfs.format import warc as W
from corpusmill.udfs.format.extract import ExtractionTimeout, ExtractOptions, html_to_document, is_html_type
from corpusmill.udfs.format.langid import clean_text, detect_language
from corpusmill.udfs.format.urls import doc_id, host_of, registered_domain
from corpusmill.udfs.format.wet import is_wat_record, is_wet_text, source_record_id, text_to_document
from corpusmill.udfs.safety.domains import DomainIndex, cached_index

log = logging.getLogger("corpusmill")

TEXT_FIELDS = ("text", "id", "url", "title", "date", "language")
REJECT_COLUMNS = ["doc_id", "reason", "detail", "url", "dump", "source_file", "source_record"]


# ---- config -----------------------------------------------------------------------------------
@dataclass
class TrafilaturaConfig:
    """Options passed to trafilatura.extract (see bench/bench_format.py for the quality figures)."""

    favor_precision: bool
    favor_recall: bool
    include_comments: bool
    include_tables: bool
    fast: bool
    deduplicate: bool


@dataclass
class TextSourceConfig:
    """One JSONL/Parquet collection of already-extracted text (books, papers, patents, ...).

    A list entry: a user's list replaces the default one whole, so the YAML cannot fill in an entry's
    missing keys; dump and fields keep their defaults here (FormatConfig checks the values)."""

    path: str                    # glob of .jsonl / .jsonl.gz / .parquet files (relative to storage.root)
    format: str                  # jsonl | parquet
    source_type: str             # book | paper | patent | ...
    dump: str = ""               # collection label stored in `dump` ("" = the source_type)
    fields: dict[str, str] = field(default_factory=lambda: {"text": "text"})  # our name -> source field


@dataclass
class InputTextConfig:
    """How `--input` JSONL/Parquet files are read (configured text sources carry their own settings)."""

    source_type: str             # stored in documents.source_type
    dump: str                    # stored in documents.dump ("" = the source_type)
    fields: dict[str, str]       # our name -> source field


# --input files with these endings are text sources; anything else is read as WARC/ARC (WET and WAT too)
TEXT_SUFFIXES = ((".jsonl.gz", "jsonl"), (".jsonl", "jsonl"), (".parquet", "parquet"))


def text_format_of(path: str) -> str | None:
    """jsonl | parquet for a path or glob naming text files, None for WARC/ARC."""
    low = path.lower().rstrip("/")
    return next((fmt for suffix, fmt in TEXT_SUFFIXES if low.endswith(suffix)), None)


@dataclass
class FormatConfig:
    inputs: list[str]
    text_sources: list[TextSourceConfig]
    input_text: InputTextConfig
    dump_id: str
    warc_library: str
    html_max_bytes: int
    extract_timeout_s: float
    min_text_chars: int
    max_bad_char_ratio: float
    split_bytes: int
    batch_rows: int
    spark_reads_files: bool
    blocklists_first: bool
    trafilatura: TrafilaturaConfig

    def __post_init__(self) -> None:
        if self.warc_library not in ("fastwarc", "warcio"):
            raise ConfigError(f"format.warc_library: expected fastwarc or warcio, got {self.warc_library!r}")
        for key in ("html_max_bytes", "batch_rows"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"format.{key}: must be > 0, got {getattr(self, key)}")
        if self.extract_timeout_s < 0:
            raise ConfigError(f"format.extract_timeout_s: must be >= 0 (0 = no limit), got {self.extract_timeout_s}")
        if not 0 <= self.max_bad_char_ratio <= 1:
            raise ConfigError(f"format.max_bad_char_ratio: must be within 0..1, got {self.max_bad_char_ratio}")
        if self.split_bytes < 0:
            raise ConfigError(f"format.split_bytes: must be >= 0 (0 = never split), got {self.split_bytes}")
        sources = [(f"format.text_sources[{i}]", s) for i, s in enumerate(self.text_sources)]
        for key, src in sources:
            if src.format not in ("jsonl", "parquet"):
                raise ConfigError(f"{key}.format: expected jsonl or parquet, got {src.format!r}")
        for key, src in [*sources, ("format.input_text", self.input_text)]:
            if not src.source_type:
                raise ConfigError(f"{key}.source_type: must not be empty")
            for k, v in src.fields.items():
                if k not in TEXT_FIELDS:
                    raise ConfigError(f"{key}.fields.{k}: unknown field (known: {', '.join(TEXT_FIELDS)})")
                if not isinstance(v, str) or not v:
                    raise ConfigError(f"{key}.fields.{k}: expected a source field name")
            if "text" not in src.fields:
                raise ConfigError(f"{key}.fields.text: missing (name the field that holds the text)")


# ---- worker side: one outcome row per record --------------------------------------------------
def outcome_arrow_schema():
    import pyarrow as pa

    return pa.schema([
        ("doc_id", pa.string()), ("dump", pa.string()), ("source_type", pa.string()), ("url", pa.string()),
        ("host", pa.string()), ("domain", pa.string()), ("fetch_us", pa.int64()), ("title", pa.string()),
        ("text", pa.string()), ("text_bytes", pa.int64()), ("language", pa.string()),
        ("language_pct", pa.float32()), ("language_reliable", pa.bool_()), ("source_file", pa.string()),
        ("source_record", pa.string()), ("reason", pa.string()), ("detail", pa.string()),
        ("record_type", pa.string()),
    ])


OUTCOME_DDL = ("doc_id string, dump string, source_type string, url string, host string, domain string, "
               "fetch_us bigint, title string, text string, text_bytes bigint, language string, "
               "language_pct float, language_reliable boolean, source_file string, source_record string, "
               "reason string, detail string, record_type string")   # record_type: WARC-Type, null for text


@dataclass
class WorkerOptions:
    """Everything a Python worker needs, picklable (no Spark or Config objects)."""

    dump_id: str
    warc_library: str
    min_text_chars: int
    extract: dict              # udfs.format.extract.ExtractOptions fields
    text_sources: list[dict]


def _micros(value) -> int | None:
    """A date (ISO string, datetime, date, epoch seconds) as UTC microseconds; None when unparseable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, dt.datetime):
            d = value
        elif isinstance(value, dt.date):
            d = dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(float(value) * 1_000_000)
        else:
            s = str(value).strip()
            if len(s) == 4 and s.isdigit():
                s += "-01-01"
            d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
        if d.tzinfo is not None:
            d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return int((d - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    except (ValueError, OverflowError, TypeError):
        return None


def _row(**kw) -> dict:
    return kw


def _reject(reason: str, detail: str | None, source_file: str, source_record, **kw) -> dict:
    return dict(kw, reason=reason, detail=detail, source_file=source_file,
                source_record=None if source_record is None else str(source_record))


def _with_text(row: dict, text: str, declared_language: str | None = None) -> dict:
    if declared_language:
        lang, pct, reliable = str(declared_language), None, True
    else:
        lang, pct, reliable = detect_language(text)
    row.update(text=text, text_bytes=len(text.encode("utf-8")), language=lang, language_pct=pct,
               language_reliable=reliable, reason=None, detail=None)
    return row


def _open_local(path: str):
    return open(path, "rb")


def local_path(path: str) -> str | None:
    """The local file path of a Hadoop path string, or None for a remote (s3a://, hdfs://) one."""
    if path.startswith("file://"):
        return path[len("file://"):] if path[len("file://"):].startswith("/") else "/" + path[len("file://"):]
    if path.startswith("file:"):
        return path[len("file:"):]
    if "://" in path:
        return None
    return path


def warc_rows(path: str, content: bytes | None, start: int, end: int, opts: WorkerOptions,
              blocked: DomainIndex | None = None) -> Iterator[dict]:
    """Outcome rows of the records of one WARC/ARC file (or of the byte range [start, end) of it);
    records whose URL is in `blocked` are rejected without extraction."""
    xopts = ExtractOptions(**opts.extract)
    lpath = None if content is not None else local_path(path)
    opener = _opener(content, lpath)
    problem = _unreadable_file(path, content, lpath)
    if problem is not None:
        yield problem
        return

    file_dump = None
    first = 0
    if end >= 0:  # a byte range of a big file: only when the file is one gzip member per record
        try:
            span = _range_span(opener, start, end)
        except OSError as e:
            yield _reject("read_error", f"{type(e).__name__}: {e}", path, start)
            return
        if span is None:
            return
        first, end = span
        if start > 0:
            file_dump = _warcinfo_dump(opener, opts.warc_library)
    path_dump = W.dump_from_path(path)
    base = os.path.basename(path)
    try:
        for item in W.iter_warc(opener(first), opts.warc_library, xopts.html_max_bytes):
            if end >= 0 and item.offset is not None and item.offset >= end:
                break
            if item.rec_type == "warcinfo" and item.fields and item.fields.get("isPartOf"):
                file_dump = item.fields["isPartOf"]
            dump = opts.dump_id or file_dump or path_dump or "unknown"
            yield _record_row(item, path, base, dump, xopts, blocked)
    except W.WarcReadError as e:
        dump = opts.dump_id or file_dump or path_dump or "unknown"
        yield _reject("read_error", str(e)[:1000], path, e.offset, dump=dump)


def _opener(content: bytes | None, lpath: str | None):
    """opener(pos) -> a function opening the file afresh at pos: iter_warc opens it again for its
    retry with warcio, and the byte-range checks read it apart from the records."""
    def opener(pos: int = 0):
        def _open():
            f = io.BytesIO(content) if content is not None else _open_local(lpath)
            f.seek(pos)
            return f
        return _open
    return opener


def _unreadable_file(path: str, content: bytes | None, lpath: str | None) -> dict | None:
    """The one row of a file that has no records to read (gone, unreadable or empty), else None."""
    try:
        size = len(content) if content is not None else os.path.getsize(lpath)
    except OSError as e:
        return _reject("read_error", f"{type(e).__name__}: {e}", path, None)
    if size == 0:
        return _reject("empty_file", "0 bytes", path, None)
    return None


def _range_span(opener, start: int, end: int) -> tuple[int, int] | None:
    """(offset of the first record, end) the task of bytes [start, end) reads, end -1 for the whole file;
    None when it reads nothing. Only a file of one gzip member per record can be cut: the task holding
    byte 0 reads any other file whole, and a later range starts at its first record."""
    with opener()() as f:
        splittable = W.is_multimember_gzip(f)
        if splittable and start > 0:
            found = W.next_record_start(f, start, end)
    if not splittable:
        return None if start > 0 else (0, -1)
    if start > 0:
        return None if found is None else (found, end)      # None: no record starts in this range
    return 0, end


def _warcinfo_dump(opener, library: str) -> str | None:
    """The dump the file's warcinfo (its first record) names: a later byte range does not read it."""
    file_dump = None
    try:
        for item in W.iter_warc(opener(0), library, 1 << 16):
            if item.rec_type == "warcinfo" and item.fields:
                file_dump = item.fields.get("isPartOf") or None
            break
    except W.WarcReadError:
        pass
    return file_dump


def _record_row(item: W.WarcItem, path: str, base: str, dump: str, xopts: ExtractOptions,
                blocked: DomainIndex | None = None) -> dict:
    """The outcome row of one record: its document, or the reason it has none."""
    url = item.url
    host = host_of(url)
    wet = is_wet_text(item.rec_type, item.record_content_type)
    rid = source_record_id(item.record_id, item.refers_to) if wet else item.record_id
    row = _row(doc_id=doc_id("web", dump, url, rid or f"{base}@{item.offset}"), dump=dump,
               source_type="web", url=url, host=host, domain=None, fetch_us=_micros(item.date), title=None,
               text=None, text_bytes=None, language=None, language_pct=None, language_reliable=None,
               source_file=path, source_record=None if item.offset is None else str(item.offset),
               record_type=item.rec_type)
    try:
        skip = _skip_reason(item, path, wet, xopts.html_max_bytes)
        if skip is None and blocked is not None:
            skip = block_reason(blocked, url, host)
        if skip is not None:
            row.update(reason=skip[0], detail=skip[1])
        elif wet:              # already text: no HTTP status, no extraction
            row = _with_result(row, text_to_document(item.body or b"", item.too_large, xopts))
        else:
            res = html_to_document(item.body or b"", url, item.charset, xopts)
            row["title"] = res.title
            row = _with_result(row, res)
        row["domain"] = registered_domain(host)
    except ExtractionTimeout:
        row.update(reason="extraction_timeout", detail="alarm outside extraction")
    except Exception as e:  # one bad record never fails the task
        row.update(reason="parse_error", detail=f"{type(e).__name__}: {str(e)[:300]}")
    return row


def _skip_reason(item: W.WarcItem, path: str, wet: bool, cap: int) -> tuple[str, str] | None:
    """(reason, detail) when the record's headers already rule it out, cheapest checks first; None when
    its payload is to be read (a WET text skips the HTTP and HTML checks)."""
    if item.rec_type not in ("response", "resource", "conversion"):
        wat = is_wat_record(item.rec_type, item.record_content_type, path)
        return "not_response", f"{item.rec_type} (WAT)" if wat else item.rec_type
    if item.truncated:   # first: a cut record may have lost its headers too
        return "truncated_record", f"{len(item.body or b'')} of {item.body_length} bytes in the file"
    if wet:
        return None
    if item.http_status is not None and not 200 <= item.http_status < 300:
        return "http_status", str(item.http_status)
    if not is_html_type(item.content_type, item.body or b""):
        return "non_html", (item.content_type or "no content type")[:200]
    if item.too_large:
        return "html_too_large", (f"> html_max_bytes {cap}"
                                  + (f" ({item.body_length} bytes)" if item.body_length else ""))
    return None


def block_reason(index: DomainIndex, url: str | None, host: str | None) -> tuple[str, str] | None:
    """(reason, detail) when the URL is on a blocklist, as the safety stage words it; a URL that does
    not parse has no host, and so matches nothing."""
    kinds, cats, matched = index.match_batch([url], [host])
    if kinds[0] is None:
        return None
    return f"{kinds[0]}_blocklist:{cats[0]}", f"match={matched[0]}"


def _with_result(row: dict, res) -> dict:
    """row with the text of a decoded payload, or with the reason decoding gave for having none."""
    if res.reason:
        row.update(reason=res.reason, detail=res.detail)
        return row
    return _with_text(row, res.text)


def text_rows(path: str, content: bytes | None, src: dict, opts: WorkerOptions) -> Iterator[dict]:
    """Outcome rows of one JSONL/Parquet file of a text source (the field mapping in src)."""
    fields = src["fields"]
    stype = src["source_type"]
    dump = src.get("dump") or stype
    base = os.path.basename(path)
    lpath = None if content is not None else local_path(path)

    def raw_stream():
        f = io.BytesIO(content) if content is not None else _open_local(lpath)
        return gzip.GzipFile(fileobj=f) if path.endswith(".gz") else f

    def records():
        if src["format"] == "jsonl":
            with raw_stream() as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as e:
                        yield n, None, f"invalid JSON: {str(e)[:200]}"
                        continue
                    yield (n, obj, None) if isinstance(obj, dict) else (n, None, "JSON line is not an object")
        else:
            import pyarrow.parquet as pq

            with raw_stream() as f:
                pf = pq.ParquetFile(f)
                names = set(pf.schema_arrow.names)
                cols = sorted({c for c in fields.values() if c in names})
                n = 0
                for batch in pf.iter_batches(batch_size=512, columns=cols):
                    for obj in batch.to_pylist():
                        yield n, obj, None
                        n += 1

    if content == b"" or (lpath is not None and os.path.exists(lpath) and os.path.getsize(lpath) == 0):
        yield _reject("empty_file", "0 bytes", path, None, dump=dump)
        return
    try:
        for n, obj, err in records():
            if err is not None:
                yield _reject("parse_error", err, path, n, dump=dump)
                continue
            get = {k: obj.get(v) for k, v in fields.items()}
            url = str(get["url"]) if get.get("url") not in (None, "") else None
            rid = str(get["id"]) if get.get("id") not in (None, "") else f"{base}:{n}"
            host = host_of(url)
            title = get.get("title")
            row = _row(doc_id=doc_id(stype, dump, url, rid), dump=dump, source_type=stype, url=url, host=host,
                       domain=registered_domain(host), fetch_us=_micros(get.get("date")),
                       title=None if title is None else clean_text(str(title))[:1000] or None,
                       text=None, text_bytes=None, language=None, language_pct=None, language_reliable=None,
                       source_file=path, source_record=str(n))
            text = get.get("text")
            text = clean_text(text if isinstance(text, str) else ("" if text is None else str(text))).strip()
            if not text:
                row.update(reason="empty_text", detail=f"field {fields['text']!r} missing or empty")
            elif len(text) < opts.min_text_chars:
                row.update(reason="too_short", detail=f"{len(text)} chars < min_text_chars {opts.min_text_chars}")
            else:
                row = _with_text(row, text, get.get("language") or None)
            yield row
    except Exception as e:  # unreadable file (bad gzip, not Parquet): keep the rows read, record the failure
        yield _reject("read_error", f"{type(e).__name__}: {str(e)[:500]}", path, None, dump=dump)


def format_batches(batches, opts: WorkerOptions, batch_rows: int, blocked: DomainIndex | None = None):
    """mapInArrow body: task rows (kind, path, source, start, end, content) -> outcome batches."""
    import pyarrow as pa

    schema = outcome_arrow_schema()
    names = schema.names
    buf: list[dict] = []
    text_bytes = 0

    def flush():
        cols = {n: [r.get(n) for r in buf] for n in names}
        return pa.RecordBatch.from_pydict(cols, schema=schema)

    for batch in batches:
        for task in batch.to_pylist():
            path = task["path"]
            if task["kind"] not in ("warc", "text"):
                raise ValueError(f"format: no task plan for {path}")  # a driver/worker path mismatch: a bug
            content = task.get("content")
            if task["kind"] == "warc":
                rows = warc_rows(path, content, task["start"], task["end"], opts, blocked)
            else:
                rows = text_rows(path, content, opts.text_sources[task["source"]], opts)
            for row in rows:
                buf.append(row)
                text_bytes += row.get("text_bytes") or 0
                if len(buf) >= batch_rows or text_bytes >= 64 << 20:
                    yield flush()
                    buf, text_bytes = [], 0
    if buf:
        yield flush()


# ---- driver side --------------------------------------------------------------------------------
def _is_glob(p: str) -> bool:
    return any(ch in p for ch in "*?[")


def _list_files(spark, pattern: str) -> list[tuple[str, int]]:
    """(path, size) of the files matching a glob on any Hadoop FS (directories are walked)."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(pattern)
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = []
    for st in fs.globStatus(p) or []:
        if st.isDirectory():
            it = fs.listFiles(st.getPath(), True)
            while it.hasNext():
                f = it.next()
                out.append((f.getPath().toString(), int(f.getLen())))
        else:
            out.append((st.getPath().toString(), int(st.getLen())))
    return sorted(set(out))


def _expand(spark, key: str, pattern: str) -> list[tuple[str, int]]:
    """Existing files matching a pattern; a missing plain path is a ConfigError naming the key."""
    files = _list_files(spark, pattern)
    if not files:
        if not _is_glob(pattern):
            raise ConfigError(f"{key}: path {pattern} does not exist")
        log.warning("[format] %s: no files match %s", key, pattern)
    return files


def _input_patterns(config: Config, inputs: list[str] | None) -> list[tuple[str, str]]:
    """(key, absolute pattern) of the WARC/text inputs: `--input` replaces format.inputs."""
    if inputs:
        return [(f"--input[{i}]", p if "://" in p else os.path.abspath(os.path.expanduser(p)))
                for i, p in enumerate(inputs)]
    return [(f"format.inputs[{i}]", config.path(p)) for i, p in enumerate(config.format.inputs)]


def text_sources(config: Config, inputs: list[str] | None) -> list[TextSourceConfig]:
    """The configured text sources, then one per `--input` pattern that names JSONL/Parquet files."""
    cfg: FormatConfig = config.format
    extra = [TextSourceConfig(pat, fmt, **asdict(cfg.input_text))
             for _, pat in _input_patterns(config, inputs) if inputs and (fmt := text_format_of(pat))]
    return [*cfg.text_sources, *extra]


MIN_SPLIT_BYTES = 8 << 20
TASKS_PER_CORE = 4


def split_size(split_bytes: int, warc_bytes: int, cores: int) -> int:
    """Byte-range size for .warc.gz files: split_bytes, or less when the input is small next to the
    cluster, so a few big files still give every core several tasks (never below 8 MB that way; 0 =
    never split). Ranges only split record-gzipped files (one member per record), as crawls are written."""
    if not split_bytes:
        return 0
    balanced = -(-warc_bytes // max(1, cores * TASKS_PER_CORE))
    return min(split_bytes, max(MIN_SPLIT_BYTES, balanced))


def plan_tasks(spark, config: Config, inputs: list[str] | None) -> tuple[list[dict], list[str], str]:
    """(tasks, input patterns, fingerprint): one task per file, or per byte range of a big .warc.gz."""
    cfg: FormatConfig = config.format
    given = _input_patterns(config, inputs)
    warc_pats = [(k, p) for k, p in given if not (inputs and text_format_of(p))]
    text_keys = [f"format.text_sources[{i}].path" for i in range(len(cfg.text_sources))]
    text_keys += [k for k, p in given if inputs and text_format_of(p)]
    text_pats = [(k, config.path(s.path)) for k, s in zip(text_keys, text_sources(config, inputs))]
    patterns = [p for _, p in warc_pats + text_pats]
    files, fp = fingerprint_files(spark, patterns) if patterns else ([], "")
    listed = [(kind, idx, f, size) for kind, pats in (("warc", warc_pats), ("text", text_pats))
              for idx, (key, pat) in enumerate(pats) for f, size in _expand(spark, key, pat)]
    split = split_size(cfg.split_bytes, sum(size for kind, _, _, size in listed if kind == "warc"),
                       spark.sparkContext.defaultParallelism)
    tasks: list[dict] = []
    seen = set()
    for kind, idx, f, size in listed:
        if f in seen:
            continue
        seen.add(f)
        if kind == "text":
            tasks.append(dict(kind="text", path=f, source=idx, start=0, end=-1, size=size))
        elif split and size > split and f.endswith(".gz"):
            for s in range(0, size, split):
                tasks.append(dict(kind="warc", path=f, source=-1, start=s, end=min(s + split, size),
                                  size=min(split, size - s)))
        else:
            tasks.append(dict(kind="warc", path=f, source=-1, start=0, end=-1, size=size))
    if not tasks:
        raise ConfigError(f"{'--input' if inputs else 'format.inputs'}: no input files match "
                          f"{', '.join(patterns) or '(nothing configured)'}")
    return tasks, patterns, fp


def outcomes_frame(spark, config: Config, tasks: list[dict], inputs: list[str] | None = None,
                   block_specs: list | None = None):
    """The outcome rows of every task, computed by Python workers file by file (one task per partition);
    WARC records on the lists of block_specs are rejected before extraction."""
    from pyspark.sql import functions as F

    cfg: FormatConfig = config.format

    opts = WorkerOptions(
        dump_id=cfg.dump_id, warc_library=cfg.warc_library, min_text_chars=cfg.min_text_chars,
        extract=asdict(ExtractOptions(html_max_bytes=cfg.html_max_bytes, extract_timeout_s=cfg.extract_timeout_s,
                                      min_text_chars=cfg.min_text_chars, max_bad_char_ratio=cfg.max_bad_char_ratio,
                                      trafilatura=asdict(cfg.trafilatura))),
        text_sources=[asdict(s) for s in text_sources(config, inputs)],
    )
    task_ddl = "kind string, path string, source int, start bigint, end bigint, content binary"
    # empty files never reach Spark's file sources (they skip them): the driver hands them over as b""
    is_local = ((lambda t: t["size"] == 0) if cfg.spark_reads_files
                else (lambda t: t["size"] == 0 or local_path(t["path"]) is not None))
    local = sorted((t for t in tasks if is_local(t)), key=lambda t: (-t["size"], t["path"], t["start"]))
    remote = [t for t in tasks if not is_local(t)]
    frames = []
    if local:
        rows = [(t["kind"], t["path"], t["source"], t["start"], t["end"], b"" if t["size"] == 0 else None)
                for t in local]
        rdd = spark.sparkContext.parallelize(rows, len(rows))
        frames.append(spark.createDataFrame(rdd, task_ddl))
    if remote:  # Hadoop-FS files: Spark reads the bytes, one file per row; the plan joins back by path
        plan = spark.createDataFrame([(t["path"], t["kind"], t["source"]) for t in remote],
                                     "path string, kind string, source int")
        bf = spark.read.format("binaryFile").load([t["path"] for t in remote]).select("path", "content")
        frames.append(bf.join(F.broadcast(plan), "path", "left")
                      .select("kind", "path", "source", F.lit(0).cast("bigint").alias("start"),
                              F.lit(-1).cast("bigint").alias("end"), "content"))
    tasks_df = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    batch_rows = cfg.batch_rows
    digest, index_bc = blocklists.broadcast_index(spark, block_specs) if block_specs else (None, None)

    def run_tasks(batches):
        blocked = cached_index(digest, lambda: DomainIndex(*index_bc.value)) if index_bc is not None else None
        yield from format_batches(batches, opts, batch_rows, blocked)

    return tasks_df.mapInArrow(run_tasks, OUTCOME_DDL)


def _delete(spark, path: str) -> None:
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(p, True)


def split_repeated_ids(accepted):
    """(one row per doc_id, the rest as `duplicate_record` rejects) of the accepted outcome rows.

    A page read from both the WARC (response) and the WET (conversion) of a crawl has one doc_id; the
    response's own extraction is kept, then the first by file and offset. Only doc_ids that occur more
    than once go through the window, so a WET-only run shuffles ids, not texts.
    """
    from pyspark.sql import Window, functions as F

    repeated = accepted.groupBy("doc_id").count().where("count > 1").select("doc_id")
    clash = accepted.join(repeated, "doc_id", "left_semi")
    order = Window.partitionBy("doc_id").orderBy(
        (F.col("record_type") == "conversion").asc_nulls_last(), "source_file",
        F.col("source_record").cast("long").asc_nulls_last(), "source_record")
    ranked = (clash.withColumn("_rank", F.row_number().over(order))
              .withColumn("_kept", F.first(F.concat_ws(" @ ", "source_file", "source_record")).over(order)))
    kept = accepted.join(repeated, "doc_id", "left_anti").unionByName(
        ranked.where("_rank = 1").drop("_rank", "_kept"))
    dups = (ranked.where("_rank > 1")
            .withColumn("reason", F.lit("duplicate_record"))
            .withColumn("detail", F.concat(F.lit("same doc_id as the record kept: "), F.col("_kept")))
            .drop("_rank", "_kept"))
    return kept, dups


def run(spark, config: Config, *, force: bool = False, inputs: list[str] | None = None,
        run_id: str | None = None) -> StageResult:
    """Format the configured (or given) inputs into `documents`; rejects into `rejected`."""
    from pyspark.sql import functions as F

    if "format" not in config.sections:
        raise ConfigError("format: section missing from the config")
    tasks, patterns, fp = plan_tasks(spark, config, inputs)
    block_specs = check(config)
    if block_specs:
        fp = fingerprint([fp, blocklists.specs_fingerprint(block_specs)])

    def body(ctx: StageRun) -> Counts:
        ctx.describe(f"extract {len(tasks)} file tasks")
        staging = config.path(config.storage.tmp).rstrip("/") + f"/format-staging/{ctx.run_id}"
        outcomes_frame(spark, config, tasks, inputs, block_specs).write.mode("overwrite").parquet(staging)
        try:
            out = spark.read.parquet(staging)
            # one pass for the input count and whether any WET text was accepted (only then can ids repeat)
            tally = out.agg(F.count(F.lit(1)).alias("n"), F.count(F.when(
                F.col("reason").isNull() & (F.col("record_type") == "conversion"), 1)).alias("wet")).first()
            rows_in = tally["n"]
            accepted, rejected = out.where(F.col("reason").isNull()), out.where(F.col("reason").isNotNull())
            if tally["wet"]:
                accepted, dups = split_repeated_ids(accepted)
                rejected = rejected.unionByName(dups)
            docs = (accepted.withColumn("fetch_date", F.timestamp_micros("fetch_us"))
                    .select(*documents_schema.TABLE.column_names))
            version = ctx.write_output(documents_schema.TABLE, docs)
            rows_out = ctx.rows_written("documents")
            n_rej = ctx.write_rejected(rejected.select(*REJECT_COLUMNS))
        finally:
            _delete(spark, staging)
        if rows_in != rows_out + n_rej:
            log.warning("[format] counts do not add up: %d in, %d out, %d rejected", rows_in, rows_out, n_rej)
        return Counts(rows_in, rows_out, n_rej, version)

    return run_stage(spark, config, "format", inputs=patterns, input_fingerprint=fp, body=body,
                     force=force, run_id=run_id)


def check(config: Config) -> list | None:
    """The blocklists format checks URLs against before extraction (None: none); a list that exists but
    cannot be read fails here, before Spark starts."""
    return blocklists.early_specs(config)


STAGE = Stage(
    name="format",
    order=10,
    summary="WARC/ARC responses, WET texts and JSONL/Parquet text -> main text, language, ids",
    section=FormatConfig,
    run=run,
    inputs=("files",),
    outputs=("documents",),
    check=check,
)


if __name__ == "__main__":   # spark-submit jobs/stages/format.py --conf FILE; the entry point sits above the stages
    from corpusmill.jobs.registry import stage_main

    sys.exit(stage_main("format", None))
