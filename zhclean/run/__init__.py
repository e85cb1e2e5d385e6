"""Layer 3, the composition of a run: plan, shard runner, publishing, report, storage.

Executors call these functions: :func:`run_local` in this process, the Prefect flow in
``zhclean.flows`` as tasks on a process pool.
"""

from zhclean.run.context import Run, make_run_id, open_run, preflight
from zhclean.run.errors import EXIT_CODES, RunError, UsageError
from zhclean.run.local import run_local
from zhclean.run.lock import output_lock
from zhclean.run.pipeline import build_pipeline
from zhclean.run.plan import RunWork, ScanResult, list_inputs, plan_work, scan_sources
from zhclean.run.publish import publish_run, record_failure
from zhclean.run.report import render_markdown, stage_table, summary_lines
from zhclean.run.shard import ShardResult, process_shard

__all__ = [
    "EXIT_CODES",
    "Run",
    "RunError",
    "RunWork",
    "ScanResult",
    "ShardResult",
    "UsageError",
    "build_pipeline",
    "list_inputs",
    "make_run_id",
    "open_run",
    "output_lock",
    "plan_work",
    "preflight",
    "process_shard",
    "publish_run",
    "record_failure",
    "render_markdown",
    "run_local",
    "scan_sources",
    "stage_table",
    "summary_lines",
]
