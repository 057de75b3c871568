"""Text clean-up (control characters, invalid code points) and pycld2 language identification."""
from __future__ import annotations

import re
import unicodedata

# C0 controls except \t \n, DEL, C1 controls, lone surrogates, U+FFFE/U+FFFF and BOMs/zero-width no-break
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_NEWLINES = re.compile("\r\n?|[\u2028\u2029\x85]")


def clean_text(text: str) -> str:
    """Normalise newlines to \\n and drop control characters and code points that are not valid text.

    Keeps \\t and \\n (the layout later stages look at); the Unicode replacement character stays,
    so a decoding problem remains visible to the rules stage.
    """
    if not text:
        return ""
    text = _NEWLINES.sub("\n", text)
    return _BAD_CHARS.sub("", text)


def bad_char_ratio(text: str) -> float:
    """Share of characters that are control characters or U+FFFD (a sign of binary or mis-decoded data)."""
    if not text:
        return 0.0
    bad = len(_BAD_CHARS.findall(text)) + text.count("\ufffd")
    return bad / len(text)


def detect_language(text: str) -> tuple[str, float, bool]:
    """pycld2 top language: (code, percent of text in it 0..100, reliable flag); ("un", 0, False) if unknown.

    pycld2 rejects some inputs (invalid UTF-8 after encoding, rare code points); those are retried on
    a printable-only copy and otherwise count as unknown, never as an error.
    """
    import pycld2

    if not text or not text.strip():
        return "un", 0.0, False
    try:
        reliable, _nbytes, details = pycld2.detect(text.encode("utf-8", "ignore"))
    except pycld2.error:
        try:        # the printable-only copy is made only for a text pycld2 refused
            reliable, _nbytes, details = pycld2.detect(_printable(text).encode("utf-8", "ignore"))
        except pycld2.error:
            return "un", 0.0, False
    name, code, pct, _score = details[0]
    if code in ("un", "xxx") or name == "Unknown":
        return "un", 0.0, False
    return code, float(pct), bool(reliable)


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] not in "CZ" or ch == " ")
