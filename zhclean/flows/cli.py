"""The ``zhclean`` command: ``zhclean run``, ``report``, ``quarantine`` and ``explain``.

The options of ``zhclean run`` are generated from :class:`zhclean.core.params.RunParams`,
where each parameter's default and help text are defined once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading

from zhclean.core.params import ParamError, RunParams
from zhclean.flows.runtime import apply_prefect_defaults, prefect_api

DESCRIPTION = (
    "Clean folders of Chinese text documents into validated Parquet datasets "
    "(documents, sentences, quarantine)."
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """One option per run parameter, with the parameter's own default and help. Values
    stay strings here: RunParams converts and checks them (one line, exit 2)."""
    for spec in RunParams.specs():
        if spec.type is bool:
            parser.add_argument(spec.flag, dest=spec.name, action="store_true", help=spec.help)
            continue
        shown = (
            "" if spec.default is None or "default:" in spec.help else f" (default: {spec.default})"
        )
        metavar = "{" + ",".join(spec.choices) + "}" if spec.choices else None
        parser.add_argument(
            spec.flag, dest=spec.name, default=spec.default, metavar=metavar, help=spec.help + shown
        )


def params_from_args(args: argparse.Namespace) -> RunParams:
    """The run's parameters, converted and checked (:class:`ParamError`: one line)."""
    return RunParams.from_text({spec.name: getattr(args, spec.name) for spec in RunParams.specs()})


# Input per worker process below which more workers would not pay for their start-up
# (about 2 CPU-seconds each): such runs use fewer workers, down to running in-process.
MIN_MB_PER_WORKER = 4.0


def cmd_run(args: argparse.Namespace) -> int:
    """Check the paths and take the output's lock before Prefect starts (seconds, not a
    minute, to an error), run the flow, print the summary; the exit code says how it ended.

    The temporary API server is launched first thing, so that its ~4 s boot overlaps
    with this process's imports and with the start of the worker processes.
    """
    from zhclean.flows.runtime import PHASES, LocalServer, StopOnSignal, prefect_home_problem

    PHASES.mark("command")
    try:
        params = params_from_args(args)  # before anything starts: a bad value costs nothing
    except ParamError as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return 2  # usage_error's exit code (zhclean.run.EXIT_CODES, not imported yet)
    servers: list[LocalServer] = []  # the temporary API, if this command starts one
    StopOnSignal(lambda signum: _stop_now(signum, servers[0] if servers else None))
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        problem = prefect_home_problem()
        if problem:  # the temporary API could not keep its database: say so, don't wait
            print(f"zhclean: {problem}", file=sys.stderr)
            return 2
        server = LocalServer()  # before zhclean.run's imports (pandas, pyarrow: ~1 s)
        servers.append(server)
        PHASES.mark("api_launched")
    try:
        from zhclean.run import RunError, output_lock, preflight
        from zhclean.run.faults import mark_main_process

        mark_main_process()
        PHASES.mark("zhclean_imported")
        try:
            preflight(params)
            if params.dask_address:  # the scheduler, and every worker's code and storage
                from zhclean.flows.cluster import check_cluster

                check_cluster(params.dask_address, params.input_dir, params.output_dir)
            with output_lock(params.output_dir, "starting", params.wait_for_lock, lend=True):
                state, note = _run_flow(params, server)
            from zhclean.run.stop import forget_run

            forget_run()  # its report is written: a signal from here on interrupts no run
        except RunError as err:
            print(f"zhclean: {err}", file=sys.stderr)
            return err.exit_code
    finally:
        if server is not None:
            server.stop()
    return _finish(state, note)


def _stop_now(signum: int, own_api: object = None) -> None:
    """SIGINT or SIGTERM: stop the run now, whatever it is doing, and exit 128 + signal.

    Runs in the command's signal thread, while the other threads go on: the run's
    ``interrupted`` report is written, one line says so, and the process exits at once;
    its workers, their guarded children and the temporary API die with it
    (``PR_SET_PDEATHSIG``). Nothing is waited for: a shard or a retry under way could
    take minutes. What other threads print meanwhile goes to /dev/null. The published
    data is as it was: nothing is published without the run's commit, one atomic step,
    and the next run removes what this one left (README, "When a run fails").
    """
    stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    name = signal.Signals(signum).name
    line = f"zhclean: interrupted by {name} before the run started; nothing was done"
    stop = sys.modules.get("zhclean.run.stop")  # loaded with the flow: never import here
    report = None
    try:
        report = stop.record_interrupted(stop.signal_reason(signum)) if stop else None
        if report is not None and report["status"] == "interrupted":
            line = f"zhclean: run {report['run_id']} {report['message']}"
        elif report is not None:
            line = f"zhclean: interrupted by {name} after run {report['run_id']} ended ({report['status']})"
    except BaseException as err:  # the output may be the trouble (a full disk)
        line = f"zhclean: interrupted by {name}; its report could not be written: {err}"
    with contextlib.suppress(OSError):
        os.write(stderr, (line.splitlines()[0] + "\n").encode())
    if stop is not None and own_api is None and report is not None:
        _cancel_flow_run(stop.active_run(), report.get("message", ""), timeout=3.0)
    os._exit(128 + signum)


def _cancel_flow_run(run, message: str, timeout: float) -> None:
    """On a Prefect server of its own (PREFECT_API_URL), the flow run ends Cancelled
    instead of staying Running forever; the temporary API dies with the command."""
    if run is None or run.flow_run_id is None:
        return

    def cancel() -> None:
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelled

        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run.flow_run_id, Cancelled(message=message), force=True)

    worker = threading.Thread(target=cancel, daemon=True)
    worker.start()
    worker.join(timeout)  # within the seconds a stop may take; the report is written


def effective_workers(params: RunParams) -> int:
    """``--workers``, fewer when the input is too small to keep them busy (see
    :data:`MIN_MB_PER_WORKER`); 1 means in this process, without worker processes."""
    from zhclean.core.location import is_remote
    from zhclean.readers.files import list_sources

    workers = params.n_workers
    if workers <= 1 or params.dask_address or is_remote(params.input_dir):
        return workers
    try:
        total = sum(ref.size for ref in list_sources(params.input_dir))
    except OSError:  # the run itself will say what is wrong with the input
        return workers
    return max(1, min(workers, int(total / 1e6 / MIN_MB_PER_WORKER)))


def _run_flow(params: RunParams, server):
    from dataclasses import replace

    from zhclean.flows.runtime import PHASES
    from zhclean.run.workers import start_pool, stop_pool

    PHASES.mark("checked")
    if params.dask_address:  # the shards run on the cluster: no local worker processes
        return _start_flow(params, server, threads=1), None
    workers = effective_workers(params)
    note = None
    if workers < params.n_workers:
        note = (
            f"  workers  {workers} of {params.n_workers}"
            f"{' (in this process)' if workers == 1 else ''}: the input is below "
            f"{MIN_MB_PER_WORKER:g} MB per worker process"
        )
    if workers > 1:
        start_pool(workers, params.tokenizer)  # starts now, while the API boots
        PHASES.mark("pool_started")
    try:
        if workers == 1:  # shards run here: load what they need while the API boots
            from zhclean.run.pipeline import build_pipeline

            build_pipeline(params)
            PHASES.mark("pipeline_loaded")
        # Tasks run in threads of this process; a task's shard runs in a worker process
        # of the pool when there is one (zhclean.run.workers.run_here_or_in_pool).
        state = _start_flow(replace(params, workers=workers), server, threads=workers)
    except BaseException:  # Ctrl-C or a crash: do not wait for shards still running
        stop_pool(kill=True)
        raise
    stop_pool()
    PHASES.mark("pool_stopped")
    return state, note


def _start_flow(params: RunParams, server, threads: int):
    """Run the flow with its tasks in ``threads`` threads of this process."""
    from zhclean.flows.runtime import PHASES

    apply_prefect_defaults()
    from prefect.task_runners import ThreadPoolTaskRunner

    from zhclean.flows.etl import etl

    PHASES.mark("prefect_imported")
    runner = ThreadPoolTaskRunner(max_workers=threads)
    with prefect_api(server) as api_url, _no_link_to(server, api_url):
        return etl.with_options(task_runner=runner)(**params.flow_kwargs(), return_state=True)


def _no_link_to(server, api_url: str):
    """Prefect logs "View at <UI URL>" for every flow run; the temporary API serves no UI
    and stops with the command, so that link would lead nowhere: leave it out. A
    configured server (PREFECT_API_URL) keeps its link."""
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    temporary = server is not None and api_url == server.api_url
    return temporary_settings({PREFECT_UI_URL: ""} if temporary else {})


def _finish(state, note: str | None = None) -> int:
    from zhclean.flows.runtime import PHASES, seconds_since_process_start
    from zhclean.run import EXIT_CODES, summary_lines

    result = state.result(raise_on_failure=False)
    result = getattr(result, "report", None) or result  # a Failed run's report (RunFailed)
    report = result if isinstance(result, dict) and "status" in result else None
    if report is not None and "counts" in report:
        lines = summary_lines(report, wall_seconds=seconds_since_process_start())
        print("\n".join(lines[:-1] + ([note] if note else []) + lines[-1:]))
    PHASES.mark("summary")
    PHASES.report()
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


def cmd_quarantine(args: argparse.Namespace) -> int:
    """What is in quarantine now: one line per source (its latest rejection)."""
    from zhclean.run.datasets import current_quarantine, open_dataset

    try:
        table = current_quarantine(args.output)
        logged = open_dataset(args.output, "quarantine").count_rows()
    except FileNotFoundError as err:
        print(f"zhclean: {err}", file=sys.stderr)
        return 1
    rows = table.to_pylist()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return 0
    print(
        f"{len(rows)} source{'' if len(rows) == 1 else 's'} in quarantine now under "
        f"{args.output} ({logged} rows in the log; latest per source, without sources "
        "published since or gone from the input)"
    )
    cells = [(r["source"], f"{r['stage']}.{r['check']}", r["run_id"], r["reason"]) for r in rows]
    widths = [max((len(c[i]) for c in cells), default=0) for i in range(3)]
    for cell in cells:
        head = "  ".join(text.ljust(width) for text, width in zip(cell, widths, strict=False))
        print(f"{head}  {cell[3]}".splitlines()[0])
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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
    quarantine = sub.add_parser(
        "quarantine",
        help="what is in quarantine now: the latest rejection of each source still in it",
    )
    quarantine.add_argument(
        "--output", default=RunParams.output_dir, help="output directory (default: output)"
    )
    quarantine.add_argument("--json", action="store_true", help="one JSON object per line")
    quarantine.set_defaults(func=cmd_quarantine)
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhclean")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown version (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `zhclean report --json | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
