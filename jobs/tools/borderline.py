"""`corpusmill borderline`: the documents nearest each longctx threshold, to check a cut by eye."""
from __future__ import annotations

import argparse

from corpusmill.jobs.core.config import Config
from corpusmill.jobs.core.console import print_rows
from corpusmill.jobs.core.session import get_spark
from corpusmill.jobs.core.stage import Tool
from corpusmill.jobs.stages.longctx import borderline

COLUMNS = ["threshold", "selector", "limit", "value", "side", "doc_id", "excerpt"]


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("-n", type=int, help="documents per threshold (default longctx.borderline_rows)")


def run_cli(args: argparse.Namespace, config: Config) -> int:
    df = borderline(get_spark(config), config, args.n)
    print_rows(COLUMNS, [[r[c] for c in COLUMNS] for r in df.collect()], max_width=80)
    return 0


TOOLS = [Tool("borderline", "show the longctx documents nearest each threshold, on both sides",
              add_arguments, run_cli)]
