"""Finding personal data in text: e-mail addresses, IP addresses, phone numbers, Chinese resident
identity numbers and payment card numbers.

Each kind is a regular expression with bounded repetitions (a 10 MB document scans in linear time:
no pattern can backtrack over more than a few dozen characters) that begins with a character class,
its look-behind placed after the first character, so the engine skips text that cannot start a find
(twice as fast as a leading look-behind); then a validator:
- email: local@domain whose suffix is in the public-suffix list (tldextract's offline snapshot), so
  `icon@2x.png` and `user@localhost` are not addresses, and not followed by a `/` (a URL's path);
- ip: IPv4 and IPv6 (`ipaddress` validates), by default only globally routable ones (private,
  loopback and documentation addresses identify nobody); an IPv4 address inside a longer dotted
  number (`1.2.3.4.5`) or a range (`1-3.1.4.2-3`), glued to a letter (`v1.2.3.4`), after a version word (`version`, `release`,
  `build`, `==`, `AssemblyVersion("`...), under a Markdown heading, or before a pre-release suffix or
  a date (changelogs) is a version number;
- phone: `+` and a country code with 8 to 15 digits in all; North American numbers written with
  separators (`(212) 555-0199`, `212-555-0199`); Chinese mobile numbers `1[3-9]` + 9 digits (optionally
  `+86`, split 3-4-4); Chinese landlines `0xx(x)-xxxxxxx(x)`;
- id_number: 18-character Chinese resident identity numbers: region code, a real birth date, and the
  ISO 7064 MOD 11-2 check character;
- card: 13 to 19 digits (plain or in groups of four, Amex 4-6-5) passing the Luhn check with a
  known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, UnionPay, Diners, Maestro), not inside a
  URL path or parameter (`/posts/2395361813834269`, `id=...`).
Look-arounds use ASCII classes, not \\w: Chinese characters right before or after an address or a
number do not hide it. A card or international phone number run on into a following number is cut
back to the longest valid prefix. Where finds overlap, the earlier kind in KINDS wins (an e-mail address made of a phone number is
one e-mail address). At most `limit` finds per kind are collected per document.
"""
from __future__ import annotations

import bisect
import datetime as dt
import ipaddress
import re
from typing import NamedTuple

KINDS = ("email", "id_number", "card", "ip", "phone")


class Find(NamedTuple):
    start: int
    end: int
    kind: str


# ---- e-mail ---------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24})(?![A-Za-z0-9\-/])")


def _suffix_ok(domain: str) -> bool:
    from corpusmill.udfs.format.urls import _extractor

    parts = _extractor()(domain)
    return bool(parts.suffix) and bool(parts.domain)


def emails(text: str, limit: int) -> list[Find]:
    if "@" not in text:
        return []
    out = []
    for m in _EMAIL.finditer(text):
        if ".." not in m.group(0) and _suffix_ok(m.group(1)):
            out.append(Find(m.start(), m.end(), "email"))
            if len(out) >= limit:
                break
    return out


# ---- IP addresses ---------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"\d(?<![A-Za-z0-9_.\-]\d)\d{{0,2}}(?:\.{_OCTET}){{3}}(?!\.?\d|[A-Za-z0-9_]|-\d)")   # first octet checked by ipaddress
_IPV6 = re.compile(r"(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?![A-Za-z0-9_:])")
_VERSION_BEFORE = re.compile(
    r"(?:version|\b(?:ver|v|release|rel|build|rev|revision|update|patch|firmware|fw|sdk|tag|upgrade|"
    r"bump(?:ed)?|python|java|node|chrome|firefox|windows|android|ios|section|sec|chapter|clause|step)\b|==|>=|<=|"
    r"~=|!=|\^|~|@|\u00a7)[\s'\"(\[:=_]{0,6}$", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*\[?$")
_VERSION_AFTER = re.compile(r"^(?:-[A-Za-z]|\s*[(\[]?\s*\d{4}-\d{2}-\d{2})")


def _looks_like_version(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", max(0, start - 200), start) + 1
    before = text[max(line_start, start - 40):start]
    return bool(_VERSION_BEFORE.search(before) or _HEADING.match(text[line_start:start])
                or _VERSION_AFTER.match(text[end:end + 16]))


def ips(text: str, limit: int, global_only: bool = True) -> list[Find]:
    out: list[Find] = []
    if "." in text:
        for m in _IPV4.finditer(text):
            try:
                addr = ipaddress.IPv4Address(m.group(0))
            except ValueError:
                continue
            if global_only and not addr.is_global:
                continue
            if _looks_like_version(text, m.start(), m.end()):
                continue
            out.append(Find(m.start(), m.end(), "ip"))
            if len(out) >= limit:
                return out
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            s = m.group(0)
            if sum(c != ":" for c in s) < 6:
                continue
            try:
                addr = ipaddress.IPv6Address(s)
            except ValueError:
                continue
            if global_only and not addr.is_global:
                continue
            out.append(Find(m.start(), m.end(), "ip"))
            if len(out) >= limit:
                break
    return out


# ---- phone numbers --------------------------------------------------------------------------------
_PHONE_PATTERNS = (
    # +CC then groups: +44 20 7946 0958, +1 (212) 555-0199, +86 138 0013 8000
    re.compile(r"\+(?<![A-Za-z0-9_+]\+)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){1,5}(?![\d\-])"),
    # North America with separators: (212) 555-0199, 212-555-0199, 212.555.0199, 1-800-555-0199
    re.compile(r"(?:1(?<![A-Za-z0-9_(.\-+]1)[\-. ](?:\([2-9]\d\d\)\s?|[2-9]\d\d[\-.])|\((?<![A-Za-z0-9_(.\-]\()[2-9]\d\d\)\s?"
               r"|[2-9](?<![A-Za-z0-9_(.\-][2-9])\d\d[\-.])[2-9]\d\d[\-.]\d{4}(?![A-Za-z0-9_\-]|\.\d)"),
    # Chinese mobile: 13800138000, 138-0013-8000, 138 0013 8000 (not inside a longer digit run)
    re.compile(r"1(?<![\d\-+.]1)[3-9]\d(?:[ \-]?\d{4}){2}(?![\d\-]|\.\d)"),
    # Chinese landline: 010-12345678, 0755-1234567, (021) 62345678
    re.compile(r"(?:0(?<![\d\-+.]0)\d{2,3}-|\((?<![\d\-+.]\()0\d{2,3}\)\s?)[1-9]\d{6,7}(?![\d\-]|\.\d)"),
)


def _nanp_ok(s: str) -> bool:
    seps = [c for c in s if c in "-."]
    return len(set(seps[-2:])) <= 1       # 212-555.0199 mixes separators: a list of numbers, not a phone


def _trimmed(s: str, ok) -> str | None:
    """The longest prefix of s ending before one of its separators that ok() accepts (s itself first):
    a number followed by another (`+44 20 7946 0958 24 hours`, `4111 1111 1111 1111 2019`)."""
    if ok(s):
        return s
    for i in range(len(s) - 1, 0, -1):
        if s[i] in " -." and s[i - 1].isdigit() and ok(s[:i]):
            return s[:i]
    return None


def _e164_ok(s: str) -> bool:
    return 8 <= sum(c.isdigit() for c in s) <= 15


def phones(text: str, limit: int) -> list[Find]:
    out = []
    for k, rx in enumerate(_PHONE_PATTERNS):
        for m in rx.finditer(text):
            s = m.group(0)
            if k == 0:
                s = _trimmed(s, _e164_ok)
                if s is None:
                    continue
            if k == 1 and not _nanp_ok(s):
                continue
            end = m.start() + len(s)
            while s.count(")") > s.count("("):          # "(... +44 20 7946 0958)": the bracket is the text's
                s, end = s[:-1], end - 1
            out.append(Find(m.start(), end, "phone"))
            if len(out) >= limit:
                return out
    return out


# ---- Chinese resident identity numbers ------------------------------------------------------------
_ID = re.compile(r"[1-8](?<![0-9A-Za-z][1-8])\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def valid_id_number(s: str) -> bool:
    if len(s) != 18 or not s[:17].isdigit():
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return id_check_char(s[:17]) == s[17].upper()


def id_numbers(text: str, limit: int) -> list[Find]:
    out = []
    for m in _ID.finditer(text):
        if valid_id_number(m.group(0)):
            out.append(Find(m.start(), m.end(), "id_number"))
            if len(out) >= limit:
                break
    return out


# ---- payment cards --------------------------------------------------------------------------------
_CARD = re.compile(r"\d(?<![\d\-./=]\d)\d{3}(?:[ \-]?\d{2,7}){1,4}(?![\d\-]|\.\d)")
_ISSUERS = re.compile(r"^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:2[2-9]|[3-6]\d|7[01])\d{13}|2720\d{12}|3[47]\d{13}"
                      r"|6(?:011|5\d\d|4[4-9]\d)\d{12,15}|35(?:2[89]|[3-8]\d)\d{12,15}|62\d{14,17}"
                      r"|3(?:0[0-5]|[68]\d)\d{11,16}|(?:5018|5020|5038|5893|6304|6759|676[1-3])\d{8,15})$")
_GROUPINGS = ((4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 4, 2), (4, 4, 4, 1), (4, 4, 4, 4, 1))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def valid_card(s: str) -> bool:
    groups = re.split(r"[ \-]", s)
    if len(groups) > 1 and (len({c for c in s if not c.isdigit()}) > 1
                            or tuple(len(g) for g in groups) not in _GROUPINGS):
        return False
    digits = "".join(groups)
    return 13 <= len(digits) <= 19 and bool(_ISSUERS.match(digits)) and luhn_ok(digits)


def cards(text: str, limit: int) -> list[Find]:
    out = []
    for m in _CARD.finditer(text):
        s = _trimmed(m.group(0), valid_card)
        if s is not None:
            out.append(Find(m.start(), m.start() + len(s), "card"))
            if len(out) >= limit:
                break
    return out


# ---- everything -----------------------------------------------------------------------------------
def find_all(text: str, kinds: tuple[str, ...] | list[str] = KINDS, limit: int = 10_000,
             ip_global_only: bool = True) -> list[Find]:
    """Every find of the wanted kinds, overlaps resolved by KINDS order, sorted by position."""
    found: list[Find] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        if kind == "email":
            found += emails(text, limit)
        elif kind == "id_number":
            found += id_numbers(text, limit)
        elif kind == "card":
            found += cards(text, limit)
        elif kind == "ip":
            found += ips(text, limit, ip_global_only)
        else:
            found += phones(text, limit)
    if len(found) < 2:
        return found
    rank = {k: i for i, k in enumerate(KINDS)}
    starts: list[int] = []            # the finds kept so far, sorted by start (they never overlap)
    kept: list[Find] = []
    for f in sorted(found, key=lambda f: (rank[f.kind], f.start)):
        i = bisect.bisect_left(starts, f.start)
        if i < len(kept) and kept[i].start < f.end:
            continue
        if i > 0 and kept[i - 1].end > f.start:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept
