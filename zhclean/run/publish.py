"""The end of a run: gate, dataset checks, publish or discard, quarantine log, report.

Safe to retry after an I/O error at any point: staged parts are linked into the snapshot,
not moved; a snapshot already made current by this run is not rebuilt; the quarantine
file and the report are written under this run's id, replacing any earlier attempt.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zhclean.core.params import RunParams
from zhclean.run.context import Run
from zhclean.run.faults import crash_point
from zhclean.run.pipeline import rule_reasons
from zhclean.run.plan import RunPlan
from zhclean.run.report import Decision, build_report, decide, tally_run
from zhclean.run.shard import ShardResult
from zhclean.run.store import OutputStore
from zhclean.validation.dataset import check_snapshot


def publish_run(
    run: Run, plan: RunPlan, results: list[ShardResult], flow_run_id: str | None = None
) -> dict[str, Any]:
    """Publish what the shards staged if the run passes its checks; return the report."""
    store = run.store
    results = sorted(results, key=lambda r: r.shard_id)
    tally = tally_run(plan, results)
    decision = decide(tally, run.params.max_quarantine_fraction, run.params.full_refresh)
    dataset_checks: list[dict[str, Any]] = []
    snapshot = None
    if decision.publish:
        decision, dataset_checks, snapshot = _publish_snapshot(run, results, decision)
    store.append_quarantine(run.run_id, run.staging)
    store.discard(run.staging)
    report = build_report(
        run,
        plan,
        results,
        tally,
        decision,
        dataset_checks=dataset_checks,
        snapshot=snapshot,
        reasons=rule_reasons(),
        flow_run_id=flow_run_id,
    )
    store.write_report(run.run_id, report)
    return report


def _publish_snapshot(
    run: Run, results: list[ShardResult], decision: Decision
) -> tuple[Decision, list[dict[str, Any]], dict[str, Any] | None]:
    store = run.store
    current = store.current_manifest()
    if current is not None and current.run_id == run.run_id:  # a retry after the swap
        return decision, [], _snapshot_summary(current)
    staged = [
        (o, r.files.get("documents") if o.status == "published" else None)
        for r in results
        for o in r.outcomes
    ]
    tmp, manifest = store.build_snapshot(run.run_id, run.staging, staged, run.params.full_refresh)
    crash_point("snapshot-built")
    checks = check_snapshot(tmp / "documents", tmp / "sentences")
    dataset_checks = [c.to_dict() for c in checks]
    failed = [c for c in checks if not c.passed]
    if failed:
        store.discard(tmp)
        names = ", ".join(f"{c.name} ({c.failures})" for c in failed)
        return (
            Decision("failed_dataset_checks", f"dataset checks failed: {names}", False),
            dataset_checks,
            None,
        )
    store.publish(tmp, manifest)
    return decision, dataset_checks, _snapshot_summary(manifest)


def record_failure(
    params: RunParams, run_id: str, status: str, message: str, started_at: datetime
) -> dict[str, Any]:
    """The report of a run that failed before publishing; written when the output allows.

    Every run with an id leaves a report, so ``zhclean report`` never shows an older run
    as the latest one.
    """
    report = {
        "run_id": run_id,
        "status": status,
        "message": message,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "input_dir": str(Path(params.input_dir).resolve()),
        "output_dir": str(Path(params.output_dir).resolve()),
        "parameters": asdict(params),
    }
    output = Path(params.output_dir)
    if output.is_dir():
        with contextlib.suppress(OSError):  # an unwritable or full output: the caller still has it
            OutputStore(output).write_report(run_id, report)
    return report


def _snapshot_summary(manifest: Any) -> dict[str, Any]:
    return {
        "id": manifest.snapshot_id,
        "files": {k: len(v) for k, v in manifest.files.items()},
        "sources": len(manifest.sources),
    }


__all__ = ["publish_run", "record_failure"]
