"""An exclusive lock on an output directory, so that two runs never write it at once.

``flock`` is released by the kernel when the holder dies, even by SIGKILL, so a crashed
run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from zhclean.run.errors import OutputLocked

LOCK_NAME = ".zhclean.lock"

# Locks lent to the rest of this process, by resolved output path: the command takes the
# lock before it starts Prefect, and the flow it runs in the same process uses it.
_LENT: dict[str, int] = {}


@contextmanager
def output_lock(
    root: str | os.PathLike[str], run_id: str, wait_seconds: float = 0.0, lend: bool = False
) -> Iterator[None]:
    """Hold the output directory's lock; wait up to ``wait_seconds``, then fail fast.

    With ``lend``, a later ``output_lock`` on the same directory in this process uses
    this one instead of competing with it (it only records its run id as the holder).
    """
    key = str(Path(root).resolve())
    if key in _LENT:
        _write_holder(_LENT[key], run_id)
        yield
        return
    path = Path(root) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    raise OutputLocked(
                        f"output directory {key} is locked by another zhclean run "
                        f"({holder}); wait for it to finish or use another --output"
                    ) from None
                time.sleep(0.2)
        _write_holder(fd, run_id)
        if lend:
            _LENT[key] = fd
        try:
            yield
        finally:
            _LENT.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_holder(fd: int, run_id: str) -> None:
    os.ftruncate(fd, 0)
    holder = {"run_id": run_id, "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def _read_holder(fd: int) -> str:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return "holder unknown"
    if not data:
        return "holder unknown"
    return f"run {data.get('run_id')}, pid {data.get('pid')}, since {data.get('since')}"
