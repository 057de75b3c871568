"""Import detection (regex, per file) and resolution to files of the same repository.

Detection runs per file and stores raw specifiers as a column of `code_files` (signals first);
resolution needs the repository's file list, so it runs inside the per-repository ordering step.
Specifiers are stored prefixed with their kind so resolution knows how to read them:
  py:<dots><dotted.name>   js:<specifier>   jvm:<qualified.Name or pkg.*>
  inc:"<file>" / inc:<<file>>   go:<import/path>   rs:mod:<name> / rs:use:<crate::path>
"""
from __future__ import annotations

import posixpath
import re
from collections import defaultdict

PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.M)
PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+?)[ \t]*(?:#.*)?$", re.M)
JS_FROM = re.compile(r"""(?:^|[\s;])(?:import|export)\b[^'"`;]*?\bfrom[ \t]*['"]([^'"\n]+)['"]""", re.M)
JS_BARE = re.compile(r"""^[ \t]*import[ \t]*['"]([^'"\n]+)['"]""", re.M)
JS_REQUIRE = re.compile(r"""\b(?:require|import)[ \t]*\([ \t]*['"]([^'"\n]+)['"][ \t]*\)""")
JVM_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?:static[ \t]+)?([\w.]+(?:\.\*)?)[ \t]*;?[ \t]*$", re.M)
C_INCLUDE = re.compile(r"""^[ \t]*#[ \t]*(?:include|import)[ \t]*(["<])([^">\n]+)[">]""", re.M)
GO_SINGLE = re.compile(r"""^[ \t]*import[ \t]+(?:[\w.]+[ \t]+)?"([^"\n]+)\"""", re.M)
GO_BLOCK = re.compile(r"^[ \t]*import[ \t]*\(([^)]*)\)", re.M)
GO_SPEC = re.compile(r"""(?:^|\n)[ \t]*(?:[\w.]+[ \t]+)?"([^"\n]+)\"""")
RS_MOD = re.compile(r"^[ \t]*(?:pub(?:\([\w: ]+\))?[ \t]+)?mod[ \t]+(\w+)[ \t]*;", re.M)
RS_USE = re.compile(r"^[ \t]*(?:pub(?:\([\w: ]+\))?[ \t]+)?use[ \t]+((?:crate|self|super)(?:::\w+)+)", re.M)

JS_LANGS = {"javascript", "typescript", "jsx", "tsx", "vue", "svelte"}
C_LANGS = {"c", "cpp", "cuda", "objective-c", "objective-cpp"}


def _strip_py_names(s: str) -> list[str]:
    s = s.strip().strip("()")
    out = []
    for part in s.replace("\n", " ").split(","):
        name = part.strip().split(" as ")[0].strip()
        if name and name != "*" and re.fullmatch(r"\w+", name):
            out.append(name)
    return out


def extract_imports(language: str, text: str | None) -> list[str]:
    """Raw import specifiers of one file, in order of appearance, without duplicates."""
    if not text:
        return []
    found: list[str] = []
    if language in ("python", "cython"):
        for m in PY_FROM.finditer(text):
            dots, mod, names = m.group(1), m.group(2), m.group(3)
            base = f"py:{dots}{mod}"
            found.append(base)
            for n in _strip_py_names(names):       # `from pkg import mod` may name a submodule
                found.append(f"py:{dots}{mod}{'.' if mod else ''}{n}")
        for m in PY_IMPORT.finditer(text):
            for part in m.group(1).split(","):
                name = part.strip().split(" as ")[0].strip()
                if name:
                    found.append(f"py:{name}")
    elif language in JS_LANGS:
        for rx in (JS_FROM, JS_BARE, JS_REQUIRE):
            found += [f"js:{m.group(1)}" for m in rx.finditer(text)]
    elif language in ("java", "kotlin", "scala", "groovy"):
        found += [f"jvm:{m.group(1)}" for m in JVM_IMPORT.finditer(text)]
    elif language in C_LANGS:
        found += [f'inc:{m.group(1)}{m.group(2)}{">" if m.group(1) == "<" else chr(34)}'
                  for m in C_INCLUDE.finditer(text)]
    elif language == "go":
        found += [f"go:{m.group(1)}" for m in GO_SINGLE.finditer(text)]
        for block in GO_BLOCK.finditer(text):
            found += [f"go:{m.group(1)}" for m in GO_SPEC.finditer(block.group(1))]
    elif language == "rust":
        found += [f"rs:mod:{m.group(1)}" for m in RS_MOD.finditer(text)]
        found += [f"rs:use:{m.group(1)}" for m in RS_USE.finditer(text)]
    seen: set[str] = set()
    return [x for x in found if not (x in seen or seen.add(x))]


# ---- resolution ------------------------------------------------------------------------------
JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".vue", ".svelte", ".json")
JVM_EXTS = (".java", ".kt", ".kts", ".scala", ".groovy")


def _dist(a: str, b: str) -> int:
    """Folder distance between two paths (steps up from a, then down to b)."""
    pa_, pb = a.split("/")[:-1], b.split("/")[:-1]
    common = 0
    for x, y in zip(pa_, pb):
        if x != y:
            break
        common += 1
    return (len(pa_) - common) + (len(pb) - common)


class RepoIndex:
    """Lookups over one repository's paths that the per-language resolvers share."""

    def __init__(self, paths: list[str], texts: dict[str, str] | None = None):
        self.paths = set(paths)
        self.by_suffix: dict[str, list[str]] = defaultdict(list)     # 'a/b.h' -> paths ending in /a/b.h
        self.py_modules: dict[str, list[str]] = defaultdict(list)    # dotted suffix -> .py files
        self.dir_files: dict[str, list[str]] = defaultdict(list)     # folder -> files directly in it
        for p in sorted(paths):
            parts = p.split("/")
            for i in range(len(parts)):
                self.by_suffix["/".join(parts[i:])].append(p)
            self.dir_files[posixpath.dirname(p)].append(p)
            if p.endswith((".py", ".pyi", ".pyx")):
                mod = parts[:-1] + [parts[-1].rsplit(".", 1)[0]]
                if mod[-1] == "__init__":
                    mod = mod[:-1]
                for i in range(len(mod)):
                    if mod[i:]:
                        self.py_modules[".".join(mod[i:])].append(p)
        self.go_module = ""
        if texts:
            for p in sorted(paths):
                if p == "go.mod" or p.endswith("/go.mod"):
                    m = re.search(r"^module[ \t]+(\S+)", texts.get(p) or "", re.M)
                    if m and (not self.go_module or p == "go.mod"):
                        self.go_module, self.go_root = m.group(1), posixpath.dirname(p)

    def nearest(self, src: str, candidates: list[str]) -> list[str]:
        if not candidates:
            return []
        best = min(candidates, key=lambda c: (_dist(src, c), c))
        return [best]


def _resolve_py(idx: RepoIndex, src: str, spec: str) -> list[str]:
    dots = len(spec) - len(spec.lstrip("."))
    name = spec[dots:]
    if dots:
        base = posixpath.dirname(src)
        for _ in range(dots - 1):
            base = posixpath.dirname(base)
        rel = "/".join(x for x in [base, name.replace(".", "/")] if x)
        for cand in (rel + ".py", rel + ".pyi", rel + "/__init__.py"):
            if cand in idx.paths:
                return [cand]
        return []
    cands = [c for c in idx.py_modules.get(name, []) if c != src]
    # prefer the match that uses the longest real package path (import a.b.c from root or src/)
    full = [c for c in cands if c.replace("/__init__.py", "").rsplit(".", 1)[0].endswith(name.replace(".", "/"))]
    return idx.nearest(src, full or cands)


def _resolve_js(idx: RepoIndex, src: str, spec: str) -> list[str]:
    if not spec.startswith((".", "/")):
        return []             # packages (react, lodash) are outside the repository
    base = posixpath.normpath(posixpath.join(posixpath.dirname(src), spec)).lstrip("/")
    for cand in [base] + [base + e for e in JS_EXTS] + [base + "/index" + e for e in JS_EXTS]:
        if cand in idx.paths and cand != src:
            return [cand]
    return []


def _resolve_jvm(idx: RepoIndex, src: str, spec: str) -> list[str]:
    if spec.endswith(".*"):
        folder = spec[:-2].replace(".", "/")
        out = []
        for d, files in idx.dir_files.items():
            if d == folder or d.endswith("/" + folder):
                out += [f for f in files if f.endswith(JVM_EXTS) and f != src]
        return sorted(out)
    parts = spec.split(".")
    # com.x.Outer.Inner -> try the longest class path first
    for k in range(len(parts), 0, -1):
        rel = "/".join(parts[:k])
        cands = [c for e in JVM_EXTS for c in idx.by_suffix.get(rel + e, []) if c != src]
        if cands:
            return idx.nearest(src, cands)
    return []


def _resolve_inc(idx: RepoIndex, src: str, spec: str) -> list[str]:
    quoted, name = spec[0] == '"', spec[1:-1]
    if quoted:
        local = posixpath.normpath(posixpath.join(posixpath.dirname(src), name))
        if local in idx.paths and local != src:
            return [local]
    cands = [c for c in idx.by_suffix.get(posixpath.normpath(name), []) if c != src]
    return idx.nearest(src, cands)


def _resolve_go(idx: RepoIndex, src: str, spec: str) -> list[str]:
    folder = None
    if idx.go_module and (spec == idx.go_module or spec.startswith(idx.go_module + "/")):
        rel = spec[len(idx.go_module):].strip("/")
        folder = "/".join(x for x in [idx.go_root, rel] if x)
    else:
        cands = [d for d in idx.dir_files if d and (d == spec or spec.endswith("/" + d))]
        folder = max(cands, key=len) if cands else None
    if folder is None:
        return []
    return sorted(f for f in idx.dir_files.get(folder, []) if f.endswith(".go") and not f.endswith("_test.go")
                  and f != src)


def _resolve_rs(idx: RepoIndex, src: str, spec: str) -> list[str]:
    kind, _, path = spec.partition(":")
    here = posixpath.dirname(src)
    stem = posixpath.basename(src).rsplit(".", 1)[0]
    # the folder a file's child modules live in: src/ for lib.rs/main.rs/mod.rs, else src/<stem>/
    mod_dir = here if stem in ("lib", "main", "mod") else posixpath.join(here, stem)
    if kind == "mod":
        for cand in (f"{mod_dir}/{path}.rs", f"{mod_dir}/{path}/mod.rs"):
            cand = cand.lstrip("/")
            if cand in idx.paths:
                return [cand]
        return []
    segs = path.split("::")
    if segs[0] == "crate":
        roots = sorted({posixpath.dirname(p) for p in idx.paths
                        if p.endswith(("src/lib.rs", "src/main.rs")) or p in ("lib.rs", "main.rs")},
                       key=lambda r: (_dist(src, r + "/x"), r))
        base = roots[0] if roots else here
    elif segs[0] == "super":
        base = posixpath.dirname(mod_dir)
    else:
        base = mod_dir
    rest = segs[1:]
    for k in range(len(rest), 0, -1):
        rel = "/".join([base] + rest[:k]).lstrip("/")
        for cand in (rel + ".rs", rel + "/mod.rs"):
            if cand in idx.paths and cand != src:
                return [cand]
    return []


_RESOLVERS = {"py": _resolve_py, "js": _resolve_js, "jvm": _resolve_jvm, "inc": _resolve_inc, "go": _resolve_go,
              "rs": _resolve_rs}


def resolve_imports(idx: RepoIndex, src: str, specs: list[str]) -> list[str]:
    """Files of the repository that src imports (sorted, without src itself)."""
    out: set[str] = set()
    for s in specs or []:
        kind, _, rest = s.partition(":")
        fn = _RESOLVERS.get(kind)
        if fn and rest:
            out.update(fn(idx, src, rest))
    out.discard(src)
    return sorted(out)
