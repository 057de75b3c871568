"""Deterministic sample data for the demo and the tests: a two-dump Common Crawl-like WARC crawl,
book/paper/patent JSONL sources, labelled classifier examples and clean reference text.

Every page is made on purpose for one category (good, near/exact duplicate, spam, low quality, toxic,
porn, advertisement, disfluent, blocked domain, blocked words, long coherent/incoherent, non-HTML,
redirect) and recorded in ``manifest.json`` so later stages can be checked against ground truth.
Same seed -> byte-identical files (dates and record ids come from the seed, gzip mtime is 0).

    python -m samplegen OUT_DIR [--seed N] [--pages-per-dump N]
"""
from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import html as _html
import io
import json
import os
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeadersParser
from warcio.timeutils import datetime_to_http_date, datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from corpusmill.samplegen import benchmarks as B
from corpusmill.samplegen import en, zh
from corpusmill.samplegen import html as H
from corpusmill.samplegen import kinds as K
from corpusmill.samplegen.grammar import rng_for

DUMPS = ("CC-MAIN-2024-10", "CC-MAIN-2024-18")
DUMP_INFO = {  # crawl window start, files per dump, description (as in CC's warcinfo)
    "CC-MAIN-2024-10": (datetime(2024, 2, 20, 17, 0, tzinfo=timezone.utc), 3, "Wide crawl of the web for February/March 2024"),
    "CC-MAIN-2024-18": (datetime(2024, 4, 12, 9, 0, tzinfo=timezone.utc), 2, "Wide crawl of the web for April 2024"),
}
# share of pages_per_dump per category; "good" takes the rest (plus fixed long/other-language pages)
SHARES = (("near_duplicate", 0.08), ("exact_duplicate", 0.03), ("spam", 0.05), ("low_quality", 0.09),
          ("toxic", 0.05), ("porn", 0.04), ("advertisement", 0.05), ("disfluent", 0.05),
          ("blocked_domain", 0.04), ("blocked_words_low", 0.02), ("blocked_words_high", 0.02), ("non_html", 0.03))
FIXED = (("long_coherent", "en"), ("long_coherent", "zh"), ("long_incoherent", "en"), ("long_incoherent", "zh"),
         ("redirect", "en"))
# per dump: pages quoting the demo benchmark (samplegen/benchmarks.py) and pages holding personal data
QUOTES = {"CC-MAIN-2024-10": (("qa", 0, "en"), ("qa", 4, "zh")), "CC-MAIN-2024-18": (("qa", 1, "en"), ("code", 2, "en"))}
PERSONAL = (("pii", "en"), ("pii", "zh"), ("pii_heavy", "en"))
# the stage each category was made to exercise (None: should survive the pipeline)
INTENDED = {"good": None, "near_duplicate": "dedup", "exact_duplicate": "dedup", "spam": "rules",
            "low_quality": "rules", "toxic": "safety", "porn": "safety", "advertisement": "quality",
            "disfluent": "quality", "blocked_domain": "safety", "blocked_words_low": None,
            "blocked_words_high": "safety", "long_coherent": None, "long_incoherent": "longctx",
            "non_html": "format", "redirect": "format", "benchmark_quote": "decontam", "pii": None,
            "pii_heavy": "pii"}

DEMO_BLOCKED_DOMAINS: dict[str, list[str]] = {k: list(v) for k, v in K.BLOCKED_DOMAINS.items()}
DEMO_BLOCKED_WORDS: dict[str, list[str]] = {k: list(v) for k, v in K.BLOCKED_WORDS.items()}

_EN_HOST_A = ("riverside", "greenfield", "northwind", "harbour", "oakwood", "citylight", "meadow", "lantern",
              "copper", "bluestone", "hillside", "tidewater", "maple", "fernleaf", "westgate", "brightwater")
_EN_HOST_B = ("gazette", "journal", "notes", "chronicle", "review", "times", "weekly", "post", "diary",
              "field", "herald", "almanac")
_EN_TLD = (".com", ".org", ".net", ".co.uk", ".com.au", ".blog", ".ie", ".ca")
_ZH_HOST_A = ("xinwen", "shenghuo", "tianxia", "huanqiu", "jiangnan", "zhixing", "lvyou", "meishi", "keji",
              "wenhua", "chayuan", "xiangcun", "dushi", "qingnian")
_ZH_HOST_B = ("wang", "ribao", "zixun", "luntan", "shequ", "zhoukan", "biji", "shijie")
_ZH_TLD = (".cn", ".com.cn", ".com", ".net.cn", ".org.cn")


@dataclass
class Page:
    url: str
    host: str
    dump: str
    category: str
    language: str
    title: str = ""
    text: str = ""                  # the main text the page was built around (ground truth for extraction)
    payload: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: str = "200 OK"
    subtype: str | None = None
    topic: str | None = None
    encoding: str = "utf-8"
    dup_group: str | None = None
    dup_role: str | None = None
    dup_of: str | None = None
    blocked_domain_category: str | None = None
    extra_headers: list = field(default_factory=list)
    art: dict | None = field(default=None, repr=False)  # the article dict, reused for near-duplicates


def _sites(seed: int) -> dict[str, list[tuple[str, str]]]:
    rng = rng_for("sites", seed)
    out: dict[str, list[tuple[str, str]]] = {"en": [], "zh": []}
    seen = set()
    while len(out["en"]) < 36:
        a, b = rng.choice(_EN_HOST_A), rng.choice(_EN_HOST_B)
        host = f"{rng.choice(('www.', 'www.', 'blog.', 'news.', ''))}{a}-{b}{rng.choice(_EN_TLD)}"
        if host not in seen:
            seen.add(host)
            out["en"].append((host, f"The {a.capitalize()} {b.capitalize()}"))
    while len(out["zh"]) < 28:
        a, b = rng.choice(_ZH_HOST_A), rng.choice(_ZH_HOST_B)
        host = f"{rng.choice(('www.', 'www.', 'bbs.', 'news.'))}{a}{b}{rng.choice(_ZH_TLD)}"
        if host not in seen:
            seen.add(host)
            out["zh"].append((host, f"{a}{b}"))
    return out


def _slug(title: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return s[:60] or "page"


def _joined(paragraphs: list[str], headings: dict, title: str) -> str:
    lines = [title]
    for i, p in enumerate(paragraphs):
        if i in headings:
            lines.append(headings[i])
        lines.append(p)
    return "\n".join(lines)


class _Planner:
    """Builds the pages of both dumps; all randomness comes from named streams of the seed."""

    def __init__(self, seed: int, pages_per_dump: int):
        self.seed = seed
        self.n = pages_per_dump
        self.sites = _sites(seed)
        self.urls: set[str] = set()
        self.pages: list[Page] = []
        self.good: dict[str, list[Page]] = {d: [] for d in DUMPS}
        self.groups = 0

    # ---------------------------------------------------------------- helpers
    def rng(self, *parts):
        return rng_for("crawl", self.seed, *parts)

    def url_for(self, rng, host: str, lang: str, title: str) -> str:
        for _ in range(100):
            if lang == "zh":
                path = rng.choice((f"/news/2024{rng.randint(1, 4):02d}{rng.randint(1, 28):02d}/{rng.randint(100000, 999999)}.html",
                                   f"/a/{rng.randint(1000000, 9999999)}.shtml", f"/thread-{rng.randint(10000, 99999)}-1-1.html"))
            else:
                path = rng.choice((f"/2024/{rng.randint(1, 4):02d}/{_slug(title)}/",
                                   f"/articles/{_slug(title)}-{rng.randint(1000, 99999)}.html",
                                   f"/blog/{_slug(title)}", f"/p/{rng.randint(10000, 999999)}"))
            url = f"{rng.choice(('https', 'https', 'http'))}://{host}{path}"
            if url not in self.urls:
                self.urls.add(url)
                return url
        raise RuntimeError("could not make a unique url")

    def site(self, rng, lang: str) -> tuple[str, str]:
        return rng.choice(self.sites["zh" if lang == "zh" else "en"])

    def headlines(self, rng, lang: str) -> list[str]:
        w = en.Writer(rng, rng.choice(en.TOPIC_NAMES)) if lang != "zh" else zh.Writer(rng, rng.choice(zh.TOPIC_NAMES))
        return [w.title() for _ in range(9)]

    def render(self, rng, page: Page, main_html: str, *, site_name: str, skin=None, n_ads=1, cookie=True,
               head_extra="", body_extra="") -> None:
        lang = page.language if page.language in ("en", "zh") else "other"
        charset = "gbk" if page.encoding == "gb18030" else "utf-8"
        doc = H.page(rng, lang=lang, site_name=site_name, title=page.title, main_html=main_html,
                     headlines=self.headlines(rng, lang), skin=skin, n_ads=n_ads, cookie=cookie,
                     head_extra=head_extra, body_extra=body_extra, charset=charset,
                     html_lang=None if lang != "other" else page.language)
        page.payload = doc.encode(page.encoding, errors="replace")
        page.content_type = f"text/html; charset={charset}" if rng.random() < 0.9 else "text/html"

    def article_page(self, rng, dump: str, category: str, lang: str, art: dict, *, host=None, site_name=None,
                     skin=None, n_ads=1, encoding="utf-8") -> Page:
        if host is None:
            host, site_name = self.site(rng, lang)
        page = Page(url=self.url_for(rng, host, lang, art["title"]), host=host, dump=dump, category=category,
                    language=lang, title=art["title"], topic=art.get("topic"), encoding=encoding)
        page.text = _joined(art["paragraphs"], art["headings"], art["title"])
        w = en.Writer(rng, en.TOPIC_NAMES[0])
        byline = (f"By {w.new_person()}" if lang != "zh" else f"作者：{zh.Writer(rng, zh.TOPIC_NAMES[0]).new_person()}")
        date = f"2024-{rng.randint(1, 4):02d}-{rng.randint(1, 28):02d}"
        main = H.article_html(art["title"], art["paragraphs"], art["headings"], byline=byline, date=date, lang=lang)
        page.art = art
        self.render(rng, page, main, site_name=site_name or host, skin=skin, n_ads=n_ads)
        return page

    @staticmethod
    def lang_of(i: int) -> str:
        return "zh" if i % 5 in (1, 3) else "en"  # 60 % English, 40 % Chinese

    # ---------------------------------------------------------------- categories
    def make_good(self, dump: str, count: int) -> None:
        for i in range(count):
            rng = self.rng(dump, "good", i)
            lang = self.lang_of(i)
            art = en.article(rng) if lang == "en" else zh.article(rng)
            encoding = "gb18030" if lang == "zh" and i % 9 == 3 else "utf-8"  # a few legacy GBK pages
            p = self.article_page(rng, dump, "good", lang, art, encoding=encoding)
            self.pages.append(p)
            self.good[dump].append(p)
        idx = DUMPS.index(dump)  # each dump gets the other half of the hand-written fr/de sentences
        for lang in ("fr", "de"):
            rng = self.rng(dump, "good", lang)
            art = K.other_language_article(lang, idx)
            host = f"www.{'journal-local' if lang == 'fr' else 'dorfzeitung'}-{idx + 1}.{'fr' if lang == 'fr' else 'de'}"
            self.pages.append(self.article_page(rng, dump, "good", lang, art, host=host, site_name=host))

    def make_duplicates(self, dump: str, near: int, exact: int) -> None:
        sources = self.good[dump][:]
        if dump != DUMPS[0]:  # half the copies in the newer dump come from the older dump
            sources = [p for pair in zip(self.good[DUMPS[0]], self.good[dump]) for p in pair]
        sources = [p for p in sources if p.language in ("en", "zh")]
        for kind, count in (("near_duplicate", near), ("exact_duplicate", exact)):
            for i in range(count):
                rng = self.rng(dump, kind, i)
                src = sources[(i * 7 + (3 if kind == "exact_duplicate" else 0)) % len(sources)]
                if src.dup_group is None:
                    self.groups += 1
                    src.dup_group, src.dup_role = f"dup{self.groups:03d}", "original"
                art = dict(src.art)
                if kind == "near_duplicate":
                    art["paragraphs"] = K.near_duplicate(rng, art["paragraphs"], src.language,
                                                         n_edits=rng.randint(2, 5))
                host, name = self.site(rng, src.language)
                if kind == "exact_duplicate" and i % 2 == 0:  # byte-identical mirror of the page
                    page = Page(url=self.url_for(rng, host, src.language, src.title), host=host, dump=dump,
                                category=kind, language=src.language, title=src.title, text=src.text,
                                payload=src.payload, content_type=src.content_type, topic=src.topic,
                                encoding=src.encoding, subtype="mirror")
                else:
                    page = self.article_page(rng, dump, kind, src.language, art, host=host, site_name=name,
                                             skin=rng.choice(H.SKINS), n_ads=rng.randint(0, 3))
                    page.subtype = "edited" if kind == "near_duplicate" else "reformatted"
                page.dup_group, page.dup_role, page.dup_of = src.dup_group, kind.replace("_duplicate", "_copy"), src.url
                self.pages.append(page)

    def simple_page(self, rng, dump, category, lang, title, paragraphs, *, host=None, site_name=None,
                    skin=None, n_ads=1, main_html=None, subtype=None, head_extra="") -> Page:
        if host is None:
            host, site_name = self.site(rng, lang)
        page = Page(url=self.url_for(rng, host, lang, title), host=host, dump=dump, category=category,
                    language=lang, title=title, subtype=subtype)
        main = main_html if main_html is not None else H.article_html(title, paragraphs, {}, lang=lang)
        page.text = H.text_of(main)
        self.render(rng, page, main, site_name=site_name or host, skin=skin, n_ads=n_ads, head_extra=head_extra)
        self.pages.append(page)
        return page

    def make_bad(self, dump: str, counts: dict[str, int]) -> None:
        E = _html.escape
        for i in range(counts["spam"]):
            rng, lang = self.rng(dump, "spam", i), self.lang_of(i)
            title, paras = K.spam_paragraphs(rng, lang)
            kw = E(", ".join(title.replace("_", "|").split("|")))
            self.simple_page(rng, dump, "spam", lang, title, paras, n_ads=2,
                             head_extra=f'<meta name="keywords" content="{kw}">')
        for i in range(counts["low_quality"]):
            rng, lang = self.rng(dump, "low_quality", i), self.lang_of(i)
            kind = K.LOW_QUALITY_KINDS[(i + (0 if dump == DUMPS[0] else 3)) % len(K.LOW_QUALITY_KINDS)]
            if kind == "lorem_ipsum":
                lang = "en"
            title, main = K.low_quality_body(rng, kind, lang)
            self.simple_page(rng, dump, "low_quality", lang, title, [], main_html=main, subtype=kind)
        for i in range(counts["toxic"]):
            rng, lang = self.rng(dump, "toxic", i), self.lang_of(i)
            topic = rng.choice(en.TOPIC_NAMES if lang == "en" else zh.TOPIC_NAMES)
            w = en.Writer(rng, topic) if lang == "en" else zh.Writer(rng, topic)
            title = w.title()
            opener = " ".join(w.sentence("intro") for _ in range(2)) if lang == "en" else "".join(
                w.sentence("intro") for _ in range(2))
            posts = K.comments(rng, lang, toxic_share=0.75, n=rng.randint(7, 12), topic=topic)
            users = [f"user{rng.randint(100, 9999)}" for _ in posts]
            main = (f"<h1>{E(title)}</h1><div class=\"thread-start\"><p>{E(opener)}</p></div>" +
                    "".join(f'<div class="message"><span class="username">{u}</span><p>{E(t)}</p></div>'
                            for u, t in zip(users, posts)))
            p = self.simple_page(rng, dump, "toxic", lang, title, [], main_html=main, skin="blog")
            p.topic = topic
        for i in range(counts["porn"]):
            rng, lang = self.rng(dump, "porn", i), self.lang_of(i)
            tmpl = K.PORN_EN if lang == "en" else K.PORN_ZH
            paras = [K.paragraph_of(rng, lang, tmpl, rng.randint(2, 4)) for _ in range(rng.randint(3, 5))]
            host = (f"www.{rng.choice(('sexy', 'hot', 'naughty'))}-{rng.choice(('tube', 'cams', 'clips'))}"
                    f"{rng.randint(10, 99)}.com" if lang == "en" else f"www.fuli{rng.randint(10, 99)}.tv")
            title = ("Free XXX Videos - Hot Adult Cams" if lang == "en" else "福利视频_成人直播_在线观看")
            self.simple_page(rng, dump, "porn", lang, title, paras, host=host, site_name=host, n_ads=3)
        for i in range(counts["advertisement"]):
            rng, lang = self.rng(dump, "advertisement", i), self.lang_of(i)
            promo, prose = (K.AD_EN, K.AD_PROSE_EN) if lang == "en" else (K.AD_ZH, K.AD_PROSE_ZH)
            paras = [K.paragraph_of(rng, lang, prose if (k + i) % 3 else promo, rng.randint(2, 4))
                     for k in range(rng.randint(3, 6))]
            title = (rng.choice(K.PRODUCTS_EN).title() + " - Huge Sale Today" if lang == "en"
                     else rng.choice(K.PRODUCTS_ZH) + "限时特惠_官方旗舰店")
            self.simple_page(rng, dump, "advertisement", lang, title, paras, skin="portal", n_ads=4)
        for i in range(counts["disfluent"]):
            rng, lang = self.rng(dump, "disfluent", i), self.lang_of(i)
            art = en.article(rng) if lang == "en" else zh.article(rng)
            art["paragraphs"] = [K.garble(rng, p, lang) for p in art["paragraphs"]]
            p = self.article_page(rng, dump, "disfluent", lang, art)
            self.pages.append(p)
        for i in range(counts["blocked_domain"]):
            rng = self.rng(dump, "blocked_domain", i)
            pairs = [(c, d) for c, ds in sorted(DEMO_BLOCKED_DOMAINS.items()) for d in ds]
            cat, domain = pairs[(i * 3 + (1 if dump != DUMPS[0] else 0)) % len(pairs)]
            lang = "zh" if domain.endswith(".cn") or domain.endswith(".cc") else "en"
            if i % 5 == 4:  # an innocent-looking article on a blocked domain: only the domain gives it away
                art = en.article(rng) if lang == "en" else zh.article(rng)
                p = self.article_page(rng, dump, "blocked_domain", lang, art, host="blog." + domain, site_name=domain)
                p.subtype = "innocent_text"
                self.pages.append(p)
            else:
                tmpl = {"gambling": K.GAMBLING_EN if lang == "en" else K.GAMBLING_ZH,
                        "adult": K.PORN_EN if lang == "en" else K.PORN_ZH, "phishing": K.PHISHING_EN}[cat]
                paras = [K.paragraph_of(rng, lang, tmpl, rng.randint(2, 3)) for _ in range(rng.randint(3, 5))]
                title = {"gambling": "Casino Bonus & Online Slots" if lang == "en" else "博彩娱乐城_注册送彩金",
                         "adult": "Adult Cams" if lang == "en" else "美女直播",
                         "phishing": "Account verification required"}[cat]
                p = self.simple_page(rng, dump, "blocked_domain", lang, title, paras,
                                     host=rng.choice(("www.", "")) + domain, site_name=domain, subtype=cat)
            p.blocked_domain_category = cat
        for i in range(counts["blocked_words_low"]):
            rng, lang = self.rng(dump, "blocked_words_low", i), self.lang_of(i)
            art = en.article(rng) if lang == "en" else zh.article(rng)
            word = rng.choice(DEMO_BLOCKED_WORDS[lang])
            mention = (f"Several readers complained that adverts mentioning \u201c{word}\u201d kept appearing "
                       f"next to the club's posts, so the moderators reported them." if lang == "en"
                       else f"有读者反映，论坛帖子旁边总是出现与\u201c{word}\u201d有关的广告，管理员已经进行了举报。")
            j = len(art["paragraphs"]) // 2
            sep = " " if lang == "en" else ""
            art["paragraphs"][j] = art["paragraphs"][j] + sep + mention
            p = self.article_page(rng, dump, "blocked_words_low", lang, art)
            p.subtype = "one_mention"
            self.pages.append(p)
        for i in range(counts["blocked_words_high"]):
            rng, lang = self.rng(dump, "blocked_words_high", i), self.lang_of(i)
            words = DEMO_BLOCKED_WORDS[lang]
            paras = []
            for _ in range(rng.randint(4, 6)):
                a, b, c = rng.sample(words, 3)
                paras.append(f"Best {a} and {b} here, {c} every day. Free {a} for members, {b} and {c} tonight."
                             if lang == "en" else f"最新{a}和{b}资源，{c}天天更新。会员免费看{a}，{b}、{c}就在这里。")
            title = "Hot deals: " + ", ".join(words[:3]) if lang == "en" else "、".join(words[:3]) + "在线"
            self.simple_page(rng, dump, "blocked_words_high", lang, title, paras, n_ads=2, subtype="stuffed")

    def make_fixed(self, dump: str) -> None:
        for j, (category, lang) in enumerate(FIXED):
            rng = self.rng(dump, category, lang, j)
            if category == "redirect":
                host, _ = self.site(rng, lang)
                page = Page(url=self.url_for(rng, host, lang, "moved"), host=host, dump=dump, category="redirect",
                            language=lang, status="301 Moved Permanently", subtype="301")
                target = self.url_for(rng, host, lang, "new-location")
                self.urls.discard(target)
                page.payload = b"<html><head><title>301 Moved Permanently</title></head><body><h1>Moved Permanently</h1></body></html>\n"
                page.extra_headers = [("Location", target)]
                page.title = "301 Moved Permanently"
                self.pages.append(page)
                continue
            doc = K.long_story(rng, lang) if category == "long_coherent" else K.long_incoherent(rng, lang)
            if category == "long_coherent":
                p = self.article_page(rng, dump, category, lang, doc, n_ads=2)
                p.subtype = "story"
                self.pages.append(p)
            else:
                host, name = self.site(rng, lang)
                main = f"<h1>{_html.escape(doc['title'])}</h1>" + "".join(
                    "<p>" + "<br>".join(_html.escape(x) for x in para.split("\n")) + "</p>" for para in doc["paragraphs"])
                page = self.simple_page(rng, dump, category, lang, doc["title"], [], host=host, site_name=name,
                                        main_html=main, subtype="fragments_logs_tables")
                page.text = _joined(doc["paragraphs"], {}, doc["title"])

    def make_quotes_and_personal(self, dump: str) -> None:
        """Good articles with a benchmark passage pasted in, and with contact details (a few: redacted and
        kept; many: the page is dropped)."""
        for j, (kind, i, lang) in enumerate(QUOTES[dump]):
            rng = self.rng(dump, "benchmark_quote", j)
            art = en.article(rng) if lang == "en" else zh.article(rng)
            if kind == "qa":
                quote = ("As the old quiz book puts it: " if lang == "en" else "一本旧问答书里写道：") + B.QA[i]["answer"]
            else:
                quote = "Here is the function we ended up with: " + B.code_solution(i)
            art["paragraphs"].insert(len(art["paragraphs"]) // 2, quote)
            p = self.article_page(rng, dump, "benchmark_quote", lang, art)
            p.subtype = f"{kind}:{i}"
            self.pages.append(p)
        for j, (category, lang) in enumerate(PERSONAL):
            rng = self.rng(dump, category, j)
            art = en.article(rng) if lang == "en" else zh.article(rng)
            host, name = self.site(rng, lang)
            people = 4 if category == "pii_heavy" else 1
            contact = K.contact_paragraph(rng, lang, host, people)
            art["paragraphs"].append(contact)
            p = self.article_page(rng, dump, category, lang, art, host=host, site_name=name)
            p.subtype = f"{2 * people}_finds"
            self.pages.append(p)

    def make_non_html(self, dump: str, count: int) -> None:
        for i in range(count):
            rng = self.rng(dump, "non_html", i)
            kind = ("image/jpeg", "application/pdf", "application/json")[i % 3]
            host, _ = self.site(rng, "en" if i % 2 == 0 else "zh")
            ext = {"image/jpeg": ".jpg", "application/pdf": ".pdf", "application/json": ".json"}[kind]
            url = self.url_for(rng, host, "en", f"file-{i}")
            url = url.rstrip("/") + ext
            self.urls.add(url)
            if kind == "image/jpeg":
                payload = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + rng.randbytes(600) + b"\xff\xd9"
            elif kind == "application/pdf":
                payload = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages "
                           b"/Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
            else:
                payload = json.dumps({"id": i, "items": [rng.randint(0, 999) for _ in range(20)],
                                      "status": "ok"}, sort_keys=True).encode()
            self.pages.append(Page(url=url, host=host, dump=dump, category="non_html", language="none",
                                   payload=payload, content_type=kind, subtype=kind))

    # ---------------------------------------------------------------- all
    def plan(self) -> list[Page]:
        for dump in DUMPS:
            counts = {name: max(1, round(share * self.n)) for name, share in SHARES}
            # below ~40 pages every category still gets one page, so a dump holds at least ~25 pages
            n_good = max(4, self.n - sum(counts.values()) - len(FIXED) - 2 - len(QUOTES[dump]) - len(PERSONAL))
            self.make_good(dump, n_good)
            self.make_duplicates(dump, counts["near_duplicate"], counts["exact_duplicate"])
            self.make_bad(dump, counts)
            self.make_fixed(dump)
            self.make_quotes_and_personal(dump)
            self.make_non_html(dump, counts["non_html"])
        return self.pages


def plan_crawl(seed: int = 0, pages_per_dump: int = 200) -> list[Page]:
    """All pages of the sample crawl (no files written); ``Page.text`` is each page's intended main text.

    ``pages_per_dump`` is exact from about 40 up; smaller values still give every category one page.
    """
    if pages_per_dump < 1:
        raise ValueError(f"pages_per_dump must be positive, got {pages_per_dump}")
    return _Planner(seed, pages_per_dump).plan()


def _blocked_word_hits(text: str, lang: str) -> int:
    low = text.lower()
    words = DEMO_BLOCKED_WORDS.get(lang, []) if lang in DEMO_BLOCKED_WORDS else DEMO_BLOCKED_WORDS["en"]
    return sum(low.count(w.lower()) for w in words)


def _manifest_entry(p: Page, warc_file: str, rec: dict, ts: datetime) -> dict:
    text_bytes = len(p.text.encode("utf-8"))
    entry = {"dump": p.dump, "category": p.category, "subtype": p.subtype, "language": p.language,
             "host": p.host, "warc_file": warc_file, "record_id": rec["record_id"], "offset": rec["offset"],
             "warc_date": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": p.status.split()[0],
             "content_type": p.content_type, "encoding": p.encoding, "title": p.title, "topic": p.topic,
             "main_text_bytes": text_bytes,
             "main_text_sha1": hashlib.sha1(p.text.encode("utf-8")).hexdigest() if p.text else None,
             "long": text_bytes >= 40000, "intended_filter": INTENDED[p.category],
             "blocked_word_hits": _blocked_word_hits(p.text, p.language) if p.text else 0}
    if p.dup_group:
        entry.update(dup_group=p.dup_group, dup_role=p.dup_role, dup_of=p.dup_of)
        if p.dup_role == "original":
            entry["intended_filter"] = None
    if p.blocked_domain_category:
        entry["blocked_domain_category"] = p.blocked_domain_category
    return entry


def _summary(pages: dict) -> dict:
    by = lambda key: dict(sorted(Counter(str(v[key]) for v in pages.values()).items()))  # noqa: E731
    per = Counter(f"{v['dump']}|{v['category']}|{v['language']}" for v in pages.values())
    return {"pages": len(pages), "by_dump": by("dump"), "by_category": by("category"), "by_language": by("language"),
            "by_dump_category_language": dict(sorted(per.items())),
            "long_documents": sum(1 for v in pages.values() if v["long"]),
            "dup_groups": len({v["dup_group"] for v in pages.values() if v.get("dup_group")})}


class _CCWarcWriter(WARCWriter):
    """warcio's writer with Common Crawl's digests: warcinfo records carry none, request and metadata records
    only a block digest, responses a payload and a block digest."""

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "request", "metadata")

    def ensure_digest(self, record: ArcWarcRecord, block: bool = True, payload: bool = True) -> None:
        if record.rec_type != "warcinfo":
            super().ensure_digest(record, block=block, payload=payload)


class _WarcFile:
    """One .warc.gz in Common Crawl's shape: a warcinfo record, then request, response and metadata per URL.

    warcio serialises each record (WARC/1.0 headers, Content-Length, sha1/base32 digests); record ids come
    from the caller's seeded RNG and dates are given. Each record is gzipped here as its own member with
    mtime 0 and level 6, which fixes the file bytes, and so the offsets kept in manifest.json, for a seed.
    """

    def __init__(self, path: str, rng: random.Random):
        self.rng = rng
        self.fh = open(path, "wb")
        self.buf = io.BytesIO()
        self.writer = _CCWarcWriter(self.buf, gzip=False, warc_version="1.0")
        self.warcinfo_id = ""

    def _record_id(self) -> str:
        return StatusAndHeadersParser.make_warc_id(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _record(self, rec_type: str, uri: str, block: bytes, headers: list[tuple[str, str]]) -> ArcWarcRecord:
        return self.writer.create_warc_record(uri, rec_type, payload=io.BytesIO(block), length=len(block),
                                              warc_headers_dict=dict(headers))

    def _write(self, record: ArcWarcRecord) -> int:
        """Append ``record`` as one gzip member; returns the member's byte offset."""
        self.writer.write_record(record)
        offset = self.fh.tell()
        self.fh.write(gzip.compress(self.buf.getvalue(), compresslevel=6, mtime=0))
        self.buf.seek(0)
        self.buf.truncate()
        return offset

    def warcinfo(self, ts: datetime, filename: str, fields: list[tuple[str, str]]) -> None:
        block = "".join(f"{k}: {v}\r\n" for k, v in fields).encode("utf-8")
        self.warcinfo_id = self._record_id()
        self._write(self._record("warcinfo", "", block, [
            ("WARC-Type", "warcinfo"), ("WARC-Date", datetime_to_iso_date(ts)), ("WARC-Filename", filename),
            ("WARC-Record-ID", self.warcinfo_id), ("Content-Type", "application/warc-fields")]))

    def capture(self, ts: datetime, url: str, host: str, ip: str, status: str, headers: list[tuple[str, str]],
                payload: bytes, payload_type: str, fetch_ms: int) -> dict:
        """request + response + metadata for one URL; returns the response's record id and offset."""
        path = url.split(host, 1)[1] or "/"
        req = (f"GET {path} HTTP/1.1\r\nUser-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\n"
               f"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
               f"Accept-Language: en-US,en;q=0.5,zh-CN;q=0.3\r\nAccept-Encoding: br,gzip\r\n"
               f"Host: {host}\r\nConnection: Keep-Alive\r\n\r\n").encode("ascii")
        req_id, resp_id, meta_id = self._record_id(), self._record_id(), self._record_id()
        date = ("WARC-Date", datetime_to_iso_date(ts))
        self._write(self._record("request", url, req, [
            ("WARC-Type", "request"), date, ("WARC-Record-ID", req_id),
            ("Content-Type", "application/http; msgtype=request"), ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-IP-Address", ip), ("WARC-Target-URI", url)]))
        http_head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        response = self._record("response", url, http_head.encode("latin-1") + payload, [
            ("WARC-Type", "response"), date, ("WARC-Record-ID", resp_id),
            ("Content-Type", "application/http; msgtype=response"), ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-Concurrent-To", req_id), ("WARC-IP-Address", ip), ("WARC-Target-URI", url)])
        # CC's header order: payload digest, block digest, then the identified payload type
        self.writer.ensure_digest(response, block=True, payload=True)
        response.rec_headers.add_header("WARC-Identified-Payload-Type", payload_type)
        offset = self._write(response)
        meta = f"fetchTimeMs: {fetch_ms}\r\n".encode("ascii")
        self._write(self._record("metadata", url, meta, [
            ("WARC-Type", "metadata"), date, ("WARC-Record-ID", meta_id),
            ("Content-Type", "application/warc-fields"), ("WARC-Warcinfo-ID", self.warcinfo_id),
            ("WARC-Concurrent-To", resp_id), ("WARC-Target-URI", url)]))
        return {"record_id": resp_id, "offset": offset}

    def close(self) -> None:
        self.fh.close()


def generate_crawl(out_dir: str, seed: int = 0, pages_per_dump: int = 200) -> dict:
    """Write the two-dump sample crawl (WARC.gz) and manifest.json under ``out_dir``; return the manifest.

    Manifest: {"seed", "dumps", "files", "pages": {url: {dump, category, language, ...}}, "summary"}.
    URLs are unique across the crawl (copies of a page live at other URLs).
    """
    pages = plan_crawl(seed, pages_per_dump)
    os.makedirs(out_dir, exist_ok=True)
    manifest_pages: dict[str, dict] = {}
    files: list[str] = []
    for dump in DUMPS:
        start, n_files, description = DUMP_INFO[dump]
        rng = rng_for("warc", seed, dump)
        in_dump = [p for p in pages if p.dump == dump]
        rng.shuffle(in_dump)
        os.makedirs(os.path.join(out_dir, dump), exist_ok=True)
        for f in range(n_files):
            chunk = in_dump[f::n_files]
            t0 = start + timedelta(hours=3 * f)
            stamp = t0.strftime("%Y%m%d%H%M%S")
            name = f"CC-MAIN-{stamp}-{(t0 + timedelta(hours=3)).strftime('%Y%m%d%H%M%S')}-{f:05d}.warc.gz"
            rel = f"{dump}/{name}"
            files.append(rel)
            writer = _WarcFile(os.path.join(out_dir, rel), rng)
            writer.warcinfo(t0, name, [
                ("isPartOf", dump), ("publisher", "Common Crawl"), ("description", description),
                ("operator", "Common Crawl Admin (info@commoncrawl.org)"),
                ("hostname", f"ip-10-67-{rng.randint(1, 254)}-{rng.randint(1, 254)}.ec2.internal"),
                ("software", "Apache Nutch 1.19 (modified, https://github.com/commoncrawl/nutch/)"),
                ("robots", "checked via crawler-commons 1.5-SNAPSHOT (https://github.com/crawler-commons/crawler-commons)"),
                ("format", "WARC File Format 1.1"),
                ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/")])
            for k, p in enumerate(chunk):
                ts = t0 + timedelta(seconds=20 * k + rng.randint(0, 19))
                ip = ".".join(str(b) for b in hashlib.md5(p.host.encode()).digest()[:4])
                headers = [("Date", datetime_to_http_date(ts)), ("Server", rng.choice(("nginx", "Apache", "cloudflare"))),
                           ("Content-Type", p.content_type), ("Content-Length", str(len(p.payload))),
                           *p.extra_headers, ("Connection", "close")]
                ptype = p.content_type.split(";")[0]
                rec = writer.capture(ts, p.url, p.host, ip, p.status, headers, p.payload, ptype, rng.randint(40, 2000))
                manifest_pages[p.url] = _manifest_entry(p, rel, rec, ts)
            writer.close()
    manifest = {"seed": seed, "pages_per_dump": pages_per_dump, "dumps": list(DUMPS), "files": files,
                "blocked_domains": DEMO_BLOCKED_DOMAINS, "blocked_words": DEMO_BLOCKED_WORDS,
                "pages": dict(sorted(manifest_pages.items())), "summary": _summary(manifest_pages)}
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.write("\n")
    return manifest


# ------------------------------------------------------------------------------------------ text sources
def _paper(rng, lang: str, i: int) -> dict:
    art = en.article(rng, paragraphs=(6, 9)) if lang == "en" else zh.article(rng, paragraphs=(6, 9))
    names = (["Abstract", "Introduction", "Background", "Methods", "Results", "Discussion", "Conclusion"]
             if lang == "en" else ["摘要", "引言", "背景", "方法", "结果", "讨论", "结论"])
    parts = []
    for k, para in enumerate(art["paragraphs"]):
        parts.append(names[min(k, len(names) - 1)] if k < len(names) else "")
        parts.append(para)
    text = "\n\n".join(x for x in parts if x)
    title = (f"A Study of {art['title']}" if lang == "en" else f"关于{art['title']}的研究")
    return {"id": f"paper-{i:04d}", "title": title, "text": text, "language": lang,
            "url": f"https://papers.example-archive.org/abs/2403.{10000 + i}", "date": f"2024-03-{1 + i % 28:02d}"}


def generate_text_sources(out_dir: str, seed: int = 0) -> dict:
    """Write books.jsonl, papers.jsonl and patents.jsonl under ``out_dir`` (+ sources_manifest.json).

    Records: {id, title, text, url?, date?, language?}; optional fields are missing on some records.
    A few books are long (>= 40,000 bytes) coherent stories.
    """
    os.makedirs(out_dir, exist_ok=True)
    records: dict[str, list[dict]] = {"books": [], "papers": [], "patents": []}
    for i in range(8):
        rng = rng_for("sources", seed, "book", i)
        lang = "zh" if i % 2 else "en"
        if i < 4:
            doc = K.long_story(rng, lang, min_bytes=45000 + 5000 * i)
        else:
            doc = en.article(rng, paragraphs=(8, 12)) if lang == "en" else zh.article(rng, paragraphs=(8, 12))
        text = "\n\n".join((doc["headings"][k] + "\n\n" + p) if k in doc["headings"] else p
                           for k, p in enumerate(doc["paragraphs"]))
        rec = {"id": f"book-{i:04d}", "title": doc["title"], "text": text}
        if i % 3 != 2:
            rec["language"] = lang
        if i % 2 == 0:
            rec["date"] = f"20{10 + i}-0{1 + i % 9}-15"
        records["books"].append(rec)
    for i in range(12):
        rng = rng_for("sources", seed, "paper", i)
        rec = _paper(rng, "zh" if i % 3 == 1 else "en", i)
        if i % 4 == 3:
            del rec["url"]
        records["papers"].append(rec)
    for i in range(6):
        rng = rng_for("sources", seed, "patent", i)
        lang = "zh" if i % 2 else "en"
        w = en.Writer(rng, rng.choice(en.TOPIC_NAMES)) if lang == "en" else zh.Writer(rng, rng.choice(zh.TOPIC_NAMES))
        if lang == "en":
            title = f"Apparatus and method for handling a {w.fill('N')}"
            claims = [f"{k + 1}. {w.sentence('body')}" for k in range(8)]
            text = ("Abstract\n\nA device and method are disclosed for use with a " + w.fill("N") + ". "
                    + " ".join(w.sentence("body") for _ in range(4)) + "\n\nClaims\n\n" + "\n".join(claims))
        else:
            title = f"一种用于{w.fill('V')}{w.fill('N')}的装置及方法"
            claims = [f"{k + 1}．{w.sentence('body')}" for k in range(8)]
            text = "摘要\n\n本发明公开了一种" + w.fill("N") + "的处理装置。" + "".join(
                w.sentence("body") for _ in range(4)) + "\n\n权利要求\n\n" + "\n".join(claims)
        records["patents"].append({"id": f"patent-{i:04d}", "title": title, "text": text, "language": lang,
                                   "date": f"2023-1{i % 3}-0{1 + i}"})
    manifest = {"seed": seed, "files": {}, "records": {}}
    for name, recs in records.items():
        path = os.path.join(out_dir, f"{name}.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
        manifest["files"][f"{name}.jsonl"] = len(recs)
        for rec in recs:
            nbytes = len(rec["text"].encode("utf-8"))
            manifest["records"][rec["id"]] = {"file": f"{name}.jsonl", "source_type": name.rstrip("s"),
                                              "language": rec.get("language"), "text_bytes": nbytes,
                                              "long": nbytes >= 40000}
    with open(os.path.join(out_dir, "sources_manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.write("\n")
    return manifest


# ------------------------------------------------------------------------------------------ classifier data
CLASSIFIER_LABELS = {"toxicity": ("toxic", "clean"), "pornography": ("porn", "clean"),
                     "advertisement": ("ad", "clean"), "fluency": ("disfluent", "fluent")}


def _clean_text(rng, lang: str, task: str) -> str:
    """A negative example: article prose, polite comments, or the task's hard negatives."""
    r = rng.random()
    sep = " " if lang == "en" else ""
    if task == "toxicity" and r < 0.5:
        return sep.join(K.comments(rng, lang, 0.0, rng.randint(2, 3)))
    if task == "advertisement" and r < 0.35:
        return K.paragraph_of(rng, lang, K.REVIEW_EN if lang == "en" else K.REVIEW_ZH, rng.randint(1, 3))
    if task == "pornography" and r < 0.2:
        return K.paragraph_of(rng, lang, K.SEXED_EN if lang == "en" else K.SEXED_ZH, rng.randint(1, 2))
    w = en.Writer(rng, rng.choice(en.TOPIC_NAMES)) if lang == "en" else zh.Writer(rng, rng.choice(zh.TOPIC_NAMES))
    return sep.join(w.sentence(rng.choice(("body", "body", "intro")), connective=0.2) for _ in range(rng.randint(2, 4)))


def _positive_text(rng, lang: str, task: str) -> str:
    sep = " " if lang == "en" else ""
    if task == "toxicity":
        parts = K.comments(rng, lang, 1.0, rng.randint(2, 3))
        if rng.random() < 0.3:
            parts.insert(0, K.comments(rng, lang, 0.0, 1)[0])
        return sep.join(parts)
    if task == "pornography":
        return K.paragraph_of(rng, lang, K.PORN_EN if lang == "en" else K.PORN_ZH, rng.randint(2, 4))
    if task == "advertisement":
        promo, prose = (K.AD_EN, K.AD_PROSE_EN) if lang == "en" else (K.AD_ZH, K.AD_PROSE_ZH)
        return K.paragraph_of(rng, lang, promo + prose, rng.randint(2, 4))
    w = en.Writer(rng, rng.choice(en.TOPIC_NAMES)) if lang == "en" else zh.Writer(rng, rng.choice(zh.TOPIC_NAMES))
    fluent = sep.join(w.sentence("body") for _ in range(rng.randint(2, 4)))
    return K.garble(rng, fluent, lang, strength=rng.choice((0.4, 0.6, 0.8)))


@functools.lru_cache(maxsize=4)
def _crawl_text(seed: int) -> str:
    """All main text of the default-size crawl for ``seed`` (classifier examples must not repeat it)."""
    return "\n".join(p.text for p in plan_crawl(seed, 200))


def classifier_examples(task: str, seed: int = 0, n: int = 200) -> list[tuple[str, str]]:
    """``n`` labelled (text, label) pairs for ``task``: half positive, half negative, ~60 % en / 40 % zh.

    Drawn from the same generators as the crawl but from a separate random stream; an example whose text
    occurs verbatim in the crawl of the same seed is drawn again, so the model must generalise.
    """
    if task not in CLASSIFIER_LABELS:
        raise ValueError(f"unknown classifier task {task!r}; expected one of {sorted(CLASSIFIER_LABELS)}")
    pos, neg = CLASSIFIER_LABELS[task]
    rng = rng_for("classifier", task, seed)
    crawl_text = _crawl_text(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        label = pos if len(out) % 2 == 0 else neg
        lang = "zh" if (len(out) // 2) % 5 in (1, 3) else "en"
        text = _positive_text(rng, lang, task) if label == pos else _clean_text(rng, lang, task)
        i += 1
        if (text in seen or text in crawl_text) and i < 50 * n:
            continue
        seen.add(text)
        out.append((text, label))
    rng.shuffle(out)
    return out


def reference_text(lang: str, n_sentences: int = 5000, seed: int = 0) -> list[str]:
    """Clean natural sentences in ``lang`` ("en" or "zh") for training the demo's KenLM/SentencePiece models."""
    if lang not in ("en", "zh"):
        raise ValueError(f"reference_text supports 'en' and 'zh', not {lang!r}")
    rng = rng_for("reference", lang, seed)
    return (en.sentences if lang == "en" else zh.sentences)(rng, n_sentences)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samplegen",
                                 description="Write the deterministic sample crawl and text sources.")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pages-per-dump", type=int, default=200)
    args = ap.parse_args(argv)
    m = generate_crawl(os.path.join(args.out_dir, "crawl"), args.seed, args.pages_per_dump)
    s = generate_text_sources(os.path.join(args.out_dir, "sources"), args.seed)
    print(json.dumps({"crawl": m["summary"], "sources": s["files"]}, indent=1, ensure_ascii=False))
    return 0
