"""``zhclean`` command line: ``zhclean run`` and ``zhclean report``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from flows.runtime import apply_prefect_defaults, prefect_api
from zhclean.pipeline.runner import PipelineConfig

MAX_SENTENCE_CHARS = PipelineConfig.max_sentence_chars
BATCH_DOCS = PipelineConfig.batch_docs


def _latest_report(output: str, since: float) -> dict | None:
    from zhclean.storage.snapshots import OutputStore

    runs = Path(output) / "_runs"
    fresh = [p for p in runs.glob("*.json") if p.stat().st_mtime >= since] if runs.exists() else []
    if not fresh:
        return None
    return OutputStore(output).read_report(max(fresh, key=lambda p: p.stat().st_mtime).stem)


def cmd_run(args: argparse.Namespace) -> int:
    if not Path(args.input).is_dir():
        print(f"zhclean: input directory not found: {args.input}", file=sys.stderr)
        return 2
    if not 0.0 <= args.max_quarantine_fraction <= 1.0:
        print("zhclean: --max-quarantine-fraction must be between 0 and 1", file=sys.stderr)
        return 2
    apply_prefect_defaults()
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    from flows.etl import etl
    from zhclean.report import summary_lines

    workers = args.workers or os.cpu_count() or 1
    runner = (
        ThreadPoolTaskRunner(max_workers=1)
        if workers == 1
        else ProcessPoolTaskRunner(max_workers=workers)
    )
    started = time.time()
    with prefect_api():
        state = etl.with_options(task_runner=runner)(
            input_dir=args.input,
            output_dir=args.output,
            max_quarantine_fraction=args.max_quarantine_fraction,
            full_refresh=args.full_refresh,
            shard_mb=args.shard_mb,
            max_sentence_chars=args.max_sentence_chars,
            lock_wait_seconds=args.wait_for_lock,
            batch_docs=args.batch_docs,
            return_state=True,
        )
    report = _latest_report(args.output, started)
    if report is not None:
        print("\n".join(summary_lines(report)))
    if state.is_completed():
        return 0
    print(f"zhclean: run failed: {_one_line(state)}", file=sys.stderr)
    return 1


def _one_line(state) -> str:
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return (state.message or state.name).splitlines()[0]


def cmd_report(args: argparse.Namespace) -> int:
    from zhclean.report import render_markdown
    from zhclean.storage.snapshots import OutputStore

    try:
        report = OutputStore(args.output).read_report(args.run_id)
    except FileNotFoundError as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return 1
    print(
        json.dumps(report, ensure_ascii=False, indent=1) if args.json else render_markdown(report)
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhclean", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="clean a folder of documents into Parquet datasets")
    run.add_argument("--input", default="seeds", help="input directory (default: seeds)")
    run.add_argument("--output", default="output", help="output directory (default: output)")
    run.add_argument(
        "--max-quarantine-fraction",
        type=float,
        default=0.05,
        help="fail the run, publishing nothing, above this share of quarantined inputs (default 0.05)",
    )
    run.add_argument(
        "--full-refresh", action="store_true", help="rebuild everything from the input"
    )
    run.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: CPU count)"
    )
    run.add_argument(
        "--shard-mb", type=float, default=8.0, help="target shard size in MB (default 8)"
    )
    run.add_argument(
        "--max-sentence-chars",
        type=int,
        default=MAX_SENTENCE_CHARS,
        help=f"longer sentences fail validation as failed splits (default {MAX_SENTENCE_CHARS})",
    )
    run.add_argument(
        "--wait-for-lock",
        type=float,
        default=0.0,
        help="seconds to wait if another run holds the output (default: fail fast)",
    )
    run.add_argument(
        "--batch-docs",
        type=int,
        default=BATCH_DOCS,
        help=f"documents per validation batch and Parquet row group (default {BATCH_DOCS})",
    )
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="print the report of the latest or a given run")
    report.add_argument("run_id", nargs="?", default=None)
    report.add_argument("--output", default="output", help="output directory (default: output)")
    report.add_argument("--json", action="store_true", help="print the JSON report")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
