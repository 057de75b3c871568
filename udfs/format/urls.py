"""URL parts (host, registered domain) and deterministic document ids.

The registered domain uses tldextract's bundled public-suffix snapshot only: workers never fetch
the list from the network (clusters often have no egress) and never write a cache file.
"""
from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit

_EXTRACTOR = None


def _extractor():
    """One TLDExtract per Python worker, built from the offline snapshot."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        import tldextract

        _EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    return _EXTRACTOR


def host_of(url: str | None) -> str | None:
    """Lower-cased host of url without port, user info or trailing dot; None when there is none."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    return host or None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def registered_domain(host: str | None) -> str | None:
    """Public-suffix-aware registered domain ("news.bbc.co.uk" -> "bbc.co.uk").

    IP addresses and hosts without a known suffix (localhost, intranet names) are their own domain.
    """
    if not host:
        return None
    if _is_ip(host):
        return host
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def doc_id(source_type: str, dump: str, url: str | None, record_id: str) -> str:
    """sha1 of (source type, dump, url, record id), 32 hex chars: stable across re-runs and machines."""
    key = "\x1f".join([source_type or "", dump or "", url or "", record_id or ""])
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
