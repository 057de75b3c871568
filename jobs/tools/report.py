"""`corpusmill report`: one self-contained HTML page (embedded PNG plots) + a Markdown summary.

Everything comes from the tables: `runs` (funnel, wall time), `rejected` (reasons), the output
tables (languages, domains, bytes), every `*_signals` table (a histogram per numeric signal, with
the stage's threshold marked when the stage module exposes `report_thresholds(config)`), `dedup`
(cluster sizes), `longctx_signals` and `code_samples`; under each stage's top reasons a few of the
documents it dropped for them (the sample `corpusmill show` draws, jobs/tools/show.py).
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from corpusmill.jobs.core import tableio
from corpusmill.jobs.core.config import Config
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.stages import all_stages
from corpusmill.jobs.tools.show import examples_by_reason

log = logging.getLogger("corpusmill")

MAX_SIGNAL_PLOTS = 40
EXAMPLE_REASONS = 5        # a stage's top reasons that get example documents ...
EXAMPLES_PER_REASON = 2    # ... this many each ...
EXAMPLE_CHARS = 200        # ... with this much of their text


@dataclass
class ReportConfig:
    out_dir: str              # relative to storage.root
    sample_rows: int          # max rows per table pulled to the driver for histograms


def _fmt(n) -> str:
    return "" if n is None else f"{n:,}"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _bar(labels, values, title, xlabel="", horizontal=True):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, max(2.2, 0.28 * len(labels) + 1)) if horizontal else (7, 3.5))
    if horizontal:
        ax.barh(range(len(labels)), values, color="#4472c4")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
    else:
        ax.bar(range(len(labels)), values, color="#4472c4")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_ylabel(xlabel)
    ax.set_title(title)
    return _png(fig)


def _hist(values, title, thresholds=(), log_y=False):
    """Histogram of values with a dashed line per (value, label) threshold."""
    import matplotlib.pyplot as plt
    import numpy as np

    vals = np.asarray([v for v in values if v is not None], dtype=float)
    vals = vals[np.isfinite(vals)]
    fig, ax = plt.subplots(figsize=(5, 2.8))
    if len(vals):
        ax.hist(vals, bins=40, color="#70ad47", log=log_y)
    for i, (value, label) in enumerate(thresholds):
        ax.axvline(value, color=("#c00000", "#7030a0", "#ed7d31")[i % 3], linestyle="--", label=label)
    if thresholds:
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def _threshold_lines(value) -> list[tuple[float, str]]:
    """A stage's threshold entry -> [(value, label)]: a number, (number, label), or a list of those."""
    items = value if isinstance(value, list) else [value]
    out = []
    for it in items:
        v, label = (it if isinstance(it, tuple) else (it, None))
        if v is None or isinstance(v, bool):
            continue
        out.append((float(v), label or f"threshold {float(v):g}"))
    return out


def _thresholds(config: Config) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """{table: {column: [(threshold, label)]}} from each stage module's optional report_thresholds(config).

    A stage returns {table: {column: t}} where t is a number, a (number, label) pair or a list of them
    (a signal with both a lower and an upper limit); per-language thresholds show the default profile's
    value, named so in the label.
    """
    out: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for stage in all_stages():
        if stage.report_thresholds is not None:
            for table, cols in (stage.report_thresholds(config) or {}).items():
                for col, value in cols.items():
                    lines = _threshold_lines(value)
                    if lines:
                        out.setdefault(table, {}).setdefault(col, []).extend(lines)
    return out


def collect(spark, config: Config, run_id: str | None = None) -> dict:
    """Pull the (small, aggregated) figures the report shows; heavy work stays on the executors."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    have = set(tableio.list_tables(spark, config))
    data: dict = {"tables": sorted(have), "stages": [], "reasons": {}, "examples": {}, "signals": [], "dists": {}}
    if "runs" in have:
        runs = tableio.read_table(spark, config, "runs").where("status = 'success'")
        if run_id:
            runs = runs.where(F.col("run_id") == run_id)
        latest = {r["stage"]: r for r in runs.orderBy("ended_at").collect()}
        outputs = {st.name: st.outputs[-1] for st in all_stages()}   # what "kept" means for the funnel

        def text_bytes(table):
            """Sum of text_bytes of a table (None when it has no such column), aggregated on the executors."""
            if table not in have:
                return None
            df = tableio.read_table(spark, config, table)
            return df.agg(F.sum("text_bytes")).first()[0] if "text_bytes" in df.columns else None

        for stage in [s for s in outputs if s in latest]:
            r = latest[stage]
            out_table = outputs[stage]
            out_bytes = text_bytes(out_table)
            in_table = next((t for t in (r["inputs"] or []) if t in have), None)
            bytes_in = text_bytes(in_table) if stage != "format" else None
            data["stages"].append(dict(stage=stage, run_id=r["run_id"], rows_in=r["rows_in"], rows_out=r["rows_out"],
                                       rows_rejected=r["rows_rejected"], bytes_in=bytes_in, bytes_out=out_bytes,
                                       seconds=(r["ended_at"] - r["started_at"]).total_seconds()))
    if "rejected" in have:
        for r in (tableio.read_table(spark, config, "rejected").groupBy("stage", "reason").count()
                  .orderBy(F.desc("count")).collect()):
            data["reasons"].setdefault(r["stage"], []).append((r["reason"], r["count"]))
        data["examples"] = {stage: examples_by_reason(spark, config, stage, [r for r, _ in reasons[:EXAMPLE_REASONS]],
                                                      per_reason=EXAMPLES_PER_REASON, chars=EXAMPLE_CHARS)
                            for stage, reasons in data["reasons"].items()}
    for table, col in (("documents", "language"), ("pretrain", "language"), ("documents", "domain")):
        if table in have:
            rows = (tableio.read_table(spark, config, table).groupBy(col).count().orderBy(F.desc("count"))
                    .limit(20).collect())
            data["dists"][f"{table}.{col}"] = [(str(r[0]), r[1]) for r in rows]
    thresholds = _thresholds(config)
    sample_rows = config.report.sample_rows
    signal_tables = sorted(t for t in have if t.endswith("_signals")) + [t for t in ("dedup", "code_samples") if t in have]
    for t in signal_tables:
        df = tableio.read_table(spark, config, t)
        cols = [f.name for f in df.schema.fields if isinstance(f.dataType, NumericType)]
        if not cols:
            continue
        n = df.count()
        if n > sample_rows:
            df = df.sample(fraction=sample_rows / n, seed=0)
        pdf = df.select(cols).toPandas()
        for c in cols:
            if len(data["signals"]) >= MAX_SIGNAL_PLOTS * 4:
                break
            data["signals"].append(dict(table=t, column=c, values=pdf[c].tolist(),
                                        thresholds=thresholds.get(t, {}).get(c, [])))
    return data


def _link(url: str | None) -> str:
    if not url:
        return ""
    text = html.escape(url)       # quotes too: safe inside the href
    return f"<a href='{text}'>{text}</a>" if url.startswith(("http://", "https://")) else text


def _examples_html(stage: str, examples: dict[str, list[dict]], counts: dict[str, int]) -> str:
    """Example documents per reason: id, url, detail and the start of the text, all escaped."""
    out = [f"<div class='examples'><h3>{html.escape(stage)}: examples</h3>"]
    for reason, docs in examples.items():
        out.append(f"<h4><code>{html.escape(reason)}</code> ({counts.get(reason, 0):,} documents)</h4><ul>")
        for d in docs:
            head = " · ".join(x for x in (f"<code>{html.escape(str(d['doc_id']))}</code>", _link(d["url"]),
                                          html.escape(d["detail"] or "")) if x)
            text = "" if d["text"] is None else html.escape(d["text"] + (" …" if d["truncated"] else ""))
            out.append(f"<li>{head}" + (f"<pre>{text}</pre>" if text else "") + "</li>")
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def _md_text(s: str) -> str:
    """One line of Markdown-safe text: whitespace collapsed, HTML and emphasis characters escaped."""
    s = html.escape(" ".join(s.split()), quote=False)
    return "".join("\\" + c if c in "\\`*_[]|#" else c for c in s)


def _examples_md(examples: dict[str, list[dict]]) -> list[str]:
    lines = []
    for reason, docs in examples.items():
        for d in docs:
            url = d["url"] or ""
            linkable = url.startswith(("http://", "https://")) and not set(url) & set(" <>")
            bits = [f"`{reason}`: `{d['doc_id']}`"] + ([f"<{url}>"] if linkable else [])
            if d["text"]:
                bits.append("— " + _md_text(d["text"]) + (" …" if d["truncated"] else ""))
            lines.append("  - " + " ".join(bits))
    return lines


def render(data: dict, config: Config) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<h1>corpusmill report</h1><p>{html.escape(now)} · tables under "
             f"<code>{html.escape(config.path(config.storage.warehouse))}</code></p>"]
    md = [f"# corpusmill report\n\n{now}\n", "| stage | in | out | rejected | bytes in | bytes out | seconds |",
          "|---|---|---|---|---|---|---|"]
    stages = data["stages"]
    if stages:
        rows = "".join(
            f"<tr><td>{s['stage']}</td><td>{s['rows_in']:,}</td><td>{s['rows_out']:,}</td><td>{s['rows_rejected']:,}</td>"
            f"<td>{_fmt(s['bytes_in'])}</td><td>{_fmt(s['bytes_out'])}</td>"
            f"<td>{s['seconds']:.1f}</td></tr>" for s in stages)
        parts.append("<h2>Funnel</h2><table><tr><th>stage</th><th>in</th><th>out</th><th>rejected</th><th>bytes in</th>"
                     f"<th>bytes out</th><th>seconds</th></tr>{rows}</table>")
        for s in stages:
            md.append(f"| {s['stage']} | {s['rows_in']:,} | {s['rows_out']:,} | {s['rows_rejected']:,} | "
                      f"{_fmt(s['bytes_in'])} | {_fmt(s['bytes_out'])} | {s['seconds']:.1f} |")
        parts.append(f"<img alt='funnel' src='{_bar([s['stage'] for s in stages], [s['rows_out'] for s in stages], 'rows kept per stage', 'rows')}'>")
        parts.append(f"<img alt='wall time' src='{_bar([s['stage'] for s in stages], [s['seconds'] for s in stages], 'wall time per stage', 'seconds')}'>")
    if data["reasons"]:
        parts.append("<h2>Dropped, by reason</h2>")
        md.append("\n## Dropped, by reason\n")
        for stage, reasons in data["reasons"].items():
            top = reasons[:15]
            parts.append(f"<img alt='reasons {stage}' src='{_bar([r for r, _ in top], [c for _, c in top], f'{stage}: dropped by reason', 'documents')}'>")
            md.append(f"- **{stage}**: " + ", ".join(f"{r} {c:,}" for r, c in top))
            examples = data.get("examples", {}).get(stage, {})
            if examples:
                counts = dict(reasons)
                parts.append(_examples_html(stage, examples, counts))
                md.extend(_examples_md(examples))
    if data["dists"]:
        parts.append("<h2>Languages and domains</h2>")
        for name, rows in data["dists"].items():
            parts.append(f"<img alt='{name}' src='{_bar([k for k, _ in rows], [v for _, v in rows], name + ' (top 20)', 'documents')}'>")
    if data["signals"]:
        parts.append("<h2>Signals</h2><p>Histograms of every numeric signal; the dashed line is the "
                     "configured threshold (default language) where the stage declares one.</p><div class='grid'>")
        marked = [s for s in data["signals"] if s["thresholds"]]
        if marked:
            md.append("\n## Thresholds (dashed lines on the signal histograms)\n")
            md.extend(f"- `{s['table']}.{s['column']}`: " + "; ".join(label for _, label in s["thresholds"])
                      for s in marked)
        for s in data["signals"]:
            log_y = s["column"] in ("cluster_size",)
            parts.append(f"<img alt='{s['table']}.{s['column']}' src='{_hist(s['values'], s['table'] + '.' + s['column'], s['thresholds'], log_y)}'>")
        parts.append("</div>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{margin:6px;max-width:100%}"
             ".grid{display:flex;flex-wrap:wrap}.examples pre{white-space:pre-wrap;background:#f6f6f6;"
             "padding:6px;max-width:1000px;font-size:85%}.examples li{margin-bottom:8px}")
    check = ("<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
             "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
             "document.body.setAttribute('data-images',ok+'/'+im.length);});</script>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>corpusmill report</title><style>{style}</style>"
            f"{check}</head><body>{''.join(parts)}</body></html>")
    return page, "\n".join(md) + "\n"


def write_report(spark, config: Config, run_id: str | None = None) -> tuple[Path, Path]:
    out_dir = Path(config.path(config.report.out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    page, md = render(collect(spark, config, run_id), config)
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    html_path.write_text(page, encoding="utf-8")
    md_path.write_text(md, encoding="utf-8")
    log.info("report written: %s", html_path)
    return html_path, md_path


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--run", help="run id (default: the latest successful run of each stage)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    html_path, md_path = write_report(get_spark(config), config, args.run)
    print(html_path)
    print(md_path)
    return 0


TOOLS = [Tool("report", "write the HTML + Markdown report of the latest runs (funnel, reasons, signal histograms)",
              add_arguments, run_cli, section=ReportConfig)]
