"""Run everything in this process, without Prefect: the local executor.

The same functions the Prefect flow calls as tasks (scan, plan, process a shard, publish),
called in a plain loop. Evaluations, the benchmark and tests use it when they need the
production path but not an orchestrator.
"""

from __future__ import annotations

from typing import Any

from zhclean.core.params import RunParams
from zhclean.run.context import open_run
from zhclean.run.plan import list_inputs, plan_work, scan_sources
from zhclean.run.publish import publish_run
from zhclean.run.shard import process_shard


def run_local(params: RunParams) -> dict[str, Any]:
    """One run, start to finish; returns its report (also written under ``_runs/``)."""
    with open_run(params) as run:
        sources, scan_shards = list_inputs(run)
        root, params = run.input_root, run.params
        scans = (
            scan_sources(
                shard, root, params.follow_symlinks, params.max_doc_bytes, params.stage_timeout
            )
            for shard in scan_shards
        )
        work = plan_work(run, sources, scans)
        results = [
            process_shard(run, i, shard, work.repeated_for(shard))
            for i, shard in enumerate(work.shards)
        ]
        return publish_run(run, work.plan, results)
