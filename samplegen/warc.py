"""Byte-deterministic WARC writing in Common Crawl's shape (warcinfo, request, response, metadata).

Each record is its own gzip member with mtime 0, record ids come from the caller's seeded RNG and
dates are given, so the same seed produces identical files. Digests are sha1/base32 like CC.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import random
import uuid
from datetime import datetime, timezone


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def record_id(rng: random.Random) -> str:
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def warc_date(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


class WarcWriter:
    """Append records to one .warc.gz; ``offsets`` maps record id -> byte offset of its gzip member."""

    def __init__(self, path: str, rng: random.Random):
        self.path = path
        self.rng = rng
        self.fh = open(path, "wb")
        self.warcinfo_id = ""
        self.offsets: dict[str, int] = {}

    def _write(self, headers: list[tuple[str, str]], block: bytes) -> str:
        rid = dict(headers)["WARC-Record-ID"]
        head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(block)}\r\n\r\n"
        self.offsets[rid] = self.fh.tell()
        self.fh.write(gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", compresslevel=6, mtime=0))
        return rid

    def warcinfo(self, ts: datetime, filename: str, fields: list[tuple[str, str]]) -> str:
        block = "".join(f"{k}: {v}\r\n" for k, v in fields).encode("utf-8")
        self.warcinfo_id = record_id(self.rng)
        return self._write([("WARC-Type", "warcinfo"), ("WARC-Date", warc_date(ts)),
                            ("WARC-Filename", filename), ("WARC-Record-ID", self.warcinfo_id),
                            ("Content-Type", "application/warc-fields")], block)

    def capture(self, ts: datetime, url: str, host: str, ip: str, status: str, headers: list[tuple[str, str]],
                payload: bytes, payload_type: str, fetch_ms: int) -> dict:
        """request + response + metadata for one URL; returns ids and the response offset."""
        path = url.split(host, 1)[1] or "/"
        req = (f"GET {path} HTTP/1.1\r\nUser-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\n"
               f"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
               f"Accept-Language: en-US,en;q=0.5,zh-CN;q=0.3\r\nAccept-Encoding: br,gzip\r\n"
               f"Host: {host}\r\nConnection: Keep-Alive\r\n\r\n").encode("ascii")
        req_id, resp_id, meta_id = record_id(self.rng), record_id(self.rng), record_id(self.rng)
        common = [("WARC-Date", warc_date(ts))]
        self._write([("WARC-Type", "request"), *common, ("WARC-Record-ID", req_id),
                     ("Content-Type", "application/http; msgtype=request"),
                     ("WARC-Warcinfo-ID", self.warcinfo_id), ("WARC-IP-Address", ip),
                     ("WARC-Target-URI", url), ("WARC-Block-Digest", _digest(req))], req)
        http_head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        block = http_head.encode("latin-1") + payload
        self._write([("WARC-Type", "response"), *common, ("WARC-Record-ID", resp_id),
                     ("Content-Type", "application/http; msgtype=response"),
                     ("WARC-Warcinfo-ID", self.warcinfo_id), ("WARC-Concurrent-To", req_id),
                     ("WARC-IP-Address", ip), ("WARC-Target-URI", url),
                     ("WARC-Payload-Digest", _digest(payload)), ("WARC-Block-Digest", _digest(block)),
                     ("WARC-Identified-Payload-Type", payload_type)], block)
        meta = f"fetchTimeMs: {fetch_ms}\r\n".encode("ascii")
        self._write([("WARC-Type", "metadata"), *common, ("WARC-Record-ID", meta_id),
                     ("Content-Type", "application/warc-fields"), ("WARC-Warcinfo-ID", self.warcinfo_id),
                     ("WARC-Concurrent-To", resp_id), ("WARC-Target-URI", url),
                     ("WARC-Block-Digest", _digest(meta))], meta)
        return {"record_id": resp_id, "offset": self.offsets[resp_id]}

    def close(self) -> None:
        self.fh.close()
