"""`corpusmill train-causal-lm`: train the small default causal LM of the coherence signal.

    corpusmill train-causal-lm --text wiki-en.txt wiki-zh.jsonl      # .txt: a paragraph per line
    corpusmill train-causal-lm --table pretrain [--column text] [--steps 600]

Why: the coherence signal needs a causal LM that reads long context, and the pipeline must work
offline. A byte-level BPE tokenizer (`tokenizers`) and a tiny Llama decoder (transformers) are
trained on reference text in minutes on a CPU and saved as a standard Hugging Face directory, so the
scoring path (AutoTokenizer / AutoModelForCausalLM) is the one a larger model takes. Training
windows are contiguous `positions`-token slices of the reference text (consecutive lines stay
together), which is what teaches the model to use earlier text. Seeds make it reproducible.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable

from corpusmill.jobs.core import rootlock
from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.core.progress import Progress
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.training.train_lm import read_reference_files, read_reference_table
from corpusmill.udfs.model_files import is_hub_id

log = logging.getLogger("corpusmill")
EOS = "<|endoftext|>"


@dataclass
class CausalTrainConfig:
    vocab_size: int        # byte-level BPE vocabulary
    layers: int            # decoder layers (>= 2: copying from context needs two)
    hidden: int            # model width
    heads: int             # attention heads
    positions: int         # context length trained and scored (longer coherence chunks are scaled to it)
    steps: int             # optimizer steps
    batch_size: int        # windows per step
    lr: float              # AdamW peak learning rate (warmup, then cosine decay)
    seed: int
    max_chars: int         # reference characters read at most
    threads: int           # torch CPU threads; 0 = all cores


def default_model_dir(config: Config) -> str:
    """longctx.coherence.model resolved: "" = <storage.models>/causal-lm; a relative path is under
    storage.root; a hub id (`name` or `org/name`) that is not a local path stays a hub id."""
    m = config.longctx.coherence.model
    if not m:
        return config.path(config.storage.models).rstrip("/") + "/causal-lm"
    p = os.path.expanduser(m)
    if os.path.isabs(p) or "://" in p:
        return p
    local = config.path(p)
    if os.path.exists(local) or not is_hub_id(m):
        return local
    return m


# ---- training -------------------------------------------------------------------------------------------
def _take_chars(lines: Iterable[str], max_chars: int) -> list[str]:
    out, n = [], 0
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        out.append(line)
        n += len(line) + 1
        if n >= max_chars:
            break
    return out


def train_tokenizer(lines: list[str], vocab_size: int):
    """Byte-level BPE (any script, no unknown tokens) wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, unk_token=EOS,
                                   pad_token=EOS)


def train_causal_lm(lines: Iterable[str], out_dir: str, t: CausalTrainConfig, source: str = "") -> dict:
    """Tokenizer + tiny Llama decoder from reference lines; saved to out_dir (HF format) with meta.json."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    t0 = time.monotonic()
    text = _take_chars(lines, t.max_chars)
    if sum(map(len, text)) < 2000:
        raise ValueError(f"train-causal-lm: only {sum(map(len, text))} characters of reference text; need more")
    torch.manual_seed(t.seed)
    if t.threads:
        torch.set_num_threads(t.threads)
    tokenizer = train_tokenizer(text, t.vocab_size)
    ids: list[int] = []
    for i in range(0, len(text), 256):             # consecutive lines joined: windows keep their context
        ids.extend(tokenizer("\n".join(text[i:i + 256]) + "\n", add_special_tokens=False)["input_ids"])
    stream = torch.tensor(ids, dtype=torch.long)
    seq = min(t.positions, len(ids) - 2)           # a window plus at least two start positions
    if seq < 32:
        raise ValueError(f"train-causal-lm: {len(ids)} tokens of reference text; need more")
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=t.hidden, intermediate_size=4 * t.hidden,
                      num_hidden_layers=t.layers, num_attention_heads=t.heads, num_key_value_heads=t.heads,
                      max_position_embeddings=t.positions, tie_word_embeddings=True,
                      bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                      pad_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(cfg)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=0.01, betas=(0.9, 0.95))
    warm = max(1, t.steps // 10)

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, t.steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(t.seed)
    losses = []
    progress = Progress("train-causal-lm", t.steps, "steps", rate_unit="tokens", rate_scale=t.batch_size * seq)
    for step in range(t.steps):
        starts = torch.randint(0, len(stream) - seq - 1, (t.batch_size,), generator=gen)
        batch = torch.stack([stream[s:s + seq] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        progress.update(step + 1, note=f"loss {sum(losses[-10:]) / len(losses[-10:]):.3f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    meta = dict(source=source, chars=sum(map(len, text)), tokens=len(ids), vocab=len(tokenizer),
                parameters=sum(p.numel() for p in model.parameters()), final_loss=round(sum(losses[-10:]) /
                len(losses[-10:]), 4), seconds=round(time.monotonic() - t0, 1), **asdict(t))
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    log.info("train-causal-lm: %d chars, %d tokens, %d params, loss %.3f -> %s (%.1fs)", meta["chars"],
             meta["tokens"], meta["parameters"], meta["final_loss"], out, meta["seconds"])
    return meta


# ---- command line -----------------------------------------------------------------------------------------
def add_arguments(ap: argparse.ArgumentParser) -> None:
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", nargs="+", metavar="FILE", help=".txt (a paragraph per line) or .jsonl files")
    src.add_argument("--table", help="a pipeline table (e.g. pretrain)")
    ap.add_argument("--column", default="text", help="text column of --table / field of .jsonl (default text)")
    ap.add_argument("--out", help="output dir (default: longctx.coherence.model, else <storage.models>/causal-lm)")
    ap.add_argument("--steps", type=int, help="optimizer steps (default longctx.causal_lm.steps)")
    ap.add_argument("--max-chars", type=int, help="reference characters (default longctx.causal_lm.max_chars)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    rootlock.claim(config, "corpusmill train-causal-lm")   # writes the model the longctx stage reads
    t = config.longctx.causal_lm
    t = replace(t, steps=args.steps or t.steps, max_chars=args.max_chars or t.max_chars)
    out = args.out or default_model_dir(config)
    if args.text:
        for p in args.text:
            if not os.path.isfile(p):
                raise ConfigError(f"--text: file {p} not found")
        lines, source = read_reference_files(args.text, args.column), ",".join(args.text)
    else:
        lines = read_reference_table(get_spark(config), config, args.table, args.column)
        source = f"table:{args.table}"
    try:
        meta = train_causal_lm(lines, out, t, source=source)
    except ValueError as e:
        print(f"corpusmill train-causal-lm: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"out": out, **meta}))
    return 0


TOOLS = [Tool("train-causal-lm", "train the small causal LM the longctx coherence filter scores with",
              add_arguments, run_cli, needs_ml=True)]
