"""The shared text encoder of the classifiers, run by one of several CPU/GPU runtimes.

The classifiers (toxicity, pornography, advertisement, fluency) share one encoder (a Hugging Face
`AutoModel` directory) whose last hidden state is mean-pooled over the attention mask; the small
linear heads on top are the caller's. This module only turns token ids into pooled vectors, as fast
as the machine allows:

- `torch`: the eager model (fp32 on the CPU; on CUDA the given half dtype, bf16 by default).
- `int8`: torch dynamic quantization of the nn.Linear layers (7-bit weights per channel, 8-bit
  activations quantized per batch at run time: the same vectors on AVX2, AVX-512 and AMX kernels,
  see quantize_int8); CPU only.
- `onnx`: the encoder and its pooling exported once to ONNX and run by onnxruntime's CPU provider
  (all graph optimizations, intra-op threads = torch.get_num_threads(), one inter-op thread).
- `onnx-int8`: that export dynamically quantized by onnxruntime.quantization (needs the `onnx`
  package, which the project does not list; the other runtimes do not need it).
- `bf16`: the eager model with bf16 weights (pooling in fp32); on the CPU fast only with AMX-BF16
  (Sapphire Rapids and later: ~2.5x fp32), slow without it.
- `auto`: `torch` on CUDA; on the CPU `bf16` where it has AMX, else `int8` (CPU_DEFAULT, measured below).

The export is cached on disk: `<model_dir>/onnx/encoder.onnx` when the model directory is writable
(and not inside an installed package), else `<cache>/onnx/<sha1>/encoder.onnx` with cache =
$CORPUSMILL_CACHE or ~/.cache/corpusmill and the sha1 over the model directory's path and its
config/weights sizes and mtimes. Every file is written under a temporary name and renamed into place
(one worker exports while the others wait on a lock file), so workers starting at once, or one killed
mid-export, never leave a broken file that is later loaded; an export older than the weights, or made
by another recipe (torch version, opset, EXPORT_VERSION: the `.recipe` file beside it), is redone.
Loaded encoders are cached per process (key: model path, runtime, device, dtype), like
udfs.classifiers.classify's models. Single-file exports only (ONNX's 2 GB protobuf limit: fine for BERT-base size).

Plain Python only (no Spark, no jobs.*): `load_encoder`, `Encoder.pooled`, `RUNTIMES`.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path

log = logging.getLogger("corpusmill")

RUNTIMES = ("auto", "torch", "int8", "onnx", "onnx-int8", "bf16")
CPU_RUNTIMES = ("int8", "onnx", "onnx-int8")      # never on CUDA
# What `auto` runs on the CPU: the fastest runtime whose toxicity F1 stays within 0.005 of eager fp32
# (bench/eval_toxicity.py --runtimes torch,int8,onnx,onnx-int8,bf16, held-out Davidson 3,965 and COLD
# 6,431 texts, one thread per core on an AMX Xeon): bf16 2.2x (MiniLM-L6) and 3.1x (e5-small) fp32 with
# F1 +0.0000 / +0.0003; int8 1.25x / 1.37x with F1 +0.0001 / +0.0012; onnx 0.89x / 0.94x; onnx-int8
# 1.26x / 1.37x. bf16 is fast only where the CPU multiplies bf16 natively (AMX): elsewhere int8.
CPU_DEFAULT_BF16, CPU_DEFAULT = "bf16", "int8"
ONNX_OPSET = 17
EXPORT_VERSION = 1             # bump when the export or quantization recipe changes: cached files are redone
ONNX_NAME = "encoder.onnx"
ONNX_INT8_NAME = "encoder.int8.onnx"
TMP_PREFIX = ".tmp-"           # partial files: never loaded, removed once stale
STALE_TMP_S = 3600             # a temporary file this old belongs to a dead export
WEIGHT_FILES = ("config.json", "model.safetensors", "model.safetensors.index.json",
                "pytorch_model.bin", "pytorch_model.bin.index.json")


def cache_root() -> Path:
    """$CORPUSMILL_CACHE or ~/.cache/corpusmill (read as jobs.core.config.cache_dir does; udfs do not import jobs)."""
    return Path(os.environ.get("CORPUSMILL_CACHE") or "~/.cache/corpusmill").expanduser()


# ---- the encoders ---------------------------------------------------------------------------------

class Encoder:
    """Token ids -> masked mean of the encoder's last hidden state, [B, H] float32 on the CPU."""

    hidden_size: int
    runtime: str          # the resolved runtime (never "auto")
    device: str
    model_dir: str

    def pooled(self, input_ids, attention_mask=None):
        """[B, H] float32 CPU tensor: the masked mean of the last hidden state of each row.

        input_ids / attention_mask: [B, S] integer tensors (a mask of None means no padding).
        A batch of 0 rows (or 0 columns) gives zeros of shape [B, H] without running the model.
        """
        import torch

        input_ids = torch.as_tensor(input_ids)
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, seq], got shape {tuple(input_ids.shape)}")
        attention_mask = (torch.ones_like(input_ids) if attention_mask is None
                          else torch.as_tensor(attention_mask))
        if attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} != "
                             f"input_ids shape {tuple(input_ids.shape)}")
        if input_ids.shape[0] == 0 or input_ids.shape[1] == 0:
            return torch.zeros((input_ids.shape[0], self.hidden_size), dtype=torch.float32)
        return self._pooled(input_ids.long(), attention_mask.long())

    def _pooled(self, input_ids, attention_mask):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_dir!r}, runtime={self.runtime!r}, device={self.device!r})"


def _pooling_module(model):
    """model + masked mean pooling as one nn.Module (what the torch runtimes run and ONNX exports)."""
    import torch

    class PooledEncoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            h = self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
            m = attention_mask.unsqueeze(-1).to(h.dtype)   # the mean in fp32 also for bf16/fp16 weights
            return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)

    # eval() on the wrapper too: the TorchScript exporter keeps Dropout when the top module trains
    return PooledEncoder(model).eval()


class TorchEncoder(Encoder):
    def __init__(self, model, runtime: str, device: str, model_dir: str):
        self.module = _pooling_module(model)
        self.hidden_size = int(model.config.hidden_size)
        self.runtime, self.device, self.model_dir = runtime, device, model_dir

    def _pooled(self, input_ids, attention_mask):
        import torch

        with torch.inference_mode():
            out = self.module(input_ids.to(self.device), attention_mask.to(self.device))
        return out.float().cpu()


class OrtEncoder(Encoder):
    def __init__(self, path: Path, hidden_size: int, runtime: str, model_dir: str):
        import onnxruntime as ort
        import torch

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, torch.get_num_threads())
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # no busy-waiting between ops: with Spark workers sharing the cores, spinning threads steal
        # the CPU from the ones working (measured 10-25% slower under contention)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.path = path
        self.hidden_size = hidden_size
        self.runtime, self.device, self.model_dir = runtime, "cpu", model_dir

    def _pooled(self, input_ids, attention_mask):
        import torch

        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        (out,) = self.session.run(["pooled"], feed)
        return torch.from_numpy(out).float()


# ---- resolution of runtime / device / dtype -------------------------------------------------------

_warned: set[str] = set()


def _warn_once(msg: str) -> None:
    if msg not in _warned:
        _warned.add(msg)
        log.warning(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)


def _resolve(runtime: str, device: str, dtype):
    """(runtime, device, dtype) with auto resolved; ValueError for what cannot run."""
    import torch

    if runtime not in RUNTIMES:
        raise ValueError(f"encoder runtime {runtime!r} unknown (one of {', '.join(RUNTIMES)})")
    if device not in ("auto", "cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"encoder device {device!r} unknown (one of auto, cpu, cuda)")
    has_cuda = torch.cuda.is_available()
    if device == "auto":
        device = "cuda" if has_cuda and runtime not in CPU_RUNTIMES else "cpu"
    elif device != "cpu" and not has_cuda:
        _warn_once(f"encoder: device={device} was asked for but no GPU is visible to this worker; "
                   f"running on the CPU instead")
        device = "cpu"
    if runtime == "auto":
        runtime = "torch" if device != "cpu" else (CPU_DEFAULT_BF16 if _cpu_has({"amx_bf16"}) else CPU_DEFAULT)
    if device != "cpu" and runtime in CPU_RUNTIMES:
        raise ValueError(f"encoder runtime {runtime!r} runs on the CPU only (device={device}); "
                         f"use runtime 'torch' or 'auto' on CUDA")
    if isinstance(dtype, str):
        names = {"auto": None, "fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16,
                 "float16": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}
        if dtype not in names:
            raise ValueError(f"encoder dtype {dtype!r} unknown (one of {', '.join(names)})")
        dtype = names[dtype]
    if runtime == "bf16" and dtype not in (None, torch.bfloat16):
        raise ValueError(f"encoder runtime 'bf16' runs bf16 weights (got dtype {dtype})")
    if device != "cpu":
        if dtype is None:
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif dtype is None:
        dtype = torch.float32
    elif dtype != torch.float32 and runtime != "torch":
        raise ValueError(f"encoder runtime {runtime!r} takes fp32 weights (got dtype {dtype})")
    if runtime == "bf16":
        if device == "cpu" and not _cpu_has({"amx_bf16", "avx512_bf16"}):
            _warn_once("encoder: runtime bf16 on a CPU without AMX-BF16 / AVX512-BF16 is slow; "
                       "use runtime torch (fp32) or onnx here")
        dtype = torch.bfloat16
    return runtime, device, dtype


# ---- loading --------------------------------------------------------------------------------------

_LOADED: dict[tuple, Encoder] = {}
_LOCK = threading.Lock()


def load_encoder(model_dir: str, runtime: str = "auto", device: str = "cpu", dtype=None) -> Encoder:
    """The encoder of `model_dir` run by `runtime`; loaded (and exported) once per process and key.

    runtime: one of RUNTIMES; device: cpu | cuda | auto; dtype: torch dtype (or fp32/fp16/bf16) for
    the `torch` runtime, None = fp32 on the CPU and bf16 (fp16 without bf16 support) on CUDA.
    """
    runtime, device, dtype = _resolve(runtime, device, dtype)
    path = os.path.abspath(os.path.expanduser(str(model_dir)))
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise FileNotFoundError(f"encoder: {model_dir} is not a model directory (no config.json)")
    key = (path, runtime, device, str(dtype))
    with _LOCK:
        hit = _LOADED.get(key)
        if hit is None:
            t0 = time.perf_counter()
            hit = _load(path, runtime, device, dtype)
            _LOADED[key] = hit
            log.info("encoder: loaded %s as %s on %s in %.1f s", path, runtime, device, time.perf_counter() - t0)
    return hit


def _hf_model(path: str, dtype=None, attn: str | None = None):
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()    # one bar per worker per model floods executor logs
    kwargs = {"dtype": dtype} if dtype is not None else {}
    if attn:
        kwargs["attn_implementation"] = attn
    model = None
    if _has_pooler_weights(path) is False:  # else built and dropped below (no load report either way)
        try:
            model = AutoModel.from_pretrained(path, add_pooling_layer=False, **kwargs)
        except TypeError:                    # a model class without that argument
            model = None
    if model is None:
        model = AutoModel.from_pretrained(path, **kwargs)
    if getattr(model, "pooler", None) is not None:
        model.pooler = None                  # the [CLS] pooler's output is never used: skip its matmul
    return model.eval()


def _has_pooler_weights(path: str) -> bool | None:
    """Whether the safetensors checkpoint has pooler weights; None when it cannot tell."""
    d = Path(path)
    try:
        index = d / "model.safetensors.index.json"
        if index.is_file():
            import json

            keys = json.loads(index.read_text())["weight_map"].keys()
        elif (d / "model.safetensors").is_file():
            from safetensors import safe_open

            with safe_open(str(d / "model.safetensors"), "pt") as f:
                keys = list(f.keys())
        else:
            return None
    except Exception:  # noqa: BLE001 - unreadable here: let transformers decide
        return None
    return any("pooler." in k for k in keys)


def _load(path: str, runtime: str, device: str, dtype) -> Encoder:
    if runtime in ("torch", "bf16"):
        model = _hf_model(path, dtype).to(device)
        return TorchEncoder(model, runtime, device, path)
    if runtime == "int8":
        return TorchEncoder(quantize_int8(_hf_model(path)), runtime, device, path)
    hidden = int(_hf_config(path).hidden_size)
    onnx_path = onnx_file(path)
    if runtime == "onnx-int8":
        onnx_path = _quantized_file(onnx_path)
    return OrtEncoder(onnx_path, hidden, runtime, path)


def _cpu_has(flags: set[str]) -> bool:
    """Any of these x86 feature flags in /proc/cpuinfo (False where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return bool(flags & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def quantize_int8(model):
    """model's nn.Linear layers with int8 weights (per output channel) and dynamically quantized
    activations (torch.ao.quantization.quantize_dynamic; CPU only), the down-projections excepted.

    The stock `quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` moves MiniLM-L6's pooled
    vectors to cosine ~0.86 of fp32: its hidden states have outlier features up to ~30 against a mean
    |x| of ~0.4, and activations get one scale per batch. Three changes:
    - per-channel weight scales;
    - the down-projections (in_features > out_features: the FFN output, whose GELU inputs are the
      most skewed) kept in fp32;
    - 8-bit activations with 7-bit weights (-64..63). fbgemm's AVX2 kernel (vpmaddubsw) adds two
      u8 x s8 products in int16 and saturates past 32,767; 255 x 64 x 2 = 32,640 never does, so every
      kernel (AVX2, AVX-512 VNNI, AMX) computes the same integers and the vectors do not depend on
      the CPU. torch's default spends the bit on the activations instead (reduce_range), whose
      per-batch scale suffers far more: worst pooled cosine 0.985 against 0.994 here.
    On MiniLM-L6: mean cosine ~0.995 of fp32, about as fast as the stock call. The activation scale
    is per batch, so a document's vector depends slightly on its batch mates.
    """
    import torch

    with warnings.catch_warnings():   # torch.ao.quantization is deprecated, still the eager int8 path
        warnings.simplefilter("ignore")
        try:
            from torch.ao.nn.quantized import dynamic as nnqd
            from torch.ao.quantization import PerChannelMinMaxObserver, PlaceholderObserver, QConfig, quantize_dynamic
        except ImportError as e:
            raise RuntimeError(f"encoder runtime 'int8' needs torch.ao.quantization.quantize_dynamic, which "
                               f"torch {torch.__version__} no longer has ({e})") from None
        qconfig = QConfig(
            activation=PlaceholderObserver.with_args(dtype=torch.quint8, quant_min=0, quant_max=255, is_dynamic=True),
            weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                                      quant_min=-64, quant_max=63))
        spec = {name: qconfig for name, mod in model.named_modules()
                if isinstance(mod, torch.nn.Linear) and mod.in_features <= mod.out_features}
        return quantize_dynamic(model, spec, mapping={torch.nn.Linear: _full_range_linear(nnqd)})


_FULL_RANGE_LINEAR = None


def _full_range_linear(nnqd):
    """A dynamic quantized Linear whose activations use all 8 bits (reduce_range=False; its weights
    are 7-bit, see quantize_int8)."""
    global _FULL_RANGE_LINEAR
    if _FULL_RANGE_LINEAR is None:
        import torch

        class DynamicLinear8(nnqd.Linear):
            def forward(self, x):
                if self._packed_params.dtype != torch.qint8:
                    return super().forward(x)
                y = torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False)
                return y.to(x.dtype)

        _FULL_RANGE_LINEAR = DynamicLinear8
    return _FULL_RANGE_LINEAR


def _hf_config(path: str):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path)


# ---- the ONNX export and its cache ----------------------------------------------------------------

def _source_files(path: str) -> list[Path]:
    d = Path(path)
    files = {d / n for n in WEIGHT_FILES if (d / n).is_file()}
    files |= {f for f in d.glob("model-*.safetensors") if f.is_file()}
    files |= {f for f in d.glob("pytorch_model-*.bin") if f.is_file()}
    return sorted(files)


def _fingerprint(path: str) -> str:
    """sha1 of the model directory's absolute path and its config/weights sizes and mtimes."""
    h = hashlib.sha1(os.path.abspath(path).encode())
    for f in _source_files(path):
        st = f.stat()
        h.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _in_installed_package(path: str) -> bool:
    parts = Path(path).parts
    return "site-packages" in parts or "dist-packages" in parts


def onnx_dir(path: str) -> Path:
    """Where the exports of `path` live: <path>/onnx when writable, else <cache>/onnx/<sha1>."""
    beside = Path(path) / "onnx"
    if not _in_installed_package(path):      # never write into an installed package's files
        try:
            beside.mkdir(exist_ok=True)
            if os.access(beside, os.W_OK | os.X_OK):
                return beside
        except OSError:
            pass
    d = cache_root() / "onnx" / _fingerprint(path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _recipe(kind: str) -> str:
    import torch

    return f"{kind} v{EXPORT_VERSION} torch {torch.__version__} opset {ONNX_OPSET}"


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".recipe")


def _fresh(target: Path, sources: list[Path], recipe: str) -> bool:
    """target exists, was made by this recipe (its .recipe file says so) and is not older than any
    of its sources (else it was made from other weights)."""
    try:
        t = target.stat().st_mtime_ns
        if _stamp(target).read_text() != recipe:
            return False
    except OSError:
        return False
    return all(s.stat().st_mtime_ns <= t for s in sources if s.exists())


def _write_stamp(target: Path, recipe: str) -> None:
    """After target is in place (a kill in between leaves an old stamp: redone, never wrongly kept)."""
    _write_atomic(_stamp(target), lambda tmp: Path(tmp).write_text(recipe))


@contextlib.contextmanager
def _file_lock(d: Path):
    """An exclusive flock on d/.lock so concurrent workers export once; no lock where flock fails."""
    f = None
    try:
        import fcntl

        f = open(d / ".lock", "a+")
        fcntl.flock(f, fcntl.LOCK_EX)
    except (ImportError, OSError):
        if f is not None:
            f.close()
        f = None
    try:
        yield
    finally:
        if f is not None:
            f.close()       # releases the lock


def _clean_stale_tmp(d: Path) -> None:
    now = time.time()
    for f in d.glob(TMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if now - f.stat().st_mtime > STALE_TMP_S:
                f.unlink()


def _write_atomic(target: Path, write) -> None:
    """write(tmp_path) under a temporary name in target's folder, then rename it to target."""
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)                  # mkstemp makes 0600; other users' workers read it too
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def onnx_file(path: str) -> Path:
    """<onnx dir>/encoder.onnx for the model directory `path`, exported now unless a fresh one exists."""
    d = onnx_dir(path)
    target = d / ONNX_NAME
    sources = _source_files(path)
    recipe = _recipe("encoder+mean-pooling")
    if _fresh(target, sources, recipe):
        return target
    with _file_lock(d):
        if _fresh(target, sources, recipe):    # another worker exported it while we waited
            return target
        _clean_stale_tmp(d)
        t0 = time.perf_counter()
        _write_atomic(target, lambda tmp: export_onnx(path, tmp))
        _write_stamp(target, recipe)
        log.info("encoder: exported %s to %s in %.1f s", path, target, time.perf_counter() - t0)
    return target


def export_onnx(path: str, out: str) -> None:
    """Export model + mean pooling of `path` to the ONNX file `out` (inputs input_ids, attention_mask
    [batch, seq] int64 with both axes dynamic; output pooled [batch, hidden] float32).

    The TorchScript exporter (dynamo=False): the torch.export-based default needs onnxscript and
    onnx. It wants the `onnx` package only to splice onnxscript functions into the proto, which a
    plain encoder has none of; without `onnx` that step is skipped (the bytes are left as exported).
    """
    import torch

    # eager attention: the exported SDPA adds a NaN guard (IsNaN + Where on every score matrix,
    # ~17% of onnxruntime's time at 256 tokens); the eager softmax(QK^T + mask) has none
    model = _hf_model(path, attn="eager")
    module = _pooling_module(model)
    vocab = int(getattr(model.config, "vocab_size", 1000) or 1000)
    ids = (torch.arange(2 * 8, dtype=torch.long).reshape(2, 8) % max(vocab - 1, 1)) + 1
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0                            # trace the padded path (masking is data dependent)
    with _onnx_optional(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")        # legacy-exporter deprecation and tracer warnings
        torch.onnx.export(
            module, (ids, mask), out, input_names=["input_ids", "attention_mask"], output_names=["pooled"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "pooled": {0: "batch"}},
            opset_version=ONNX_OPSET, do_constant_folding=True, dynamo=False)


@contextlib.contextmanager
def _onnx_optional():
    """Let the TorchScript exporter run without the `onnx` package (see export_onnx)."""
    try:
        import onnx  # noqa: F401  # pyright: ignore[reportMissingImports] - optional
        have_onnx = True
    except ImportError:
        have_onnx = False
    if have_onnx:
        yield
        return
    try:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils as opu
    except ImportError:
        opu = None
    if opu is None or not hasattr(opu, "_add_onnxscript_fn"):
        raise RuntimeError("encoder: exporting to ONNX with this torch needs the onnx package "
                           "(pip install onnx)")
    original = opu._add_onnxscript_fn

    def no_functions(model_bytes, custom_opsets):
        return model_bytes

    opu._add_onnxscript_fn = no_functions
    try:
        yield
    finally:
        opu._add_onnxscript_fn = original


def _quantized_file(src: Path) -> Path:
    """<onnx dir>/encoder.int8.onnx: src with int8 weights (onnxruntime dynamic quantization, per
    channel, the down-projection MatMuls kept in fp32 as quantize_int8 does: ~10% slower than with
    them in int8, for a worst pooled cosine of ~0.98 instead of ~0.95 on MiniLM-L6)."""
    target = src.parent / ONNX_INT8_NAME
    recipe = _recipe("dynamic int8, per channel, down-projections fp32")
    if _fresh(target, [src], recipe):
        return target
    try:
        import onnx  # pyright: ignore[reportMissingImports] - optional (onnx-int8 only)
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise RuntimeError("encoder runtime 'onnx-int8' needs the onnx package for onnxruntime's "
                           f"quantizer (pip install onnx); the other runtimes do not ({e})") from None
    with _file_lock(src.parent):
        if _fresh(target, [src], recipe):
            return target
        t0 = time.perf_counter()

        def write(tmp: str) -> None:
            keep = _down_projections(onnx.load(str(src)))
            root = logging.getLogger()
            quiet = _QuietQuantizer()
            root.addFilter(quiet)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    quantize_dynamic(str(src), tmp, weight_type=QuantType.QInt8, per_channel=True,
                                     nodes_to_exclude=keep,
                                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                root.removeFilter(quiet)

        _write_atomic(target, write)
        _write_stamp(target, recipe)
        log.info("encoder: quantized %s to %s in %.1f s", src, target, time.perf_counter() - t0)
    return target


def _down_projections(model) -> list[str]:
    """Names of the MatMul nodes whose weight initializer is [K, N] with K > N (the FFN outputs)."""
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        dims = [shapes[i] for i in node.input if i in shapes and len(shapes[i]) == 2]
        if dims and dims[0][0] > dims[0][1]:
            out.append(node.name)
    return out


class _QuietQuantizer(logging.Filter):
    """onnxruntime.quantization logs to the root logger: one INFO line per tensor and a warning
    that suggests a pre-processing step; drop those while it runs (only records logged to root)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "pre-processing before quantization" not in record.getMessage()
