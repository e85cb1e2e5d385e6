"""Crash points for the crash-safety tests.

``crash_point("before-swap")`` kills the process with SIGKILL when the environment
variable ZHCLEAN_CRASH_AT names that point. Tests use it to kill a run at exact places
(mid-write, after building a snapshot, between rename and swap) without timing games.
With ZHCLEAN_CRASH_ONCE set to a file path, only the first process to reach the point
dies (it creates the file): a killed Dask worker's replacement then finishes the shard.
It does nothing unless ZHCLEAN_CRASH_AT is set.
"""

from __future__ import annotations

import os
import signal

ENV = "ZHCLEAN_CRASH_AT"
ONCE_ENV = "ZHCLEAN_CRASH_ONCE"
POINTS = ("staged-row-group", "snapshot-built", "before-swap", "after-swap")


def crash_point(name: str) -> None:
    if os.environ.get(ENV) != name:
        return
    marker = os.environ.get(ONCE_ENV)
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)
