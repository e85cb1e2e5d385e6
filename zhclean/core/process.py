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


def address_space() -> int | None:
    """This process's current virtual size in bytes (Linux ``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def limit_address_space(extra: int) -> int | None:
    """Let this process grow by at most ``extra`` bytes of address space (``RLIMIT_AS``).

    An allocation over the limit fails: Python raises MemoryError, a native library gets
    NULL (and usually aborts). Returns the limit set, or None where it cannot be set. An
    existing lower limit stays.
    """
    import resource

    size = address_space()
    if size is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra
    for bound in (soft, hard):
        if bound != resource.RLIM_INFINITY:
            limit = min(limit, bound)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return None
    return limit


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
