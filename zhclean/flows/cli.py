"""The ``zhclean`` command: ``zhclean run`` and ``zhclean report``.

The options of ``zhclean run`` are generated from :class:`zhclean.core.params.RunParams`,
where each parameter's default and help text are defined once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from zhclean.core.params import RunParams
from zhclean.flows.runtime import apply_prefect_defaults, prefect_api

DESCRIPTION = (
    "Clean folders of Chinese text documents into validated Parquet datasets "
    "(documents, sentences, quarantine)."
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """One option per run parameter, with the parameter's own default and help."""
    for spec in RunParams.specs():
        if spec.type is bool:
            parser.add_argument(spec.flag, dest=spec.name, action="store_true", help=spec.help)
            continue
        shown = (
            "" if spec.default is None or "default:" in spec.help else f" (default: {spec.default})"
        )
        parser.add_argument(
            spec.flag, dest=spec.name, type=spec.type, default=spec.default, help=spec.help + shown
        )


def params_from_args(args: argparse.Namespace) -> RunParams:
    return RunParams(**{spec.name: getattr(args, spec.name) for spec in RunParams.specs()})


def _latest_report(output: str, since: float) -> dict | None:
    from zhclean.run.store import OutputStore

    runs = Path(output) / "_runs"
    fresh = [p for p in runs.glob("*.json") if p.stat().st_mtime >= since] if runs.exists() else []
    if not fresh:
        return None
    return OutputStore(output).read_report(max(fresh, key=lambda p: p.stat().st_mtime).stem)


def cmd_run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    problems = params.problems()
    if problems:
        print(f"zhclean: {problems[0]}", file=sys.stderr)
        return 2
    if not Path(params.input_dir).is_dir():
        print(f"zhclean: input directory not found: {params.input_dir}", file=sys.stderr)
        return 2
    apply_prefect_defaults()
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    from zhclean.flows.etl import etl
    from zhclean.run import summary_lines

    workers = params.n_workers
    runner = (
        ThreadPoolTaskRunner(max_workers=1)
        if workers == 1
        else ProcessPoolTaskRunner(max_workers=workers)
    )
    started = time.time()
    with prefect_api():
        state = etl.with_options(task_runner=runner)(**params.flow_kwargs(), return_state=True)
    report = _latest_report(params.output_dir, started)
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
    from zhclean.run import render_markdown
    from zhclean.run.store import OutputStore

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
    parser = argparse.ArgumentParser(prog="zhclean", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="clean a folder of documents into Parquet datasets")
    add_run_options(run)
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="print the report of the latest or a given run")
    report.add_argument(
        "run_id", nargs="?", default=None, help="the run to show (default: the latest)"
    )
    report.add_argument(
        "--output", default=RunParams.output_dir, help="output directory (default: output)"
    )
    report.add_argument("--json", action="store_true", help="print the JSON report")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
