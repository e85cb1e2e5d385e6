"""Crash points and faults for the crash-safety and poison-input tests.

``crash_point("before-swap")`` kills the run's main process with SIGKILL when the
environment variable ZHCLEAN_CRASH_AT names that point. Tests use it to kill a run at
exact places (mid-write, after building a snapshot, between rename and swap) without
timing games. It does nothing unless that variable is set.

The main process is the ``zhclean`` command (:func:`mark_main_process`): a point reached
in a worker process kills the command, as an OOM kill of it would, and the worker is
left to die with it. Without a command (a test calling the flow, a Dask worker), it is
the process that reaches the point.

With ZHCLEAN_CRASH_ONCE set to a file path, only the first process to reach the point
dies (it creates the file): a killed Dask worker's replacement then finishes the shard.

ZHCLEAN_STOP_AT stalls instead of killing: the process that reaches the named point sends
itself SIGSTOP (every thread stops, the lease heartbeat too), and the test resumes it with
SIGCONT once it has made something happen meanwhile (a lease takeover, another run).
"""

from __future__ import annotations

import os
import signal

ENV = "ZHCLEAN_CRASH_AT"
ONCE_ENV = "ZHCLEAN_CRASH_ONCE"
MAIN_PID_ENV = "ZHCLEAN_CRASH_PID"
STOP_ENV = "ZHCLEAN_STOP_AT"
POINTS = ("staged-row-group", "snapshot-built", "before-swap", "after-swap")  # crash tests
# Where an object-store run has its lease and has not cleaned up yet (a stop point).
BEFORE_CLEANUP = "before-cleanup"


def mark_main_process() -> None:
    """Name this process as the one crash points kill (inherited by its workers)."""
    if os.environ.get(ENV):
        os.environ[MAIN_PID_ENV] = str(os.getpid())


def crash_point(name: str) -> None:
    if os.environ.get(STOP_ENV) == name:
        os.kill(os.getpid(), signal.SIGSTOP)  # returns once a test sends SIGCONT
    if os.environ.get(ENV) != name:
        return
    marker = os.environ.get(ONCE_ENV)
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(int(os.environ.get(MAIN_PID_ENV) or os.getpid()), signal.SIGKILL)


# -- faults inside a stage ------------------------------------------------------------------
#
# ``ZHCLEAN_FAULT="segv:html:@@SEGV@@"`` makes the html stage, when it starts on a document
# whose source or text holds ``@@SEGV@@``, die as a native library would: ``segv`` reads
# address 0 (SIGSEGV), ``abort`` aborts (SIGABRT, what a C++ library's uncaught exception
# does), ``hang`` blocks every signal and waits forever in a C call (a native loop that
# never returns and never checks Python's signals), ``memory`` allocates until the process
# runs out of address space. Several faults are separated by ``;``. Stage ``scan`` is the
# scan's read of each source. The stages reach these points through the pipeline's watcher
# (zhclean.core.step.watch), set by the guard (zhclean.run.guard), so the fault happens
# while the stage is on that document, in whatever process runs it.

FAULT_ENV = "ZHCLEAN_FAULT"
FAULT_KINDS = ("segv", "abort", "hang", "memory")
# A file created when a fault is set off: a test waits for it (the run is then under way,
# in that stage) instead of sleeping.
REACHED_ENV = "ZHCLEAN_FAULT_REACHED"


def stage_faults() -> list[tuple[str, str, str]]:
    """The configured (kind, stage, marker) faults; none unless a test set the variable."""
    spec = os.environ.get(FAULT_ENV, "")
    faults = []
    for item in filter(None, spec.split(";")):
        kind, stage, marker = item.split(":", 2)
        if kind not in FAULT_KINDS:
            raise ValueError(f"{FAULT_ENV}: unknown fault {kind!r} (one of {FAULT_KINDS})")
        faults.append((kind, stage, marker))
    return faults


def stage_fault(faults: list[tuple[str, str, str]], stage: str, texts: list[str]) -> None:
    """Fail now, as configured, if ``stage`` is on a document holding a fault's marker."""
    for kind, at, marker in faults:
        if at == stage and any(marker in text for text in texts):
            _fail(kind)


def _fail(kind: str) -> None:
    import ctypes

    reached = os.environ.get(REACHED_ENV)
    if reached:
        with open(reached, "a", encoding="utf-8") as fh:
            fh.write(f"{kind} {os.getpid()}\n")

    if kind == "segv":
        ctypes.string_at(0)  # a read of address 0 in C: SIGSEGV
    elif kind == "abort":
        os.abort()
    elif kind == "hang":
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        while True:  # pause() returns only when a handler runs: none can, all are blocked
            ctypes.CDLL(None).pause()
    elif kind == "memory":
        import numpy as np

        hoard = []
        while True:  # 64 MiB at a time, never written to: address space, not RAM
            hoard.append(np.empty(64 << 20, np.uint8))
