"""Language-aware text units (words, lines, sentences) for the rule signals.

Three word splitters, chosen per language profile:

- ``latin``: whitespace chunks split into words and punctuation tokens with prefix / suffix / infix
  rules modelled on spaCy's English tokenizer (the tokenizer datatrove's Gopher and FineWeb filters
  use), so word counts, mean word length and n-grams agree with datatrove's. Pure Python + ``re``
  with a per-process cache of chunk splits: natural text is Zipfian, so most chunks are cache hits.
- ``jieba``: Chinese word segmentation (jieba, loaded once per process), whitespace dropped.
- ``chars``: Japanese (or any unsegmented script) in character units: every CJK / kana character
  is a word, runs of other letters and digits are words, punctuation characters are tokens.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

# ---- character classes ---------------------------------------------------------------------------

# Characters that make a token a "symbol" (no real word): ASCII punctuation, typographic and CJK
# punctuation, and control characters. Matches the set datatrove uses for "non-symbol words".
PUNCTUATION_CHARS = frozenset(
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    "﹗﹒﹖‽⁈⁉｡።፧܂؞؟"
    + "".join(map(chr, [*range(0, 9), *range(11, 13), *range(13, 32), *range(127, 160)]))
)

# Sentence-final punctuation (a line "ends in terminal punctuation" when it ends with one of these).
TERMINAL_PUNCTUATION = frozenset(".!?。！？．﹒﹗﹖｡‽⁈⁉‼⁇։؟۔܂।॥።፧᙮")

# Characters after which the spaCy sentencizer starts a new sentence (at the next non-punct token).
SENTENCE_PUNCT = frozenset("!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡。")

_PREFIX_CHARS = set("؟،۔؛٪।§%=—–([{<>_#*&,:;!?¿¡。？！，、；：～·)]}'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉$£€¥฿₽₴₩₪₫₹₺₿…")
_SUFFIX_CHARS = set("؟،۔؛٪।,:;!?¿¡()[]{}<>_#*&。？！，、；：～·'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉…—–")
_CURRENCY = set("$£€¥฿₽₴₩₪₫₹₺₿")
_QUOTES = set("'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉")
_PUNCT_FOR_PERIOD = set(",:;!?¿¡()[]{}<>_#*&。？！，、；：～·%²-+") | _QUOTES
_UNITS = tuple(
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh "
    "mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² мм³ "
    "нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тб".split()
)
_HYPHENS = ("---", "--", "——", "-", "–", "—", "~")
_POSSESSIVE_SUFFIXES = ("'s", "'S", "’s", "’S")
# URLs, e-mail addresses and domain names stay one token (top-level label: 2+ lower-case letters).
_URL = re.compile(
    r"(?:[\w+.-]{2,}://)?(?:\S+(?::\S*)?@)?"
    r"(?:(?:[^\W_](?:[\w-]{0,62}[^\W_])?|[^\W_])\.)+[a-zß-öø-ÿа-яα-ω][a-zß-öø-ÿа-яα-ω]{1,62}"
    r"(?::\d{2,5})?(?:[/?#]\S*)?$"
)
_PLAIN = re.compile(r"(?:[^\W\d_]+|\d+)$")   # only letters or only digits: one token, no rule applies

# Chunks with a fixed split (see _EXCEPTIONS_DATA at the end of this module).
_EXCEPTIONS: dict[str, tuple[str, ...]] = {}


def _is_lower(c: str) -> bool:
    return c.islower() or (c.isalpha() and not c.isupper())


def _is_upper(c: str) -> bool:
    return c.isupper() or (c.isalpha() and not c.islower())


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_icon(c: str) -> bool:
    return unicodedata.category(c) == "So"


def _prefix_len(s: str) -> int:
    if s.startswith(".."):
        n = 2
        while n < len(s) and s[n] == ".":
            n += 1
        return n
    c = s[0]
    if c == "+":
        return 0 if len(s) > 1 and _digit(s[1]) else 1
    if c in _PREFIX_CHARS or _is_icon(c):
        return 1
    if s.startswith(("US$", "C$", "A$")):
        return 3 if s[0] == "U" else 2
    return 0


def _suffix_len(s: str) -> int:
    n = len(s)
    if s.endswith(".."):
        k = 2
        while k < n and s[n - k - 1] == ".":
            k += 1
        return k
    for suf in _POSSESSIVE_SUFFIXES:
        if s.endswith(suf) and n > len(suf):
            return len(suf)
    c = s[-1]
    if c in _SUFFIX_CHARS or _is_icon(c):
        return 1
    if n > 1 and _digit(s[-2]):
        if c == "+" or c in _CURRENCY:
            return 1
    best = 0
    for u in _UNITS:
        if len(u) > best and s.endswith(u) and n > len(u) and _digit(s[n - len(u) - 1]):
            best = len(u)
    if best:
        return best
    if c == "." and n > 1:
        p = s[-2]
        if _digit(p) or _is_lower(p) or p in _PUNCT_FOR_PERIOD:
            return 1
        if n > 2 and _is_upper(p) and _is_upper(s[-3]):
            return 1
    return 0


def _split_infixes(s: str) -> list[str]:
    out: list[str] = []
    start = 0
    i = 1
    n = len(s)
    while i < n - 1 or (i < n and (s[i] == "…" or _is_icon(s[i]))):
        c = s[i]
        k = 0
        prev, nxt = s[i - 1], (s[i + 1] if i + 1 < n else "")
        if c == "." and nxt == ".":
            k = 2
            while i + k < n and s[i + k] == ".":
                k += 1
        elif c == "…" or _is_icon(c):
            k = 1
        elif c in "+-*^" and _digit(prev) and (_digit(nxt) or nxt == "-"):
            k = 1
        elif c == "." and (_is_lower(prev) or prev in _QUOTES) and (_is_upper(nxt) or nxt in _QUOTES):
            k = 1
        elif c == "," and prev.isalpha() and nxt.isalpha():
            k = 1
        elif c in ":<>=/" and (prev.isalpha() or _digit(prev)) and nxt.isalpha():
            k = 1
        elif c in "-–—~" and (prev.isalpha() or _digit(prev)):
            for h in _HYPHENS:
                if s.startswith(h, i) and i + len(h) < n and s[i + len(h)].isalpha():
                    k = len(h)
                    break
        if k:
            if i > start:
                out.append(s[start:i])
            out.append(s[i:i + k])
            start = i + k
            i = start + 1 if start < n else start
            continue
        i += 1
    if start < n:
        out.append(s[start:])
    return out


def _split_chunk_uncached(chunk: str) -> tuple[str, ...]:
    if chunk in _EXCEPTIONS:
        return _EXCEPTIONS[chunk]
    if _PLAIN.match(chunk):
        return (chunk,)
    prefixes: list[str] = []
    suffixes: list[str] = []
    s = chunk
    while s:
        if s in _EXCEPTIONS:
            break
        before = len(s)
        p = _prefix_len(s)
        if p:
            prefixes.append(s[:p])
            s = s[p:]
            if s in _EXCEPTIONS:
                break
        if s:
            q = _suffix_len(s)
            if q and q <= len(s):
                suffixes.append(s[len(s) - q:])
                s = s[: len(s) - q]
        if len(s) == before:
            break
    middle: list[str] = []
    if s:
        if s in _EXCEPTIONS:
            middle = list(_EXCEPTIONS[s])
        elif _URL.match(s) or _PLAIN.match(s):
            middle = [s]
        else:
            middle = _split_infixes(s)
    return _merge_exceptions(prefixes + middle + suffixes[::-1])


def _merge_exceptions(toks: list[str]) -> tuple[str, ...]:
    """Re-join adjacent tokens that together spell an exception (``z`` ``.`` -> ``z.``; ``)`` ``:`` -> ``):``)."""
    n = len(toks)
    if n < 2:
        return tuple(toks)
    out: list[str] = []
    i = 0
    while i < n:
        for j in range(min(n, i + 6), i + 1, -1):
            cand = "".join(toks[i:j])
            if cand in _EXCEPTIONS:
                out.extend(_EXCEPTIONS[cand])
                i = j
                break
        else:
            out.append(toks[i])
            i += 1
    return tuple(out)


_CHUNK_CACHE: dict[str, tuple[str, ...]] = {}
_CHUNK_CACHE_MAX = 500_000


def split_chunk(chunk: str) -> tuple[str, ...]:
    """Tokens of one whitespace-free chunk (cached per process)."""
    t = _CHUNK_CACHE.get(chunk)
    if t is None:
        t = _split_chunk_uncached(chunk)
        if len(_CHUNK_CACHE) >= _CHUNK_CACHE_MAX:
            _CHUNK_CACHE.clear()
        if len(chunk) <= 64:
            _CHUNK_CACHE[chunk] = t
    return t


def words_latin(text: str) -> list[str]:
    """Words and punctuation tokens of space-delimited text (spaCy-English-like rules)."""
    chunks = text.split()
    toks = list(map(_CHUNK_CACHE.get, chunks))
    if None in toks:
        toks = [t if t is not None else split_chunk(c) for t, c in zip(toks, chunks)]
    return list(chain.from_iterable(toks))


# ---- Chinese: jieba ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words_jieba(text: str) -> list[str]:
    """Chinese words by jieba (precise mode, HMM for unknown words); whitespace tokens dropped."""
    return [w for w in (t.strip() for t in _jieba().lcut(text, HMM=True)) if w]


# ---- Japanese and other unsegmented scripts: character units ------------------------------------

_CHAR_UNITS = re.compile(
    r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f]"
    r"|[^\W_\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+"
    r"|[^\w\s]"
)


def words_chars(text: str) -> list[str]:
    """One token per CJK/kana character, per run of other letters/digits, per punctuation char."""
    return _CHAR_UNITS.findall(text)


SPLITTERS = {"latin": words_latin, "jieba": words_jieba, "chars": words_chars}


def word_splitter(name: str):
    try:
        return SPLITTERS[name]
    except KeyError:
        raise ValueError(f"unknown word splitter {name!r} (known: {', '.join(SPLITTERS)})") from None


def is_symbol_token(tok: str) -> bool:
    """True when every character is punctuation/control (the token is no real word)."""
    return all(ch in PUNCTUATION_CHARS for ch in tok)


def is_punct_token(tok: str) -> bool:
    """Unicode punctuation only (spaCy's is_punct)."""
    return all(unicodedata.category(ch).startswith("P") for ch in tok)


def count_sentences(tokens: list[str]) -> int:
    """Sentences in one line of tokens, the way spaCy's rule-based sentencizer splits them.

    A new sentence starts at the first non-punctuation token after a sentence-final character token.
    """
    if not tokens:
        return 0
    n = 1
    seen = False
    for t in tokens:
        if seen and not (t in SENTENCE_PUNCT or is_punct_token(t)):
            n += 1
            seen = False
        elif t in SENTENCE_PUNCT:
            seen = True
    return n


# Chunks with a fixed split: "chunk<TAB>token token ..." (contractions, abbreviations, emoticons),
# the exceptions of spaCy's English tokenizer (MIT) that its affix rules would not reproduce.
_EXCEPTIONS_DATA = r"""
''	''
'Cause	'Cause
'Cos	'Cos
'Coz	'Coz
'Cuz	'Cuz
'S	'S
'bout	'bout
'cause	'cause
'cos	'cos
'coz	'coz
'cuz	'cuz
'd	'd
'em	'em
'll	'll
'nuff	'nuff
're	're
's	's
(*_*)	(*_*)
(-8	(-8
(-:	(-:
(-;	(-;
(-_-)	(-_-)
(._.)	(._.)
(:	(:
(;	(;
(=	(=
(>_<)	(>_<)
(^_^)	(^_^)
(o:	(o:
(¬_¬)	(¬_¬)
(ಠ_ಠ)	(ಠ_ಠ)
(╯°□°）╯︵┻━┻	(╯°□°）╯︵┻━┻
)-:	)-:
):	):
._.	._.
10a.m.	10 a.m.
10am	10 am
10p.m.	10 p.m.
10pm	10 pm
11a.m.	11 a.m.
11am	11 am
11p.m.	11 p.m.
11pm	11 pm
12a.m.	12 a.m.
12am	12 am
12p.m.	12 p.m.
12pm	12 pm
1a.m.	1 a.m.
1am	1 am
1p.m.	1 p.m.
1pm	1 pm
2a.m.	2 a.m.
2am	2 am
2p.m.	2 p.m.
2pm	2 pm
3a.m.	3 a.m.
3am	3 am
3p.m.	3 p.m.
3pm	3 pm
4a.m.	4 a.m.
4am	4 am
4p.m.	4 p.m.
4pm	4 pm
5a.m.	5 a.m.
5am	5 am
5p.m.	5 p.m.
5pm	5 pm
6a.m.	6 a.m.
6am	6 am
6p.m.	6 p.m.
6pm	6 pm
7a.m.	7 a.m.
7am	7 am
7p.m.	7 p.m.
7pm	7 pm
8)	8)
8-)	8-)
8-D	8-D
8a.m.	8 a.m.
8am	8 am
8p.m.	8 p.m.
8pm	8 pm
9a.m.	9 a.m.
9am	9 am
9p.m.	9 p.m.
9pm	9 pm
:'(	:'(
:')	:')
:'-(	:'-(
:'-)	:'-)
:(	:(
:((	:((
:(((	:(((
:()	:()
:)	:)
:))	:))
:)))	:)))
:*	:*
:-(	:-(
:-((	:-((
:-(((	:-(((
:-)	:-)
:-))	:-))
:-)))	:-)))
:-*	:-*
:-/	:-/
:-0	:-0
:-3	:-3
:->	:->
:-D	:-D
:-O	:-O
:-P	:-P
:-X	:-X
:-]	:-]
:-o	:-o
:-p	:-p
:-x	:-x
:-|	:-|
:-}	:-}
:/	:/
:0	:0
:1	:1
:3	:3
:>	:>
:D	:D
:O	:O
:P	:P
:X	:X
:]	:]
:o	:o
:o)	:o)
:p	:p
:x	:x
:|	:|
:}	:}
:’(	:’(
:’)	:’)
:’-(	:’-(
:’-)	:’-)
;)	;)
;-)	;-)
;-D	;-D
;D	;D
;_;	;_;
<.<	<.<
</3	</3
<3	<3
<33	<33
<333	<333
<space>	<space>
=(	=(
=)	=)
=/	=/
=3	=3
=D	=D
=[	=[
=]	=]
=|	=|
>.<	>.<
>.>	>.>
>:(	>:(
>:o	>:o
><(((*>	><(((*>
Adm.	Adm.
Ain't	Ai n't
Aint	Ai nt
Ain’t	Ai n’t
Ak.	Ak.
Ala.	Ala.
Apr.	Apr.
Aren't	Are n't
Arent	Are nt
Aren’t	Are n’t
Ariz.	Ariz.
Ark.	Ark.
Aug.	Aug.
Bros.	Bros.
C'mon	C'm on
Calif.	Calif.
Can't	Ca n't
Can't've	Ca n't 've
Cannot	Can not
Cant	Ca nt
Cantve	Ca nt ve
Can’t	Ca n’t
Can’t’ve	Ca n’t ’ve
Co.	Co.
Colo.	Colo.
Conn.	Conn.
Corp.	Corp.
Could've	Could 've
Couldn't	Could n't
Couldn't've	Could n't 've
Couldnt	Could nt
Couldntve	Could nt ve
Couldn’t	Could n’t
Couldn’t’ve	Could n’t ’ve
Couldve	Could ve
Could’ve	Could ’ve
C’mon	C’m on
Daren't	Dare n't
Darent	Dare nt
Daren’t	Dare n’t
Dec.	Dec.
Del.	Del.
Didn't	Did n't
Didn't've	Did n't 've
Didnt	Did nt
Didntve	Did nt ve
Didn’t	Did n’t
Didn’t’ve	Did n’t ’ve
Doesn't	Does n't
Doesn't've	Does n't 've
Doesnt	Does nt
Doesntve	Does nt ve
Doesn’t	Does n’t
Doesn’t’ve	Does n’t ’ve
Doin'	Doin'
Doin’	Doin’
Don't	Do n't
Don't've	Do n't 've
Dont	Do nt
Dontve	Do nt ve
Don’t	Do n’t
Don’t’ve	Do n’t ’ve
Dr.	Dr.
E.g.	E.g.
Feb.	Feb.
Fla.	Fla.
Ga.	Ga.
Gen.	Gen.
Goin'	Goin'
Goin’	Goin’
Gonna	Gon na
Gotta	Got ta
Gov.	Gov.
Hadn't	Had n't
Hadn't've	Had n't 've
Hadnt	Had nt
Hadntve	Had nt ve
Hadn’t	Had n’t
Hadn’t’ve	Had n’t ’ve
Hasn't	Has n't
Hasnt	Has nt
Hasn’t	Has n’t
Haven't	Have n't
Havent	Have nt
Haven’t	Have n’t
Havin'	Havin'
Havin’	Havin’
He'd	He 'd
He'd've	He 'd 've
He'll	He 'll
He'll've	He 'll 've
Hed	He d
Hedve	He d ve
Hellve	He ll ve
Hes	He s
He’d	He ’d
He’d’ve	He ’d ’ve
He’ll	He ’ll
He’ll’ve	He ’ll ’ve
How'd	How 'd
How'd've	How 'd 've
How'd'y	How 'd 'y
How'll	How 'll
How'll've	How 'll 've
How're	How 're
How've	How 've
Howd	How d
Howdve	How d ve
Howll	How ll
Howllve	How ll ve
Howre	How re
Hows	How s
Howve	How ve
How’d	How ’d
How’d’ve	How ’d ’ve
How’d’y	How ’d ’y
How’ll	How ’ll
How’ll’ve	How ’ll ’ve
How’re	How ’re
How’ve	How ’ve
I'd	I 'd
I'd've	I 'd 've
I'll	I 'll
I'll've	I 'll 've
I'm	I 'm
I'ma	I 'm a
I've	I 've
I.e.	I.e.
Ia.	Ia.
Id	I d
Id.	Id.
Idve	I d ve
Ill.	Ill.
Illve	I ll ve
Im	I m
Ima	I m a
Inc.	Inc.
Ind.	Ind.
Isn't	Is n't
Isnt	Is nt
Isn’t	Is n’t
It'd	It 'd
It'd've	It 'd 've
It'll	It 'll
It'll've	It 'll 've
Itd	It d
Itdve	It d ve
Itll	It ll
Itllve	It ll ve
It’d	It ’d
It’d’ve	It ’d ’ve
It’ll	It ’ll
It’ll’ve	It ’ll ’ve
Ive	I ve
I’d	I ’d
I’d’ve	I ’d ’ve
I’ll	I ’ll
I’ll’ve	I ’ll ’ve
I’m	I ’m
I’ma	I ’m a
I’ve	I ’ve
Jan.	Jan.
Jr.	Jr.
Jul.	Jul.
Jun.	Jun.
Kan.	Kan.
Kans.	Kans.
Ky.	Ky.
La.	La.
Lovin'	Lovin'
Lovin’	Lovin’
Ltd.	Ltd.
Mar.	Mar.
Mass.	Mass.
Mayn't	May n't
Mayn't've	May n't 've
Maynt	May nt
Mayntve	May nt ve
Mayn’t	May n’t
Mayn’t’ve	May n’t ’ve
Md.	Md.
Messrs.	Messrs.
Mich.	Mich.
Might've	Might 've
Mightn't	Might n't
Mightn't've	Might n't 've
Mightnt	Might nt
Mightntve	Might nt ve
Mightn’t	Might n’t
Mightn’t’ve	Might n’t ’ve
Mightve	Might ve
Might’ve	Might ’ve
Minn.	Minn.
Miss.	Miss.
Mo.	Mo.
Mont.	Mont.
Mr.	Mr.
Mrs.	Mrs.
Ms.	Ms.
Mt.	Mt.
Must've	Must 've
Mustn't	Must n't
Mustn't've	Must n't 've
Mustnt	Must nt
Mustntve	Must nt ve
Mustn’t	Must n’t
Mustn’t’ve	Must n’t ’ve
Mustve	Must ve
Must’ve	Must ’ve
Neb.	Neb.
Nebr.	Nebr.
Needn't	Need n't
Needn't've	Need n't 've
Neednt	Need nt
Needntve	Need nt ve
Needn’t	Need n’t
Needn’t’ve	Need n’t ’ve
Nev.	Nev.
Not've	Not 've
Nothin'	Nothin'
Nothin’	Nothin’
Notve	Not ve
Not’ve	Not ’ve
Nov.	Nov.
Nuthin'	Nuthin'
Nuthin’	Nuthin’
Oct.	Oct.
Okla.	Okla.
Ol'	Ol'
Ol’	Ol’
Ore.	Ore.
Oughtn't	Ought n't
Oughtn't've	Ought n't 've
Oughtnt	Ought nt
Oughtntve	Ought nt ve
Oughtn’t	Ought n’t
Oughtn’t’ve	Ought n’t ’ve
Pa.	Pa.
Ph.D.	Ph.D.
Prof.	Prof.
Rep.	Rep.
Rev.	Rev.
Sen.	Sen.
Sep.	Sep.
Sept.	Sept.
Shan't	Sha n't
Shan't've	Sha n't 've
Shant	Sha nt
Shantve	Sha nt ve
Shan’t	Sha n’t
Shan’t’ve	Sha n’t ’ve
She'd	She 'd
She'd've	She 'd 've
She'll	She 'll
She'll've	She 'll 've
Shedve	She d ve
Shellve	She ll ve
Shes	She s
She’d	She ’d
She’d’ve	She ’d ’ve
She’ll	She ’ll
She’ll’ve	She ’ll ’ve
Should've	Should 've
Shouldn't	Should n't
Shouldn't've	Should n't 've
Shouldnt	Should nt
Shouldntve	Should nt ve
Shouldn’t	Should n’t
Shouldn’t’ve	Should n’t ’ve
Shouldve	Should ve
Should’ve	Should ’ve
Somethin'	Somethin'
Somethin’	Somethin’
St.	St.
Tenn.	Tenn.
That'd	That 'd
That'd've	That 'd 've
That'll	That 'll
That'll've	That 'll 've
Thatd	That d
Thatdve	That d ve
Thatll	That ll
Thatllve	That ll ve
Thats	That s
That’d	That ’d
That’d’ve	That ’d ’ve
That’ll	That ’ll
That’ll’ve	That ’ll ’ve
There'd	There 'd
There'd've	There 'd 've
There'll	There 'll
There'll've	There 'll 've
There're	There 're
There've	There 've
Thered	There d
Theredve	There d ve
Therell	There ll
Therellve	There ll ve
Therere	There re
Theres	There s
Thereve	There ve
There’d	There ’d
There’d’ve	There ’d ’ve
There’ll	There ’ll
There’ll’ve	There ’ll ’ve
There’re	There ’re
There’ve	There ’ve
These'd	These 'd
These'd've	These 'd 've
These'll	These 'll
These'll've	These 'll 've
These're	These 're
These've	These 've
Thesed	These d
Thesedve	These d ve
Thesell	These ll
Thesellve	These ll ve
Thesere	These re
Theseve	These ve
These’d	These ’d
These’d’ve	These ’d ’ve
These’ll	These ’ll
These’ll’ve	These ’ll ’ve
These’re	These ’re
These’ve	These ’ve
They'd	They 'd
They'd've	They 'd 've
They'll	They 'll
They'll've	They 'll 've
They're	They 're
They've	They 've
Theyd	They d
Theydve	They d ve
Theyll	They ll
Theyllve	They ll ve
Theyre	They re
Theyve	They ve
They’d	They ’d
They’d’ve	They ’d ’ve
They’ll	They ’ll
They’ll’ve	They ’ll ’ve
They’re	They ’re
They’ve	They ’ve
This'd	This 'd
This'd've	This 'd 've
This'll	This 'll
This'll've	This 'll 've
Thisd	This d
Thisdve	This d ve
Thisll	This ll
Thisllve	This ll ve
Thiss	This s
This’d	This ’d
This’d’ve	This ’d ’ve
This’ll	This ’ll
This’ll’ve	This ’ll ’ve
Those'd	Those 'd
Those'd've	Those 'd 've
Those'll	Those 'll
Those'll've	Those 'll 've
Those're	Those 're
Those've	Those 've
Thosed	Those d
Thosedve	Those d ve
Thosell	Those ll
Thosellve	Those ll ve
Thosere	Those re
Thoseve	Those ve
Those’d	Those ’d
Those’d’ve	Those ’d ’ve
Those’ll	Those ’ll
Those’ll’ve	Those ’ll ’ve
Those’re	Those ’re
Those’ve	Those ’ve
Va.	Va.
Wash.	Wash.
Wasn't	Was n't
Wasnt	Was nt
Wasn’t	Was n’t
We'd	We 'd
We'd've	We 'd 've
We'll	We 'll
We'll've	We 'll 've
We're	We 're
We've	We 've
Wed	We d
Wedve	We d ve
Wellve	We ll ve
Weren't	Were n't
Werent	Were nt
Weren’t	Were n’t
Weve	We ve
We’d	We ’d
We’d’ve	We ’d ’ve
We’ll	We ’ll
We’ll’ve	We ’ll ’ve
We’re	We ’re
We’ve	We ’ve
What'd	What 'd
What'd've	What 'd 've
What'll	What 'll
What'll've	What 'll 've
What're	What 're
What've	What 've
Whatd	What d
Whatdve	What d ve
Whatll	What ll
Whatllve	What ll ve
Whatre	What re
Whats	What s
Whatve	What ve
What’d	What ’d
What’d’ve	What ’d ’ve
What’ll	What ’ll
What’ll’ve	What ’ll ’ve
What’re	What ’re
What’ve	What ’ve
When'd	When 'd
When'd've	When 'd 've
When'll	When 'll
When'll've	When 'll 've
When're	When 're
When've	When 've
Whend	When d
Whendve	When d ve
Whenll	When ll
Whenllve	When ll ve
Whenre	When re
Whens	When s
Whenve	When ve
When’d	When ’d
When’d’ve	When ’d ’ve
When’ll	When ’ll
When’ll’ve	When ’ll ’ve
When’re	When ’re
When’ve	When ’ve
Where'd	Where 'd
Where'd've	Where 'd 've
Where'll	Where 'll
Where'll've	Where 'll 've
Where're	Where 're
Where've	Where 've
Whered	Where d
Wheredve	Where d ve
Wherell	Where ll
Wherellve	Where ll ve
Wherere	Where re
Wheres	Where s
Whereve	Where ve
Where’d	Where ’d
Where’d’ve	Where ’d ’ve
Where’ll	Where ’ll
Where’ll’ve	Where ’ll ’ve
Where’re	Where ’re
Where’ve	Where ’ve
Who'd	Who 'd
Who'd've	Who 'd 've
Who'll	Who 'll
Who'll've	Who 'll 've
Who're	Who 're
Who've	Who 've
Whod	Who d
Whodve	Who d ve
Wholl	Who ll
Whollve	Who ll ve
Whos	Who s
Whove	Who ve
Who’d	Who ’d
Who’d’ve	Who ’d ’ve
Who’ll	Who ’ll
Who’ll’ve	Who ’ll ’ve
Who’re	Who ’re
Who’ve	Who ’ve
Why'd	Why 'd
Why'd've	Why 'd 've
Why'll	Why 'll
Why'll've	Why 'll 've
Why're	Why 're
Why've	Why 've
Whyd	Why d
Whydve	Why d ve
Whyll	Why ll
Whyllve	Why ll ve
Whyre	Why re
Whys	Why s
Whyve	Why ve
Why’d	Why ’d
Why’d’ve	Why ’d ’ve
Why’ll	Why ’ll
Why’ll’ve	Why ’ll ’ve
Why’re	Why ’re
Why’ve	Why ’ve
Wis.	Wis.
Won't	Wo n't
Won't've	Wo n't 've
Wont	Wo nt
Wontve	Wo nt ve
Won’t	Wo n’t
Won’t’ve	Wo n’t ’ve
Would've	Would 've
Wouldn't	Would n't
Wouldn't've	Would n't 've
Wouldnt	Would nt
Wouldntve	Would nt ve
Wouldn’t	Would n’t
Wouldn’t’ve	Would n’t ’ve
Wouldve	Would ve
Would’ve	Would ’ve
You'd	You 'd
You'd've	You 'd 've
You'll	You 'll
You'll've	You 'll 've
You're	You 're
You've	You 've
Youd	You d
Youdve	You d ve
Youll	You ll
Youllve	You ll ve
Youre	You re
Youve	You ve
You’d	You ’d
You’d’ve	You ’d ’ve
You’ll	You ’ll
You’ll’ve	You ’ll ’ve
You’re	You ’re
You’ve	You ’ve
[-:	[-:
[:	[:
[=	[=
]=	]=
a.	a.
a.m.	a.m.
ain't	ai n't
aint	ai nt
ain’t	ai n’t
and/or	and/or
aren't	are n't
arent	are nt
aren’t	are n’t
b.	b.
c'mon	c'm on
c.	c.
can't	ca n't
can't've	ca n't 've
cannot	can not
cant	ca nt
cantve	ca nt ve
can’t	ca n’t
can’t’ve	ca n’t ’ve
co.	co.
could've	could 've
couldn't	could n't
couldn't've	could n't 've
couldnt	could nt
couldntve	could nt ve
couldn’t	could n’t
couldn’t’ve	could n’t ’ve
couldve	could ve
could’ve	could ’ve
c’mon	c’m on
d.	d.
daren't	dare n't
darent	dare nt
daren’t	dare n’t
didn't	did n't
didn't've	did n't 've
didnt	did nt
didntve	did nt ve
didn’t	did n’t
didn’t’ve	did n’t ’ve
doesn't	does n't
doesn't've	does n't 've
doesnt	does nt
doesntve	does nt ve
doesn’t	does n’t
doesn’t’ve	does n’t ’ve
doin'	doin'
doin’	doin’
don't	do n't
don't've	do n't 've
dont	do nt
dontve	do nt ve
don’t	do n’t
don’t’ve	do n’t ’ve
e.	e.
e.g.	e.g.
f.	f.
g.	g.
goin'	goin'
goin’	goin’
gonna	gon na
gotta	got ta
h.	h.
hadn't	had n't
hadn't've	had n't 've
hadnt	had nt
hadntve	had nt ve
hadn’t	had n’t
hadn’t’ve	had n’t ’ve
hasn't	has n't
hasnt	has nt
hasn’t	has n’t
haven't	have n't
havent	have nt
haven’t	have n’t
havin'	havin'
havin’	havin’
he'd	he 'd
he'd've	he 'd 've
he'll	he 'll
he'll've	he 'll 've
hed	he d
hedve	he d ve
hellve	he ll ve
hes	he s
he’d	he ’d
he’d’ve	he ’d ’ve
he’ll	he ’ll
he’ll’ve	he ’ll ’ve
how'd	how 'd
how'd've	how 'd 've
how'd'y	how 'd 'y
how'll	how 'll
how'll've	how 'll 've
how're	how 're
how've	how 've
howd	how d
howdve	how d ve
howll	how ll
howllve	how ll ve
howre	how re
hows	how s
howve	how ve
how’d	how ’d
how’d’ve	how ’d ’ve
how’d’y	how ’d ’y
how’ll	how ’ll
how’ll’ve	how ’ll ’ve
how’re	how ’re
how’ve	how ’ve
i'd	i 'd
i'd've	i 'd 've
i'll	i 'll
i'll've	i 'll 've
i'm	i 'm
i'ma	i 'm a
i've	i 've
i.	i.
i.e.	i.e.
id	i d
idve	i d ve
illve	i ll ve
im	i m
ima	i m a
isn't	is n't
isnt	is nt
isn’t	is n’t
it'd	it 'd
it'd've	it 'd 've
it'll	it 'll
it'll've	it 'll 've
itd	it d
itdve	it d ve
itll	it ll
itllve	it ll ve
it’d	it ’d
it’d’ve	it ’d ’ve
it’ll	it ’ll
it’ll’ve	it ’ll ’ve
ive	i ve
i’d	i ’d
i’d’ve	i ’d ’ve
i’ll	i ’ll
i’ll’ve	i ’ll ’ve
i’m	i ’m
i’ma	i ’m a
i’ve	i ’ve
j.	j.
k.	k.
l.	l.
lovin'	lovin'
lovin’	lovin’
m.	m.
mayn't	may n't
mayn't've	may n't 've
maynt	may nt
mayntve	may nt ve
mayn’t	may n’t
mayn’t’ve	may n’t ’ve
might've	might 've
mightn't	might n't
mightn't've	might n't 've
mightnt	might nt
mightntve	might nt ve
mightn’t	might n’t
mightn’t’ve	might n’t ’ve
mightve	might ve
might’ve	might ’ve
must've	must 've
mustn't	must n't
mustn't've	must n't 've
mustnt	must nt
mustntve	must nt ve
mustn’t	must n’t
mustn’t’ve	must n’t ’ve
mustve	must ve
must’ve	must ’ve
n.	n.
needn't	need n't
needn't've	need n't 've
neednt	need nt
needntve	need nt ve
needn’t	need n’t
needn’t’ve	need n’t ’ve
not've	not 've
nothin'	nothin'
nothin’	nothin’
notve	not ve
not’ve	not ’ve
nuthin'	nuthin'
nuthin’	nuthin’
o.	o.
o.O	o.O
ol'	ol'
ol’	ol’
oughtn't	ought n't
oughtn't've	ought n't 've
oughtnt	ought nt
oughtntve	ought nt ve
oughtn’t	ought n’t
oughtn’t’ve	ought n’t ’ve
p.	p.
p.m.	p.m.
q.	q.
r.	r.
s.	s.
shan't	sha n't
shan't've	sha n't 've
shant	sha nt
shantve	sha nt ve
shan’t	sha n’t
shan’t’ve	sha n’t ’ve
she'd	she 'd
she'd've	she 'd 've
she'll	she 'll
she'll've	she 'll 've
shedve	she d ve
shellve	she ll ve
shes	she s
she’d	she ’d
she’d’ve	she ’d ’ve
she’ll	she ’ll
she’ll’ve	she ’ll ’ve
should've	should 've
shouldn't	should n't
shouldn't've	should n't 've
shouldnt	should nt
shouldntve	should nt ve
shouldn’t	should n’t
shouldn’t’ve	should n’t ’ve
shouldve	should ve
should’ve	should ’ve
somethin'	somethin'
somethin’	somethin’
t.	t.
that'd	that 'd
that'd've	that 'd 've
that'll	that 'll
that'll've	that 'll 've
thatd	that d
thatdve	that d ve
thatll	that ll
thatllve	that ll ve
thats	that s
that’d	that ’d
that’d’ve	that ’d ’ve
that’ll	that ’ll
that’ll’ve	that ’ll ’ve
there'd	there 'd
there'd've	there 'd 've
there'll	there 'll
there'll've	there 'll 've
there're	there 're
there've	there 've
thered	there d
theredve	there d ve
therell	there ll
therellve	there ll ve
therere	there re
theres	there s
thereve	there ve
there’d	there ’d
there’d’ve	there ’d ’ve
there’ll	there ’ll
there’ll’ve	there ’ll ’ve
there’re	there ’re
there’ve	there ’ve
these'd	these 'd
these'd've	these 'd 've
these'll	these 'll
these'll've	these 'll 've
these're	these 're
these've	these 've
thesed	these d
thesedve	these d ve
thesell	these ll
thesellve	these ll ve
thesere	these re
theseve	these ve
these’d	these ’d
these’d’ve	these ’d ’ve
these’ll	these ’ll
these’ll’ve	these ’ll ’ve
these’re	these ’re
these’ve	these ’ve
they'd	they 'd
they'd've	they 'd 've
they'll	they 'll
they'll've	they 'll 've
they're	they 're
they've	they 've
theyd	they d
theydve	they d ve
theyll	they ll
theyllve	they ll ve
theyre	they re
theyve	they ve
they’d	they ’d
they’d’ve	they ’d ’ve
they’ll	they ’ll
they’ll’ve	they ’ll ’ve
they’re	they ’re
they’ve	they ’ve
this'd	this 'd
this'd've	this 'd 've
this'll	this 'll
this'll've	this 'll 've
thisd	this d
thisdve	this d ve
thisll	this ll
thisllve	this ll ve
thiss	this s
this’d	this ’d
this’d’ve	this ’d ’ve
this’ll	this ’ll
this’ll’ve	this ’ll ’ve
those'd	those 'd
those'd've	those 'd 've
those'll	those 'll
those'll've	those 'll 've
those're	those 're
those've	those 've
thosed	those d
thosedve	those d ve
thosell	those ll
thosellve	those ll ve
thosere	those re
thoseve	those ve
those’d	those ’d
those’d’ve	those ’d ’ve
those’ll	those ’ll
those’ll’ve	those ’ll ’ve
those’re	those ’re
those’ve	those ’ve
u.	u.
v.	v.
v.s.	v.s.
vs.	vs.
w.	w.
w/o	w/o
wasn't	was n't
wasnt	was nt
wasn’t	was n’t
we'd	we 'd
we'd've	we 'd 've
we'll	we 'll
we'll've	we 'll 've
we're	we 're
we've	we 've
wed	we d
wedve	we d ve
wellve	we ll ve
weren't	were n't
werent	were nt
weren’t	were n’t
weve	we ve
we’d	we ’d
we’d’ve	we ’d ’ve
we’ll	we ’ll
we’ll’ve	we ’ll ’ve
we’re	we ’re
we’ve	we ’ve
what'd	what 'd
what'd've	what 'd 've
what'll	what 'll
what'll've	what 'll 've
what're	what 're
what've	what 've
whatd	what d
whatdve	what d ve
whatll	what ll
whatllve	what ll ve
whatre	what re
whats	what s
whatve	what ve
what’d	what ’d
what’d’ve	what ’d ’ve
what’ll	what ’ll
what’ll’ve	what ’ll ’ve
what’re	what ’re
what’ve	what ’ve
when'd	when 'd
when'd've	when 'd 've
when'll	when 'll
when'll've	when 'll 've
when're	when 're
when've	when 've
whend	when d
whendve	when d ve
whenll	when ll
whenllve	when ll ve
whenre	when re
whens	when s
whenve	when ve
when’d	when ’d
when’d’ve	when ’d ’ve
when’ll	when ’ll
when’ll’ve	when ’ll ’ve
when’re	when ’re
when’ve	when ’ve
where'd	where 'd
where'd've	where 'd 've
where'll	where 'll
where'll've	where 'll 've
where're	where 're
where've	where 've
whered	where d
wheredve	where d ve
wherell	where ll
wherellve	where ll ve
wherere	where re
wheres	where s
whereve	where ve
where’d	where ’d
where’d’ve	where ’d ’ve
where’ll	where ’ll
where’ll’ve	where ’ll ’ve
where’re	where ’re
where’ve	where ’ve
who'd	who 'd
who'd've	who 'd 've
who'll	who 'll
who'll've	who 'll 've
who're	who 're
who've	who 've
whod	who d
whodve	who d ve
wholl	who ll
whollve	who ll ve
whos	who s
whove	who ve
who’d	who ’d
who’d’ve	who ’d ’ve
who’ll	who ’ll
who’ll’ve	who ’ll ’ve
who’re	who ’re
who’ve	who ’ve
why'd	why 'd
why'd've	why 'd 've
why'll	why 'll
why'll've	why 'll 've
why're	why 're
why've	why 've
whyd	why d
whydve	why d ve
whyll	why ll
whyllve	why ll ve
whyre	why re
whys	why s
whyve	why ve
why’d	why ’d
why’d’ve	why ’d ’ve
why’ll	why ’ll
why’ll’ve	why ’ll ’ve
why’re	why ’re
why’ve	why ’ve
won't	wo n't
won't've	wo n't 've
wont	wo nt
wontve	wo nt ve
won’t	wo n’t
won’t’ve	wo n’t ’ve
would've	would 've
wouldn't	would n't
wouldn't've	would n't 've
wouldnt	would nt
wouldntve	would nt ve
wouldn’t	would n’t
wouldn’t’ve	would n’t ’ve
wouldve	would ve
would’ve	would ’ve
x.	x.
y'all	y' all
y.	y.
yall	y all
you'd	you 'd
you'd've	you 'd 've
you'll	you 'll
you'll've	you 'll 've
you're	you 're
you've	you 've
youd	you d
youdve	you d ve
youll	you ll
youllve	you ll ve
youre	you re
youve	you ve
you’d	you ’d
you’d’ve	you ’d ’ve
you’ll	you ’ll
you’ll’ve	you ’ll ’ve
you’re	you ’re
you’ve	you ’ve
y’all	y’ all
z.	z.
°C.	° C .
°F.	° F .
°K.	° K .
ä.	ä.
ö.	ö.
ü.	ü.
‘S	‘S
‘s	‘s
’Cause	’Cause
’Cos	’Cos
’Coz	’Coz
’Cuz	’Cuz
’S	’S
’bout	’bout
’cause	’cause
’cos	’cos
’coz	’coz
’cuz	’cuz
’d	’d
’em	’em
’ll	’ll
’nuff	’nuff
’re	’re
’s	’s
’’	’’
"""
for _line in _EXCEPTIONS_DATA.strip("\n").split("\n"):
    _chunk, _, _toks = _line.partition("\t")
    _EXCEPTIONS[_chunk] = tuple(_toks.split(" "))
del _line, _chunk, _toks
