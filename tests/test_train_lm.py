"""`corpusmill train-lm`: real SentencePiece training and KenLM lmplz/build_binary, from files and tables."""
from __future__ import annotations

import json
import random

import pytest
from test_longctx import coherent_doc, doc_row, number_table, write_docs

from corpusmill.jobs import cli
from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.training import train_lm
from corpusmill.udfs.longctx import perplexity


def _reference(lang: str, n: int = 2000) -> list[str]:
    from corpusmill.samplegen import crawl as samplegen

    return samplegen.reference_text(lang, n_sentences=n, seed=1)


def test_cli_trains_from_jsonl_and_txt_files(tmp_path, capsys):
    txt = tmp_path / "en.txt"
    txt.write_text("\n".join(_reference("en")) + "\n")
    out = tmp_path / "models"
    rc = cli.main(["train-lm", "--lang", "en", "--text", str(txt), "--out", str(out), "--vocab-size", "800",
                   "--set", f"storage.root={tmp_path}"])
    assert rc == 0
    meta = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert meta["lang"] == "en" and meta["lines"] == 2000 and meta["order"] == 5 and meta["vocab_size"] <= 800
    assert json.loads((out / "en.json").read_text()) == meta
    m = perplexity.load_model(str(out), "en")
    assert m.lm.order == 5 and m.sp.get_piece_size() == meta["vocab_size"]
    prose = perplexity.score_document(m, coherent_doc("en", 77, min_bytes=3000)).doc_perplexity
    junk = perplexity.score_document(m, number_table(77, rows=50)).doc_perplexity
    assert prose * 10 < junk

    jl = tmp_path / "zh.jsonl"
    jl.write_text("\n".join(json.dumps({"body": s}, ensure_ascii=False) for s in _reference("zh")) + "\n")
    rc = cli.main(["train-lm", "--lang", "zh", "--text", str(jl), "--column", "body", "--out", str(out),
                   "--vocab-size", "800", "--set", f"storage.root={tmp_path}"])
    assert rc == 0 and perplexity.has_model(str(out), "zh")


def test_cli_trains_from_a_table_into_the_configured_models_dir(spark, config, tmp_path):
    rows = [doc_row(f"en{i}", coherent_doc("en", 80 + i, min_bytes=8000), "en") for i in range(3)]
    rows += [doc_row("zh0", coherent_doc("zh", 80, min_bytes=8000), "zh")]
    write_docs(spark, config, rows)
    rc = cli.main(["train-lm", "--lang", "en", "--table", "documents", "--vocab-size", "500",
                   "--set", f"storage.root={config.storage.root}"])
    assert rc == 0
    d = train_lm.models_dir(config)
    assert d.endswith("/models/kenlm") and perplexity.has_model(d, "en") and not perplexity.has_model(d, "zh")
    meta = json.loads(open(f"{d}/en.json").read())
    assert meta["source"] == "table:documents" and meta["lines"] == sum(r["text"].count("\n") + 1 for r in rows[:3])


def test_missing_kenlm_binaries_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CORPUSMILL_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("CORPUSMILL_KENLM_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^longctx.lm.kenlm_bin_dir: .*scripts/build_kenlm.sh"):
        train_lm.kenlm_binaries("")
    rc = cli.main(["train-lm", "--lang", "en", "--text", "x.txt", "--set", f"storage.root={tmp_path}"])
    assert rc == 2


def test_bad_reference_input(tmp_path, capsys):
    rc = cli.main(["train-lm", "--lang", "en", "--text", str(tmp_path / "none.txt"), "--set", f"storage.root={tmp_path}"])
    assert rc == 2 and "none.txt not found" in capsys.readouterr().err
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one line\n\n")
    rc = cli.main(["train-lm", "--lang", "en", "--text", str(tiny), "--out", str(tmp_path / "m"),
                   "--set", f"storage.root={tmp_path}"])
    assert rc == 1 and "need more text" in capsys.readouterr().err
    assert not perplexity.has_model(str(tmp_path / "m"), "en")


def test_real_reference_text_wikitext_and_cmrc(shared_data, tmp_path):
    """Models from the real reference text rank held-out Wikipedia prose far below junk."""
    wiki = (shared_data / "wikitext-2-valid" / "valid.txt").read_text().splitlines()
    paras = [l.strip() for l in wiki if l.strip() and not l.strip().startswith("=")]
    meta = train_lm.train_language_model(paras[:600], "en", str(tmp_path), vocab_size=3000)
    assert meta["lines"] == 600
    m = perplexity.load_model(str(tmp_path), "en")
    held = perplexity.score_document(m, "\n".join(paras[700:760])).doc_perplexity
    junk = perplexity.score_document(m, number_table(1, rows=60)).doc_perplexity
    assert held * 5 < junk

    ctx = shared_data / "cmrc2018-zh-wikipedia" / "contexts.jsonl"
    lines = list(train_lm.read_reference_files([str(ctx)]))
    meta = train_lm.train_language_model(lines[:800], "zh", str(tmp_path), vocab_size=3000)
    mz = perplexity.load_model(str(tmp_path), "zh")
    held_text = "\n".join(lines[800:860])
    held = perplexity.score_document(mz, held_text).doc_perplexity
    chars = list(held_text.replace("\n", ""))
    random.Random(0).shuffle(chars)                  # character salad: same characters, no language
    salad = "\n".join("".join(chars[i:i + 200]) for i in range(0, len(chars), 200))
    assert held * 3 < perplexity.score_document(mz, salad).doc_perplexity
    assert held * 2 < perplexity.score_document(mz, number_table(2, rows=60)).doc_perplexity
