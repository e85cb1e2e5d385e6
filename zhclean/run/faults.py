"""Crash points for the crash-safety tests.

``crash_point("before-swap")`` kills the process with SIGKILL when the environment
variable ZHCLEAN_CRASH_AT names that point. Tests use it to kill a run at exact places
(mid-write, after building a snapshot, between rename and swap) without timing games.
It does nothing unless that variable is set.
"""

from __future__ import annotations

import os
import signal

ENV = "ZHCLEAN_CRASH_AT"
POINTS = ("staged-row-group", "snapshot-built", "before-swap", "after-swap")


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
