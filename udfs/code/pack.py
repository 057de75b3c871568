"""Token counting and packing of ordered repository files into fixed-budget samples.

Tokenizer: any Hugging Face *fast* tokenizer (its tokenizer.json), given by path or hub id; the
offline default is a byte-level BPE the project trains with the `tokenizers` library on the code it
ingests (`train_bpe`). The JSON travels to the workers as a broadcast string and is parsed once
per worker (`get_tokenizer` caches it), so no worker needs the file or the network. `regex` is a
model-free fallback (words, single symbols, whitespace runs) for quick experiments.

Packing (per repository, or per folder group of a huge repository), with every count exact:
- each file is rendered as markdown (code_markdown) and counted;
- a sample starts with the repository header and takes files in order while they fit;
- a file larger than the budget is cut into parts at definition boundaries (an unindented line
  after a blank line) when the last one keeps >= 90% of the room, else at line boundaries, else (one giant line) at token boundaries; each
  part gets its own header `(part i)` and fence;
- with `split_to_fill`, a file that does not fit a sample with at least `min_fill_split_tokens`
  free is cut the same way so the sample is filled and the rest starts the next sample;
- the final text of every sample is re-counted; if junction effects push it over the budget the
  last unit moves to the next sample, so no sample ever exceeds the budget.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Iterable

from corpusmill.udfs.code import markdown as md
from corpusmill.udfs.code.imports import RepoIndex, resolve_imports
from corpusmill.udfs.code.order import order_files

REGEX_TOKENIZER = "regex"
_REGEX = re.compile(r"\w+|[^\w\s]|\s+")
_TOKENIZERS: dict[str, "CodeTokenizer"] = {}


class CodeTokenizer:
    """Counts tokens; `spec` is a tokenizer.json string or 'regex'."""

    def __init__(self, spec: str):
        self.spec = spec
        if spec == REGEX_TOKENIZER:
            self._tok = None
        else:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_str(spec)
            self._tok.no_truncation()
            self._tok.no_padding()

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        if self._tok is None:
            return [len(_REGEX.findall(t)) for t in texts]
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def cut_points(self, text: str, max_tokens: int) -> list[int]:
        """Character offsets that cut text into pieces of at most max_tokens tokens each."""
        if self._tok is None:
            starts = [m.start() for m in _REGEX.finditer(text)]
        else:
            starts = [s for s, _ in self._tok.encode(text, add_special_tokens=False).offsets]
        return [starts[i] for i in range(max_tokens, len(starts), max_tokens)]


def get_tokenizer(spec: str) -> CodeTokenizer:
    """One parsed tokenizer per worker process and spec."""
    key = hashlib.sha1(spec.encode()).hexdigest()
    tok = _TOKENIZERS.get(key)
    if tok is None:
        tok = _TOKENIZERS[key] = CodeTokenizer(spec)
    return tok


def train_bpe(texts: Iterable[str], out_dir: str, vocab_size: int = 16384, min_frequency: int = 2) -> str:
    """Train a byte-level BPE on code and save it as a Hugging Face tokenizer folder; returns its JSON.

    The folder (tokenizer.json + tokenizer_config.json) loads with
    `transformers.AutoTokenizer.from_pretrained(out_dir)` as well as with `tokenizers`.
    """
    import os

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>",
                   "model_max_length": 1 << 20, "clean_up_tokenization_spaces": False}, f, indent=1)
    return tok.to_str()


# ---- packing ---------------------------------------------------------------------------------
@dataclass
class PackOptions:
    max_tokens: int = 32768
    split_to_fill: bool = True
    min_fill_split_tokens: int = 1024
    file_header: str = md.DEFAULT_FILE_HEADER
    doc_header: str = md.DEFAULT_DOC_HEADER
    repo_header: str = md.DEFAULT_REPO_HEADER


@dataclass
class FileIn:
    path: str
    language: str
    doc: bool
    content: str
    summary: str = ""
    definitions: list[str] = field(default_factory=list)


@dataclass
class Unit:
    """A rendered file or file part; tokens = its exact count + JUNCTION (its cost inside a sample)."""
    path: str
    part: int          # 0 = whole file, else 1-based part number
    text: str
    tokens: int


@dataclass
class Sample:
    units: list[Unit]
    text: str
    tokens: int


_BOUNDARY = re.compile(r"^[^\s})\]]")
JUNCTION = 1               # a unit's "\n\n" before the next "###" costs one more token in context
BOUNDARY_MIN_FILL = 0.9     # cut at the last definition boundary only when it keeps >= 90% of the room


class _Splitter:
    """Cuts one file into rendered parts that each fit a given number of tokens."""

    def __init__(self, f: FileIn, tok: CodeTokenizer, opt: PackOptions):
        self.f, self.tok, self.opt = f, tok, opt
        self.lines = f.content.splitlines(keepends=True) or [""]
        self.line_toks = tok.count(self.lines)
        self.next_part = 1
        self.pos = 0
        # a cut before line i is a definition boundary when line i starts unindented after a blank line
        self.boundary = [i > 0 and bool(_BOUNDARY.match(self.lines[i])) and not self.lines[i - 1].strip()
                         for i in range(len(self.lines))]

    def done(self) -> bool:
        return self.pos >= len(self.lines)

    def render(self, a: int, b: int, part: int) -> str:
        return md.render_file(self.f.path, self.f.language, self.f.doc, "".join(self.lines[a:b]), self.f.summary,
                              self.f.definitions, file_header=self.opt.file_header, doc_header=self.opt.doc_header,
                              part=f" (part {part})")

    def take(self, room: int) -> Unit | None:
        """The next part that fits `room` tokens (None when not even a minimal part fits)."""
        part = self.next_part
        overhead = self.tok.count([self.render(self.pos, self.pos, part)])[0] + JUNCTION
        if overhead >= room:
            return None
        budget = room - overhead
        end, acc, best_boundary = self.pos, 0, None
        while end < len(self.lines) and acc + self.line_toks[end] <= budget:
            acc += self.line_toks[end]
            end += 1
            if end < len(self.lines) and self.boundary[end]:
                best_boundary = end
        if end < len(self.lines) and best_boundary is not None and best_boundary - self.pos >= 1 and \
                sum(self.line_toks[self.pos:best_boundary]) >= budget * BOUNDARY_MIN_FILL:
            end = best_boundary                     # a definition boundary, unless it wastes the budget
        at_boundary = end == len(self.lines) or self.boundary[end]
        if end == self.pos:                         # one line longer than the room: cut it by tokens
            line = self.lines[self.pos]
            cuts = self.tok.cut_points(line, max(1, budget - 2))
            head, rest = line[: cuts[0]], line[cuts[0]:]
            self.lines[self.pos: self.pos + 1] = [head, rest]
            self.line_toks[self.pos: self.pos + 1] = self.tok.count([head, rest])
            self.boundary[self.pos: self.pos + 1] = [self.boundary[self.pos], False]
            end = self.pos + 1
        while True:                                 # exact check; line sums over-estimate, rarely under
            text = self.render(self.pos, end, part)
            n = self.tok.count([text])[0] + JUNCTION
            if n <= room or end - self.pos <= 1:
                break
            end -= max(1, (end - self.pos) // 10)
        if n > room:
            return None
        for _ in range(0 if at_boundary else 3):    # line sums over-estimate: use the slack they left
            extra, k = room - n, end
            while k < len(self.lines) and self.line_toks[k] <= extra:
                extra -= self.line_toks[k]
                k += 1
            if k == end:
                break
            text2 = self.render(self.pos, k, part)
            n2 = self.tok.count([text2])[0] + JUNCTION
            if n2 > room:
                break
            end, text, n = k, text2, n2
        self.pos = end
        self.next_part += 1
        return Unit(self.f.path, part, text, n)


def _repo_header(opt: PackOptions, repo: str, group: str, index: int, many: bool) -> str:
    bits = []
    if group:
        bits.append(f"{group}/")
    if many:
        bits.append(f"part {index + 1}")
    return md.render_repo_header(repo, f" ({', '.join(bits)})" if bits else "", opt.repo_header)


def pack_files(repo: str, group: str, files: list[FileIn], tok: CodeTokenizer, opt: PackOptions) -> list[Sample]:
    """Pack ordered files into samples of at most opt.max_tokens tokens (see the module doc)."""
    if not files:
        return []
    worst = tok.count([_repo_header(opt, repo, group, 99999, True)])[0] + 2
    cap = opt.max_tokens - worst
    if cap < 64:
        raise ValueError(f"max_tokens {opt.max_tokens} leaves no room after the repository header")
    rendered = [md.render_file(f.path, f.language, f.doc, f.content, f.summary, f.definitions,
                               file_header=opt.file_header, doc_header=opt.doc_header) for f in files]
    counts = [c + JUNCTION for c in tok.count(rendered)]
    chunks: list[list[Unit]] = []
    cur: list[Unit] = []
    used = 0

    def flush():
        nonlocal cur, used
        if cur:
            chunks.append(cur)
        cur, used = [], 0

    for f, text, n in zip(files, rendered, counts):
        if used + n <= cap:
            cur.append(Unit(f.path, 0, text, n))
            used += n
            continue
        fill = opt.split_to_fill and cap - used >= opt.min_fill_split_tokens
        if n <= cap and not fill:
            flush()
            cur.append(Unit(f.path, 0, text, n))
            used = n
            continue
        if not fill:
            flush()                                 # too big for any sample: its parts start a new one
        sp = _Splitter(f, tok, opt)                 # cut to fill this sample, then continue in the next
        while not sp.done():
            unit = sp.take(cap - used)
            if unit is None:
                if not cur:
                    raise ValueError(f"{repo}:{f.path}: cannot fit any part into {cap} tokens")
                flush()
                continue
            cur.append(unit)
            used += unit.tokens
            if not sp.done():
                flush()
    flush()
    return _finish(repo, group, chunks, tok, opt)


def _finish(repo: str, group: str, chunks: list[list[Unit]], tok: CodeTokenizer, opt: PackOptions) -> list[Sample]:
    """Render headers, count every sample exactly and move a trailing unit on when over budget."""
    out: list[Sample] = []
    queue = [list(c) for c in chunks]
    many = len(queue) > 1
    i = 0
    while i < len(queue):
        units = queue[i]
        header = _repo_header(opt, repo, group, i, many)
        text = header + "".join(u.text for u in units)
        n = tok.count([text])[0]
        while n > opt.max_tokens and len(units) > 1:
            moved = units.pop()
            if i + 1 < len(queue):
                queue[i + 1].insert(0, moved)
            else:
                queue.append([moved])
                many = True
            header = _repo_header(opt, repo, group, i, many)
            text = header + "".join(u.text for u in units)
            n = tok.count([text])[0]
        if n > opt.max_tokens:
            raise ValueError(f"{repo}: sample {i} has {n} tokens > budget {opt.max_tokens} after splitting")
        out.append(Sample(units, text, n))
        i += 1
    return out


def merge_small(items: list[tuple[str, str, int]], tok: CodeTokenizer, max_tokens: int) -> list[list[int]]:
    """First-fit-decreasing bins of small samples (id, text, tokens); returns item indices per bin.

    Deterministic: items sorted by (-tokens, id); each bin's exact token count is checked.
    """
    order = sorted(range(len(items)), key=lambda i: (-items[i][2], items[i][0]))
    bins: list[list[int]] = []
    used: list[int] = []
    for i in order:
        n = items[i][2]
        for b in range(len(bins)):
            if used[b] + n <= max_tokens:
                bins[b].append(i)
                used[b] += n
                break
        else:
            bins.append([i])
            used.append(n)
    out: list[list[int]] = []
    for b in bins:
        while len(b) > 1 and tok.count(["".join(items[i][1] for i in b)])[0] > max_tokens:
            out.append([b.pop()])
        out.append(b)
    return out


# ---- Spark adapters (groupBy(...).applyInPandas) ---------------------------------------------
def _sample_id(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:32]


def _as_list(v) -> list:
    return [] if v is None else [x for x in v]


def pack_group_frame(pdf, *, tokenizer_spec: str, tokenizer_name: str, ordering: str, opt: PackOptions):
    """One repository (or subtree of a huge one) -> its samples, as a pandas frame of code_samples rows."""
    import pandas as pd

    tok = get_tokenizer(tokenizer_spec)
    repo, subtree = str(pdf["repo"].iloc[0]), str(pdf["subtree"].iloc[0] or "")
    rows = {r.path: r for r in pdf.itertuples(index=False)}
    paths = sorted(rows)
    docs = {p for p in paths if bool(rows[p].is_doc)}
    imports: dict[str, list[str]] = {}
    if ordering == "dependency":
        idx = RepoIndex(paths, {p: rows[p].content for p in paths if p.endswith("go.mod")})
        imports = {p: resolve_imports(idx, p, _as_list(rows[p].imports)) for p in paths if p not in docs}
    order, breaks = order_files(paths, imports, docs, ordering)
    files = [FileIn(p, rows[p].language, p in docs, rows[p].content or "", rows[p].summary or "",
                    _as_list(rows[p].definitions)) for p in order]
    samples = pack_files(repo, subtree, files, tok, opt)
    n = len(samples)
    out = []
    for i, s in enumerate(samples):
        out.append(dict(
            sample_id=_sample_id(repo, subtree, str(i)), repo=repo, repos=[repo], subtree=subtree, sample_index=i,
            num_samples=n, kind="whole" if n == 1 else "cut", ordering=ordering, cycle_breaks=breaks,
            token_count=s.tokens, max_tokens=opt.max_tokens, fill=s.tokens / opt.max_tokens,
            num_files=len(s.units),
            files=[dict(repo=repo, path=u.path, part=u.part, tokens=u.tokens) for u in s.units],
            tokenizer=tokenizer_name, text=s.text, text_bytes=len(s.text.encode("utf-8"))))
    return pd.DataFrame(out, columns=SAMPLE_COLUMNS)


SAMPLE_COLUMNS = ["sample_id", "repo", "repos", "subtree", "sample_index", "num_samples", "kind", "ordering",
                  "cycle_breaks", "token_count", "max_tokens", "fill", "num_files", "files", "tokenizer", "text",
                  "text_bytes"]


def merge_small_frame(pdf, *, tokenizer_spec: str, max_tokens: int):
    """Small samples of one bucket -> merged samples (kind 'packed'); a sample alone stays as it was."""
    import pandas as pd

    tok = get_tokenizer(tokenizer_spec)
    pdf = pdf.sort_values("sample_id").reset_index(drop=True)
    items = [(r.sample_id, r.text, int(r.token_count)) for r in pdf.itertuples(index=False)]
    out = []
    for b in merge_small(items, tok, max_tokens):
        members = [pdf.iloc[i] for i in b]
        if len(members) == 1:
            out.append({c: members[0][c] for c in SAMPLE_COLUMNS})
            continue
        text = "".join(m["text"] for m in members)
        n = tok.count([text])[0]
        repos: list[str] = []
        for m in members:
            repos += [r for r in _as_list(m["repos"]) if r not in repos]
        files = [f for m in members for f in _as_list(m["files"])]
        out.append(dict(
            sample_id=_sample_id(*[m["sample_id"] for m in members]), repo=repos[0], repos=repos, subtree="",
            sample_index=0, num_samples=1, kind="packed", ordering=members[0]["ordering"],
            cycle_breaks=int(sum(int(m["cycle_breaks"]) for m in members)), token_count=n, max_tokens=max_tokens,
            fill=n / max_tokens, num_files=len(files), files=files, tokenizer=members[0]["tokenizer"], text=text,
            text_bytes=len(text.encode("utf-8"))))
    return pd.DataFrame(out, columns=SAMPLE_COLUMNS)
