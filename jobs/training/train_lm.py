"""`corpusmill train-lm`: build a language's SentencePiece + KenLM models from reference text.

    corpusmill train-lm --lang en --text ../shared/data/wikitext-2-valid/valid.txt
    corpusmill train-lm --lang zh --table pretrain [--column text] [--max-lines N]

Steps (the CCNet recipe): CCNet-normalize every line, train a SentencePiece model on them, tokenize
them, count an n-gram model with KenLM's `lmplz` and compile it with `build_binary`. Files land in
the longctx models dir as <lang>.sp.model, <lang>.arpa.bin and <lang>.json (what was built from
what). lmplz/build_binary come from scripts/build_kenlm.sh.
"""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from corpusmill.jobs.core import rootlock, tableio
from corpusmill.jobs.core.config import Config, ConfigError, cache_dir
from corpusmill.jobs.core.progress import Progress
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.udfs.longctx.perplexity import normalize_line

log = logging.getLogger("corpusmill")


# ---- where things are -----------------------------------------------------------------------------
def models_dir(config: Config) -> str:
    """longctx.models_dir, or <storage.models>/kenlm when empty."""
    d = config.longctx.models_dir
    return config.path(d) if d else config.path(config.storage.models).rstrip("/") + "/kenlm"


def kenlm_binaries(bin_dir: str = "") -> tuple[str, str]:
    """Paths of lmplz and build_binary: bin_dir, $CORPUSMILL_KENLM_BIN, <cache_dir>/bin, PATH."""
    candidates = [bin_dir, os.environ.get("CORPUSMILL_KENLM_BIN", ""), str(cache_dir() / "bin")]
    for d in candidates:
        if not d:
            continue
        d = os.path.expanduser(d)
        lmplz, bb = os.path.join(d, "lmplz"), os.path.join(d, "build_binary")
        if os.access(lmplz, os.X_OK) and os.access(bb, os.X_OK):
            return lmplz, bb
    lmplz, bb = shutil.which("lmplz"), shutil.which("build_binary")
    if lmplz and bb:
        return lmplz, bb
    raise ConfigError("longctx.lm.kenlm_bin_dir: KenLM's lmplz/build_binary not found "
                      f"(looked in {bin_dir or '-'}, $CORPUSMILL_KENLM_BIN, {cache_dir() / 'bin'}, PATH): "
                      "run `bash scripts/build_kenlm.sh`")


# ---- reference text ---------------------------------------------------------------------------------
def read_reference_files(paths: Iterable[str], text_field: str = "text") -> Iterator[str]:
    """Lines of .txt files (one paragraph per line) and the `text_field` of .jsonl files (.gz too)."""
    for path in paths:
        if not os.path.isfile(path):
            raise ConfigError(f"--text: file {path} not found")
        opener = gzip.open if path.endswith(".gz") else open
        is_jsonl = path.removesuffix(".gz").endswith((".jsonl", ".json"))
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                if is_jsonl:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        value = json.loads(line).get(text_field)
                    except (json.JSONDecodeError, AttributeError):
                        raise ConfigError(f"--text: {path} is not JSON Lines with a {text_field!r} field") from None
                    if isinstance(value, str):
                        yield from value.split("\n")
                else:
                    yield line.rstrip("\n")


def read_reference_table(spark, config: Config, table: str, column: str = "text", lang: str | None = None,
                         limit: int | None = None) -> Iterator[str]:
    """Lines of a pipeline table's text column (optionally one language), streamed to the driver
    partition by partition (training an n-gram model is a single-machine job)."""
    from pyspark.sql import functions as F

    if not tableio.table_exists(spark, config, table):
        raise ConfigError(f"--table: table {table} does not exist under {config.path(config.storage.warehouse)}")
    df = tableio.read_table(spark, config, table)
    if column not in df.columns:
        raise ConfigError(f"--column: table {table} has no column {column}")
    if lang and "language" in df.columns:
        df = df.where(F.col("language") == lang)
    df = df.select(F.col(column).alias("t")).where(F.col("t").isNotNull())
    if limit:
        df = df.limit(limit)
    for row in df.toLocalIterator():
        yield from row["t"].split("\n")


# ---- training -----------------------------------------------------------------------------------------
def _run(cmd: list[str], stdin=None, stdout=None) -> None:
    proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{os.path.basename(cmd[0])} failed ({proc.returncode}): {' | '.join(err[-3:])}")


def _train_sentencepiece(path: str, prefix: str, vocab_size: int, coverage: float, n_lines: int) -> None:
    """Unigram SentencePiece; when the text needs more pieces than vocab_size just for its characters
    (Chinese with a small vocabulary), retry once with room for them."""
    import re

    import sentencepiece as spm

    def train(v: int) -> None:
        spm.SentencePieceTrainer.train(
            input=path, model_prefix=prefix, vocab_size=v, character_coverage=coverage, model_type="unigram",
            hard_vocab_limit=False, input_sentence_size=min(n_lines, 1_000_000), shuffle_input_sentence=True,
            num_threads=2, minloglevel=2)

    try:
        train(vocab_size)
    except RuntimeError as e:
        m = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", str(e))
        if not m:
            raise
        needed = int(m.group(2)) + max(100, vocab_size // 4)
        log.warning("train-lm: vocab_size %d < the %s characters to cover; using %d", vocab_size, m.group(2), needed)
        train(needed)


def train_language_model(lines: Iterable[str], lang: str, out_dir: str, *, vocab_size: int = 8000,
                         order: int = 5, memory: str = "1G", max_lines: int = 2_000_000,
                         character_coverage: float | None = None, kenlm_bin_dir: str = "",
                         source: str = "") -> dict:
    """Train SentencePiece + KenLM for lang on lines; write <out_dir>/<lang>.{sp.model,arpa.bin,json}."""
    import sentencepiece as spm

    lmplz, build_binary = kenlm_binaries(kenlm_bin_dir)
    t0 = time.monotonic()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"train-lm-{lang}-") as tmp:
        norm_path, tok_path = os.path.join(tmp, "norm.txt"), os.path.join(tmp, "tok.txt")
        n_lines = 0
        reading = Progress(f"train-lm {lang}: reading", None, "lines")
        with open(norm_path, "w", encoding="utf-8") as f:
            for line in lines:
                norm = normalize_line(line)
                if norm:
                    f.write(norm + "\n")
                    n_lines += 1
                    reading.update(n_lines)
                    if n_lines >= max_lines:
                        break
        if n_lines < 10:
            raise ValueError(f"train-lm {lang}: only {n_lines} non-empty reference lines; need more text")
        cov = character_coverage if character_coverage is not None else (0.9995 if lang in ("zh", "ja") else 1.0)
        prefix = os.path.join(tmp, "sp")
        log.info("train-lm %s: SentencePiece vocabulary of %d from %d lines ...", lang, vocab_size, n_lines)
        _train_sentencepiece(norm_path, prefix, vocab_size, cov, n_lines)
        sp = spm.SentencePieceProcessor()
        sp.load(prefix + ".model")
        n_tokens = 0
        tokenizing = Progress(f"train-lm {lang}: tokenizing", n_lines, "lines")
        with open(norm_path, encoding="utf-8") as fin, open(tok_path, "w", encoding="utf-8") as fout:
            for i, line in enumerate(fin, 1):
                pieces = sp.encode(line.rstrip("\n"), out_type=str)
                n_tokens += len(pieces)
                fout.write(" ".join(pieces) + "\n")
                tokenizing.update(i)
        log.info("train-lm %s: %d-gram model of %d lines, %d tokens (lmplz) ...", lang, order, n_lines, n_tokens)
        arpa = os.path.join(tmp, "lm.arpa")
        with open(tok_path, "rb") as fin, open(arpa, "wb") as fout:
            _run([lmplz, "-o", str(order), "-S", memory, "-T", tmp, "--discount_fallback", "--skip_symbols"],
                 stdin=fin, stdout=fout)
        binary_tmp = os.path.join(tmp, "lm.bin")
        _run([build_binary, arpa, binary_tmp], stdout=subprocess.DEVNULL)
        # install atomically-ish: final names only once everything is built
        shutil.move(prefix + ".model", out / f"{lang}.sp.model")
        shutil.move(binary_tmp, out / f"{lang}.arpa.bin")
    meta = dict(lang=lang, source=source, lines=n_lines, tokens=n_tokens, vocab_size=sp.get_piece_size(),
                order=order, seconds=round(time.monotonic() - t0, 1))
    (out / f"{lang}.json").write_text(json.dumps(meta, indent=1))
    log.info("train-lm %s: %d lines, %d tokens, vocab %d, %d-gram -> %s (%.1fs)", lang, n_lines, n_tokens,
             meta["vocab_size"], order, out, meta["seconds"])
    return meta


# ---- command line -------------------------------------------------------------------------------------
def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--lang", required=True, help="language code the model is for (en, zh, ...)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", nargs="+", metavar="FILE", help=".txt (a paragraph per line) or .jsonl files")
    src.add_argument("--table", help="a pipeline table (e.g. pretrain); rows of --lang only when it has `language`")
    ap.add_argument("--column", default="text", help="text column of --table / field of .jsonl (default text)")
    ap.add_argument("--out", help="output dir (default: longctx.models_dir)")
    ap.add_argument("--vocab-size", type=int, help="SentencePiece vocabulary (default longctx.lm.vocab_size)")
    ap.add_argument("--order", type=int, help="n-gram order (default longctx.lm.order)")
    ap.add_argument("--max-lines", type=int, help="reference lines to use at most (default longctx.lm.max_lines)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    rootlock.claim(config, "corpusmill train-lm")          # writes the models the longctx stage reads
    lm = config.longctx.lm
    out = args.out or models_dir(config)
    kenlm_binaries(lm.kenlm_bin_dir)  # fail before reading any text
    max_lines = args.max_lines or lm.max_lines
    if args.text:
        for path in args.text:
            if not os.path.isfile(path):
                raise ConfigError(f"--text: file {path} not found")
        lines = read_reference_files(args.text, args.column)
        source = ",".join(args.text)
    else:
        spark = get_spark(config)
        lines = read_reference_table(spark, config, args.table, args.column, args.lang)
        source = f"table:{args.table}"
    try:
        meta = train_language_model(lines, args.lang, out, vocab_size=args.vocab_size or lm.vocab_size,
                                    order=args.order or lm.order, memory=lm.memory, max_lines=max_lines,
                                    kenlm_bin_dir=lm.kenlm_bin_dir, source=source)
    except ConfigError:
        raise
    except (ValueError, RuntimeError) as e:
        print(f"corpusmill train-lm: {e}", file=sys.stderr)
        return 1
    print(json.dumps(meta))
    return 0


TOOLS = [Tool("train-lm", "train a SentencePiece + KenLM model for the longctx perplexity filter",
              add_arguments, run_cli)]
