"""An exclusive lock on an output location, so that two runs never write it at once.

On a local disk it is an ``flock``, released by the kernel when the holder dies, even by
SIGKILL. Object storage has no locks, so there it is a lease object, ``_lock.json``,
created with a conditional put (exactly one contender wins), renewed by a heartbeat, and
taken over only once it has expired by the store's own clock: a killed holder blocks the
next run for at most the lease's time to live.

A lease can still be lost without its holder noticing: a process stopped (SIGSTOP, a VM
paused) or cut off for longer than the time to live resumes as if nothing happened. So
the lease only keeps live runs apart; what a run may publish is decided by the pointer,
which every run fences when it starts (``zhclean.run.store``): a run that lost its lease
cannot commit, and a late cleanup deletes nothing a newer run needs. A run also renews
its lease right before its commit (:func:`check_lease`), to say so in plain words.

A local output needs none of this: the ``flock`` stays with a stopped process, and dies
only with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from zhclean.core.location import is_remote
from zhclean.run.errors import OutputLocked, RunError
from zhclean.run.store import ObjectStore, PreconditionFailed

LOCK_NAME = ".zhclean.lock"

# Locks lent to the rest of this process, by resolved output path: the command takes the
# lock before it starts Prefect, and the flow it runs in the same process uses it.
_LENT: dict[str, int] = {}
# Leases held by this process, by output URI (for the check before a commit).
_HELD: dict[str, Lease] = {}


class LeaseLost(RunError):
    """Another run took over this run's lease: it may not publish."""

    status = "failed"


@contextmanager
def output_lock(
    root: str | os.PathLike[str], run_id: str, wait_seconds: float = 0.0, lend: bool = False
) -> Iterator[None]:
    """Hold the output directory's lock; wait up to ``wait_seconds``, then fail fast.

    With ``lend``, a later ``output_lock`` on the same directory in this process uses
    this one instead of competing with it (it only records its run id as the holder).
    """
    if is_remote(str(root)):
        key = str(root).rstrip("/")
        if key in _LENT:
            yield
            return
        with Lease(ObjectStore(key), run_id, wait_seconds=wait_seconds) as lease:
            if lend:
                _LENT[key] = -1
            _HELD[key] = lease
            try:
                yield
            finally:
                _LENT.pop(key, None)
                _HELD.pop(key, None)
        return
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
                        f"({holder}); wait for it to finish, use --wait-for-lock SECONDS, or use another --output"
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


def check_lease(root: str | os.PathLike[str]) -> None:
    """Renew the lease on ``root`` now, or raise :class:`LeaseLost` (local: nothing to do)."""
    lease = _HELD.get(str(root).rstrip("/"))
    if lease is not None:
        lease.confirm()


LEASE_KEY = "_lock.json"
LEASE_TTL = 300.0
# Tests only: a lease of a few seconds, so that a takeover can be tested without waiting.
LEASE_TTL_ENV = "ZHCLEAN_LEASE_TTL"


def lease_ttl() -> float:
    return float(os.environ.get(LEASE_TTL_ENV) or LEASE_TTL)


class Lease:
    """The run lease on an object-store output (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        run_id: str,
        ttl: float | None = None,
        wait_seconds: float = 0.0,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.ttl = ttl or lease_ttl()
        self.wait_seconds = wait_seconds
        self.etag: str | None = None
        self.lost = threading.Event()
        self._renewing = threading.Lock()  # the heartbeat and check_lease, one at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        now = self.store.server_now()
        holder = {
            "run_id": self.run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": now,
            "expires": now + self.ttl,
        }
        return json.dumps(holder).encode()

    def __enter__(self) -> Lease:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                self.etag = self.store.put_if_absent(LEASE_KEY, self._body())
                break
            except PreconditionFailed:
                current = self.store.get(LEASE_KEY)
            if current is None:
                continue  # released between our two requests: try again at once
            holder = json.loads(current[0])
            if holder["expires"] < self.store.server_now():  # its holder died: take it over
                try:
                    self.etag = self.store.put_if_match(LEASE_KEY, self._body(), current[1])
                    break
                except PreconditionFailed:
                    continue  # another run took it first
            if time.monotonic() >= deadline:
                until = datetime.fromtimestamp(holder["expires"], UTC).isoformat(timespec="seconds")
                raise OutputLocked(
                    f"output {self.store.root} is locked by another zhclean run (run "
                    f"{holder['run_id']}, pid {holder['pid']} on {holder['host']}, lease until "
                    f"{until}); wait for it to finish, use --wait-for-lock SECONDS, or use another --output"
                )
            time.sleep(1.0)
        self._thread = threading.Thread(target=self._heartbeat, name="zhclean-lease", daemon=True)
        self._thread.start()
        return self

    def renew(self) -> bool:
        """Extend the lease; False once another run has taken it over."""
        with self._renewing:
            if self.lost.is_set():
                return False
            try:
                self.etag = self.store.put_if_match(LEASE_KEY, self._body(), self.etag)
            except PreconditionFailed:
                self.lost.set()  # taken over (or expired and released): never ours again
                return False
            return True

    def confirm(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is still this run's."""
        if not self.renew():
            raise LeaseLost(
                f"this run lost its lease on {self.store.root}: it did not renew it for more "
                f"than {self.ttl:g} s (the process was stopped or cut off) and another run "
                "took it over; nothing of this run was published: run it again"
            )

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not self.renew():
                    return  # taken over: this run can no longer publish
            except Exception:  # a transient error; the lease has time left until the next beat
                continue

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.etag is not None and not self.lost.is_set():
            with contextlib.suppress(PreconditionFailed):  # never delete another run's lease
                self.store.delete_if_match(LEASE_KEY, self.etag)
