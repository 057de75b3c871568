"""Common Crawl WET and WAT records: text that is already extracted, and metadata that is no document.

A WET file holds one `conversion` record per page: the text Common Crawl extracted from the HTML
(text/plain, UTF-8), with WARC-Refers-To naming the `response` record it came from. That text
becomes a document as it is (no Trafilatura); its document id is derived from the response's record
id, so a page read from the WET and from the WARC of the same crawl gets the same doc_id.
WAT files hold `metadata` records (application/json): counted, never documents.
"""
from __future__ import annotations

from corpusmill.udfs.format.extract import ExtractOptions, HtmlResult
from corpusmill.udfs.format.langid import bad_char_ratio, clean_text

TEXT_TYPES = ("", "text/plain")


def is_wet_text(rec_type: str, record_content_type: str | None) -> bool:
    """A conversion record holding plain text (what WET files contain); other conversions are sniffed as HTML."""
    ct = (record_content_type or "").split(";")[0].strip().lower()
    return rec_type == "conversion" and ct in TEXT_TYPES


def is_wat_record(rec_type: str, record_content_type: str | None, path: str) -> bool:
    """A WAT metadata record: JSON metadata, or any metadata record of a file named *.wat / *.wat.gz."""
    if rec_type != "metadata":
        return False
    ct = (record_content_type or "").split(";")[0].strip().lower()
    low = path.lower()
    return ct == "application/json" or low.endswith((".wat", ".wat.gz"))


def source_record_id(record_id: str | None, refers_to: str | None) -> str | None:
    """The id a WET text's doc_id is built from: the response it refers to (as its WARC does), else its own."""
    return (refers_to or "").strip() or record_id


def text_to_document(raw: bytes, too_large: bool, opts: ExtractOptions) -> HtmlResult:
    """The document of one WET payload (UTF-8, errors replaced), or the reason it is rejected.

    The same limits as for HTML apply: html_max_bytes, max_bad_char_ratio, min_text_chars; the text
    gets the same clean-up (newlines to \\n, control characters removed) and no title.
    """
    if too_large or len(raw) > opts.html_max_bytes:
        return HtmlResult(reason="text_too_large", detail=f"> html_max_bytes {opts.html_max_bytes}")
    text = raw.decode("utf-8", errors="replace")
    ratio = bad_char_ratio(text)
    if ratio > opts.max_bad_char_ratio:
        return HtmlResult(reason="undecodable", detail=f"{ratio:.1%} control/replacement characters as utf-8")
    text = clean_text(text).strip()
    if not text:
        return HtmlResult(reason="empty_text", detail=f"{len(raw)} bytes of WET text")
    if len(text) < opts.min_text_chars:
        return HtmlResult(text=text, reason="too_short",
                          detail=f"{len(text)} chars < min_text_chars {opts.min_text_chars}")
    return HtmlResult(text=text)
