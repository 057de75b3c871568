"""One markdown format for every file: a header (path + a description taken from the file itself),
then the code in a fenced block tagged with its language; documentation stays prose.

The description is language + module docstring / leading comment + top-level definitions, so a
model sees what a file is before reading it (InternLM2 converts code to markdown; DeepSeek-Coder
puts the path before each file).
"""
from __future__ import annotations

import re

DEFAULT_FILE_HEADER = "### {path}{part}\n> {description}\n\n"
DEFAULT_DOC_HEADER = "### {path}{part}\n\n"
DEFAULT_REPO_HEADER = "# Repository: {repo}{part}\n\n"
_FIELDS = ("path", "part", "description", "language", "summary", "definitions", "repo")

_PY_DOC = re.compile(r'\A(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*[rRuUbB]?("""|\'\'\')(.*?)\1', re.S)
_COMMENT_LINE = re.compile(r"^\s*(?://+|#+!?|--|;+|/\*+|\*+|<!--|\"\"\"|%+)\s?(.*?)\s*(?:\*/|-->)?\s*$")
_SKIP_COMMENT = re.compile(r"copyright|licen[cs]e|spdx|^-\*-|coding[:=]|^!|all rights reserved|^usr/bin|^/usr/bin|"
                           r"^=+$|^-+$|^\*+$|^eslint|^@ts-|^pylint|^noqa|^type:|^go:build|^\+build", re.I)

_DEFS: dict[str, list[re.Pattern]] = {
    "python": [re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)", re.M), re.compile(r"^class[ \t]+(\w+)", re.M)],
    "javascript": [
        re.compile(r"^(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?[ \t]+(\w+)", re.M),
        re.compile(r"^(?:export[ \t]+)?(?:default[ \t]+)?(?:abstract[ \t]+)?class[ \t]+(\w+)", re.M),
        re.compile(r"^(?:export[ \t]+)?(?:declare[ \t]+)?(?:interface|type|enum)[ \t]+(\w+)", re.M),
        re.compile(r"^(?:export[ \t]+)?(?:const|let|var)[ \t]+(\w+)[ \t]*(?::[^=\n]+)?=", re.M),
    ],
    "java": [re.compile(r"^(?:(?:public|private|protected|internal|abstract|final|static|data|sealed|open|"
                        r"inline|value|enum|annotation)[ \t]+)*(?:class|interface|enum|record|object|"
                        r"@interface)[ \t]+(\w+)", re.M),
             re.compile(r"^(?:(?:public|private|internal|inline|suspend)[ \t]+)*fun[ \t]+(?:<[^>]*>[ \t]*)?"
                        r"(?:[\w.]+\.)?(\w+)", re.M)],
    "go": [re.compile(r"^func[ \t]+(?:\([^)]*\)[ \t]*)?(\w+)", re.M), re.compile(r"^type[ \t]+(\w+)", re.M)],
    "rust": [re.compile(r"^(?:pub(?:\([^)]*\))?[ \t]+)?(?:async[ \t]+)?(?:unsafe[ \t]+)?(?:const[ \t]+)?"
                        r"(?:fn|struct|enum|trait|type|union|macro_rules!)[ \t]+(\w+)", re.M),
             re.compile(r"^impl(?:<[^>]*>)?[ \t]+(?:[\w:<>]+[ \t]+for[ \t]+)?(\w+)", re.M)],
    "c": [re.compile(r"^(?:typedef[ \t]+)?(?:struct|class|enum|union|namespace)[ \t]+(\w+)", re.M),
          re.compile(r"^#[ \t]*define[ \t]+(\w+)", re.M),
          re.compile(r"^(?!(?:return|else|if|while|for|switch|case)\b)(?:[\w:<>,*&~]+[ \t*&]+)+([\w:~]+)[ \t]*"
                     r"\([^;{]*\)[ \t]*(?:const[ \t]*)?\{?[ \t]*$", re.M)],
}
for _alias, _base in (("typescript", "javascript"), ("jsx", "javascript"), ("tsx", "javascript"),
                      ("kotlin", "java"), ("scala", "java"), ("csharp", "java"), ("groovy", "java"),
                      ("cpp", "c"), ("cuda", "c"), ("objective-c", "c"), ("cython", "python")):
    _DEFS[_alias] = _DEFS[_base]

LANGUAGE_TITLES = {"cpp": "C++", "csharp": "C#", "javascript": "JavaScript", "typescript": "TypeScript",
                   "jsx": "JSX", "tsx": "TSX", "objective-c": "Objective-C", "php": "PHP", "sql": "SQL",
                   "html": "HTML", "css": "CSS", "json": "JSON", "yaml": "YAML", "toml": "TOML", "xml": "XML"}


def language_title(language: str) -> str:
    return LANGUAGE_TITLES.get(language, language[:1].upper() + language[1:])


def _first_sentence(s: str, limit: int = 160) -> str:
    s = " ".join(s.strip().split())
    m = re.match(r"(.+?[.!?])(?:\s|$)", s)
    s = m.group(1) if m else s
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def summarize(language: str, text: str | None) -> str:
    """First sentence of the module docstring, else of the first meaningful leading comment."""
    if not text:
        return ""
    head = text[:8192]
    if language in ("python", "cython"):
        m = _PY_DOC.match(head)
        if m and m.group(2).strip():
            para = m.group(2).strip().split("\n\n")[0]
            return _first_sentence(para)
    collected: list[str] = []
    for line in head.splitlines()[:60]:
        if not line.strip():
            if collected:
                break
            continue
        m = _COMMENT_LINE.match(line)
        if not m:
            break
        body = m.group(1).strip()
        if not body or _SKIP_COMMENT.search(body):
            if collected:
                break
            continue
        collected.append(body)
    return _first_sentence(" ".join(collected)) if collected else ""


def definitions(language: str, text: str | None, limit: int = 12) -> list[str]:
    """Top-level definitions (functions, classes, types) in order of appearance, at most `limit`."""
    pats = _DEFS.get(language)
    if not text or not pats:
        return []
    found: list[tuple[int, str]] = []
    for rx in pats:
        found += [(m.start(), m.group(1)) for m in rx.finditer(text)]
    out: list[str] = []
    for _, name in sorted(found):
        if name not in out:
            out.append(name)
        if len(out) >= limit:
            break
    return out


def description(language: str, summary: str, defs: list[str], max_defs: int = 8) -> str:
    parts = [f"{language_title(language)} file."]
    if summary:
        parts.append(summary if summary.endswith((".", "!", "?", "…")) else summary + ".")
    if defs:
        shown = ", ".join(defs[:max_defs]) + (f" (+{len(defs) - max_defs} more)" if len(defs) > max_defs else "")
        parts.append(f"Defines: {shown}.")
    return " ".join(parts)


def fence_for(content: str) -> str:
    """A backtick fence longer than any backtick run inside the content (so it cannot close early)."""
    longest = max((len(m.group(0)) for m in re.finditer(r"`{3,}", content)), default=0)
    return "`" * max(3, longest + 1)


def check_template(template: str, key: str) -> None:
    """Raise ValueError (the job turns it into a ConfigError) on unknown {fields}."""
    try:
        template.format(**{f: "" for f in _FIELDS})
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"{key}: bad template {template!r} ({e}); fields: {', '.join(_FIELDS)}") from None


def render_file(path: str, language: str, doc: bool, content: str, summary: str, defs: list[str], *,
                file_header: str = DEFAULT_FILE_HEADER, doc_header: str = DEFAULT_DOC_HEADER,
                part: str = "") -> str:
    """One file (or one part of a split file) as a markdown section ending in a newline."""
    body = content if content.endswith("\n") else content + "\n"
    fields = dict(path=path, part=part, language=language, summary=summary, definitions=", ".join(defs),
                  description=description(language, summary, defs), repo="")
    if doc:
        return doc_header.format(**fields) + body + "\n"
    fence = fence_for(content)
    return file_header.format(**fields) + f"{fence}{language}\n{body}{fence}\n\n"


def render_repo_header(repo: str, part: str = "", template: str = DEFAULT_REPO_HEADER) -> str:
    return template.format(**{f: "" for f in _FIELDS} | dict(repo=repo, part=part))
