"""The ETL flow: scan the input, plan, process shards in parallel, publish.

The flow only orchestrates: every step it runs is a ``zhclean.run`` function, wrapped as
a task where it reads or writes files (so transient I/O errors are retried). A task is a
shard of many documents, never one document.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import TerminationSignal
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ProcessPoolTaskRunner
from prefect.tasks import exponential_backoff

from zhclean.core.params import DEFAULTS as D
from zhclean.core.params import RunParams
from zhclean.run import (
    EXIT_CODES,
    Run,
    RunError,
    RunWork,
    ScanResult,
    ShardResult,
    list_inputs,
    make_run_id,
    open_run,
    plan_work,
    process_shard,
    publish_run,
    record_failure,
    render_markdown,
    scan_sources,
    stage_table,
)
from zhclean.run.fingerprint import check_same
from zhclean.run.stop import note_run, record_interrupted, signal_reason, stop_workers
from zhclean.run.workers import prefect_worker_init, run_here_or_in_pool


class RunFailed(Exception):
    """The exception of a run that ended as designed without publishing (the gate, a
    missing input, a held lock): ``str()`` is the one-line reason, ``report`` the run's
    report. A Failed state must resolve to an exception: Prefect raises it when a
    deployment's flow run ends (a dict there ends in a TypeError and its traceback)."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report


class _NoTracebackForRunFailed(logging.Filter):
    """Prefect's engine re-raises the exception of every Failed flow run it executes for
    a deployment and logs it with its traceback ("Engine execution exited with
    unexpected exception"). For :class:`RunFailed` the flow has logged its one-line
    reason and the state carries it: that record would be noise that looks like a
    crash, so it is dropped. Any other exception keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], RunFailed))


# The loggers of prefect.flow_engine.run_flow's error_logger and of prefect.engine.
for _name in ("prefect.flow_runs", "prefect.engine"):
    logging.getLogger(_name).addFilter(_NoTracebackForRunFailed())


# I/O errors that no retry will fix: a path that is not there or not allowed.
PERMANENT_IO_ERRORS = (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError)


def _retry_on_io_error(task, task_run, state) -> bool:
    """Retry transient I/O failures (network filesystems, full disks that recover)."""
    try:
        state.result()
    except PERMANENT_IO_ERRORS:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


# Every task reads or writes files: retry transient I/O errors, never cache results.
IO_RETRIES: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": _retry_on_io_error,
}


@task(name="scan-sources", **IO_RETRIES)
def scan_task(run: Run, refs: list) -> ScanResult:
    """Hash a shard of sources and count their line keys (one read of each)."""
    check_same(run.fingerprint)  # a worker with other code would change the data unseen
    params = run.params
    return run_here_or_in_pool(
        scan_sources, refs, run.input_root, params.follow_symlinks, params.max_doc_bytes,
        params.stage_timeout,
    )  # fmt: skip


@task(name="process-shard", **IO_RETRIES)
def process_task(run: Run, shard_id: int, refs: list, repeated: dict) -> ShardResult:
    check_same(run.fingerprint)
    return run_here_or_in_pool(process_shard, run, shard_id, refs, repeated)


@task(name="publish", **IO_RETRIES)
def publish_task(run: Run, work: RunWork, results: list[ShardResult]) -> dict[str, Any]:
    return publish_run(run, work.plan, results, flow_run_id=str(flow_run.get_id()))


@flow(
    name="zhclean-etl",
    # workers die with the flow's process (a SIGKILL of it leaves no orphan)
    task_runner=ProcessPoolTaskRunner(initializer=prefect_worker_init),
    validate_parameters=True,
)
def etl(
    input_dir: str = D.input_dir,
    output_dir: str = D.output_dir,
    max_quarantine_fraction: float = D.max_quarantine_fraction,
    full_refresh: bool = D.full_refresh,
    workers: int | None = D.workers,
    shard_mb: float = D.shard_mb,
    max_sentence_chars: int = D.max_sentence_chars,
    follow_symlinks: bool = D.follow_symlinks,
    dask_address: str | None = D.dask_address,
    wait_for_lock: float = D.wait_for_lock,
    batch_docs: int = D.batch_docs,
    max_doc_mb: float = D.max_doc_mb,
    tokenizer: str = D.tokenizer,
    stage_timeout: float = D.stage_timeout,
    dedup: str = D.dedup,
) -> dict[str, Any] | State:
    """Clean, split, tokenize and validate ``input_dir``; publish Parquet under ``output_dir``.

    Ends Failed, publishing nothing, when the quality gate or a dataset check fails.
    """
    params = RunParams(**locals())  # first statement: locals() are exactly the parameters
    logger = get_run_logger()
    flow_run_id = str(flow_run.get_id() or "") or None
    run_id = make_run_id(flow_run_id[:8] if flow_run_id else None)
    started_at = datetime.now(UTC)
    note_run(params, run_id, started_at, flow_run_id)  # whoever stops us writes its report
    try:
        with open_run(params, run_id) as run, _submitter(run) as (submit, slots):
            if run.leftovers_removed:
                logger.info("removed %d leftovers of interrupted runs", run.leftovers_removed)
            sources, scan_shards = list_inputs(run, slots)
            scans = _gather(run, [submit(scan_task, run=run, refs=shard) for shard in scan_shards])
            work = plan_work(run, sources, scans, slots)
            _log_plan(run, work)
            shards = [
                submit(
                    process_task, run=run, shard_id=i, refs=shard, repeated=work.repeated_for(shard)
                )
                for i, shard in enumerate(work.shards)
            ]
            results = _gather(run, shards, progress=work.plan.bytes_to_process)
            report = publish_task(run, work, results)
        _report_artifacts(report)
    except RunError as err:  # expected: one line, no traceback
        report = record_failure(params, run_id, err.status, str(err), started_at)
    except (KeyboardInterrupt, TerminationSignal) as err:  # Ctrl-C, a cancelled flow run
        stop_workers()  # now: their shards would only be thrown away
        signum = getattr(err, "signal", signal.SIGINT)
        record_interrupted(signal_reason(signum))
        raise
    except (
        Exception
    ) as err:  # a bug or an I/O fault: the report says so, Prefect keeps the traceback
        record_failure(params, run_id, "failed", f"{type(err).__name__}: {err}", started_at)
        raise
    status, message = report["status"], report["message"]
    if EXIT_CODES[status] != 0:
        # A returned Failed state fails the flow run with this message and no traceback:
        # the run ended as designed, it did not crash. The report travels with it.
        reason = f"{status}: {message}"
        logger.error("run %s %s", run_id, reason)
        return Failed(message=reason, data=RunFailed(reason, report))
    logger.info("run %s %s: %s", run_id, status, message)
    return report


@contextmanager
def _submitter(run: Run) -> Iterator[tuple[Callable[..., Any], int]]:
    """How to submit a task, and how many run at once: on the flow's task runner, or on
    the run's Dask cluster (its threads count, not this machine's cores)."""
    if not run.params.dask_address:
        yield (lambda task_, **parameters: task_.submit(**parameters)), run.params.n_workers
        return
    from prefect.settings import get_current_settings

    from zhclean.flows.cluster import dask_runner, drain_workers, start

    with dask_runner(run.params.dask_address) as runner:
        api_url = str(get_current_settings().api.url)
        client = start(runner, api_url, run.fingerprint, run.input_root, run.output_root)
        slots = run.params.workers or sum(client.nthreads().values()) or 1
        try:
            yield (lambda task_, **parameters: runner.submit(task_, parameters=parameters)), slots
        finally:
            drain_workers(runner.client)


def _log_plan(run: Run, work: RunWork) -> None:
    plan = work.plan
    get_run_logger().info(
        "run %s: %d sources: %d new, %d changed, %d unchanged (skipped), %d missing; "
        "%d shards to process (%.1f MB)",
        run.run_id,
        len(plan.sources),
        len(plan.new),
        len(plan.changed),
        len(plan.unchanged),
        len(plan.missing),
        len(work.shards),
        plan.bytes_to_process / 1e6,
    )


def _gather(run: Run, futures: list[Any], progress: int | None = None) -> list[Any]:
    """Results as tasks finish. With ``progress`` (the bytes to process), each finished
    shard is logged and the run's progress artifact moves."""
    if not futures:
        return []
    logger = get_run_logger()
    artifact = (
        create_progress_artifact(0.0, description=f"zhclean run {run.run_id}: shards done")
        if progress is not None
        else None
    )
    results: list[Any] = []
    done_bytes = 0
    for future in as_completed(futures):
        result = future.result()
        release(future)
        results.append(result)
        if artifact is None:
            continue
        totals = result.totals
        done_bytes += totals.get("bytes_in", 0)
        elapsed = run.elapsed()
        logger.info(
            "shard %d/%d done: %d docs (%d passed, %d quarantined); %.1f/%.1f MB, %.1f s, %.2f MB/s",
            len(results),
            len(futures),
            totals.get("inputs", 0),
            totals.get("published", 0),
            totals.get("quarantined", 0),
            done_bytes / 1e6,
            progress / 1e6,
            elapsed,
            done_bytes / 1e6 / max(elapsed, 1e-9),
        )
        update_progress_artifact(artifact, 100.0 * len(results) / len(futures))
    return results


def release(future: Any) -> None:
    """Let Dask forget a result already read, so a later worker death cannot recompute it."""
    release_ = getattr(getattr(future, "wrapped_future", None), "release", None)
    if release_ is not None:  # a Dask future (a thread or process pool's has nothing to free)
        release_()


def _report_artifacts(report: dict[str, Any]) -> None:
    for warning in report["warnings"]:
        get_run_logger().warning(warning)
    run_id = report["run_id"]
    create_markdown_artifact(
        render_markdown(report), key="zhclean-run-report", description=f"run {run_id}"
    )
    create_table_artifact(stage_table(report), key="zhclean-run-table", description=f"run {run_id}")


__all__ = ["IO_RETRIES", "RunFailed", "etl"]
