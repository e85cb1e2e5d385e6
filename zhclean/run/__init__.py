"""Layer 3, the composition of a run: plan, shard runner, publishing, report, storage.

Executors call these functions: :func:`run_local` in this process, the Prefect flow in
``zhclean.flows`` as tasks on a process pool.
"""

from zhclean.run.context import Run, make_run_id, open_run
from zhclean.run.local import run_local
from zhclean.run.pipeline import build_pipeline
from zhclean.run.plan import RunWork, ScanResult, list_inputs, plan_work, scan_sources
from zhclean.run.publish import FAILED_STATUSES, publish_run
from zhclean.run.report import render_markdown, stage_table, summary_lines
from zhclean.run.shard import ShardResult, process_shard

__all__ = [
    "FAILED_STATUSES",
    "Run",
    "RunWork",
    "ScanResult",
    "ShardResult",
    "build_pipeline",
    "list_inputs",
    "make_run_id",
    "open_run",
    "plan_work",
    "process_shard",
    "publish_run",
    "render_markdown",
    "run_local",
    "scan_sources",
    "stage_table",
    "summary_lines",
]
