"""Precision and recall per kind of the personal-data finders, and their false IP matches in real code.

1. A labelled set built from real text. Hosts: paragraphs of WikiText-2 (English Wikipedia), CMRC 2018
   passages (Chinese Wikipedia) and the extracted text of the 990 trafilatura-eval web pages (mostly
   German and English). Into each host, at sentence or word boundaries, go 1-4 inserts drawn from:
   personal data of every kind in the forms people write it (e-mail addresses at many domains and
   TLDs, global IPv4 and IPv6 addresses, phones in E.164 forms of several countries, North American
   and Chinese national forms, Chinese identity numbers, card numbers of six issuers, grouped or not),
   each inside a phrase of its language ("write to", "电话："), and look-alikes that are not personal
   data (version numbers after a version word or in a changelog line, OIDs, private and loopback
   IPs, dates, times, ISBNs, prices, Luhn-invalid 16-digit numbers, identity numbers with a wrong
   check character or date, 11-digit numbers outside 1[3-9], image names like logo@2x.png). The
   labels are the inserts; what the finders report on a host's own text before the inserts is left
   out of the scoring (part 2 looks at it). Dev split: seed 0, even-numbered hosts; test: seed 1, odd.
2. Real text as it is: every find on the hosts' own text, listed for reading (--list-real).
3. Real code: every IP address found in the Python, C, JavaScript and Markdown files of installed
   packages, this repository and the demo repositories, listed for labelling (--list-code-ips), with
   how many candidates the version rules and the global-only rule set aside.

    .venv/bin/python bench/eval_pii.py --split dev
    .venv/bin/python bench/eval_pii.py --split test
    .venv/bin/python bench/eval_pii.py --code-ips [--list-code-ips]
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import ipaddress
import json
import os
import random
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from corpusmill.udfs.pii import detect
from corpusmill.udfs.pii.detect import KINDS, find_all, id_check_char, luhn_ok

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path.home() / ".cache" / "corpusmill" / "bench"


# ---- hosts ---------------------------------------------------------------------------------------
def hosts() -> list[tuple[str, str]]:
    """(language, text) of every host, in a fixed order."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_rules import extracted_texts

    wiki = [ln.strip() for ln in (DATA / "wikitext-2-valid" / "valid.txt").read_text(encoding="utf-8").splitlines()
            if len(ln.split()) >= 30 and not ln.strip().startswith("=")]
    cmrc = [json.loads(ln)["text"] for ln in (DATA / "cmrc2018-zh-wikipedia" / "contexts.jsonl").read_text(
        encoding="utf-8").splitlines()]
    web = [t for _, t in extracted_texts(CACHE) if t.strip()]
    return [("en", t) for t in wiki] + [("zh", t) for t in cmrc] + [("web", t) for t in web]


# ---- generators ----------------------------------------------------------------------------------
FIRST = ["anna", "li", "wei", "maria", "john", "sofia", "ahmed", "yuki", "pierre", "olga", "kofi", "ines"]
LAST = ["schmidt", "wang", "zhang", "garcia", "smith", "rossi", "kim", "nakamura", "dubois", "ivanova"]
DOMAINS = ["gmail.com", "163.com", "qq.com", "outlook.com", "mail.example-corp.co.uk", "uni-heidelberg.de",
           "cs.stanford.edu", "company.com.cn", "web.de", "yahoo.co.jp", "startup.io", "shop.example.org"]


def email(rng) -> str:
    f, l = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}_{l}{rng.randint(1, 99)}", f"{f}+news", f"{l}{rng.randint(1970, 2005)}",
                        f"{rng.randint(10000, 99999999)}"])
    return f"{local}@{rng.choice(DOMAINS)}"


def ipv4(rng) -> str:
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not str(a).startswith(("0.", "255.")):
            return str(a)


def ipv6(rng) -> str:
    while True:
        a = ipaddress.IPv6Address((0x2001 << 112) | (rng.getrandbits(16) << 96) | rng.getrandbits(64))
        if a.is_global:
            return a.compressed if rng.random() < 0.7 else a.exploded


def phone(rng) -> str:
    d = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))   # noqa: E731
    mobile = f"1{rng.choice('3456789')}{d(9)}"
    forms = [f"+44 20 {d(4)} {d(4)}", f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}", f"+49 30 {d(8)}", f"+81 3-{d(4)}-{d(4)}",
             f"+1 415 {rng.randint(200, 999)} {d(4)}", f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"+61 2 {d(4)} {d(4)}",
             f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{d(4)}", f"{rng.randint(200, 989)}-{rng.randint(200, 999)}-{d(4)}",
             mobile, f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
             f"0{rng.choice(['10', '21', '755', '571'])}-{rng.randint(2, 8)}{d(7)}"]
    return rng.choice(forms)


REGIONS = ["110101", "110105", "310104", "440305", "510107", "330106", "420102", "610113", "210102", "350203"]


def id_number(rng) -> str:
    day = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))
    first17 = f"{rng.choice(REGIONS)}{day:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


ISSUERS = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("62", 16),
           ("62", 19), ("3530", 16)]


def card(rng) -> str:
    prefix, n = rng.choice(ISSUERS)
    while True:
        digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(n - len(prefix)))
        if luhn_ok(digits):
            break
    if n == 16 and rng.random() < 0.6:
        sep = rng.choice(" -")
        return sep.join(digits[i:i + 4] for i in range(0, 16, 4))
    if n == 15 and rng.random() < 0.5:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    return digits


GENERATORS = {"email": email, "ip": lambda rng: ipv4(rng) if rng.random() < 0.7 else ipv6(rng), "phone": phone,
              "id_number": id_number, "card": card}
PHRASES = {          # Chinese phrases end in punctuation, as Chinese text would: the next host character may be a digit
    "email": {"en": ["write to {}", "Email: {}", "contact ({})", "<{}>"], "zh": ["邮箱：{}。", "请发邮件至{}，", "联系邮箱 {}；"]},
    "ip": {"en": ["from IP {}", "server at {}", "client {} was blocked"], "zh": ["IP地址为{}。", "服务器 {} 已上线"]},
    "phone": {"en": ["call {}", "Tel: {}", "phone {}", "mobile: {}"], "zh": ["电话：{}。", "手机{}，", "联系电话 {}；"]},
    "id_number": {"en": ["ID card {}", "resident ID {}"], "zh": ["身份证号{}。", "身份证：{}，"]},
    "card": {"en": ["card number {}", "paid with {}", "Visa {}"], "zh": ["银行卡号{}。", "信用卡 {}，"]},
}


def look_alike(rng) -> str:
    d = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))   # noqa: E731
    v = f"{rng.randint(1, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}.{rng.randint(1, 200)}"
    bad_card = "4" + d(15)
    while luhn_ok(bad_card):
        bad_card = "4" + d(15)
    first17 = f"{rng.choice(REGIONS)}19{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{d(3)}"
    wrong = next(c for c in "0123456789X" if c != id_check_char(first17))
    return rng.choice([
        f"version {v}", f"v{v}", f"Release {v} ({rng.randint(2015, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)})",
        f"numpy=={v}", f"Firmware {v}", f"AssemblyVersion(\"{v}\")", f"\n## {v}\n", f"{v}-beta",
        f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}", f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "127.0.0.1", "::1", f"fe80::{rng.randint(1, 9999)}", f"1.3.6.1.4.1.{rng.randint(100, 60000)}",
        f"{rng.randint(2000, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        f"ISBN 978-{rng.randint(0, 9)}-{d(2)}-{d(6)}-{rng.randint(0, 9)}", f"${rng.randint(1, 999)},{d(3)}.{d(2)}",
        bad_card, f"{bad_card[:4]} {bad_card[4:8]} {bad_card[8:12]} {bad_card[12:]}", first17 + wrong,
        f"{rng.choice(REGIONS)}19{rng.randint(50, 99)}0230{d(3)}X", f"12{d(9)}", f"logo@2x.png", "user@localhost",
    ])


# ---- the labelled set ----------------------------------------------------------------------------
def _cut_points(text: str, lang: str) -> list[int]:
    """Sentence ends (and, outside Chinese, word boundaries): where an insert may go."""
    cuts = [i + 1 for i, ch in enumerate(text) if ch in "。！？；.!?;"]
    if lang != "zh":
        cuts += [i + 1 for i, ch in enumerate(text[:3000]) if ch == " "]
    return sorted(set(cuts)) or [len(text)]


def build(seed: int, split: int, all_hosts) -> list[tuple[str, list[tuple[int, int, str]], list[tuple[int, int]]]]:
    """(text, inserted personal data (start, end, kind), spans the finders report on the host's own text)."""
    rng = random.Random(seed)
    out = []
    for i, (lang, host) in enumerate(all_hosts):
        if i % 2 != split:
            continue
        host = host[:4000]
        plang = "zh" if lang == "zh" else "en"
        inserts = []                            # (host position, phrase, (offset in phrase, length, kind) or None)
        for pos in sorted(rng.sample(_cut_points(host, lang), k=min(rng.randint(1, 4), len(_cut_points(host, lang))))):
            if rng.random() < 0.65:
                kind = rng.choice(KINDS)
                value = GENERATORS[kind](rng)
                phrase = rng.choice(PHRASES[kind][plang]).format(value)
                inserts.append((pos, phrase, (phrase.index(value), len(value), kind)))
            else:
                inserts.append((pos, look_alike(rng), None))
        parts, labels, shift, prev, moves = [], [], 0, 0, []
        for pos, phrase, lab in inserts:
            parts.append(host[prev:pos])
            left = "" if lang == "zh" or pos == 0 or host[pos - 1] == " " else " "
            right = "" if lang == "zh" else " "
            at = pos + shift + len(left)
            if lab:
                labels.append((at + lab[0], at + lab[0] + lab[1], lab[2]))
            parts.append(left + phrase + right)
            shift += len(left + phrase + right)
            moves.append((pos, shift))
            prev = pos
        parts.append(host[prev:])
        text = "".join(parts)

        def moved(x: int) -> int:
            return x + max((sh for p, sh in moves if p <= x), default=0)

        own = [(moved(f.start), moved(f.end)) for f in find_all(host)]
        out.append((text, labels, own))
    return out


def score(docs) -> dict[str, dict]:
    """Per kind: tp (an insert found with its kind, spans overlapping), fn, fp (finds of the kind over no insert
    of the kind and not over the host's own finds)."""
    tp, fn, fp = Counter(), Counter(), Counter()
    misses, false = defaultdict(list), defaultdict(list)
    for text, labels, own in docs:
        finds = find_all(text)
        for s, e, k in labels:
            if any(f.kind == k and f.start < e and s < f.end for f in finds):
                tp[k] += 1
            else:
                fn[k] += 1
                misses[k].append(text[max(0, s - 20):e + 10])
        for f in finds:
            if any(k == f.kind and f.start < e and s < f.end for s, e, k in labels):
                continue
            if any(f.start < e and s < f.end for s, e in own):
                continue
            fp[f.kind] += 1
            false[f.kind].append(text[max(0, f.start - 25):f.end + 10])
    res = {}
    for k in KINDS:
        p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 1.0
        r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else 1.0
        res[k] = dict(inserted=tp[k] + fn[k], tp=tp[k], fp=fp[k], fn=fn[k], precision=p, recall=r,
                      misses=misses[k][:5], false=false[k][:5])
    return res


# ---- real code -----------------------------------------------------------------------------------
CODE_EXT = (".py", ".pyi", ".c", ".h", ".cc", ".cpp", ".js", ".ts", ".md", ".rst", ".txt", ".go", ".rs", ".java")


def code_files() -> list[Path]:
    """Source and docs of installed packages, this repository and the demo repositories."""
    roots = [ROOT / d for d in ("jobs", "udfs", "schemas", "samplegen", "bench", "tests", "docs")]
    for name in ("numpy", "pandas", "pyspark", "pyarrow", "trafilatura", "yaml", "jieba", "tldextract", "urllib3",
                 "requests", "setuptools", "pip", "sklearn", "torch", "transformers", "tokenizers", "lxml", "matplotlib"):
        try:
            roots.append(Path(importlib.import_module(name).__file__).parent)
        except Exception:  # noqa: BLE001 - a package not installed here
            continue
    from corpusmill.samplegen.code_repos import generate_repos

    roots.append(generate_repos(tempfile.mkdtemp()))
    files = []
    for r in roots:
        files += [p for p in r.rglob("*") if p.is_file() and p.suffix in CODE_EXT and p.stat().st_size < 2_000_000]
    return sorted(set(files))


def code_ips(list_all: bool) -> dict:
    files = code_files()
    nbytes, found, by_rule = 0, [], Counter()
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        nbytes += len(text)
        for m in detect._IPV4.finditer(text):
            try:
                addr = ipaddress.IPv4Address(m.group(0))
            except ValueError:
                by_rule["invalid octet"] += 1
                continue
            if not addr.is_global:
                by_rule["not global (private, loopback, reserved)"] += 1
            elif detect._looks_like_version(text, m.start(), m.end()):
                by_rule["version context"] += 1
        for f in detect.ips(text, 10_000):
            found.append((str(p), text[f.start:f.end], text[max(0, f.start - 40):f.end + 20].replace("\n", " ")))
    if list_all:
        for path, ip, ctx in found:
            print(f"{ip}\t{path}\t{ctx}")
    return dict(files=len(files), megabytes=round(nbytes / 1e6, 1), ip_finds=len(found),
                distinct=len({ip for _, ip, _ in found}), set_aside=dict(by_rule))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--list-real", action="store_true", help="print every find on the hosts' own text")
    ap.add_argument("--code-ips", action="store_true", help="IP finds in real code instead of the labelled set")
    ap.add_argument("--list-code-ips", action="store_true")
    args = ap.parse_args()
    if args.code_ips or args.list_code_ips:
        print(json.dumps(code_ips(args.list_code_ips), indent=1))
        return 0
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    all_hosts = hosts()
    if args.list_real:
        for lang, t in all_hosts:
            for f in find_all(t):
                print(f"{lang}\t{f.kind}\t{t[max(0, f.start - 30):f.end + 15]!r}")
        return 0
    seed, split = (0, 0) if args.split == "dev" else (1, 1)
    docs = build(seed, split, all_hosts)
    res = score(docs)
    print(f"{args.split} split: {len(docs)} documents, {sum(len(l) for _, l, _ in docs)} inserted finds")
    print("| kind | inserted | found | false finds | missed | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    for k, r in res.items():
        print(f"| {k} | {r['inserted']} | {r['tp']} | {r['fp']} | {r['fn']} | {r['precision']:.4f} | {r['recall']:.4f} |")
    for k, r in res.items():
        for m in r["misses"]:
            print(f"missed {k}: {m!r}")
        for m in r["false"]:
            print(f"false {k}: {m!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
