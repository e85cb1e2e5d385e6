"""One run's identity and resources: its id, resolved paths, the output lock, leftovers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from zhclean.core.params import RunParams
from zhclean.run.lock import output_lock
from zhclean.run.store import OutputStore


def make_run_id(suffix: str | None = None) -> str:
    """Sortable by time; the suffix ties it to the orchestrator's run (or this process)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{suffix or os.getpid()}"


@dataclass(frozen=True)
class Run:
    """What every task of a run needs to know; small and picklable (tasks receive it)."""

    run_id: str
    params: RunParams
    input_root: str
    output_root: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    leftovers_removed: int = 0

    @property
    def store(self) -> OutputStore:
        return OutputStore(self.output_root)

    @property
    def staging(self) -> Path:
        return self.store.staging_dir(self.run_id)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@contextmanager
def open_run(params: RunParams, run_id: str | None = None) -> Iterator[Run]:
    """Hold the output's lock for the run and clear what interrupted runs left behind."""
    problems = params.problems()
    if problems:
        raise ValueError(problems[0])
    input_root = str(Path(params.input_dir).resolve())
    output_root = str(Path(params.output_dir).resolve())
    run_id = run_id or make_run_id()
    store = OutputStore(output_root)
    store.check_layout()
    with output_lock(output_root, run_id, params.wait_for_lock):
        leftovers = store.cleanup()
        yield Run(run_id, params, input_root, output_root, leftovers_removed=len(leftovers))
