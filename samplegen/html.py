"""HTML page skins for the sample crawl: navigation, cookie banners, ads, sidebars and footers around a main block.

Several layouts (news, blog, forum, shop, portal) with varied class names, so near-duplicate pages can
carry different boilerplate and extraction has real work to do.
"""
from __future__ import annotations

import html
import random
import re

E = html.escape

BOILER = {
    "en": dict(
        nav=["Home", "World", "Local", "Science", "Culture", "Opinion", "Sport", "Travel", "Food", "Money",
             "Health", "Technology", "Lifestyle", "Video", "Podcasts", "Archive", "About", "Contact"],
        cookie=["We use cookies to improve your experience on our site. By continuing to browse you agree to "
                "our use of cookies.",
                "This website uses cookies and similar technologies to personalise content and ads. Read our "
                "cookie policy to learn more.",
                "We value your privacy. We and our partners store and access information on your device."],
        accept=["Accept all", "I agree", "Got it", "OK"],
        ads=["Sponsored: Save up to 40% on home insurance today", "Advertisement: Try our new meal kits free "
             "for a week", "Sponsored: The one trick banks don't want you to know", "Ad: Holiday deals to "
             "Portugal from 99 pounds", "Sponsored: Compare broadband offers in your area",
             "Advertisement: Learn a language in just ten minutes a day"],
        related="Related articles", popular="Most read", recent="Recent posts", cats="Categories",
        newsletter="Sign up to our newsletter for the best stories every morning.",
        share="Share this article: Facebook | Twitter | Email | Print",
        footer=["Privacy Policy", "Terms of Use", "Cookie Settings", "Advertise with us", "Careers",
                "Contact us", "Accessibility", "Sitemap"],
        rights="All rights reserved.", by="By", reply="Leave a reply", tags="Tags",
        login="Log in | Register", search="Search", powered="Powered by WordPress",
        skip="Skip to main content", read_more="Read more"),
    "zh": dict(
        nav=["首页", "新闻", "财经", "科技", "生活", "旅游", "美食", "健康", "教育", "文化", "体育", "汽车", "房产",
             "视频", "专题", "关于我们", "联系我们"],
        cookie=["本网站使用Cookie以提升您的浏览体验。继续浏览即表示您同意我们使用Cookie。",
                "我们使用Cookie及类似技术来改进服务并展示个性化内容，详情请阅读隐私政策。"],
        accept=["同意", "我知道了", "接受全部"],
        ads=["广告：新用户注册立享八折优惠", "推广：暑期特价机票低至199元", "广告：装修贷款利率低至3.5%",
             "推广：在线英语课程免费试听", "广告：品牌家电限时直降", "推广：下载APP领取新人红包"],
        related="相关阅读", popular="热门文章", recent="最新文章", cats="栏目分类",
        newsletter="订阅我们的邮件，每天早上收到精选好文。", share="分享到：微信 | 微博 | QQ空间",
        footer=["隐私政策", "用户协议", "广告服务", "招聘信息", "联系我们", "网站地图", "违法和不良信息举报"],
        rights="版权所有", by="作者：", reply="发表评论", tags="标签", login="登录 | 注册", search="搜索",
        powered="技术支持：某某建站", skip="跳到正文", read_more="阅读全文"),
}
BOILER["other"] = BOILER["en"]

SKINS = ("news", "blog", "portal", "magazine")


def _b(lang: str) -> dict:
    return BOILER.get(lang, BOILER["en"])


def _nav(rng: random.Random, lang: str, cls: str) -> str:
    items = rng.sample(_b(lang)["nav"], k=rng.randint(5, 9))
    lis = "".join(f'<li><a href="/{i}/">{E(x)}</a></li>' for i, x in enumerate(items))
    return f'<nav class="{cls}" role="navigation"><ul>{lis}</ul></nav>'


def cookie_banner(rng: random.Random, lang: str) -> str:
    b = _b(lang)
    cls = rng.choice(("cookie-banner", "cookie-consent", "cookie-notice gdpr"))
    return (f'<div id="cookie-consent" class="{cls}"><p>{E(rng.choice(b["cookie"]))}</p>'
            f'<button class="cookie-accept">{E(rng.choice(b["accept"]))}</button></div>')


def ad_block(rng: random.Random, lang: str) -> str:
    cls = rng.choice(("ad-slot advertisement", "ads sponsored", "adsbygoogle banner-ad", "promo-ad"))
    text = rng.choice(_b(lang)["ads"])
    return f'<div class="{cls}"><a href="https://ads.example-adnetwork.com/click?id={rng.randint(1000, 99999)}" rel="sponsored">{E(text)}</a></div>'


def _link_list(rng: random.Random, title: str, items: list[str], cls: str) -> str:
    lis = "".join(f'<li><a href="/post/{rng.randint(10000, 99999)}.html">{E(x)}</a></li>' for x in items)
    return f'<div class="{cls}"><h3>{E(title)}</h3><ul>{lis}</ul></div>'


def sidebar(rng: random.Random, lang: str, headlines: list[str]) -> str:
    b = _b(lang)
    parts = [_link_list(rng, b["popular"], headlines[:5], "widget popular-posts")]
    if rng.random() < 0.6:
        parts.append(_link_list(rng, b["cats"], rng.sample(b["nav"], 5), "widget categories"))
    if rng.random() < 0.7:
        parts.append(ad_block(rng, lang))
    return f'<aside class="sidebar" id="secondary">{"".join(parts)}</aside>'


def footer(rng: random.Random, lang: str, site_name: str, year: int = 2024) -> str:
    b = _b(lang)
    links = " | ".join(f'<a href="/{i}">{E(x)}</a>' for i, x in enumerate(rng.sample(b["footer"], 5)))
    extra = f"<p>京ICP备{rng.randint(10000000, 99999999)}号</p>" if lang == "zh" else ""
    return (f'<footer class="site-footer" id="footer"><div class="footer-links">{links}</div>'
            f'<p>© {year} {E(site_name)}. {E(b["rights"])}</p>{extra}</footer>')


def article_html(title: str, paragraphs: list[str], headings: dict, *, byline: str = "", date: str = "",
                 lang: str = "en") -> str:
    """The main block: title, byline, paragraphs and optional sub-headings."""
    parts = [f"<h1>{E(title)}</h1>"]
    if byline or date:
        parts.append(f'<p class="byline"><span class="author">{E(byline)}</span> '
                     f'<time datetime="{E(date)}">{E(date)}</time></p>')
    for i, p in enumerate(paragraphs):
        if i in headings:
            parts.append(f"<h2>{E(headings[i])}</h2>")
        parts.append(f"<p>{E(p)}</p>")
    return "\n".join(parts)


def page(rng: random.Random, *, lang: str, site_name: str, title: str, main_html: str,
         headlines: list[str], skin: str | None = None, cookie: bool = True, n_ads: int = 1,
         head_extra: str = "", body_extra: str = "", charset: str = "utf-8", html_lang: str | None = None) -> str:
    """A full HTML document with boilerplate around ``main_html``."""
    b = _b(lang)
    skin = skin or rng.choice(SKINS)
    html_lang = html_lang or {"zh": "zh-CN"}.get(lang, lang)
    head = (f'<head><meta charset="{charset}"><title>{E(title)} - {E(site_name)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="description" content="{E(title)}">'
            f'<link rel="stylesheet" href="/static/{skin}.css?v={rng.randint(1, 99)}">'
            f'<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}'
            f"gtag('js',new Date());</script>{head_extra}</head>")
    ads_top = "".join(ad_block(rng, lang) for _ in range(min(n_ads, 1)))
    ads_in = "".join(ad_block(rng, lang) for _ in range(max(0, n_ads - 1)))
    header = (f'<a class="skip-link" href="#main">{E(b["skip"])}</a>'
              f'<header class="site-header"><div class="logo"><a href="/">{E(site_name)}</a></div>'
              f'{_nav(rng, lang, "main-nav menu")}<form class="search-form"><input type="search" '
              f'placeholder="{E(b["search"])}"></form><div class="user-links">{E(b["login"])}</div></header>')
    share = f'<div class="share-buttons social">{E(b["share"])}</div>'
    newsletter = f'<div class="newsletter-signup"><p>{E(b["newsletter"])}</p></div>'
    related = _link_list(rng, b["related"], headlines[5:9] or headlines[:3], "related-posts")
    side = sidebar(rng, lang, headlines)
    if skin == "blog":
        main = (f'<main id="main" class="site-main"><article class="post hentry"><div class="entry-content">'
                f'{main_html}</div><div class="tags">{E(b["tags"])}: {E(site_name)}</div></article>'
                f'<div id="comments" class="comments-area"><h3>{E(b["reply"])}</h3></div></main>')
    elif skin == "portal":
        main = (f'<div class="container"><div class="breadcrumb"><a href="/">{E(b["nav"][0])}</a> &gt; '
                f'<a href="/c/">{E(rng.choice(b["nav"][1:]))}</a></div><div class="main-col" id="main">'
                f'<div class="article-content">{main_html}</div>{share}{ads_in}</div></div>')
    elif skin == "magazine":
        main = (f'<main id="main"><div class="story-body"><section class="story">{main_html}</section>'
                f'{ads_in}{newsletter}</div></main>')
    else:
        main = (f'<main id="main" role="main"><article class="article">{main_html}</article>{share}{ads_in}'
                f'</main>')
    banner = cookie_banner(rng, lang) if cookie else ""
    top = rng.random() < 0.5
    parts = [banner if top else "", header, ads_top, main,
             side if skin != "magazine" or rng.random() < 0.5 else "", related,
             footer(rng, lang, site_name), "" if top else banner, body_extra]
    body = "\n".join(p for p in parts if p)
    return f'<!DOCTYPE html>\n<html lang="{html_lang}">\n{head}\n<body class="{skin}">\n{body}\n</body>\n</html>\n'


def text_of(main_html: str) -> str:
    """Rough visible text of a main block (for manifests and tests, not for extraction)."""
    text = re.sub(r"<(h1|h2|h3|p|li|tr|pre|div)[^>]*>", "\n", main_html)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n+", "\n", html.unescape(text)).strip()
