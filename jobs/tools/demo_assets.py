"""What the demo builds before its run, from the sample generator: its inputs (a crawl, text sources,
code repositories), blocklists, benchmarks, classifiers, KenLM and causal-LM models. Each is skipped
when present.

The stages read models and lists from paths in the config and never build them; a user brings
their own (or trains them with `corpusmill train-classifier`, `train-lm`, `train-causal-lm`). Only
the demo, and tests that need small offline models, make them from generated data, here.
"""
from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

from corpusmill.jobs.core.config import Config, ConfigError
from corpusmill.jobs.stages.classifier_stage import resolve_model
from corpusmill.jobs.training.train_causal_lm import CausalTrainConfig, default_model_dir, train_causal_lm
from corpusmill.jobs.training.train_classifier import TrainSettings, train_heads
from corpusmill.jobs.training.train_lm import models_dir, train_language_model
from corpusmill.samplegen import benchmarks as samplegen_benchmarks
from corpusmill.samplegen import code_repos as samplegen_code
from corpusmill.samplegen import crawl as samplegen
from corpusmill.samplegen import en as samplegen_en
from corpusmill.samplegen import zh as samplegen_zh
from corpusmill.udfs.classifiers.classify import ClassifierSpec
from corpusmill.udfs.longctx.perplexity import has_model

log = logging.getLogger("corpusmill")


@dataclass
class DemoCausalLM:
    """The demo's coherence LM: longctx.causal_lm with these sizes over it (small enough for CI)."""
    docs: int                 # generated articles per language
    steps: int                # optimizer steps
    hidden: int               # model width
    positions: int            # context length (4,096 / 1,024 / 1,024 chunks become 256 / 64 / 64)
    vocab_size: int           # byte-level BPE vocabulary


@dataclass
class DemoConfig:
    seed: int                 # sample generator seed (same seed -> byte-identical sample data)
    pages_per_dump: int       # generated web pages per crawl dump (two dumps)
    samples_dir: str          # where the generated inputs go, relative to storage.root
    classifier_examples: int  # generated training examples per classifier head
    classifier_epochs: int    # fine-tuning passes over them
    lm_sentences: int         # generated reference sentences per language for the KenLM models
    lm_vocab_size: int        # SentencePiece vocabulary of those models
    causal_lm: DemoCausalLM

    def __post_init__(self) -> None:
        if self.classifier_examples < 16 or self.classifier_epochs < 1:
            raise ConfigError(f"demo: classifier_examples must be >= 16 (a validation split per label) and "
                              f"classifier_epochs >= 1, got {self.classifier_examples} and {self.classifier_epochs}")


# ---- inputs --------------------------------------------------------------------------------------
def generate_samples(config: Config) -> Path:
    """Write the sample crawl, text sources and code repositories once (deterministic; each skipped
    when present) under demo.samples_dir."""
    base = Path(config.path(config.demo.samples_dir))
    crawl, text = base / "crawl", base / "text"
    if not (crawl / "manifest.json").exists():
        samplegen.generate_crawl(str(crawl), seed=config.demo.seed, pages_per_dump=config.demo.pages_per_dump)
    if not text.exists() or not any(text.iterdir()):
        samplegen.generate_text_sources(str(text), seed=config.demo.seed)
    samplegen_code.generate_for_config(config)
    return base


# ---- blocklists -----------------------------------------------------------------------------------
def write_blocklists(config: Config) -> None:
    """The demo's UT1-format domain folder and per-language word files, where the safety section's
    first domain list and first word list point (each written only when missing)."""
    s = config.safety
    if s.domain_lists:
        root = Path(config.path(s.domain_lists[0].path))
        if not root.exists():
            for cat, doms in sorted(samplegen.DEMO_BLOCKED_DOMAINS.items()):
                (root / cat).mkdir(parents=True, exist_ok=True)
                (root / cat / "domains").write_text("".join(f"{d}\n" for d in doms))
                (root / cat / "usage").write_text("black\n")
    if s.word_lists and not s.word_lists[0].startswith("package:"):
        w = s.word_lists[0]
        root = Path(config.path(w.partition("=")[2] if "=" in w and "/" not in w.partition("=")[0] else w))
        if not root.exists():
            root.mkdir(parents=True)
            for lang, words in sorted(samplegen.DEMO_BLOCKED_WORDS.items()):
                (root / lang).write_text("".join(f"{t}\n" for t in words))


# ---- benchmarks ------------------------------------------------------------------------------------
DEMO_BENCHMARKS = {"demo-qa": "qa", "demo-code": "code"}     # decontam.benchmarks name -> samplegen set


def write_benchmarks(config: Config) -> None:
    """The demo's evaluation sets (samplegen/benchmarks.py), where decontam.benchmarks entries named
    demo-qa and demo-code point (each written only when missing); the sample crawl quotes them."""
    if "decontam" not in config.sections:
        return
    for b in config.decontam.benchmarks:
        path = Path(config.path(b.path))
        if b.name in DEMO_BENCHMARKS and "://" not in str(path) and not path.exists():
            samplegen_benchmarks.write(DEMO_BENCHMARKS[b.name], path)


# ---- classifiers ----------------------------------------------------------------------------------
# Small on purpose: the demo trains one four-head encoder on 2 CPU cores in about a minute and a half
# (demo.classifier_examples 128 per head, demo.classifier_epochs 3). Measured on those examples'
# validation split: lr 5e-4 collapses the shared encoder to one class on every head (macro F1 0.33);
# 1e-4 for three epochs reaches 0.83-1.0.
CLASSIFIER_TRAIN = dict(max_length=48, seed=0, batch_size=8, lr=1e-4, evals_per_epoch=1)
CLASSIFIERS = (("safety", ("toxicity", "pornography")), ("quality", ("advertisement", "fluency")))


def classifiers(config: Config) -> dict[str, dict[str, tuple[ClassifierSpec, str]]]:
    """model path -> head -> (spec, generator task) for the classifiers the config names."""
    out: dict[str, dict[str, tuple[ClassifierSpec, str]]] = {}
    for name, tasks in CLASSIFIERS:
        if name not in config.sections:
            continue
        for task in tasks:
            spec = getattr(config.sections[name], task)
            for model in spec.models().values():
                if model.strip().lower() != "none":
                    out.setdefault(resolve_model(config, model), {})[spec.head or "default"] = (spec, f"{name}.{task}")
    return out


def train_classifiers(config: Config) -> None:
    """Fine-tune the classifiers the config names (one multi-head model per model path) on generated
    examples, unless there: the `classifiers` section's settings with the demo's sizes over them."""
    for out, heads in classifiers(config).items():
        key = next(iter(heads.values()))[1]
        if "://" in out or os.path.isfile(os.path.join(out, "config.json")):
            continue
        if not (os.path.isabs(out) and out.startswith(config.path(config.storage.models))):
            raise ConfigError(f"{key}.model: {out} is not a local model under storage.models; the demo only "
                              f"trains models there")
        n, seed = config.demo.classifier_examples, CLASSIFIER_TRAIN["seed"]
        tasks = {h: samplegen.classifier_examples(task.split(".")[1], seed, n) for h, (_, task) in heads.items()}
        log.info("[demo] training one encoder with %d heads (%s) on generated examples -> %s", len(tasks),
                 ", ".join(tasks), out)
        settings = replace(TrainSettings.from_config(config.classifiers), epochs=config.demo.classifier_epochs,
                           **CLASSIFIER_TRAIN)
        train_heads(tasks, out, settings)


# ---- long-context models --------------------------------------------------------------------------
def build_kenlm_models(out_dir: str, languages: list[str], *, n_sentences: int = 5000, seed: int = 0,
                       vocab_size: int = 2000, order: int = 5, memory: str = "1G",
                       kenlm_bin_dir: str = "") -> list[str]:
    """SentencePiece + KenLM models from generated reference text (samplegen.crawl.reference_text),
    for languages without models in out_dir; offline, a few seconds per language."""
    built = []
    for lang in languages:
        if has_model(out_dir, lang):
            continue
        lines = samplegen.reference_text(lang, n_sentences=n_sentences, seed=seed)
        train_language_model(lines, lang, out_dir, vocab_size=vocab_size, order=order, memory=memory,
                             kenlm_bin_dir=kenlm_bin_dir,
                             source=f"corpusmill.samplegen.reference_text({lang!r}, n_sentences={n_sentences}, seed={seed})")
        built.append(lang)
    return built


def causal_lm_text(languages: list[str], n_docs: int, seed: int) -> list[str]:
    """Generated articles (samplegen's en/zh writers), one topic each, paragraphs in order."""
    mods = {"en": samplegen_en, "zh": samplegen_zh}
    lines = []
    for i in range(n_docs):
        for lang in languages:
            if lang in mods:
                rng = random.Random(f"causal-demo/{lang}/{seed}/{i}")
                lines += mods[lang].article(rng, paragraphs=(10, 16))["paragraphs"]
    return lines


def build_causal_lm(out_dir: str, languages: list[str], t: CausalTrainConfig, n_docs: int) -> bool:
    """Train t on n_docs generated articles per language unless out_dir already holds a model."""
    if os.path.isfile(os.path.join(out_dir, "config.json")):
        return False
    train_causal_lm(causal_lm_text(languages, n_docs, t.seed), out_dir, t,
                    source=f"corpusmill.jobs.tools.demo_assets.causal_lm_text({languages}, n_docs={n_docs}, "
                           f"seed={t.seed})")
    return True


def demo_causal_lm(config: Config) -> CausalTrainConfig:
    """longctx.causal_lm with the demo's sizes (demo.causal_lm) and seed over it."""
    d = config.demo.causal_lm
    return replace(config.longctx.causal_lm, steps=d.steps, hidden=d.hidden, positions=d.positions,
                   vocab_size=d.vocab_size, seed=config.longctx.causal_lm.seed + config.demo.seed)


def build_longctx_models(config: Config) -> None:
    """en/zh KenLM models and, when the coherence scorer is the default causal LM (no model
    configured), that model, from generated text."""
    lm, demo = config.longctx.lm, config.demo
    build_kenlm_models(models_dir(config), config.longctx.languages, n_sentences=demo.lm_sentences, seed=demo.seed,
                       vocab_size=demo.lm_vocab_size, order=lm.order, memory=lm.memory, kenlm_bin_dir=lm.kenlm_bin_dir)
    co = config.longctx.coherence
    if co.scorer == "causal_lm" and not co.model:     # a configured model is the user's; the default we build
        build_causal_lm(default_model_dir(config), config.longctx.languages, demo_causal_lm(config),
                        demo.causal_lm.docs)


# ---- everything -----------------------------------------------------------------------------------
def prepare(config: Config, progress=log.info) -> None:
    """The lists and models the demo's config points at, each skipped when present."""
    progress("preparing demo assets: blocklists, benchmarks and classifiers ...")
    write_blocklists(config)
    write_benchmarks(config)
    train_classifiers(config)
    progress("preparing demo assets: KenLM and coherence models ...")
    build_longctx_models(config)
