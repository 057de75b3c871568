"""LongWanjuan-style statistics of a long document: complexity (line lengths, character rates) and
cohesion (discourse connectives and pronouns per 1,000 words, type-token ratio).

Plain Python over one text, streaming line by line so a 50 MB document costs memory for its line
lengths only. "Words" are latin/cyrillic/... letter-digit runs, and each CJK character counts as one
word (Chinese has no spaces; per-language thresholds absorb the difference in units).
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import asdict, dataclass

from corpusmill.udfs.longctx import coherence, perplexity
from corpusmill.udfs.longctx.causal_lm import get_scorer
from corpusmill.udfs.longctx.perplexity import iter_lines

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff"
WORD_RE = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")
_DIGIT_RE = re.compile(r"\d")

# Discourse connectives (cohesion markers). Multi-word items are matched on word sequences.
CONNECTIVES: dict[str, list[str]] = {
    "en": [
        "however", "therefore", "because", "although", "though", "moreover", "furthermore", "thus", "hence",
        "consequently", "meanwhile", "nevertheless", "nonetheless", "whereas", "since", "unless", "but",
        "instead", "otherwise", "accordingly", "additionally", "similarly", "likewise", "finally", "then",
        "later", "afterwards", "subsequently", "indeed", "eventually", "despite", "while", "yet", "so",
        "for example", "for instance", "in addition", "as a result", "on the other hand", "in contrast",
        "in particular", "in fact", "in other words", "even though", "as well as", "due to", "such as",
    ],
    "zh": [
        "但是", "然而", "因此", "所以", "因为", "由于", "而且", "并且", "此外", "另外", "同时", "于是", "然后",
        "最后", "首先", "其次", "虽然", "尽管", "不过", "可是", "例如", "比如", "总之", "因而", "从而", "以及",
        "或者", "如果", "即使", "甚至", "不仅", "而是", "之后", "随后", "后来", "此后", "换言之", "也就是说",
    ],
}
PRONOUNS: dict[str, list[str]] = {
    "en": [
        "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your", "yours",
        "yourself", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself",
        "they", "them", "their", "theirs", "themselves", "this", "that", "these", "those", "who", "whom",
        "whose", "which",
    ],
    # single characters: 他们 counts once via 他; 这/那/其/此/该 are the demonstrative/anaphoric ones
    "zh": ["我", "你", "您", "他", "她", "它", "咱", "其", "此", "该", "这", "那", "自己"],
}

TTR_SEGMENT = 1000  # words per segment for the mean segmental type-token ratio


@dataclass
class TextStats:
    n_chars: int
    n_lines: int
    n_words: int
    line_len_mean: float | None
    line_len_std: float | None
    line_len_median: float | None
    line_len_min: int | None
    line_len_max: int | None
    newline_rate: float | None
    comma_rate: float | None
    space_rate: float | None
    pipe_rate: float | None
    digit_rate: float | None
    connectives_per_kw: float | None   # None when the language has no list
    pronouns_per_kw: float | None
    type_token_ratio: float | None     # mean over 1,000-word segments (length-independent)
    chars_per_word: float | None

    def as_dict(self) -> dict:
        return asdict(self)


class _Lexicon:
    """A language's connective/pronoun matcher: word-set lookup (space-delimited languages) or
    substring counts (CJK)."""

    def __init__(self, lang: str):
        self.lang = lang
        self.cjk = lang in ("zh", "ja")
        conn, pron = CONNECTIVES.get(lang), PRONOUNS.get(lang)
        self.available = conn is not None and pron is not None
        conn, pron = conn or [], pron or []
        self.conn_single = {c for c in conn if " " not in c}
        multi = [c for c in conn if " " in c]
        self.multi_re = re.compile(r"\b(?:" + "|".join(map(re.escape, multi)) + r")\b") if multi else None
        self.pron = set(pron)
        self.conn_list, self.pron_list = conn, pron

    def count(self, line: str, low_words: list[str]) -> tuple[int, int]:
        """(connectives, pronouns) in one line; low_words are its lower-cased words."""
        if not self.available:
            return 0, 0
        if self.cjk:
            return (sum(line.count(c) for c in self.conn_list), sum(line.count(p) for p in self.pron_list))
        n_conn = sum(map(self.conn_single.__contains__, low_words))
        if self.multi_re is not None:
            n_conn += len(self.multi_re.findall(" ".join(low_words)))
        return n_conn, sum(map(self.pron.__contains__, low_words))


_LEXICONS: dict[str, _Lexicon] = {}


def lexicon(lang: str) -> _Lexicon:
    if lang not in _LEXICONS:
        _LEXICONS[lang] = _Lexicon(lang)
    return _LEXICONS[lang]


def text_stats(text: str, lang: str | None) -> TextStats:
    """Every statistic of one document (lang picks the connective/pronoun lists)."""
    text = text or ""
    n = len(text)
    lex = lexicon((lang or "").lower())
    line_lens: list[int] = []
    n_words = n_conn = n_pron = 0
    ttrs: list[float] = []
    word_chars = 0
    pending: list[str] = []

    for raw in iter_lines(text):
        line = raw.strip()
        if not line:
            continue
        line_lens.append(len(line))
        words = WORD_RE.findall(line.lower())
        n_words += len(words)
        word_chars += sum(map(len, words))
        c, p = lex.count(line, words)
        n_conn += c
        n_pron += p
        pending.extend(words)
        while len(pending) >= TTR_SEGMENT:
            ttrs.append(len(set(pending[:TTR_SEGMENT])) / TTR_SEGMENT)
            del pending[:TTR_SEGMENT]
    if pending and (not ttrs or len(pending) >= TTR_SEGMENT // 2):
        ttrs.append(len(set(pending)) / len(pending))

    def rate(ch: str) -> float | None:
        return text.count(ch) / n if n else None

    if line_lens:
        mean = sum(line_lens) / len(line_lens)
        std = math.sqrt(sum((x - mean) ** 2 for x in line_lens) / len(line_lens))
        median = float(statistics.median(line_lens))
        lmin, lmax = min(line_lens), max(line_lens)
    else:
        mean = std = median = None
        lmin = lmax = None
    per_kw = (lambda k: 1000.0 * k / n_words) if (n_words and lex.available) else (lambda k: None)
    return TextStats(
        n_chars=n,
        n_lines=len(line_lens),
        n_words=n_words,
        line_len_mean=mean,
        line_len_std=std,
        line_len_median=median,
        line_len_min=lmin,
        line_len_max=lmax,
        newline_rate=rate("\n"),
        comma_rate=(text.count(",") + text.count("，") + text.count("、")) / n if n else None,
        space_rate=rate(" "),
        pipe_rate=rate("|"),
        digit_rate=((n - len(_DIGIT_RE.sub("", text))) / n) if n else None,
        connectives_per_kw=per_kw(n_conn),
        pronouns_per_kw=per_kw(n_pron),
        type_token_ratio=(sum(ttrs) / len(ttrs)) if ttrs else None,
        chars_per_word=(word_chars / n_words) if n_words else None,
    )


# ---- all signals of one document, and the Spark batch adapter ----------------------------------
@dataclass
class SignalParams:
    """Everything a worker needs to score documents (picklable; built on the driver from config)."""

    models_dir: str
    model_languages: tuple[str, ...]      # languages with a model on disk (checked on the driver)
    max_paragraph_chars: int = 20_000
    max_paragraph_scores: int = 4096
    chunk_tokens: int = 4096
    target_tokens: int = 1024
    short_context_tokens: int = 1024
    cache_weight: float = 0.2
    max_chunks: int = 32
    stride_tokens: int = 0                # 0 = chunk_tokens (non-overlapping chunks)
    coherence_scorer: str = "kenlm_cache"  # kenlm_cache (n-gram + cache, in _lm_signals) | causal_lm (batch_signals)
    causal: object = None                 # udfs.longctx.causal_lm.CausalLMSpec when coherence_scorer is causal_lm


def _lm_signals(text: str, lang: str, p: SignalParams) -> dict:
    if lang not in p.model_languages:
        return dict(lm_status="no_model")
    model = perplexity.load_model(p.models_dir, lang)
    scorer = None
    if p.coherence_scorer == "kenlm_cache":
        scorer = coherence.CoherenceScorer(model, p.chunk_tokens, p.target_tokens, p.short_context_tokens,
                                           p.cache_weight, p.max_chunks, p.stride_tokens)
    doc = perplexity.score_document(model, text, p.max_paragraph_scores, p.max_paragraph_chars,
                                    on_tokens=scorer.feed if scorer else None)
    if doc.n_lm_tokens == 0:
        return dict(lm_status="empty", n_lm_tokens=0, n_paragraphs=0, para_perplexity=[], coh_n_chunks=0)
    out = dict(
        lm_status="ok",
        n_lm_tokens=doc.n_lm_tokens,
        chars_per_lm_token=len(text) / doc.n_lm_tokens,
        n_paragraphs=doc.n_paragraphs,
        para_perplexity=doc.para_perplexity,
        doc_perplexity=doc.doc_perplexity,
    )
    if scorer is not None:
        out.update(coherence_columns(scorer.finish(), "kenlm_cache"))
    return out


def coherence_columns(coh, scorer: str) -> dict:
    """The coh_* columns of one document's CoherenceResult (either scorer)."""
    out = dict(coh_scorer=scorer,
               coh_chunk_ppl_with=[c.ppl_with for c in coh.chunks],
               coh_chunk_ppl_without=[c.ppl_without for c in coh.chunks],
               coh_chunk_acc_diff=(None if any(c.acc_with is None for c in coh.chunks)
                                   else [c.acc_with - c.acc_without for c in coh.chunks]))
    out.update(coh.aggregate())
    return out


def document_signals(text: str, lang: str | None, p: SignalParams) -> dict:
    """Statistics + perplexity + coherence of one document (batch_signals of a batch of one)."""
    return batch_signals([text], [lang], p)[0]


def _one_document(text: str, lang: str | None, p: SignalParams) -> dict:
    """Statistics + perplexity (+ kenlm_cache coherence) of one document as a flat dict of UDF_SCHEMA
    columns. A failure inside one document is recorded in lm_status ("error: ..."), never raised, and
    the signals computed before it are kept."""
    out: dict = {}
    try:
        out.update(text_stats(text, lang).as_dict())
        out.update(_lm_signals(text or "", (lang or "").lower(), p))
    except Exception as e:  # keep the rest of the batch; the decision rejects it as signal_error
        out["lm_status"] = _error(e)
    return out


def _error(e: Exception, what: str = "") -> str:
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    return f"error: {what}{type(e).__name__}: {msg}"


def batch_signals(texts: list, langs: list, p: SignalParams) -> list[dict]:
    """Signals of a batch of documents. With the causal_lm scorer the chunks of every document in the
    batch go through the model together (full model batches); a failing batch is retried document by
    document so one bad document costs only its own coherence (lm_status "error: coherence: ...")."""
    sigs = [_one_document(t, l, p) for t, l in zip(texts, langs)]
    if p.coherence_scorer != "causal_lm":
        return sigs

    todo = [i for i, s in enumerate(sigs)            # not: failed documents, and "empty" ones (no words)
            if not str(s.get("lm_status", "")).startswith(("error", "empty"))]
    try:
        scorer = get_scorer(p.causal)
        results = scorer.score_texts([texts[i] or "" for i in todo])
    except Exception:  # noqa: BLE001 - find the document(s) that fail, score the others
        results = []
        for i in todo:
            try:
                results.append(get_scorer(p.causal).score_texts([texts[i] or ""])[0])
            except Exception as e:  # noqa: BLE001
                results.append(e)
    for i, r in zip(todo, results):
        if isinstance(r, Exception):
            sigs[i]["lm_status"] = _error(r, "coherence: ")
        else:
            sigs[i].update(coherence_columns(r, "causal_lm"))
    return sigs


def signals_mapper(p: SignalParams, passthrough: list[str], out_schema):
    """mapInArrow function: input batches with `passthrough` columns + text -> batches of out_schema
    (a Spark StructType: the caller's table schema, schemas/longctx_signals.py UDF_SCHEMA)."""
    def run(batches):
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = to_arrow_schema(out_schema)
        names = schema.names
        for batch in batches:
            cols = batch.to_pydict()
            sigs = batch_signals(cols["text"], cols["language"], p)
            out: dict[str, list] = {n: [] for n in names}
            for i, sig in enumerate(sigs):
                for n in names:
                    out[n].append(cols[n][i] if n in passthrough else sig.get(n))
            yield pa.RecordBatch.from_pydict(out, schema=schema)
    return run
