"""Reading WARC (and ARC) files record by record, with FastWARC or warcio behind one interface.

`iter_warc` yields one `WarcItem` per record with what the format stage needs (type, URL, date, id,
HTTP status and content type, the decoded HTTP body up to a size cap, whether the record is
truncated). Read errors propagate as `WarcReadError` carrying the offset reached, so the caller keeps
every record read before the failure and records the failure itself. Common Crawl WET files
(`conversion` records: the page's text as text/plain, WARC-Refers-To naming the response it came
from) and WAT files (`metadata` records, JSON) are WARC files too and come through the same readers.

Why FastWARC first: it is several times faster than warcio and also reads non-record-chunked gzip
WARCs that warcio refuses. It cannot read ARC files, so a file FastWARC rejects before its first
record is re-read with warcio (see bench/bench_format.py --warc for the comparison).
"""
from __future__ import annotations

import gzip
import io
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

DUMP_IN_PATH = re.compile(r"CC-MAIN-\d{4}-\d{2}")


class WarcReadError(Exception):
    """A file could not be read (further): `offset` is the last record offset reached (or 0)."""

    def __init__(self, message: str, offset: int | None):
        super().__init__(message)
        self.offset = offset


@dataclass
class WarcItem:
    offset: int | None          # byte offset of the record in the file (compressed offset for .gz)
    rec_type: str               # warcinfo, response, resource, request, metadata, revisit, ...
    record_id: str | None = None
    url: str | None = None
    date: str | None = None     # WARC-Date as written
    http_status: int | None = None
    content_type: str | None = None   # HTTP Content-Type (response) or the record's Content-Type (resource)
    charset: str | None = None        # charset parameter of content_type
    body: bytes | None = None         # payload, transfer/content encoding removed, at most cap+1 bytes
    body_length: int | None = None    # declared payload length
    too_large: bool = False
    truncated: bool = False           # fewer bytes in the file than the record declares
    fields: dict | None = None        # warcinfo fields (isPartOf, ...)
    refers_to: str | None = None      # WARC-Refers-To: the response record a WET conversion / WAT metadata is made from
    record_content_type: str | None = None   # the record's Content-Type (WET: text/plain, WAT: application/json)


# ---- dump id ----------------------------------------------------------------------------------
def dump_from_path(path: str) -> str | None:
    m = DUMP_IN_PATH.search(path)
    return m.group(0) if m else None


def parse_warc_fields(block: bytes) -> dict:
    """`key: value` lines of a warcinfo block (application/warc-fields)."""
    out = {}
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


# ---- HTTP body decoding -----------------------------------------------------------------------
def dechunk(data: bytes) -> bytes | None:
    """Undo HTTP chunked transfer encoding; None when data is not validly chunked."""
    out = bytearray()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        size_field = data[pos:nl].split(b";")[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        start = nl + 1
        out += data[start:start + size]
        pos = start + size
        if data[pos:pos + 2] == b"\r\n":
            pos += 2
        elif data[pos:pos + 1] == b"\n":
            pos += 1
    return bytes(out)


def decode_body(raw: bytes, transfer_encoding: str | None, content_encoding: str | None, cap: int) -> tuple[bytes, bool]:
    """(body, exceeds_cap): chunked and gzip/deflate/br removed when they are really applied.

    Crawlers often store the body already decoded while keeping the headers, so every step
    falls back to the bytes as they are. Decompression stops past cap (no decompression bombs).
    """
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        raw = dechunk(raw) or raw
    ce = (content_encoding or "").lower()
    if ce in ("gzip", "x-gzip", "deflate"):
        for wbits in (47, -15):
            try:
                d = zlib.decompressobj(wbits)
                out = d.decompress(raw, cap + 1)
                return out, len(out) > cap or bool(d.unconsumed_tail)
            except zlib.error:
                continue
    elif ce == "br":
        try:
            import brotli  # optional

            out = brotli.decompress(raw)
            return out[: cap + 1], len(out) > cap
        except Exception:
            pass
    return raw, len(raw) > cap


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.I)
    return m.group(1) if m else None


# ---- readers ------------------------------------------------------------------------------------
_CONTENT_TYPES = ("response", "resource", "conversion")


_HEADER_END = re.compile(rb"\r?\n\r?\n")
MAX_HTTP_HEADER = 1 << 16


def parse_http_head(data: bytes) -> tuple[int | None, dict, int] | None:
    """(status, lower-cased headers, header length) of an HTTP response block; tolerates bare \\n."""
    if not data.startswith(b"HTTP/"):
        return None
    m = _HEADER_END.search(data, 0, MAX_HTTP_HEADER)
    if not m:
        return None
    lines = data[: m.start()].decode("latin-1").splitlines()
    parts = lines[0].split(None, 2)
    try:
        status = int(parts[1]) if len(parts) > 1 else None
    except ValueError:
        status = None
    headers: dict = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers.setdefault(key.strip().lower(), value.strip())
    return status, headers, m.end()


def _iter_fastwarc(stream: BinaryIO, cap: int) -> Iterator[WarcItem]:
    """FastWARC for the framing; HTTP headers parsed here (FastWARC needs CRLF, old crawls use LF)."""
    from fastwarc.warc import ArchiveIterator

    for r in ArchiveIterator(stream, parse_http=False):
        rec_type = str(r.record_type).rsplit(".", 1)[-1]
        h = r.headers
        item = WarcItem(offset=r.stream_pos, rec_type=rec_type, record_id=h.get("WARC-Record-ID"),
                        url=(h.get("WARC-Target-URI") or "").strip("<> ") or None, date=h.get("WARC-Date"),
                        refers_to=h.get("WARC-Refers-To"), record_content_type=h.get("Content-Type"))
        if rec_type == "warcinfo":
            item.fields = parse_warc_fields(r.reader.read(1 << 20))
        elif rec_type in _CONTENT_TYPES:
            block_len = r.content_length
            head = r.reader.read(min(MAX_HTTP_HEADER, cap + 1))
            parsed = (parse_http_head(head) if rec_type != "conversion" and (r.is_http or head.startswith(b"HTTP/"))
                      else None)    # a conversion (WET) block is the text itself, never HTTP
            if parsed is not None:
                item.http_status, hh, hlen = parsed
                item.content_type = hh.get("content-type")
                te, ce = hh.get("transfer-encoding"), hh.get("content-encoding")
            else:
                item.content_type = h.get("Content-Type")
                hlen, te, ce = 0, None, None
            want = cap + 1 - (len(head) - hlen)
            raw = head[hlen:] + (r.reader.read(want) if want > 0 else b"")
            item.body_length = block_len - hlen if block_len is not None else None
            item.too_large = len(raw) > cap or (item.body_length or 0) > cap
            item.truncated = (not item.too_large and item.body_length is not None and len(raw) < item.body_length)
            item.body, big = decode_body(raw, te, ce, cap)
            item.too_large = item.too_large or big
            item.charset = _charset(item.content_type)
        yield item


def _iter_warcio(stream: BinaryIO, cap: int) -> Iterator[WarcItem]:
    from warcio.archiveiterator import ArchiveIterator

    it = ArchiveIterator(stream, arc2warc=True)
    for r in it:
        h = r.rec_headers
        item = WarcItem(offset=None, rec_type=r.rec_type, record_id=h.get_header("WARC-Record-ID"),
                        url=(h.get_header("WARC-Target-URI") or "").strip("<> ") or None,
                        date=h.get_header("WARC-Date"), refers_to=h.get_header("WARC-Refers-To"),
                        record_content_type=h.get_header("Content-Type"))
        if r.rec_type == "warcinfo":
            item.fields = parse_warc_fields(r.raw_stream.read(1 << 20))
        elif r.rec_type in _CONTENT_TYPES:
            hh = r.http_headers if r.rec_type != "conversion" else None
            if hh is not None and hh.protocol.upper().startswith("HTTP"):
                try:
                    item.http_status = int(hh.get_statuscode())
                except (TypeError, ValueError):
                    item.http_status = None
                item.content_type = hh.get_header("Content-Type")
                te, ce = hh.get_header("Transfer-Encoding"), hh.get_header("Content-Encoding")
            else:
                item.content_type = h.get_header("Content-Type")
                te = ce = None
            raw = r.raw_stream.read(cap + 1)
            remaining = getattr(r.raw_stream, "limit", 0) or 0
            item.body_length = len(raw) + remaining if len(raw) <= cap else None
            item.too_large = len(raw) > cap
            item.truncated = not item.too_large and remaining > 0 and r.raw_stream.read(1) == b""
            item.body, big = decode_body(raw, te, ce, cap)
            item.too_large = item.too_large or big
            item.charset = _charset(item.content_type)
        item.offset = it.get_record_offset()   # only valid once the record's content has been read
        yield item


def _looks_like_archive(open_stream: Callable[[], BinaryIO]) -> bool:
    """Does the (possibly gzipped) stream start with a WARC or ARC header?"""
    with open_stream() as stream:
        head = stream.read(4096)
    if head.startswith(GZIP_MAGIC[:2]):
        try:
            head = zlib.decompressobj(31).decompress(head, 64)
        except zlib.error:
            return False
    head = head.lstrip()
    return head.startswith((b"WARC/", b"filedesc://"))


_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length:\s*(\d+)", re.I)


def record_complete(open_stream: Callable[[], BinaryIO], offset: int | None) -> bool:
    """Is the record at offset whole in the file? Both readers end silently on a cut last record.

    gzip: its member must end with a complete trailer; plain WARC: header + Content-Length bytes must
    be there. Unknown layouts (ARC, whole-file gzip) count as complete.
    """
    if offset is None:
        return True
    with open_stream() as stream:
        stream.seek(offset)
        head = stream.read(2)
        stream.seek(offset)
        if head == GZIP_MAGIC[:2]:
            d = zlib.decompressobj(31)
            try:
                while not d.eof:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        return False
                    while chunk and not d.eof:
                        d.decompress(chunk, 1 << 22)
                        chunk = d.unconsumed_tail
            except zlib.error:
                return False
            return True
        data = stream.read(1 << 16)
        if not data.startswith(b"WARC/"):
            return True
        end = _HEADER_END.search(data)
        m = _CONTENT_LENGTH.search(data, 0, end.start() if end else len(data))
        if not end or not m:
            return False
        need = end.end() + int(m.group(1))
        stream.seek(offset + need - 1)
        return len(stream.read(1)) == 1


def iter_warc(open_stream: Callable[[], BinaryIO], library: str = "fastwarc", cap: int = 5 << 20) -> Iterator[WarcItem]:
    """Records of one file; `open_stream` opens it (again for a retry), positioned where to start.

    With FastWARC, a file it cannot read (ARC) or that breaks mid-way is re-read with warcio, which
    skips the records already yielded (offsets are absolute in both). Any failure that remains is
    raised as WarcReadError after the last good record, so the caller keeps them and records it.
    """
    readers = {"fastwarc": _iter_fastwarc, "warcio": _iter_warcio}
    if library not in readers:
        raise ValueError(f"unknown WARC library {library!r}")
    order = ["fastwarc", "warcio"] if library == "fastwarc" else [library]
    errors: list[str] = []
    if library == "warcio" and not _looks_like_archive(open_stream):
        raise WarcReadError("not a WARC/ARC file (no WARC/ or filedesc:// header)", None)
    damaged = False
    last: int | None = None
    total = 0
    pending: WarcItem | None = None      # held back one record: the last one gets a completeness check
    for i, name in enumerate(order):
        if i > 0 and total == 0 and not _looks_like_archive(open_stream):
            break     # warcio reads any text as ARC records: only retry files that start like an archive
        with open_stream() as stream:
            try:
                for item in readers[name](stream, cap):
                    if i > 0 and last is not None and item.offset is not None and item.offset <= last:
                        continue                      # already yielded by the reader that broke
                    total += 1
                    last = item.offset if item.offset is not None else last
                    if pending is not None:
                        yield pending
                    pending = item
            except Exception as e:  # corrupt data: keep what was read, try the next reader
                damaged = damaged or total > 0
                errors.append(f"{name}: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
                              + (f" after offset {last}" if last is not None else ""))
                continue
        if total == 0:
            errors.append(f"{name}: no WARC records")
            continue
        if pending is not None:
            if not pending.too_large and not record_complete(open_stream, pending.offset):
                pending.truncated = True
                damaged = True
                errors.append(f"the last record (offset {pending.offset}) is cut off")
            yield pending
            pending = None
        if damaged:     # a reader broke mid-file (the next one read on) or the last record is cut off
            raise WarcReadError("; ".join(errors), last)
        return
    if pending is not None:
        yield pending
    raise WarcReadError(("not a readable WARC/ARC file: " if total == 0 else "") + "; ".join(errors), last)


# ---- splitting big files ------------------------------------------------------------------------
GZIP_MAGIC = b"\x1f\x8b\x08"


def is_multimember_gzip(stream: BinaryIO) -> bool:
    """True when the first gzip member ends before the file does (one member per record: splittable)."""
    stream.seek(0)
    d = zlib.decompressobj(31)
    while not d.eof:
        chunk = stream.read(1 << 16)
        if not chunk:
            return False
        try:
            d.decompress(chunk, 1 << 16)
            while d.unconsumed_tail and not d.eof:
                d.decompress(d.unconsumed_tail, 1 << 16)
        except zlib.error:
            return False
    return bool(d.unused_data) or bool(stream.read(1))


def next_record_start(stream: BinaryIO, start: int, end: int) -> int | None:
    """First offset in [start, end) where a gzip member holding a WARC record begins."""
    pos = start
    while pos < end:
        stream.seek(pos)
        buf = stream.read(min(1 << 20, end - pos) + 2)
        i = buf.find(GZIP_MAGIC)
        while i >= 0 and pos + i < end:
            stream.seek(pos + i)
            try:
                head = gzip.GzipFile(fileobj=io.BytesIO(stream.read(1 << 16))).read(8)
            except Exception:
                head = b""
            if head.startswith((b"WARC/", b"warc/")):
                return pos + i
            i = buf.find(GZIP_MAGIC, i + 1)
        pos += max(1, len(buf) - 2)
    return None
