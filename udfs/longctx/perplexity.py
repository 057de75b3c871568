"""CCNet-style perplexity: normalize each line, SentencePiece-tokenize, score with a KenLM n-gram.

Plain Python (no SparkSession). `LanguageModel` bundles one language's SentencePiece model and
KenLM model; `load_model` caches them per Python worker, so a Spark task loads each model once and
reuses it for every batch. Perplexity follows cc_net/perplexity.py:
    ppl = 10 ** (-sum(log10 p) / sum(n_tokens + 1))   (the +1 is the end-of-sentence token)
"""
from __future__ import annotations

import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from corpusmill.udfs.model_files import local_path

# ---- CCNet normalization -------------------------------------------------------------------------
_UNICODE_PUNCT = {
    "，": ",", "。": ". ", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "１": '"',
    "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...",
    "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]", "％": "%", "►": "-", "‘": "'", "『": '"',
    "』": '"', "·": "-", "•": "-",
}
_UNICODE_PUNCT_RE = re.compile(f"[{''.join(re.escape(k) for k in _UNICODE_PUNCT)}]")
_DIGIT_RE = re.compile(r"\d")
_NON_PRINTING_RE = re.compile(f"[{''.join(map(chr, list(range(0, 32)) + list(range(127, 160))))}]")


def strip_accents(line: str) -> str:
    """Drop combining marks after NFD (é -> e); leaves text without accents untouched."""
    nfd = unicodedata.normalize("NFD", line)
    if len(nfd) == len(line):
        return line
    return "".join(c for c in nfd if unicodedata.category(c) != "Mn")


def normalize_line(line: str) -> str:
    """CCNet normalization: strip, lowercase, strip accents, digits -> 0, Unicode punct -> ASCII,
    drop non-printing characters."""
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    line = strip_accents(line)
    line = _DIGIT_RE.sub("0", line)
    line = _UNICODE_PUNCT_RE.sub(lambda m: _UNICODE_PUNCT[m.group(0)], line)
    line = _NON_PRINTING_RE.sub("", line)
    return line.strip()


def iter_lines(text: str) -> Iterator[str]:
    """The lines of text, one at a time (no list of all lines: a 50 MB document stays one copy)."""
    start, n = 0, len(text)
    while start <= n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        yield text[start:end]
        start = end + 1


def paragraphs(text: str, max_chars: int = 20_000) -> Iterator[str]:
    """Non-empty lines of text; a line longer than max_chars is cut (at whitespace when it can be)
    so a 50 MB single-line document never becomes one giant tokenizer call."""
    for line in iter_lines(text or ""):
        line = line.strip()
        while len(line) > max_chars:
            cut = line.rfind(" ", max_chars // 2, max_chars)
            cut = cut if cut > 0 else max_chars
            yield line[:cut]
            line = line[cut:].strip()
        if line:
            yield line


def ppl(log10_sum: float, n_tokens_plus_eos: int) -> float | None:
    """CCNet perplexity rounded to one decimal; None when nothing was scored."""
    if n_tokens_plus_eos <= 0:
        return None
    return round(10.0 ** (-log10_sum / n_tokens_plus_eos), 1)


# ---- models --------------------------------------------------------------------------------------
class ModelMissing(FileNotFoundError):
    """A language's SentencePiece or KenLM file is absent."""


def model_paths(models_dir: str, lang: str) -> tuple[Path, Path]:
    """Where `corpusmill train-lm` puts a language's models: <dir>/<lang>.sp.model, <dir>/<lang>.arpa.bin."""
    d = Path(local_path(models_dir))
    return d / f"{lang}.sp.model", d / f"{lang}.arpa.bin"


def has_model(models_dir: str, lang: str) -> bool:
    return all(p.is_file() for p in model_paths(models_dir, lang))


@dataclass
class LanguageModel:
    """One language's tokenizer + n-gram model, loaded once per worker via `load_model`."""

    lang: str
    sp: object          # sentencepiece.SentencePieceProcessor
    lm: object          # kenlm.Model

    def tokenize(self, normalized_line: str) -> list[str]:
        return self.sp.encode(normalized_line, out_type=str)

    def score_line(self, pieces: list[str]) -> float:
        """log10 P(line) with <s> and </s>, as CCNet does."""
        return self.lm.score(" ".join(pieces), bos=True, eos=True)

    def token_log10probs(self, pieces: list[str]) -> list[float]:
        """Per-token log10 p of pieces scored as a running stream (no <s>/</s>)."""
        return [s[0] for s in self.lm.full_scores(" ".join(pieces), bos=False, eos=False)][: len(pieces)]


_CACHE: dict[tuple[str, str], LanguageModel] = {}


def load_model(models_dir: str, lang: str) -> LanguageModel:
    """Load (once per process) the SentencePiece + KenLM models of lang from models_dir."""
    key = (os.path.abspath(local_path(models_dir)), lang)
    if key not in _CACHE:
        import kenlm
        import sentencepiece as spm

        sp_path, lm_path = model_paths(models_dir, lang)
        for p in (sp_path, lm_path):
            if not p.is_file():
                raise ModelMissing(f"model file {p} not found (build it with `corpusmill train-lm --lang {lang}`)")
        sp = spm.SentencePieceProcessor()
        sp.load(str(sp_path))
        _CACHE[key] = LanguageModel(lang, sp, kenlm.Model(str(lm_path)))
    return _CACHE[key]


def loaded_model_count() -> int:
    """How many models this process holds (tests check models load once per worker)."""
    return len(_CACHE)


# ---- document scoring ----------------------------------------------------------------------------
@dataclass
class DocPerplexity:
    doc_perplexity: float | None
    para_perplexity: list[float]        # first `max_paragraphs` paragraphs
    n_paragraphs: int                   # all scored paragraphs
    n_lm_tokens: int                    # SentencePiece tokens scored (without </s>)


def score_document(model: LanguageModel, text: str, max_paragraphs: int = 4096,
                   max_paragraph_chars: int = 20_000, on_tokens=None) -> DocPerplexity:
    """Perplexity of every paragraph (line) and of the whole document, streaming over paragraphs.

    on_tokens(pieces), when given, receives each paragraph's tokens in order (the coherence
    scorer consumes the same tokenization without a second SentencePiece pass).
    """
    total_log10, total_len, n_tok, n_par = 0.0, 0, 0, 0
    per_par: list[float] = []
    for par in paragraphs(text, max_paragraph_chars):
        norm = normalize_line(par)
        if not norm:
            continue
        pieces = model.tokenize(norm)
        if not pieces:
            continue
        s = model.score_line(pieces)
        total_log10 += s
        total_len += len(pieces) + 1
        n_tok += len(pieces)
        n_par += 1
        if len(per_par) < max_paragraphs:
            per_par.append(ppl(s, len(pieces) + 1))
        if on_tokens is not None:
            on_tokens(pieces)
    return DocPerplexity(ppl(total_log10, total_len), per_par, n_par, n_tok)


def bucket(perplexity: float | None, cutoffs: tuple[float, float]) -> str | None:
    """CCNet bucket: head below the first cutoff, middle below the second, tail above."""
    if perplexity is None or math.isnan(perplexity):
        return None
    if perplexity < cutoffs[0]:
        return "head"
    if perplexity < cutoffs[1]:
        return "middle"
    return "tail"


def perplexity_mapper(models_dir: str, languages: tuple[str, ...], max_paragraph_chars: int = 20_000):
    """mapInArrow function for CCNet scoring alone: (doc_id, language, text) batches ->
    (doc_id, doc_perplexity, n_lm_tokens). Languages without a model get nulls."""
    def run(batches):
        import pyarrow as pa

        schema = pa.schema([("doc_id", pa.string()), ("doc_perplexity", pa.float64()), ("n_lm_tokens", pa.int64())])
        for batch in batches:
            cols = batch.to_pydict()
            ppls, ntok = [], []
            for text, lang in zip(cols["text"], cols["language"]):
                if lang in languages:
                    d = score_document(load_model(models_dir, lang), text or "", 0, max_paragraph_chars)
                    ppls.append(d.doc_perplexity)
                    ntok.append(d.n_lm_tokens)
                else:
                    ppls.append(None)
                    ntok.append(None)
            yield pa.RecordBatch.from_pydict({"doc_id": cols["doc_id"], "doc_perplexity": ppls, "n_lm_tokens": ntok},
                                             schema=schema)
    return run


PERPLEXITY_MAPPER_SCHEMA = "doc_id string, doc_perplexity double, n_lm_tokens long"
