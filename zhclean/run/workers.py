"""Worker processes for shards: started early, warmed up, and dead with their parent.

A pool worker costs about 1.5 CPU-seconds before its first document: the interpreter,
zhclean with pandas, pyarrow and pandera, the tokenizer's dictionary, the first pipeline.
:func:`start_pool` starts every worker at once, from the calling (main) thread, and the
initializer pays that cost while the caller does other things (the ``zhclean`` command
starts the temporary Prefect API at the same time). Workers import no Prefect: the
orchestrator submits :func:`zhclean.run.shard.process_shard` itself.

A worker never outlives the process that started it: the initializer asks the kernel
for SIGKILL when the parent dies (``PR_SET_PDEATHSIG``), so a SIGKILL or an OOM kill of
``zhclean run`` leaves no worker holding memory and the command's output pipes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from zhclean.core.process import die_with_parent


def _orphaned(parent_pid: int) -> bool:
    """The parent died before the death signal was set: nobody will send it."""
    return os.getppid() != parent_pid


def _ignore_stop_signals() -> None:
    """SIGINT and SIGTERM to the process group are for the process that started the
    workers: it stops the run and kills them (zhclean.run.stop). A worker that reacted on
    its own would print a traceback, or end its shard before the run knew it was stopped."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def worker_init(parent_pid: int, tokenizer: str = "fast") -> None:
    """Initializer of a pool worker: die with the parent, then load what shards need."""
    _ignore_stop_signals()
    die_with_parent()
    if _orphaned(parent_pid):
        os._exit(1)
    from zhclean.core.params import RunParams
    from zhclean.run.pipeline import build_pipeline

    build_pipeline(RunParams(tokenizer=tokenizer))  # imports, dictionary, rules, schemas


def prefect_worker_init() -> None:
    """Initializer for Prefect's ProcessPoolTaskRunner workers: die with the parent."""
    _ignore_stop_signals()
    die_with_parent()
    parent = multiprocessing.parent_process()
    if parent is not None and _orphaned(parent.pid):
        os._exit(1)


def _ready() -> int:
    return os.getpid()


class ShardPool:
    """A process pool whose workers start now and die with this process."""

    def __init__(self, workers: int, tokenizer: str = "fast") -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init,
            initargs=(os.getpid(), tokenizer),
        )
        # A spawn pool starts a worker per submit while none is idle: one warm-up call
        # per worker starts them all now, from this thread.
        self._warmup = [self.executor.submit(_ready) for _ in range(workers)]

    def submit(self, fn: Any, /, *args: Any) -> Future:
        return self.executor.submit(fn, *args)

    def pids(self) -> list[int]:
        processes = getattr(self.executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values())]

    def shutdown(self, kill: bool = False) -> None:
        """Wait for the shards under way (``kill``: stop the workers at once)."""
        if kill:
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.executor.shutdown(wait=True, cancel_futures=True)


_CURRENT: ShardPool | None = None


def start_pool(workers: int, tokenizer: str = "fast") -> ShardPool:
    """Start the process-wide shard pool (see :func:`run_here_or_in_pool`)."""
    global _CURRENT
    if _CURRENT is not None:
        raise RuntimeError("a shard pool is already running")
    _CURRENT = ShardPool(workers, tokenizer)
    return _CURRENT


def stop_pool(kill: bool = False) -> None:
    global _CURRENT
    pool, _CURRENT = _CURRENT, None
    if pool is not None:
        pool.shutdown(kill)


def current_pool() -> ShardPool | None:
    return _CURRENT


def run_here_or_in_pool(fn: Any, /, *args: Any) -> Any:
    """``fn(*args)`` in a worker of the shard pool if this process started one, else here.

    The ``zhclean`` command starts a pool for inputs worth several processes and runs
    its Prefect tasks in threads that wait here; under a deployment or another task
    runner no pool exists and the task runs where the task runner put it.
    """
    pool = _CURRENT
    if pool is None:
        return fn(*args)
    return pool.submit(fn, *args).result()
