"""The ETL flow: list sources, shard them, process shards in parallel, validate, publish.

The flow only orchestrates. Every decision about text lives in ``zhclean``; every decision
about files lives in ``zhclean.storage``. A task is a shard of many documents, never one.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ProcessPoolTaskRunner
from prefect.tasks import exponential_backoff

from zhclean.cleaners.boilerplate import BUILTIN_REASONS
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.extractors.metadata import AUTHOR_LINE, AUTHOR_LINE_REASON
from zhclean.pipeline.runner import PipelineConfig, count_group_lines
from zhclean.pipeline.shard import ShardResult, process_shard
from zhclean.readers.files import SourceRef, list_sources
from zhclean.report import Decision, build_report, decide, render_markdown, stage_table, tally_run
from zhclean.storage.faults import crash_point
from zhclean.storage.lock import output_lock
from zhclean.storage.plan import RunPlan, make_shards, plan_run
from zhclean.storage.snapshots import OutputStore, StagedOutcome
from zhclean.validation.dataset import check_snapshot

# Report statuses that end the flow run in state Failed (nothing was published).
FAILED_STATUSES = frozenset({"blocked_by_gate", "failed_dataset_checks", "accounting_error"})


def _retry_on_io_error(task, task_run, state) -> bool:
    """Retry transient I/O failures (network filesystems, full disks that recover)."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


# Every task reads or writes files: retry transient I/O errors, never cache results.
IO_RETRIES = {
    "cache_policy": NO_CACHE,
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": _retry_on_io_error,
}


@task(
    name="plan-sources",
    **IO_RETRIES,
)
def plan_sources(input_dir: str, output_dir: str, full_refresh: bool) -> RunPlan:
    """List the input and decide, by content hash, which sources need processing."""
    return plan_run(
        list_sources(input_dir), OutputStore(output_dir).current_manifest(), full_refresh
    )


@task(
    name="count-repeated-lines",
    **IO_RETRIES,
)
def count_repeated_lines(refs: list[SourceRef], min_docs: int) -> dict[str, RepeatedLines]:
    """The corpus pass: lines that recur across documents of the same group."""
    return {group: counts.repeated(min_docs) for group, counts in count_group_lines(refs).items()}


@task(
    name="process-shard",
    **IO_RETRIES,
)
def process_shard_task(
    shard_id: int,
    refs: list[SourceRef],
    staging: str,
    run_id: str,
    input_root: str,
    config: PipelineConfig,
    repeated: dict[str, RepeatedLines],
) -> ShardResult:
    return process_shard(shard_id, refs, staging, run_id, input_root, config, repeated)


def make_run_id() -> str:
    """Sortable by time, traceable to the Prefect flow run."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    fr = flow_run.get_id()
    return f"{stamp}-{str(fr)[:8] if fr else os.getpid()}"


def _shard_bytes(plan: RunPlan, shard_mb: float) -> int:
    """Target shard size: ``shard_mb``, smaller when that would leave workers idle."""
    total = sum(r.size for r in plan.to_process)
    workers = os.cpu_count() or 1
    return max(256 * 1024, min(int(shard_mb * 1024 * 1024), total // (workers * 2) + 1))


@flow(name="zhclean-etl", task_runner=ProcessPoolTaskRunner(), validate_parameters=True)
def etl(
    input_dir: str = "seeds",
    output_dir: str = "output",
    max_quarantine_fraction: float = 0.05,
    full_refresh: bool = False,
    shard_mb: float = 8.0,
    max_sentence_chars: int = PipelineConfig.max_sentence_chars,
    lock_wait_seconds: float = 0.0,
    batch_docs: int = PipelineConfig.batch_docs,
) -> dict[str, Any] | State:
    """Clean, split, tokenize and validate ``input_dir``; publish Parquet under ``output_dir``.

    Ends Failed, publishing nothing, when the quality gate or a dataset check fails.
    """
    logger = get_run_logger()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    input_root = str(Path(input_dir).resolve())
    output_root = str(Path(output_dir).resolve())
    run_id = make_run_id()
    store = OutputStore(output_root)
    store.check_layout()
    config = PipelineConfig(max_sentence_chars=max_sentence_chars, batch_docs=batch_docs)
    with output_lock(output_root, run_id, lock_wait_seconds):
        leftovers = store.cleanup()
        if leftovers:
            logger.info("removed %d leftovers of interrupted runs", len(leftovers))
        plan = plan_sources(input_root, output_root, full_refresh)
        logger.info(
            "run %s: %d sources: %d new, %d changed, %d unchanged (skipped), %d missing",
            run_id,
            len(plan.sources),
            len(plan.new),
            len(plan.changed),
            len(plan.unchanged),
            len(plan.missing),
        )
        results = _process(plan, store, run_id, input_root, config, shard_mb, started)
        report = _finish(
            plan,
            results,
            store,
            run_id,
            input_root,
            output_root,
            full_refresh,
            max_quarantine_fraction,
            started,
            started_at,
            leftovers,
        )
    status, message = report["status"], report["message"]
    if status in FAILED_STATUSES:
        # A returned Failed state fails the flow run with this message and no traceback:
        # the run ended as designed, it did not crash.
        logger.error("run %s %s: %s", run_id, status, message)
        return Failed(message=message)
    logger.info("run %s %s: %s", run_id, status, message)
    return report


def _process(
    plan: RunPlan,
    store: OutputStore,
    run_id: str,
    input_root: str,
    config: PipelineConfig,
    shard_mb: float,
    started: float,
) -> list[ShardResult]:
    logger = get_run_logger()
    if not plan.to_process:
        return []
    staging = store.staging_dir(run_id)
    groups = {ref.group for ref in plan.to_process}
    repeated = count_repeated_lines(
        [r for r in plan.sources if r.group in groups], config.stripper.repeat_min_docs
    )
    shards = make_shards(plan.to_process, _shard_bytes(plan, shard_mb))
    total_bytes = sum(r.size for r in plan.to_process)
    logger.info(
        "processing %d sources (%.1f MB) in %d shards",
        len(plan.to_process),
        total_bytes / 1e6,
        len(shards),
    )
    progress = create_progress_artifact(0.0, description=f"zhclean run {run_id}: shards done")
    futures = [
        process_shard_task.submit(
            i,
            shard,
            str(staging),
            run_id,
            input_root,
            config,
            {g: repeated[g] for g in {r.group for r in shard} if g in repeated},
        )
        for i, shard in enumerate(shards)
    ]
    results: list[ShardResult] = []
    done_bytes = 0
    for future in as_completed(futures):
        result = future.result()
        results.append(result)
        done_bytes += result.totals["bytes_in"]
        elapsed = time.monotonic() - started
        logger.info(
            "shard %d/%d done: %d docs (%d published, %d quarantined); %.1f/%.1f MB, %.1f s, %.2f MB/s",
            len(results),
            len(shards),
            result.totals["inputs"],
            result.totals["published"],
            result.totals["quarantined"],
            done_bytes / 1e6,
            total_bytes / 1e6,
            elapsed,
            done_bytes / 1e6 / max(elapsed, 1e-9),
        )
        update_progress_artifact(progress, 100.0 * len(results) / len(shards))
    return sorted(results, key=lambda r: r.shard_id)


def _finish(
    plan: RunPlan,
    results: list[ShardResult],
    store: OutputStore,
    run_id: str,
    input_root: str,
    output_root: str,
    full_refresh: bool,
    max_quarantine_fraction: float,
    started: float,
    started_at: datetime,
    leftovers: list[str],
) -> dict[str, Any]:
    """Gate, dataset checks, publish (or not), quarantine log, report and artifacts."""
    logger = get_run_logger()
    tally = tally_run(plan, results)
    decision = decide(tally, max_quarantine_fraction, full_refresh)
    staging = store.staging_dir(run_id)
    dataset_checks: list[dict[str, Any]] = []
    snapshot = None
    if decision.publish:
        files = {r.shard_id: r.files.get("documents") for r in results}
        staged = [
            StagedOutcome(o.source, o.doc_id, o.content_sha256, o.status,
                          files[r.shard_id] if o.status == "published" else None, o.check)
            for r in results
            for o in r.outcomes
        ]  # fmt: skip
        tmp, manifest = store.build_snapshot(run_id, staging, staged, full_refresh)
        crash_point("snapshot-built")
        checks = check_snapshot(tmp / "documents", tmp / "sentences")
        dataset_checks = [c.to_dict() for c in checks]
        failed = [c for c in checks if not c.passed]
        if failed:
            store.discard(tmp)
            names = ", ".join(f"{c.name} ({c.failures})" for c in failed)
            decision = Decision("failed_dataset_checks", f"dataset checks failed: {names}", False)
        else:
            store.publish(tmp, manifest)
            snapshot = {
                "id": manifest.snapshot_id,
                "files": {k: len(v) for k, v in manifest.files.items()},
                "sources": len(manifest.sources),
            }
    store.append_quarantine(run_id, staging)
    store.discard(staging)

    report = build_report(
        run_id=run_id,
        flow_run_id=str(flow_run.get_id()),
        plan=plan,
        results=results,
        tally=tally,
        decision=decision,
        parameters={
            "max_quarantine_fraction": max_quarantine_fraction,
            "full_refresh": full_refresh,
        },
        dataset_checks=dataset_checks,
        snapshot=snapshot,
        input_dir=input_root,
        output_dir=output_root,
        started_at=started_at,
        elapsed_seconds=time.monotonic() - started,
        leftovers_removed=len(leftovers),
        reasons={**RuleSet.load().reasons, **BUILTIN_REASONS, AUTHOR_LINE: AUTHOR_LINE_REASON},
    )
    store.write_report(run_id, report)
    for warning in report["warnings"]:
        logger.warning(warning)
    create_markdown_artifact(
        render_markdown(report), key="zhclean-run-report", description=f"run {run_id}"
    )
    create_table_artifact(stage_table(report), key="zhclean-run-table", description=f"run {run_id}")
    return report


__all__ = ["FAILED_STATUSES", "etl"]
