"""Stopping a run on request: a signal to the command, a cancelled flow run.

A stopped run ends within seconds, whatever it was doing: every process it started for
shards is killed at once (they hold no state worth waiting for: staged parts are never
published without their run's commit), its ``interrupted`` report is written, and the
published data stays as it was (the next run removes what this one left). The flow
records the run it is working on here (:func:`note_run`), so that whoever stops the
process can write that run's report.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zhclean.core.params import RunParams
from zhclean.core.process import signal_name
from zhclean.run.guard import stop_children
from zhclean.run.publish import record_failure
from zhclean.run.store import RUNS, open_store
from zhclean.run.workers import current_pool


@dataclass(frozen=True)
class ActiveRun:
    params: RunParams
    run_id: str
    started_at: datetime
    flow_run_id: str | None = None  # the orchestrator's id for it, if any


_ACTIVE: list[ActiveRun] = []


def note_run(
    params: RunParams, run_id: str, started_at: datetime, flow_run_id: str | None = None
) -> None:
    """The run this process is working on (the flow calls it once it has an id)."""
    _ACTIVE[:] = [ActiveRun(params, run_id, started_at, flow_run_id)]


def active_run() -> ActiveRun | None:
    return _ACTIVE[0] if _ACTIVE else None


def stop_workers() -> None:
    """Kill every process this one started for shards, without waiting for any."""
    stop_children()  # guarded children (zhclean.run.guard)
    pool = current_pool()
    pids = set(pool.pids()) if pool is not None else set()
    pids |= {p.pid for p in multiprocessing.active_children() if p.pid}  # task runners' pools
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def interrupted_message(params: RunParams, run_id: str, why: str) -> str:
    """One line: what stopped the run, and what of it is published (nothing, unless the
    signal came after its commit)."""
    published = False
    with contextlib.suppress(Exception):  # an unreadable output: say what we know
        current = open_store(params.output_dir).current_manifest()
        published = current is not None and current.run_id == run_id
    if published:
        return f"{why}; the run had already published its snapshot"
    return f"{why}; nothing was published, the published data is as it was"


def record_interrupted(why: str) -> dict[str, Any] | None:
    """Write the ``interrupted`` report of the active run, and return it (None: no run
    had started). A run that had already written its report had finished: that report
    stays, and is returned."""
    run = active_run()
    if run is None:
        return None
    with contextlib.suppress(Exception):
        store = open_store(run.params.output_dir)
        if store.exists(f"{RUNS}/{run.run_id}.json"):
            return store.read_report(run.run_id)
    message = interrupted_message(run.params, run.run_id, why)
    return record_failure(run.params, run.run_id, "interrupted", message, run.started_at)


def forget_run() -> None:
    """The run is over (its report is written): a later stop has no run to report."""
    _ACTIVE.clear()


def signal_reason(signum: int) -> str:
    return f"interrupted by {signal_name(signum)}"


__all__ = [
    "ActiveRun",
    "active_run",
    "forget_run",
    "interrupted_message",
    "note_run",
    "record_interrupted",
    "signal_reason",
    "stop_workers",
]
