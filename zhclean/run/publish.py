"""The end of a run: gate, dataset checks, publish or discard, quarantine log, report.

Safe to retry after an I/O error at any point: staged parts are linked into the snapshot,
not moved; a snapshot already made current by this run is not rebuilt; the quarantine
file and the report are written under this run's id, replacing any earlier attempt.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zhclean.core.location import is_remote
from zhclean.core.params import RunParams
from zhclean.run.context import Run, check_no_overlap
from zhclean.run.datasets import quarantined_sources
from zhclean.run.dedup_publish import STAGED as DEDUP_STAGED
from zhclean.run.dedup_publish import DedupOutcome, Reduce, carry_index, published_base
from zhclean.run.errors import UsageError
from zhclean.run.faults import crash_point
from zhclean.run.lock import check_lease
from zhclean.run.pipeline import rule_reasons
from zhclean.run.plan import RunPlan
from zhclean.run.report import Decision, build_report, decide, plural, tally_run
from zhclean.run.shard import ShardResult
from zhclean.run.store import DATASETS, Manifest, open_store
from zhclean.validation.dataset import check_snapshot

# Runs that publish no documents but whose quarantine rows are still committed.
KEEPS_QUARANTINE = frozenset({"blocked_by_gate", "failed_dataset_checks"})


def publish_run(
    run: Run, plan: RunPlan, results: list[ShardResult], flow_run_id: str | None = None
) -> dict[str, Any]:
    """Commit what the shards staged, as far as the run's checks allow; return the report.

    A run that passes publishes its documents, sentences and quarantine rows in one
    commit. A run blocked by the gate or by a dataset check still commits its quarantine
    rows, in a version whose documents and sentences are the previous ones, byte for byte.
    """
    store = run.store
    results = sorted(results, key=lambda r: r.shard_id)
    tally = tally_run(plan, results)
    decision = decide(tally, run.params.max_quarantine_fraction, run.params.full_refresh)
    dataset_checks: list[dict[str, Any]] = []
    dedup = None
    if store.current_snapshot_id() == run.run_id:  # a retry after the commit
        manifest = store.current_manifest()
    else:
        manifest, decision, dataset_checks, dedup = _build(run, results, decision)
        if manifest is not None:
            check_lease(run.output_root)  # says it plainly; the commit is fenced anyway
            store.commit(manifest, run.base_version)
            store.delete(r.files[DEDUP_STAGED] for r in results if DEDUP_STAGED in r.files)
        else:
            store.discard(run.run_id)
    if dedup is not None and dedup.dropped:  # copies not published: the duplicates dataset
        tally.published -= dedup.dropped
        tally.duplicates += dedup.dropped
        if decision.status == "published":
            decision = replace(
                decision,
                message=f"published {plural(tally.published, 'document')}, quarantined "
                f"{tally.quarantined}, {dedup.dropped} near-duplicates not published "
                "(--dedup drop)",
            )
    report = build_report(
        run,
        plan,
        results,
        tally,
        decision,
        dataset_checks=dataset_checks,
        snapshot=None if manifest is None else _snapshot_summary(manifest),
        reasons=rule_reasons(),
        flow_run_id=flow_run_id,
        quarantine_gone=_quarantine_gone(run, plan, tally.vanished),
        dedup=None if dedup is None else dedup.to_dict(),
    )
    store.write_report(run.run_id, report)
    return report


def _build(
    run: Run, results: list[ShardResult], decision: Decision
) -> tuple[Manifest | None, Decision, list[dict[str, Any]], DedupOutcome | None]:
    """The version to commit (None: nothing to commit) and the decision, checks applied."""
    store = run.store
    staged = {ds: [r.files[ds] for r in results if ds in r.files] for ds in DATASETS}
    outcomes = [
        (o, r.files.get("documents") if o.status == "published" else None)
        for r in results
        for o in r.outcomes
    ]
    base = published_base(store, run.params.full_refresh)
    reduce = None
    if decision.publish and run.params.dedup != "off":
        reduce = Reduce(store, run.run_id, run.params, base)
        entries = [r.files[DEDUP_STAGED] for r in results if DEDUP_STAGED in r.files]
        staged, outcomes = reduce.before_snapshot(staged, outcomes, entries)
    if decision.publish:
        manifest = store.build_snapshot(
            run.run_id, staged, outcomes, run.params.full_refresh,
            **(reduce.snapshot_extras() if reduce is not None else {}),
        )  # fmt: skip
        if reduce is not None:
            reduce.after_snapshot(manifest)
        crash_point("snapshot-built")
        checks = check_snapshot(
            [store.path(f) for f in manifest.files["documents"]],
            [store.path(f) for f in manifest.files["sentences"]],
            store.filesystem(),
        )
        failed = [c for c in checks if not c.passed]
        if not failed:
            return manifest, decision, [c.to_dict() for c in checks], reduce and reduce.outcome
        names = ", ".join(f"{c.name} ({c.failures})" for c in failed)
        decision = Decision("failed_dataset_checks", f"dataset checks failed: {names}", False)
        dataset_checks = [c.to_dict() for c in checks]
    else:
        dataset_checks = []
    if reduce is not None:
        reduce.abandon()
    if decision.status in KEEPS_QUARANTINE and staged["quarantine"]:
        manifest = store.build_snapshot(
            run.run_id, staged, outcomes, run.params.full_refresh, publish=False
        )
        carry_index(
            store, base, manifest, run.params
        )  # the documents stay as they were: so does the index
        return manifest, decision, dataset_checks, None
    return None, decision, dataset_checks, None


def _quarantine_gone(run: Run, plan: RunPlan, vanished: list[str]) -> list[str] | None:
    """Quarantined sources this run's input no longer holds (None: the log could not be
    read; the quarantine's current view then keeps them)."""
    try:
        logged = quarantined_sources(run.store)
    except OSError:
        return None
    return sorted(logged - ({ref.source for ref in plan.sources} - set(vanished)))


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
        "input_dir": params.input_dir,
        "output_dir": params.output_dir,
        "parameters": asdict(params),
    }
    try:
        check_no_overlap(params.input_dir, params.output_dir)
    except UsageError:
        return report  # the output is (in) the input: a report there would become an input
    if is_remote(params.output_dir) or Path(params.output_dir).is_dir():
        with contextlib.suppress(OSError):  # an unwritable or full output: the caller still has it
            open_store(params.output_dir).write_report(run_id, report)
    return report


def _snapshot_summary(manifest: Any) -> dict[str, Any]:
    return {
        "id": manifest.snapshot_id,
        "files": {k: len(v) for k, v in manifest.files.items()},
        "sources": len(manifest.sources),
    }


__all__ = ["publish_run", "record_failure"]
