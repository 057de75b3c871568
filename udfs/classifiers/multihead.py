"""One encoder, several classification heads: the model directory `train-classifier` writes.

Why: toxicity, pornography, advertisement and fluency read the same text. With one encoder and a
linear head per task the text is tokenized once and the encoder runs once; every head reads the
same mean-pooled vector. A directory holds:
  config.json, model.safetensors, tokenizer files   the encoder (an `AutoModel` folder)
  heads.json                                        head -> labels, first-pass model file, band
  heads.safetensors                                 <head>.weight [n_labels, hidden], <head>.bias
  cheap/<head>.npz                                  the first-pass model (udfs/classifiers/cheap_model.py)
A plain Hugging Face sequence-classification directory (no heads.json) still works as one
unnamed head; udfs/classifiers/classify.py reads both.
"""
from __future__ import annotations

import json
import os

HEADS_FILE = "heads.json"
WEIGHTS_FILE = "heads.safetensors"
FORMAT = "corpusmill-heads/1"


def is_multihead(path: str) -> bool:
    return os.path.isfile(os.path.join(path, HEADS_FILE))


def read_meta(path: str) -> dict:
    """heads.json: {"format", "pooling", "heads": {name: {"labels", "cheap", "band", ...}}}."""
    with open(os.path.join(path, HEADS_FILE), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}/{HEADS_FILE}: unknown format {meta.get('format')!r}")
    return meta


def write_meta(path: str, meta: dict) -> None:
    tmp = os.path.join(path, HEADS_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"format": FORMAT, **meta}, f, indent=2, ensure_ascii=False)
    os.replace(tmp, os.path.join(path, HEADS_FILE))


def mean_pool(hidden, mask):
    """Masked mean over tokens: [B, T, H] x [B, T] -> [B, H] (the pooling the MiniLM and e5 encoders were trained with)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def load_heads(path: str) -> dict:
    """head -> (weight, bias) float32 tensors."""
    from safetensors.torch import load_file

    w = load_file(os.path.join(path, WEIGHTS_FILE))
    names = {k.rsplit(".", 1)[0] for k in w}
    return {n: (w[f"{n}.weight"].float(), w[f"{n}.bias"].float()) for n in sorted(names)}


def build(encoder, heads: dict[str, int], dropout: float = 0.1):
    """A trainable torch module: encoder + dropout + one Linear per head (head -> n_labels)."""
    import torch

    class MultiHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.heads = torch.nn.ModuleDict({h: torch.nn.Linear(encoder.config.hidden_size, n)
                                              for h, n in heads.items()})

        def pooled(self, input_ids, attention_mask):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            return mean_pool(out.last_hidden_state, attention_mask)

        def forward(self, input_ids, attention_mask, head: str):
            return self.heads[head](self.dropout(self.pooled(input_ids, attention_mask)))

    return MultiHead()


def save(model, tokenizer, out_dir: str, meta: dict) -> None:
    """Write encoder, tokenizer, head weights and heads.json (last)."""
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    model.encoder.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    tensors = {}
    for h, lin in model.heads.items():
        tensors[f"{h}.weight"] = lin.weight.detach().float().contiguous().cpu()
        tensors[f"{h}.bias"] = lin.bias.detach().float().contiguous().cpu()
    save_file(tensors, os.path.join(out_dir, WEIGHTS_FILE))
    write_meta(out_dir, meta)
