"""HTML -> main text: charset decoding, <title>, Trafilatura under a time limit and a size cap.

Plain functions, no Spark. `html_to_document` is what the format stage calls per WARC record; it
returns either the text fields or a reject reason, never raises for a bad page.
"""
from __future__ import annotations

import codecs
import html as htmllib
import logging
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from corpusmill.udfs.format.langid import bad_char_ratio, clean_text

log = logging.getLogger("corpusmill")


class ExtractionTimeout(BaseException):
    """Raised by the SIGALRM handler. A BaseException so Trafilatura's `except Exception` can't eat it."""


@contextmanager
def time_limit(seconds: float):
    """Interrupt the body after `seconds` (wall clock) with ExtractionTimeout.

    Uses SIGALRM, which only works in the main thread of a Unix process (true for PySpark Python
    workers). Elsewhere the body runs without a limit; the HTML size cap still bounds the work.
    Wall clock, not CPU time: CPU timers tick too coarsely to be reliable for short limits. On a
    heavily oversubscribed machine raise extract_timeout_s (timeouts are recorded in `rejected`).
    """
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise ExtractionTimeout()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---- decoding ---------------------------------------------------------------------------------
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)
# what browsers actually use for these labels (WHATWG encoding standard)
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
            "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "euc-kr": "cp949", "tis-620": "cp874",
            "iso-8859-9": "cp1254", "utf8": "utf-8", "unicode": "utf-8"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def sniff_charset(raw: bytes) -> str | None:
    """Charset from a BOM or a <meta charset> / http-equiv declaration in the first 4 KB."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    m = _META_CHARSET.search(raw[:4096])
    return m.group(1).decode("ascii", "ignore") if m else None


# C0 controls other than \t \n \f \r and ESC (ISO-2022), plus DEL: never in text of an ASCII-based charset
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32), 127])


def control_byte_ratio(raw: bytes) -> float:
    """Share of bytes that are control characters in every ASCII-based charset (binary data)."""
    if not raw:
        return 0.0
    return (len(raw) - len(raw.translate(None, _CONTROL_BYTES))) / len(raw)


def decode_html(raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes -> str: BOM/meta declaration, then the HTTP charset, then strict UTF-8, then detection.

    Never raises: the last resort is UTF-8 with replacement characters (counted by the caller).
    """
    tried = []
    for label in (sniff_charset(raw), declared, "utf-8"):
        name = _codec(label)
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            return raw.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(raw[:200_000]).best()
        if best is not None and best.encoding:
            return raw.decode(best.encoding, errors="replace"), best.encoding
    except Exception:  # detection is best effort
        pass
    return raw.decode(tried[0] if tried else "utf-8", errors="replace"), (tried[0] if tried else "utf-8") + "+replace"


# ---- title ------------------------------------------------------------------------------------
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_SPACES = re.compile(r"\s+")


def html_title(html: str, max_chars: int = 1000) -> str | None:
    """The <title> text (entities decoded, whitespace collapsed): cheap, no DOM."""
    m = _TITLE.search(html, 0, 200_000)
    if not m:
        return None
    title = _SPACES.sub(" ", clean_text(htmllib.unescape(m.group(1)))).strip()
    return title[:max_chars] or None


# ---- extraction -------------------------------------------------------------------------------
@dataclass
class ExtractOptions:
    """What html_to_document needs (a plain, picklable copy of the format config)."""

    html_max_bytes: int = 5 * 1024 * 1024
    extract_timeout_s: float = 5.0
    min_text_chars: int = 1
    max_bad_char_ratio: float = 0.05
    trafilatura: dict = field(default_factory=dict)


@dataclass
class HtmlResult:
    text: str | None = None
    title: str | None = None
    reason: str | None = None      # None = accepted
    detail: str | None = None


def looks_like_html(raw: bytes) -> bool:
    head = raw[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head or b"<body" in head


def is_html_type(content_type: str | None, raw: bytes) -> bool:
    """HTML by its declared type; untyped or generic types are sniffed."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if "html" in ct:
        return True
    if ct in ("", "text/plain", "application/octet-stream", "unk", "unknown", "application/unknown"):
        return looks_like_html(raw)
    return False


def trafilatura_extract(html: str, url: str | None, options: dict) -> str | None:
    import trafilatura

    return trafilatura.extract(html, url=url, **options)


def html_to_document(raw: bytes, url: str | None, declared_charset: str | None, opts: ExtractOptions) -> HtmlResult:
    """Main text and title of one HTML payload, or the reason it is rejected."""
    if len(raw) > opts.html_max_bytes:
        return HtmlResult(reason="html_too_large", detail=f"{len(raw)} bytes > html_max_bytes {opts.html_max_bytes}")
    html, encoding = decode_html(raw, declared_charset)
    ratio = bad_char_ratio(html)
    if not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):   # UTF-16 text is full of NULs
        ratio = max(ratio, control_byte_ratio(raw))
    if ratio > opts.max_bad_char_ratio:
        return HtmlResult(reason="undecodable", detail=f"{ratio:.1%} control/replacement characters as {encoding}")
    if ratio > 0:
        html = clean_text(html)       # lxml refuses NUL and most control characters
    title = html_title(html)
    try:
        with time_limit(opts.extract_timeout_s):
            text = trafilatura_extract(html, url, opts.trafilatura)
    except ExtractionTimeout:
        return HtmlResult(title=title, reason="extraction_timeout", detail=f"> {opts.extract_timeout_s}s")
    except RecursionError:
        return HtmlResult(title=title, reason="parse_error", detail="RecursionError (too deeply nested HTML)")
    except Exception as e:  # a page that breaks the parser is a rejected record, not a failed task
        return HtmlResult(title=title, reason="parse_error", detail=f"{type(e).__name__}: {str(e)[:300]}")
    text = clean_text(text or "").strip()
    if not text:
        return HtmlResult(title=title, reason="empty_extraction", detail=f"{len(raw)} bytes of HTML")
    if len(text) < opts.min_text_chars:
        return HtmlResult(title=title, text=text, reason="too_short",
                          detail=f"{len(text)} chars < min_text_chars {opts.min_text_chars}")
    return HtmlResult(text=text, title=title)
