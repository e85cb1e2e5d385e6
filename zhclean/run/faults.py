"""Crash points for the crash-safety tests.

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
