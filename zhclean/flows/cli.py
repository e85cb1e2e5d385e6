"""The ``zhclean`` command: ``zhclean run`` and ``zhclean report``.

The options of ``zhclean run`` are generated from :class:`zhclean.core.params.RunParams`,
where each parameter's default and help text are defined once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

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


def cmd_run(args: argparse.Namespace) -> int:
    """Check the paths and take the output's lock before Prefect starts (seconds, not a
    minute, to an error), run the flow, print the summary; the exit code says how it ended."""
    from zhclean.run import RunError, output_lock, preflight

    params = params_from_args(args)
    try:
        preflight(params)
        with output_lock(params.output_dir, "starting", params.wait_for_lock, lend=True):
            state = _run_flow(params)
    except RunError as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return err.exit_code
    return _finish(state)


def _run_flow(params: RunParams):
    apply_prefect_defaults()
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    from zhclean.flows.etl import etl

    workers = params.n_workers
    runner = (  # with a Dask cluster the shards run there; the flow needs no local pool
        ThreadPoolTaskRunner(max_workers=1)
        if workers == 1 or params.dask_address
        else ProcessPoolTaskRunner(max_workers=workers)
    )
    with prefect_api():
        return etl.with_options(task_runner=runner)(**params.flow_kwargs(), return_state=True)


def _finish(state) -> int:
    from zhclean.run import EXIT_CODES, summary_lines

    result = state.result(raise_on_failure=False)
    report = result if isinstance(result, dict) and "status" in result else None
    if report is not None and "counts" in report:
        print("\n".join(summary_lines(report)))
    if state.is_completed():
        return 0
    if report is not None:
        print(f"zhclean: {report['status']}: {report['message']}".splitlines()[0], file=sys.stderr)
        return EXIT_CODES.get(report["status"], 1)
    detail = (
        f"{type(result).__name__}: {result}" if isinstance(result, BaseException) else state.message
    )
    print(f"zhclean: run failed: {(detail or state.name).splitlines()[0]}", file=sys.stderr)
    return 1


def cmd_report(args: argparse.Namespace) -> int:
    from zhclean.run import render_markdown
    from zhclean.run.store import open_store

    try:
        report = open_store(args.output).read_report(args.run_id)
    except FileNotFoundError as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return 1
    print(
        json.dumps(report, ensure_ascii=False, indent=1) if args.json else render_markdown(report)
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from zhclean.run.explain import explain_source

    params = RunParams(input_dir=args.input, follow_symlinks=args.follow_symlinks)
    try:
        print(explain_source(params, args.source, width=args.width))
    except (FileNotFoundError, NotADirectoryError) as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return 2
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
    explain = sub.add_parser(
        "explain",
        help="show how the cleaner reads one page, line by line: kept or removed, and why",
    )
    explain.add_argument(
        "source", help="the page's source id (as in the datasets) under --input, or a file path"
    )
    explain.add_argument(
        "--input", default=RunParams.input_dir, help="input directory (default: seeds)"
    )
    explain.add_argument("--follow-symlinks", action="store_true", help="as for zhclean run")
    explain.add_argument("--width", type=int, default=60, help="characters of text shown per line")
    explain.set_defaults(func=cmd_explain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `zhclean report --json | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
