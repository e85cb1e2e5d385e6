"""Process lifetime: children that die with their parent (Linux ``PR_SET_PDEATHSIG``).

Used for the shard pool's workers and the temporary API server, so that a SIGKILL (an
OOM kill) of ``zhclean run`` does not leave them running, reparented to PID 1.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1
_libc: Any = None


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux).

    The kernel sends it when the *thread* that created this process exits, so the
    parent must create children from a thread that lives as long as they should (the
    main thread). Returns False where this is not available.
    """
    libc = load_libc()
    return libc is not None and libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


def load_libc() -> Any:
    """The C library (its symbols are in the process: no search, no subprocess), loaded
    once; call it before a fork whose child calls :func:`die_with_parent`."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc
