"""Text for the problem categories of the sample crawl (en + zh), all written for corpusmill.

Toxic comments, adult-site copy, advertisements, SEO spam, garbled (disfluent) text, low-quality
page bodies, near-duplicate edits, and long documents (coherent stories, incoherent dumps). The
clean counterparts (polite comments, product reviews, sexual-health notices) exist so that the
classifiers trained on ``classifier_examples`` have to learn the real signal, not the topic.
"""
from __future__ import annotations

import random
import re

from corpusmill.samplegen import en, zh
from corpusmill.samplegen.grammar import Deck, expand, split_list

PRODUCTS_EN = split_list("wireless earbuds;memory foam mattress;air fryer;standing desk;electric toothbrush;"
                         "robot vacuum;running shoes;smart watch;coffee machine;vitamin gummies;solar garden lights;"
                         "phone case;electric scooter;water filter;hair dryer;gaming chair")
PRODUCTS_ZH = split_list("无线耳机;记忆棉床垫;空气炸锅;升降桌;电动牙刷;扫地机器人;跑步鞋;智能手表;咖啡机;维生素软糖;"
                         "太阳能庭院灯;手机壳;电动滑板车;净水器;吹风机;电竞椅")

# ------------------------------------------------------------------------------------------ toxic
TOXIC_EN = split_list(
    "[You are|You're] [such|a complete|an absolute] [idiot|moron|clown|fool|loser], [nobody|no one] "
    "[asked for|cares about] your [opinion|stupid opinion].;"
    "[Shut up|Get lost|Go away], you [pathetic|worthless|brainless] [troll|idiot|moron].;"
    "Only a [complete|total] [moron|idiot] would {V} {the_N} like that, [what a joke|unbelievable].;"
    "[People like you|Idiots like you] [ruin|poison] every [thread|discussion] [on this site|here]. "
    "[Disgusting.|Pathetic.|Grow up.];"
    "I hope [you|the author] [gets fired|loses everything|never posts again], [what a|such a] "
    "[waste of space|joke].;"
    "[This author|The writer] is a [lying|brainless|useless] [hack|fraud] and [everyone|anyone] who "
    "[agrees|likes this] is [just as stupid|equally dumb].;"
    "[Your|This] [article|post|comment] is [trash|garbage|rubbish], [just like|exactly like] "
    "[you|your whole family].;"
    "[Go back to|Crawl back under] [your rock|whatever hole you came from], [loser|freak|you creep].;"
    "[What a|Such a] [disgusting|vile|pathetic] [pig|creep|fool] [you are|this guy is], [seriously|honestly].;"
    "[Nobody|No one] [wants|likes] you here, [so|just] [shut your mouth|shut up] and [leave|disappear].;"
    "[Anyone|Everyone] who {V}s {Ns} is a [braindead|worthless] [idiot|moron] and [deserves|should get] "
    "[to be mocked|nothing].;"
    "[Stupid|Dumb|Ignorant] {Rs} like you [should|need to] [shut up|keep quiet] [forever|for good], "
    "[idiot|clown].")
CLEAN_COMMENT_EN = split_list(
    "Thanks for [this|the] [article|write-up], I [learned|picked up] a lot about {Ns}.;"
    "I [tried|have tried] to {V} {the_N} [last year|this spring] and it [worked|went] [well|better than "
    "expected].;"
    "[Great|Interesting|Useful] [post|piece]. [Does anyone know|Can anyone recommend] [a good|where to "
    "find a] {N} [in|near] {PL}?;"
    "I [respectfully|politely] disagree: in my experience {the_N} matters less than {ABS}.;"
    "My [friend|neighbour], who is {a_R}, [says|told me] [much|exactly] the same thing about {Ns}.;"
    "[Could|Would] you write [more|a follow-up] about {act}? [Thanks!|Cheers.|That would help a lot.];"
    "[I disagree with|I'm not sure about] the part about {the_N}, but the rest [is|was] [spot on|really "
    "helpful].;"
    "[We|My family] [started|took up] {act} {when} and [have not|haven't] looked back since.;"
    "[This|That] [brought back|reminded me of] [memories|my childhood] in {PL}, [thank you|lovely "
    "writing].;"
    "[Has anyone|Did anyone] [else|] [had|have] trouble with {the_N} [this year|recently]? Mine [keeps|"
    "seems to] [failing|go wrong].")
TOXIC_ZH = split_list(
    "你[是不是|真是][脑子有病|脑子进水了]，[写的|说的]什么[垃圾|玩意儿]。;"
    "[滚|滚远点]吧，[废物|蠢货]，[没人|谁也不]想[看|听]你[的废话|在这里胡说八道]。;"
    "只有[白痴|傻子]才会[这样|这么]{V}{N}，[笑死人了|真丢人]。;"
    "[楼主|作者][就是个|纯粹是][骗子|蠢货|废物]，[点赞的|支持的]人[也都|全都][一样蠢|是脑残]。;"
    "[闭嘴|少说两句]吧你，[真|实在][恶心|丢人现眼]。;"
    "[你这种人|像你这样的人][活着|整天]就是[浪费空气|给别人添堵]。;"
    "[什么破文章|垃圾文章]，[作者|写的人][赶紧|快点][滚出|退出]这个[论坛|网站]。;"
    "[一群|一帮][脑残|白痴]{R}，[除了|只会][瞎嚷嚷|喷人]还会干什么，[恶心|可笑]。;"
    "[看你那|瞧你这][蠢样|德行]，[也配|还好意思][谈|讲]{act}？[滚|丢人]。;"
    "[垃圾|废物]就是[垃圾|废物]，你[永远|一辈子]也学不会{V}{N}，[死心吧|别丢人了]。")
CLEAN_COMMENT_ZH = split_list(
    "谢谢[分享|楼主]，[学到了|长知识了]，原来{N}还有这么多讲究。;"
    "我[去年|今年春天]也试着{V}{N}，效果[还不错|比预想的好]。;"
    "[请问|想问一下]{PL}哪里[能买到|可以找到]好的{N}？;"
    "[说得有道理|写得真好]，不过我觉得{ABS}[更|也很]重要。;"
    "[期待|希望]作者[再写写|多聊聊]{act}，[辛苦了|谢谢]。;"
    "[我不太同意|我有点不同看法]关于{N}的那一段，[其他部分|别的内容][很实用|讲得很清楚]。;"
    "[我们家|我和家人]{when}开始{act}，[现在|到现在][已经|都]坚持[好几年|三年]了。;"
    "[看完|读完]想起了小时候在{PL}的[日子|生活]，[写得真好|很温暖]。;"
    "[有没有人|大家]今年{V}{N}的时候[也|]遇到[问题|麻烦]了？我的总是[不太顺利|出状况]。")

# ------------------------------------------------------------------------------------------ adult
PORN_EN = split_list(
    "[Watch|Stream] [free|exclusive] [xxx|adult] videos [of|with] [hot|sexy] [models|babes] [now|tonight].;"
    "[Live|Private] [sex cams|cam girls|nude webcams] [online|24/7], [no credit card|free registration] "
    "required.;"
    "[Hot|Naughty|Lonely] [singles|girls] in {PL} want to [chat|meet] [tonight|now]. Click to [see|view] "
    "their [nude photos|private pics].;"
    "[The|Our] [biggest|best] collection of [erotic|adult|xxx] [movies|clips|stories], updated [daily|"
    "every hour].;"
    "Warning: this site contains [explicit|adult] [sexual content|material] and is [only|strictly] for "
    "[adults|users] over 18.;"
    "[Uncensored|Amateur] porn [videos|clips] [in HD|for free], [new scenes|fresh content] every day.;"
    "[Join|Sign up] [now|free] to [unlock|get] [unlimited|VIP] access to [thousands of|over 50,000] "
    "[xxx|adult] [videos|galleries].;"
    "[Sexy|Seductive] [cam models|webcam girls] [are waiting|are online] for [you|a private show] "
    "[right now|tonight].;"
    "[Top|Most viewed] [porn|xxx] [categories|tags]: [amateur|mature|webcam], [lingerie|couples], "
    "[massage|fetish].;"
    "[Meet|Chat with] [horny|naughty] [local|nearby] [women|girls] [for free|tonight], [100% discreet|"
    "no strings attached].")
SEXED_EN = split_list(
    "The clinic offers [confidential|free] sexual health advice and testing for young people [in|across] "
    "{PL}.;"
    "[Teachers|Parents] [say|agree] that age-appropriate sex education helps [teenagers|pupils] make safer "
    "choices.;"
    "[Appointments|Drop-in sessions] for contraception advice are available [every|each] {month} [at|in] "
    "the community health centre.")
PORN_ZH = split_list(
    "[免费|高清][观看|在线看][成人视频|激情视频|福利视频]，[每日|每天][更新|上新]。;"
    "[美女|性感美女][在线|真人][裸聊|视频聊天]，[注册|加入]即送[金币|VIP会员]。;"
    "[寂寞|单身][少妇|美女]等你来[撩|约]，[点击|扫码]查看[私密照片|私房照]。;"
    "本站[内容|视频]含有[色情|成人]内容，未满18岁[请|禁止][离开|进入]。;"
    "[最全|最新]的[18禁|成人][影片|动漫|小说][合集|资源]，[无需|免]注册[直接|即可]观看。;"
    "[深夜|午夜][福利|激情][直播|视频]，[性感|火辣]主播在线[陪聊|互动]。;"
    "[同城|附近][约会|交友]，[寂寞|空虚]的[美女|少妇][正在|已经]在线等你，[私密|隐私]保护。;"
    "[热门|最受欢迎]分类：[偷拍|自拍]、[制服|丝袜]、[激情|福利]、[成人动漫|无码]。")
SEXED_ZH = split_list(
    "[社区医院|卫生服务中心]为青少年提供[免费|保密]的性健康咨询和检测服务。;"
    "[老师们|家长们]认为，适龄的性教育有助于[青少年|孩子们]做出更安全的选择。")

# ------------------------------------------------------------------------------------------ ads
AD_EN = split_list(
    "[Buy|Order] [the new|our best-selling] {PROD} [now|today] and [save|get] {pct}% off! [Limited time "
    "offer.|Offer ends Sunday.];"
    "[Free shipping|Free delivery] on all orders over ${num}0. Use code {CODE} at checkout!;"
    "[Call|Text] {PHONE} [now|today] for a free quote. [Don't miss out!|Hurry, stocks are limited!];"
    "[Best price guaranteed|Lowest prices in town] on every {PROD}. [Click here|Shop now] to [claim|grab] "
    "your [discount|deal]!;"
    "[Sign up|Subscribe] today and [receive|get] a [free|bonus] {PROD} worth ${num}!;"
    "[Only|Just] ${num}.99 [for a limited time|this week only]! [Was|Previously] ${num}9.99.;"
    "[Thousands of|Over 10,000] happy customers [can't be wrong|trust us]. [Rated|Voted] the number one "
    "{PROD} in {PL}!;"
    "[Act now|Order before midnight] and get a second {PROD} [absolutely free|at half price]!;"
    "[100%|Full] money-back guarantee. [No questions asked.|Risk free!] [Buy now|Add to cart] while "
    "stocks last!")
AD_PROSE_EN = split_list(
    "Our {PROD} is [designed|made] for [busy families|people like you] who want [the best|more] from "
    "[every day|their home] without [paying|spending] a fortune.;"
    "[Discover|Experience] why [so many|thousands of] customers [love|have switched to] the {PROD} that "
    "[everyone|the whole country] is talking about.;"
    "[Order|Buy] [yours|one] today and [enjoy|get] fast delivery, [a free gift|free returns] and our "
    "award-winning customer service.;"
    "[Treat yourself|Upgrade your life] with the {PROD} [you deserve|of your dreams], now [available|in "
    "stock] at an [unbeatable|amazing] price.;"
    "[Don't|Do not] [wait|miss out]: [this|our] [exclusive|special] offer on the {PROD} [ends|expires] "
    "[soon|this weekend], so [order|shop] now.")
AD_PROSE_ZH = split_list(
    "这款{PROD}专为[追求品质|忙碌]的[您|家庭]打造，[让生活|让每一天]更轻松，[价格|花费]却[实惠|不高]。;"
    "[已有|超过]{num}万[用户|家庭][选择|换用]了我们的{PROD}，[口碑|好评][持续|不断][爆棚|攀升]。;"
    "现在[下单|购买]即可享受[极速|次日]发货、[精美赠品|免费退换]和[贴心|专业]的售后服务。;"
    "[犒劳|奖励]自己，[就|不妨]选这款{PROD}，[现货|热卖]中，[价格|优惠][空前|前所未有]。")
REVIEW_EN = split_list(
    "I have used this {PROD} for [three|six] months, and it [works|does the job], although the [battery|"
    "build quality] could be better.;"
    "[The|My] {PROD} arrived [a day late|on time] and [the instructions|the manual] were [hard to follow|"
    "clear enough].;"
    "[Compared with|Next to] my old {PROD}, this one is [quieter|heavier|easier to clean], but it "
    "[costs|cost] noticeably more.;"
    "[After|Within] a few weeks the {PROD} [developed a rattle|started to wobble], so I returned it and "
    "[bought|chose] a simpler model.")
AD_ZH = split_list(
    "[限时特惠|年终大促]！{PROD}[仅需|只要]{num}9元，[买一送一|第二件半价]，[包邮到家|全国包邮]！;"
    "[咨询热线|订购电话]：400-{num}8-{num}66，[名额有限|库存有限]，[先到先得|欲购从速]！;"
    "[点击|立即][购买|抢购]，[领取|再领]{num}元优惠券，[新用户|首单]再减{num}元！;"
    "[全网最低价|厂家直销]，[假一赔十|七天无理由退换]，[已有|累计]{num}万人[购买|好评]！;"
    "[扫码|添加微信]关注，[免费领取|立即获得]{PROD}[试用装|体验装]一份！;"
    "[原价|市场价]{num}99元，[今日|今天][特价|秒杀]{num}9元，[手慢无|错过再等一年]！;"
    "[爆款|热销]{PROD}[火爆|疯狂]抢购中，[下单|付款]立减{pct}%，[再送|加送]精美礼品！")
REVIEW_ZH = split_list(
    "这款{PROD}我用了[三个月|半年]，[做工|续航]还可以，就是[声音有点大|价格偏贵]。;"
    "[快递|物流][晚了一天|很快]到的，说明书[写得不太清楚|还算清楚]，[安装|上手][花了点时间|不难]。;"
    "和我以前的{PROD}比，这个[更安静|更重|更好清洗]，但[价格|售价]也贵了不少。")

# ------------------------------------------------------------------------------------------ spam
SPAM_KW_EN = {
    "flights": "cheap flights;cheap flights london;best cheap flights 2024;cheap flight deals;last minute "
               "cheap flights;cheap flights to paris;cheap airline tickets",
    "loans": "payday loans;fast payday loans;payday loans online;instant loans no credit check;bad credit "
             "loans;quick cash loans;same day loans",
    "watches": "replica watches;cheap replica watches;best replica watches;luxury replica watches uk;"
               "swiss replica watches;replica watches for sale",
    "diet": "weight loss pills;fast weight loss;lose weight fast;best diet pills 2024;diet pills that work;"
            "weight loss supplements",
}
SPAM_KW_ZH = {
    "seo": "SEO优化;网站优化;关键词排名;百度快照;SEO优化公司;整站优化;网站排名优化",
    "movies": "免费电影;最新电影;高清电影免费在线观看;电影下载;好看的电影;电影天堂;免费看电影",
    "invoice": "代开发票;发票代开;代开增值税发票;正规发票代开;各地发票代开;开票联系",
}

# ------------------------------------------------------------------------------------------ blocked
BLOCKED_WORDS = {
    "en": ["xxx", "porn", "nude cams", "escort service", "casino bonus", "online slots", "viagra",
           "camgirl"],
    "zh": ["色情", "裸聊", "博彩", "网络赌博", "成人视频", "六合彩", "代孕", "援交"],
}
BLOCKED_DOMAINS = {
    "gambling": ["lucky-casino-win.com", "bet-royal-slots.net", "dafa-yule88.cn"],
    "adult": ["hot-xxx-videos.net", "adult-cam-zone.com", "meinv-zhibo.cc"],
    "phishing": ["secure-paypa1-login.com", "appleid-verify-account.net"],
}
GAMBLING_EN = split_list(
    "[Claim|Get] your [welcome|first deposit] casino bonus of [100%|200%] up to ${num}0 [today|now]!;"
    "[Spin|Play] [the|our] online slots and [win|hit] the [jackpot|mega jackpot] [tonight|in seconds].;"
    "[Fast|Instant] withdrawals, [live dealers|live roulette] and [free spins|bonus spins] every day.;"
    "[Join|Register] [now|in one minute] and [bet|wager] on [football|every match] with the [best odds|"
    "highest odds].")
GAMBLING_ZH = split_list(
    "[注册|首存]即送[888|188]元[彩金|红包]，[博彩|娱乐城][天天|每日][返水|加奖]！;"
    "[真人|在线][百家乐|老虎机]，[秒到账|提款快]，[网络赌博|线上投注]首选平台。;"
    "[六合彩|时时彩][内部资料|精准预测]，[每期|天天][必中|稳赚]，[加微信|联系客服]领取。")
PHISHING_EN = split_list(
    "Your account has been [suspended|limited]. [Verify|Confirm] your identity [within 24 hours|today] to "
    "avoid permanent closure.;"
    "[Enter|Update] your card number, expiry date and security code below to [restore|unlock] access.;"
    "[Unusual|Suspicious] sign-in activity was detected from a new device. [Log in|Sign in] now to "
    "[secure|review] your account.")


def _en_writer(rng: random.Random, topic: str | None = None) -> en.Writer:
    return en.Writer(rng, topic or rng.choice(en.TOPIC_NAMES))


def _zh_writer(rng: random.Random, topic: str | None = None) -> zh.Writer:
    return zh.Writer(rng, topic or rng.choice(zh.TOPIC_NAMES))


def _extra_fill(w, rng: random.Random, lang: str):
    products = PRODUCTS_EN if lang == "en" else PRODUCTS_ZH
    base = w.fill

    def fill(slot: str) -> str:
        if slot == "PROD":
            return rng.choice(products)
        if slot == "CODE":
            return rng.choice(("SAVE", "DEAL", "SPRING", "VIP", "HAPPY")) + str(rng.randint(10, 99))
        if slot == "PHONE":
            return f"1-800-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
        return base(slot)
    return fill


def say(rng: random.Random, lang: str, templates: list[str], topic: str | None = None) -> str:
    """One sentence from ``templates`` with topic slots filled (English or Chinese)."""
    w = _en_writer(rng, topic) if lang == "en" else _zh_writer(rng, topic)
    text = expand(rng.choice(templates), rng, _extra_fill(w, rng, lang))
    if lang == "en":
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r" ([,.;:!?])", r"\1", text)
        return text[:1].upper() + text[1:]
    return re.sub(r"\s+", "", text)


def comments(rng: random.Random, lang: str, toxic_share: float, n: int, topic: str | None = None) -> list[str]:
    tox, clean = (TOXIC_EN, CLEAN_COMMENT_EN) if lang == "en" else (TOXIC_ZH, CLEAN_COMMENT_ZH)
    out = []
    for _ in range(n):
        out.append(say(rng, lang, tox if rng.random() < toxic_share else clean, topic))
    return out


def paragraph_of(rng: random.Random, lang: str, templates: list[str], k: int, topic: str | None = None) -> str:
    sep = " " if lang == "en" else ""
    return sep.join(say(rng, lang, templates, topic) for _ in range(k))


# ------------------------------------------------------------------------------------------ spam
def spam_paragraphs(rng: random.Random, lang: str) -> tuple[str, list[str]]:
    """Keyword-stuffed SEO copy: (title, paragraphs)."""
    kws_by_theme = SPAM_KW_EN if lang == "en" else SPAM_KW_ZH
    theme = rng.choice(sorted(kws_by_theme))
    kws = split_list(kws_by_theme[theme])
    main = kws[0]
    paras = []
    if lang == "en":
        for _ in range(rng.randint(4, 7)):
            k1, k2, k3 = rng.sample(kws, 3)
            paras.append(rng.choice([
                f"Looking for {k1}? Our {k1} site has the {k2} and {k3}. {main.capitalize()} {main} {main}.",
                f"{k1.capitalize()}, {k2}, {k3}, {main}, {rng.choice(kws)}, {rng.choice(kws)}, {main}.",
                f"Best {main} here! {k2.capitalize()} {k2} {k3} {k3} {main} {k1} {main} {main}.",
                f"Find {k1} and {k2} today. {k3.capitalize()} is the best {main} for {main}. {main} {main}.",
            ]))
        paras.append(", ".join(rng.choice(kws) for _ in range(30)))
        title = f"{main.title()} | {kws[1].title()} | {kws[2].title()}"
    else:
        for _ in range(rng.randint(4, 7)):
            k1, k2, k3 = rng.sample(kws, 3)
            paras.append(rng.choice([
                f"想要{k1}？我们的{k1}网站提供{k2}和{k3}，{main}{main}{main}就选我们。",
                f"{k1}，{k2}，{k3}，{main}，{rng.choice(kws)}，{rng.choice(kws)}，{main}。",
                f"专业{main}！{k2}{k2}{k3}{k3}{main}{k1}{main}{main}。",
                f"今天就找{k1}和{k2}，{k3}是最好的{main}，{main}{main}。",
            ]))
        paras.append(" ".join(rng.choice(kws) for _ in range(30)))
        title = f"{main}_{kws[1]}_{kws[2]}"
    return title, paras


# ------------------------------------------------------------------------------------------ disfluent
FILLER_EN = split_list("the;of;and;very;which;is;it;then;thing;also;more;so;that;was")


def garble(rng: random.Random, text: str, lang: str, strength: float = 0.6) -> str:
    """Disfluent version of fluent text: scrambled word order, stutters, dropped and stray words."""
    if lang == "en":
        out = []
        for sent in re.split(r"(?<=[.!?])\s+", text):
            words = sent.rstrip(".!?").split()
            if len(words) < 4:
                out.append(sent)
                continue
            words = [w.lower() if i == 0 else w for i, w in enumerate(words)]
            k = max(2, int(len(words) * strength))
            idx = sorted(rng.sample(range(len(words)), k))
            vals = [words[i] for i in idx]
            rng.shuffle(vals)
            for i, v in zip(idx, vals):
                words[i] = v
            if rng.random() < 0.5:
                j = rng.randrange(len(words))
                words.insert(j, words[j])
            if rng.random() < 0.5:
                words.insert(rng.randrange(len(words)), rng.choice(FILLER_EN))
            if rng.random() < 0.3 and len(words) > 6:
                del words[rng.randrange(len(words))]
            s = " ".join(words).strip(" ,")
            out.append(s[:1].upper() + s[1:] + ".")
        return " ".join(out)
    out = []
    for sent in re.split(r"(?<=[。！？])", text):
        body = sent.rstrip("。！？")
        if len(body) < 6:
            out.append(sent)
            continue
        chunks, i = [], 0
        while i < len(body):
            step = rng.randint(1, 3)
            chunks.append(body[i:i + step])
            i += step
        k = max(2, int(len(chunks) * strength))
        idx = sorted(rng.sample(range(len(chunks)), k))
        vals = [chunks[j] for j in idx]
        rng.shuffle(vals)
        for j, v in zip(idx, vals):
            chunks[j] = v
        if rng.random() < 0.5:
            j = rng.randrange(len(chunks))
            chunks.insert(j, chunks[j])
        out.append("".join(chunks).strip("，") + "。")
    return "".join(out)


# ------------------------------------------------------------------------------------------ near-dups
SYN_EN = {"often": "frequently", "usually": "generally", "small": "little", "began": "started",
          "many": "numerous", "help": "assist", "about": "around", "later": "afterwards", "simple": "plain",
          "quiet": "calm", "first": "initially", "also": "too", "says": "said", "found": "discovered",
          "years": "decades", "careful": "cautious", "enough": "sufficient"}
SYN_ZH = {"常常": "经常", "开始": "着手", "大约": "大概", "不少": "许多", "后来": "之后", "认为": "觉得",
          "发现": "察觉", "通常": "一般", "非常": "十分", "已经": "早已", "记录": "记载", "帮助": "协助"}


def near_duplicate(rng: random.Random, paragraphs: list[str], lang: str, n_edits: int = 4) -> list[str]:
    """A lightly edited copy: a few word substitutions, maybe a sentence dropped or appended."""
    paras = list(paragraphs)
    syn = SYN_EN if lang == "en" else SYN_ZH
    done = 0
    for _ in range(n_edits * 6):
        if done >= n_edits:
            break
        i = rng.randrange(len(paras))
        keys = [k for k in syn if (re.search(rf"\b{k}\b", paras[i]) if lang == "en" else k in paras[i])]
        if not keys:
            continue
        k = rng.choice(keys)
        paras[i] = re.sub(rf"\b{k}\b", syn[k], paras[i], count=1) if lang == "en" else paras[i].replace(k, syn[k], 1)
        done += 1
    r = rng.random()
    if r < 0.35:
        extra = ("Updated: this article was revised to correct a date." if lang == "en"
                 else "更新：本文已修改，更正了一处日期。")
        paras.append(extra)
    elif r < 0.6 and len(paras) > 3:
        j = rng.randrange(1, len(paras) - 1)
        sents = re.split(r"(?<=[.!?])\s+" if lang == "en" else r"(?<=[。！？])", paras[j])
        sents = [s for s in sents if s]
        if len(sents) > 2:
            del sents[rng.randrange(len(sents))]
            paras[j] = (" " if lang == "en" else "").join(sents)
    return paras


# ------------------------------------------------------------------------------------------ low quality
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
         "aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum "
         "dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui "
         "officia deserunt mollit anim id est laborum.")
LOW_QUALITY_KINDS = ("link_list", "number_table", "too_short", "repeated_lines", "lorem_ipsum", "js_warning",
                     "mojibake", "placeholder")


def mojibake(rng: random.Random, text: str, lang: str) -> str:
    """Text decoded with the wrong codec, plus U+FFFD replacement characters."""
    if lang == "en":
        text = (text.replace("'", "\u2019").replace(" cafe ", " caf\u00e9 ")
                .replace(", ", " \u2013 ", 3) + " Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e \u201cna\u00efve\u201d.")
        bad = text.encode("utf-8").decode("cp1252", errors="replace")
    else:
        bad = text.encode("utf-8").decode("gbk", errors="replace")
    chars = list(bad)
    for _ in range(max(3, len(chars) // 40)):
        chars.insert(rng.randrange(len(chars)), "\ufffd")
    return "".join(chars)


def low_quality_body(rng: random.Random, kind: str, lang: str) -> tuple[str, str]:
    """(title, main_html) of a low-quality page of the given kind."""
    import html as _html
    E = _html.escape
    if kind == "link_list":
        w = _en_writer(rng) if lang == "en" else _zh_writer(rng)
        items = [w.title() for _ in range(rng.randint(25, 40))]
        lis = "".join(f'<li><a href="/p/{rng.randint(1000, 99999)}">{E(x)}</a></li>' for x in items)
        return ("Links" if lang == "en" else "链接大全"), f"<h1>{'Useful links' if lang == 'en' else '友情链接'}</h1><ul>{lis}</ul>"
    if kind == "number_table":
        rows = "".join("<tr>" + "".join(f"<td>{rng.randint(0, 99999)}</td>" for _ in range(6)) + "</tr>"
                       for _ in range(rng.randint(30, 60)))
        head = "<tr>" + "".join(f"<th>{c}</th>" for c in ("ID", "Q1", "Q2", "Q3", "Q4", "Total")) + "</tr>"
        return ("Data table" if lang == "en" else "数据表"), f"<h1>{'Data' if lang == 'en' else '数据'}</h1><table>{head}{rows}</table>"
    if kind == "too_short":
        text = (_en_writer(rng).sentence("body") if lang == "en" else _zh_writer(rng).sentence("body"))
        return ("Note" if lang == "en" else "简讯"), f"<p>{E(text)}</p>"
    if kind == "repeated_lines":
        w = _en_writer(rng) if lang == "en" else _zh_writer(rng)
        lines = [w.sentence("body") for _ in range(2)]
        body = "".join(f"<p>{E(lines[i % 2])}</p>" for i in range(rng.randint(20, 35)))
        return w.title(), f"<h1>{E(w.title())}</h1>{body}"
    if kind == "lorem_ipsum":
        body = "".join(f"<p>{LOREM}</p>" for _ in range(rng.randint(3, 6)))
        return "Lorem ipsum", f"<h1>Lorem ipsum</h1>{body}"
    if kind == "js_warning":
        msg = ("Please enable JavaScript to view this page. This site requires javascript to function "
               "properly. Your browser does not support JavaScript or it is disabled." if lang == "en" else
               "请启用JavaScript以浏览本页面。您的浏览器不支持JavaScript或已将其禁用。")
        return ("Loading..." if lang == "en" else "加载中..."), f'<noscript><p>{msg}</p></noscript><p>{msg}</p><div id="app"></div>'
    if kind == "mojibake":
        art = en.article(rng, paragraphs=(3, 4)) if lang == "en" else zh.article(rng, paragraphs=(3, 4))
        paras = "".join(f"<p>{E(mojibake(rng, p, lang))}</p>" for p in art["paragraphs"])
        return mojibake(rng, art["title"], lang), f"<h1>{E(mojibake(rng, art['title'], lang))}</h1>{paras}"
    if kind == "placeholder":
        msg = ("Coming soon. This page is under construction. Check back later!" if lang == "en"
               else "网站建设中，敬请期待！")
        return ("Under construction" if lang == "en" else "建设中"), f"<h1>{E(msg)}</h1>"
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------ long docs
STORY_EN = split_list(
    "[Years later|Long afterwards|Much later], {Pf} would [say|admit] that {ev_old} had [changed|shaped] "
    "everything [that followed|about the {town} project].;"
    "[Because of|After] {ev_old}, {he} [no longer|never again] [trusted|relied on] {the_N} [without|before] "
    "[checking|testing] it [twice|first].;"
    "[As|Just as] {he} had [promised|feared] [back in|during] {ev_old}, the [work|problem] [was not|wasn't] "
    "[finished|over] yet.;"
    "[This|That] [time|spring], [however|though], {Pf} [was|felt] [ready|better prepared], [since|because] "
    "{he} [remembered|still remembered] {ev_old}.;"
    "[It was|This was] {FRIEND} who [had|first] [suggested|insisted] that they {V} {the_N} [before|ahead of] "
    "{ev_new}.;"
    "\"[Do you remember|Remember] {ev_old}?\" {FRIEND} [asked|said quietly]. \"[We|You] [nearly|almost] "
    "[gave up|lost everything] then.\";"
    "{Pf} [smiled|laughed|nodded], [but|and] {he} [did not|didn't] [answer|reply] [at once|straight away].;"
    "[Then|Soon] [came|followed] {ev_new}, [which|and it] [tested|changed] [them all|the whole village] "
    "[in ways|more than] [nobody|no one] [expected|had foreseen].;"
    "[Still|Even so], [the|their] {N} [held|survived], and [by|before] {month} [the|their] [plans|hopes] "
    "[had grown|were growing] [again|once more].;"
    "[Therefore|For that reason|So], {Pf} and {FRIEND} [agreed|decided] to {V} {the_N} [together|side by "
    "side], [as|just as] they had [done|planned] [before|from the start].;"
    "[Meanwhile|At the same time], [people|neighbours] in {town} [began|started] to [ask|talk] about "
    "[the|their] {N} [again|once more], [and|although] [few|not many] [understood|knew] [why|what] it "
    "[mattered|meant] to {him}.;"
    "[In|By] [the end|the spring], [what|the thing that] had [begun|started] [with|as] {ev_first} "
    "[had become|was now] [something larger|a shared project].")
EVENTS_EN = split_list(  # "full phrase=short reference=short reference"
    "the winter the river froze=the freeze=that frozen winter;the night of the great storm=the storm=that "
    "stormy night;the summer the well ran dry=the drought=that dry summer;the day the old bridge collapsed="
    "the collapse=the fall of the bridge;the autumn of the ruined harvest=the lost harvest=that bad autumn;"
    "the week {FRIEND} went missing=the search=those anxious days;the spring the old letters were found="
    "the letters=that discovery;the morning the inspectors came=the inspection=the inspectors' visit;"
    "the evening of the harvest fair=the fair=that noisy evening;the year the mill closed=the closure="
    "the mill's last year;the flood in {month}=the flood=the high water;the long wet summer=the rains="
    "that soggy season")
NARR_EN = split_list(
    "{Pf} {Ved} the {ADJ} {N} [while|as|whereas] {FRIEND} {Ved} {the_N}.;"
    "On {a_GEN} {month} [morning|afternoon|evening], {Pf} {Ved} {the_N} [beside|behind|near] the {N}.;"
    "{FRIEND} {Ved} {a_N}, {Ved} {the_N}, and [finally|then|later] {Ved} {the_N}.;"
    "The {N} looked {ADJ}, the {N} [seemed|felt|was] {ADJ}, and {Pf} {Ved} [them both|each of them].;"
    "{He} {Ved} {the_N} [twice|again|early], then {Ved} {the_N} [near|outside|beyond] {town}.;"
    "By {month}, {Pf} had {Ved} {numw} {Ns} and {Ved} {numw} more.;"
    "{FRIEND} [brought|found|borrowed] {a_ADJ} {N}, [while|and] {Pf} [brought|found|fetched] {a_ADJ} {N}.;"
    "{His} {N} was {ADJ}, so {he} {Ved} {the_N} with {ABS}.;"
    "[Neither {Pf} nor {FRIEND}|Nobody in {town}|Not even {FRIEND}] {Ved} {the_N} [before|until|after] {month}.;"
    "{Pf} {Ved} {the_N}, {FRIEND} {Ved} {the_N}, and [{town} watched|the neighbours looked on|nobody "
    "objected|the day passed slowly].;"
    "[Near|Outside|Beyond|Above] [{town}|the village|the old road], {a_N} and {a_N} [stood|waited|lay] {ADJ} "
    "under {GEN} skies.;"
    "{He} [carried|dragged|wheeled] {the_N} past {the_N} [towards|into|onto] {the_N}.;"
    "[With|Without] {ABS}, {FRIEND} {Ved} {numw} {Ns} [in|within|over] {numw} days.;"
    "{Pf} [wrote|noted|jotted] in {his} [notebook|diary|ledger] that {the_N} [was|had become|remained] {ADJ}.")
STORY_ZH = split_list(
    "[多年以后|很久以后]，{Pn}[回想起来|说起]，{ev_old}[改变了|决定了][之后的一切|整件事的走向]。;"
    "[因为|自从]{ev_old}，{ta}[再也没有|从此不再][轻易|随便]相信{N}，[总要|每次都]先[检查|试]上[两遍|一遍]。;"
    "[正如|就像]{ta}在{ev_old}时[担心|预料]的那样，[事情|麻烦][还远没有|并没有][结束|过去]。;"
    "[不过|然而]，[这一次|今年春天]{Pn}[已经|显然][准备得更充分|成熟了许多]，因为{ta}[始终|一直]记得{ev_old}。;"
    "[最早|当初][提议|坚持][在|赶在]{ev_new}之前{V}{N}的，[正是|就是]{FRIEND}。;"
    "“你还记得{ev_old}吗？”{FRIEND}[问|轻声说]，“[那时候|那次]我们[差点|几乎][就放弃了|失去了一切]。”;"
    "{Pn}[笑了笑|点了点头]，[却|但][没有|并没有][马上|立刻][回答|接话]。;"
    "[接着|随后]便是{ev_new}，[这件事|它][考验|改变]了[所有人|整个镇子]，[远远超出|完全出乎]了[大家的|众人的][预料|想象]。;"
    "[尽管如此|即便这样]，[他们的|那个]{N}[还是|终究][保住了|挺了过来]，到了{month}，[大家的|他们的][计划|希望][又|重新][燃起来了|多了起来]。;"
    "[于是|所以]，{Pn}和{FRIEND}[商量好|决定][一起|并肩]{V}{N}，[就像|正如]他们[当初|从一开始][约定|计划]的那样。;"
    "[与此同时|同一时间]，{town}的[街坊|乡亲们][又|重新][议论起|谈起]了{N}，[虽然|可是][很少有人|没几个人][明白|知道]它对{Pn}[意味着什么|为什么重要]。;"
    "[到了|等到][年底|第二年春天]，[当初|最初][由|从]{ev_first}[开始|引起]的[事情|那件小事]，[已经|早已][变成了|成了][一件更大的事|大家共同的事业]。")
EVENTS_ZH = split_list(
    "河面结冰的那个冬天=那次冰冻=那年冬天;第一场大暴雨的那一夜=那场暴雨=那个雨夜;水井干涸的那个夏天=那场旱情=那个干旱的夏天;"
    "老石桥坍塌的那一天=石桥坍塌=那次塌桥;歉收的那个秋天=那次歉收=那年秋天;{FRIEND}失踪的那一周=那次寻人=那几天;"
    "发现旧信件的那个春天=那些旧信=那次发现;检查组来的那个早晨=那次检查=检查组的来访;庙会的那个晚上=那次庙会=那个热闹的晚上;"
    "磨坊关门的那一年=磨坊关门=磨坊最后的日子;{month}的那场洪水=那场洪水=那次涨水;那个漫长的雨季=那些雨=那个潮湿的季节")
NARR_ZH = split_list(
    "{Pn}{V}着{ADJ}的{N}，{FRIEND}则在一旁{V}{N}。;"
    "{month}的一个早晨，{Pn}在{N}旁边{V}了{N}。;"
    "{FRIEND}先{V}了{N}，又{V}了{N}，最后才去{V}{N}。;"
    "{N}显得{ADJ}，{N}也有些{ADJ}，{Pn}把它们都{V}了一遍。;"
    "{ta}{V}了两次{N}，然后在{town}附近{V}{N}。;"
    "到了{month}，{Pn}已经{V}了{numc}个{N}，还要再{V}{numc}个。;"
    "{FRIEND}带来了{ADJ}的{N}，{Pn}带来了{ADJ}的{N}。;"
    "{ta}的{N}有点{ADJ}，于是{ta}靠着{ABS}{V}{N}。;"
    "{Pn}{V}{N}，{FRIEND}{V}{N}，{town}的人都在看着。;"
    "在{town}，{ADJ}的{N}和{ADJ}的{N}静静地立在那里。")


class _StoryFill:
    """Wraps a topic Writer so {P} always names one of the story's characters (coherent references)."""

    def __init__(self, w, rng: random.Random, lang: str):
        self.w, self.rng, self.lang = w, rng, lang
        self.cast = []
        for _ in range(2):
            w.new_person()
            self.cast.append(w.person)
        self.hero = self.cast[0]
        w.person = self.hero

        def cast_member() -> str:  # body templates' {P} now names a story character, never a stranger
            self.w.person = self.cast[0] if rng.random() < 0.75 else self.cast[1]
            return self.w.person[0]
        w.new_person = cast_member
        self.town = rng.choice(en.PLACES[:20] if lang == "en" else zh.PLACES[:20])
        self.events: list[str] = []
        self.current = ""

    def fill(self, slot: str) -> str:
        w = self.w
        if slot == "FRIEND":
            return self.cast[1][0] if self.lang == "zh" else self.cast[1][1]
        if slot == "town":
            return self.town
        if slot in ("PL",):
            return self.town if self.rng.random() < 0.6 else w.fill("PL")
        if slot == "ev_old":
            forms = self.rng.choice(self.events[:-1] or self.events or [["that first year"]])
            return forms[0] if self.rng.random() < 0.3 else self.rng.choice(forms[1:] or forms)
        if slot == "ev_first":
            forms = self.events[0] if self.events else ["that first year"]
            return self.rng.choice(forms)
        if slot == "ev_new":
            return self.current[0] if self.rng.random() < 0.5 else self.rng.choice(self.current)
        if slot == "a_GEN":
            g = w.fill("GEN")
            return ("an " if g[0] in "aeiou" else "a ") + g
        return w.fill(slot)


CONN_SHORT_EN = split_list("However,;Meanwhile,;Still,;Later,;Afterwards,;Eventually,;Instead,;Besides,;"
                           "Moreover,;Nevertheless,;Consequently,;Similarly,;Naturally,;Admittedly,;Soon,;"
                           "Then,;Nonetheless,;Yet;Unfortunately,;Luckily,")
CONN_SHORT_ZH = split_list("不过，;后来，;于是，;然而，;其实，;接着，;同时，;所以，;当然，;最后，;果然，;偏偏，;"
                           "好在，;可惜，;而且，;原来，")


def long_story(rng: random.Random, lang: str, min_bytes: int = 42000) -> dict:
    """A coherent long document: chapters about the same people and place that refer back to earlier events.

    Chapters move between a few related topics (wider vocabulary), the cast never changes, and callbacks
    name earlier chapters' events by full phrase or short reference, with pronouns and connectives.
    """
    names = en.TOPIC_NAMES if lang == "en" else zh.TOPIC_NAMES
    topics = rng.sample(names, 3)

    def writer(topic):
        w = _en_writer(rng, topic) if lang == "en" else _zh_writer(rng, topic)
        w.d["conn"] = Deck(CONN_SHORT_EN if lang == "en" else CONN_SHORT_ZH, rng)
        return w

    w = writer(topics[0])
    sf = _StoryFill(w, rng, lang)
    patched_new_person = w.new_person
    story_deck = Deck(STORY_EN if lang == "en" else STORY_ZH, rng)
    narr_deck = Deck(NARR_EN if lang == "en" else NARR_ZH, rng)
    event_deck = Deck(EVENTS_EN if lang == "en" else EVENTS_ZH, rng)
    sep = " " if lang == "en" else ""

    def line(template: str, cap: bool = True) -> str:
        text = expand(template, rng, sf.fill)
        if lang == "en":
            text = re.sub(r"\s+", " ", text).strip()
            text = re.sub(r" ([,.;:])", r"\1", text)
            return text[:1].upper() + text[1:] if cap else text
        return re.sub(r"\s+", "", text)

    paragraphs, headings, size, chapter = [], {}, 0, 0
    while size < min_bytes:
        chapter += 1
        if chapter > 1:  # same people, next subject
            w = writer(topics[(chapter - 1) % len(topics)])
            w.person, w.new_person = sf.hero, patched_new_person
            sf.w = w
        sf.current = [line(x, cap=False) for x in event_deck.draw().split("=")]
        head = sf.current[0]
        headings[len(paragraphs)] = (f"Chapter {chapter}: {head[:1].upper() + head[1:]}" if lang == "en"
                                     else f"第{chapter}章　{head}")
        for _ in range(rng.randint(4, 6) if lang == "en" else rng.randint(6, 8)):
            sents = []
            for k in range(rng.randint(4, 7)):
                r = rng.random()
                w.person = sf.hero if rng.random() < 0.7 else sf.cast[1]
                if r < 0.12 and (sf.events or k):
                    sents.append(line(story_deck.draw()))
                elif r < 0.68:
                    w.person = sf.hero
                    sents.append(line(narr_deck.draw()))
                else:
                    sents.append(w.sentence("body", connective=0.2))
            para = sep.join(sents)
            paragraphs.append(para)
            size += len(para.encode("utf-8")) + 1
        sf.events.append(sf.current)
    title = (f"{sf.town}: {w.title()}" if lang == "en" else f"{sf.town}往事：{w.title()}")
    return {"title": title, "topic": "+".join(topics), "paragraphs": paragraphs, "headings": headings,
            "language": lang}


def long_incoherent(rng: random.Random, lang: str, min_bytes: int = 42000) -> dict:
    """An incoherent long document: unrelated fragments, log dumps and number tables glued together."""
    paragraphs, size = [], 0
    prose_share = 0.45 if lang == "en" else 0.75  # keeps the Chinese dump mostly Chinese for language id
    while size < min_bytes:
        r = rng.random()
        kind = "prose" if r < prose_share else "log" if r < prose_share + (1 - prose_share) * 0.55 else "table"
        if len(paragraphs) < 3:  # every kind at least once
            kind = ("prose", "log", "table")[len(paragraphs)]
        if kind == "prose":
            w = _en_writer(rng) if lang == "en" else _zh_writer(rng)
            sents = [w.sentence("body") for _ in range(rng.randint(2, 4) if lang == "en" else rng.randint(6, 10))]
            if rng.random() < 0.5:
                cut = sents[-1][: max(8, len(sents[-1]) // 2)]
                sents[-1] = cut
            para = (" " if lang == "en" else "").join(sents)
        elif kind == "log":
            level = ("INFO", "WARN", "DEBUG", "ERROR")
            para = "\n".join(
                f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)} {rng.randint(10, 23)}:{rng.randint(10, 59)}:"
                f"{rng.randint(10, 59)}.{rng.randint(100, 999)} {rng.choice(level)} [worker-{rng.randint(1, 16)}] "
                f"req={rng.getrandbits(40):010x} status={rng.choice((200, 200, 200, 304, 404, 500))} "
                f"latency_ms={rng.randint(2, 2400)} bytes={rng.randint(100, 900000)}"
                for _ in range(rng.randint(8, 20)))
        else:
            para = "\n".join(" | ".join(str(rng.randint(0, 99999)) for _ in range(8))
                             for _ in range(rng.randint(8, 20)))
        paragraphs.append(para)
        size += len(para.encode("utf-8")) + 1
    title = "dump_export_" + str(rng.randint(1000, 9999)) if lang == "en" else "数据导出_" + str(rng.randint(1000, 9999))
    return {"title": title, "topic": "mixed", "paragraphs": paragraphs, "headings": {}, "language": lang}


# ------------------------------------------------------------------------------------------ other languages
OTHER_LANG = {
    "fr": [
        "La boulangerie du quartier ouvre ses portes à six heures du matin, bien avant le lever du soleil.",
        "Depuis vingt ans, Madame Lefèvre prépare le pain avec la même farine et le même levain.",
        "Les habitants disent que ses croissants sont les meilleurs de toute la vallée.",
        "Pourtant, le métier a beaucoup changé et les jeunes boulangers sont de plus en plus rares.",
        "Elle forme aujourd'hui deux apprentis qui viennent chaque semaine apprendre les gestes du métier.",
        "Le samedi, la file d'attente s'allonge jusqu'au coin de la rue et personne ne semble pressé.",
        "Selon la mairie, la boutique fait partie de l'identité du village depuis plus d'un siècle.",
        "Les touristes qui passent en été repartent souvent avec une baguette et une adresse à recommander.",
        "Le vélo est devenu le moyen de transport préféré de nombreux habitants de Strasbourg.",
        "La ville a construit plus de six cents kilomètres de pistes cyclables au cours des dernières décennies.",
        "Les parents emmènent leurs enfants à l'école à vélo, même quand il pleut en hiver.",
        "Les commerçants craignaient de perdre des clients, mais leurs ventes ont plutôt augmenté.",
        "Un atelier associatif aide chacun à réparer son vélo pour quelques euros seulement.",
        "Les bénévoles y apprennent à changer une chambre à air ou à régler des freins usés.",
        "Pour beaucoup, ce lieu est aussi devenu un endroit où l'on discute et où l'on se rencontre.",
        "La municipalité prévoit maintenant de relier les villages voisins par de nouvelles voies vertes.",
    ],
    "de": [
        "Der kleine Bahnhof am Rand des Dorfes wurde im Jahr neunzehnhundertzwölf eröffnet.",
        "Jahrzehntelang hielten hier täglich mehrere Züge, die Milch und Holz in die Stadt brachten.",
        "Nach der Stilllegung der Strecke stand das Gebäude lange leer und verfiel langsam.",
        "Vor fünf Jahren gründeten einige Nachbarn einen Verein, um den Bahnhof zu retten.",
        "Sie reparierten das Dach, strichen die Fenster und richteten im Wartesaal ein Café ein.",
        "Heute treffen sich dort am Wochenende Wanderer, Radfahrer und Familien aus der Umgebung.",
        "Die alten Fahrpläne hängen noch an der Wand und erinnern an eine vergangene Zeit.",
        "Der Verein hofft, dass eines Tages wieder ein Zug an diesem Bahnsteig halten wird.",
        "Im Frühjahr beginnt für die Imker in der Region die arbeitsreichste Zeit des Jahres.",
        "Die Bienenvölker müssen nach dem Winter kontrolliert und bei Bedarf gefüttert werden.",
        "Viele Hobbyimker haben erst in den letzten Jahren mit der Bienenhaltung angefangen.",
        "Sie lernen in Kursen, wie man die Völker gesund hält und den Honig richtig erntet.",
        "Ein erfahrener Imker erklärt, dass Geduld und Ruhe bei der Arbeit am wichtigsten sind.",
        "Besonders wichtig ist auch, dass in der Nähe genügend blühende Pflanzen wachsen.",
        "Deshalb säen viele Gemeinden inzwischen Blühstreifen entlang der Feldwege aus.",
        "Der Honig aus der Gegend wird auf dem Wochenmarkt verkauft und ist meist schnell vergriffen.",
    ],
}
OTHER_TITLES = {"fr": ["La boulangerie du village", "Strasbourg à vélo"],
                "de": ["Der alte Bahnhof", "Frühling bei den Imkern"]}


def other_language_article(lang: str, index: int) -> dict:
    """A short hand-written article in fr or de; index 0/1 picks disjoint halves so pages never overlap."""
    sents = OTHER_LANG[lang][8 * (index % 2): 8 * (index % 2) + 8]
    paragraphs = [" ".join(sents[0:3]), " ".join(sents[3:6]), " ".join(sents[6:8])]
    return {"title": OTHER_TITLES[lang][index % 2], "topic": "other-language", "paragraphs": paragraphs,
            "headings": {}, "language": lang}


# ---- contact details (personal data the pii stage finds) -------------------------------------------
def contact_paragraph(rng: random.Random, lang: str, host: str, people: int) -> str:
    """A paragraph naming `people` contacts, each with an e-mail address at the site's domain and a phone
    number (UK drama-range +44 20 7946 0xxx numbers in English; Chinese mobile numbers in Chinese)."""
    domain = host.split(".", 1)[1] if host.split(".")[0] in ("www", "blog", "news", "bbs") else host
    parts = []
    for i in range(people):
        if lang == "zh":
            person = _zh_writer(rng).new_person()
            phone = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
            parts.append(f"{person}（手机{phone}，邮箱 contact{i + 1}{rng.randint(10, 99)}@{domain}）")
        else:
            person = _en_writer(rng).new_person()
            user = ".".join(person.lower().split())
            parts.append(f"{person} ({user}@{domain}, +44 20 7946 0{rng.randint(100, 999)})")
    if lang == "zh":
        return "如需报名或咨询，请联系" + "、".join(parts) + "。"
    return ("For tickets and questions, please contact " + ", ".join(parts[:-1]) + (" or " if people > 1 else "")
            + parts[-1] + ".")
