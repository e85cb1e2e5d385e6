"""Poison inputs cost one document, never the run: a supervised worker process per shard.

Native parsers and decoders (Lexbor, OpenCC, jieba-rs, Arrow) can crash, hang or allocate
without bound on hostile bytes; a segfault in the process that runs them ends that
process, and a native call that never returns never checks Python's signals. So the work
on a shard's documents runs in a child process, forked from the process that holds the
shard (the command, a pool worker, a Dask worker), and that process supervises it:

- the child writes where it is (the stage, the document, when it started) into a small
  shared memory page before each stage works on each document (the pipeline's watcher,
  :func:`zhclean.core.step.watch`), and sends each finished batch back as Arrow tables
  (:class:`zhclean.writers.datasets.PreparedBatch`); the supervisor writes them;
- when the child dies (a signal, an abort), stays on one document longer than its
  deadline (``--stage-timeout`` seconds, plus as many per MB of the document: it is then
  killed) or runs out of its address space (``RLIMIT_AS``: the process's size when it
  starts plus 1 GiB plus 150 MiB per MB of ``--max-doc-mb``), the supervisor quarantines
  the document it was on (``<stage>.crash``, ``<stage>.timeout``, ``<stage>.memory``) and
  starts a new child for the rest of the shard, from the first document of the batch it
  lost. A stage that works on a whole batch at once cannot name a document: that batch is
  run again one document at a time, which does;
- the child dies with its supervisor (``PR_SET_PDEATHSIG``), never handles SIGINT or
  SIGTERM (its supervisor does), and a child's Python error that is not a document's (an
  I/O error) is raised again in the supervisor, as it would have been without the guard.

Forking a process whose pipeline is loaded costs milliseconds, not the seconds a fresh
interpreter needs; the cost per batch is sending its tables through a pipe (measured in
the README, "Poison inputs").
"""

from __future__ import annotations

import contextlib
import faulthandler
import mmap
import os
import pickle
import select
import signal
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from zhclean.core.params import DEFAULTS
from zhclean.core.process import (
    address_space,
    die_with_parent,
    limit_address_space,
    signal_name,
)
from zhclean.core.record import Document
from zhclean.core.step import cut_batches, watch
from zhclean.run.faults import stage_fault, stage_faults

MB = 1024 * 1024
# Stages the deadline does not apply to: the child waits for its supervisor there.
_NO_DEADLINE = frozenset({"", "ship"})
# The child's exit code when Python runs out of memory outside a stage's own guard.
MEMORY_EXIT = 86
# How often the supervisor looks at a child that sends nothing: a deadline is enforced
# within this, and a stop request is seen within this.
POLL_SECONDS = 0.2
# The child of a process with no fork (not Linux): the work runs unguarded.
CAN_FORK = hasattr(os, "fork") and hasattr(os, "wait4")


def memory_budget(max_doc_bytes: int) -> int:
    """Address space a worker may add to what it has when it starts: enough for the
    largest allowed document (about 60 MB per MB of it, README "Memory per worker")
    several times over, not enough for a runaway allocation to take the machine."""
    return (1 << 30) + 150 * max_doc_bytes


@dataclass(frozen=True)
class Limits:
    stage_timeout: float = DEFAULTS.stage_timeout  # seconds, plus as many per MB
    memory: int | None = memory_budget(DEFAULTS.max_doc_bytes)  # bytes of address space

    def deadline(self, nbytes: int) -> float:
        return self.stage_timeout * (1 + nbytes / MB)


# ----------------------------------------------------------------- where the child is


_LAYOUT = struct.Struct("<Qqqqd24s32s64sq")  # seq, item, first, last, started, stage, id


@dataclass(frozen=True)
class Position:
    """Where a child was: ``item`` is the document (-1: a stage on the whole batch
    ``first`` to ``last``); doc_id, sha256 and raw_bytes once the reader has seen it."""

    item: int
    first: int
    last: int
    started: float
    stage: str
    doc_id: str
    sha256: str
    raw_bytes: int


class Tracker:
    """One shared page: the child writes its position, the supervisor reads it.

    A sequence number, odd while a write is under way, lets the reader retry instead of
    reading half a write (the two processes share no lock).
    """

    def __init__(self) -> None:
        self.page = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared: seen after fork
        self.seq = 0
        self.first = self.last = 0
        self.only = -1

    def _write(self, item: int, stage: str, doc: Document | None) -> None:
        self.seq += 1
        struct.pack_into("<Q", self.page, 0, self.seq)
        ident = (doc.doc_id, doc.content_sha256, doc.raw_bytes) if doc is not None else ("", "", 0)
        _LAYOUT.pack_into(
            self.page, 0, self.seq, item, self.first, self.last, time.monotonic(),
            stage.encode()[:24], ident[0].encode()[:32], ident[1].encode()[:64], ident[2],
        )  # fmt: skip
        self.seq += 1
        struct.pack_into("<Q", self.page, 0, self.seq)

    def batch(self, first: int, last: int, only: int) -> None:
        """A new batch, documents ``first`` to ``last`` (``only``: its single document)."""
        self.first, self.last, self.only = first, last, only
        self._write(only, "", None)

    def mark(self, stage: str, item: int, doc: Document | None = None) -> None:
        self._write(item if item >= 0 else self.only, stage, doc)

    def read(self) -> Position:
        for _ in range(10_000):  # a child killed mid-write leaves the number odd: give up
            before = struct.unpack_from("<Q", self.page, 0)[0]
            values = _LAYOUT.unpack_from(self.page, 0)
            if before % 2 == 0 and values[0] == before:
                break
            time.sleep(0)
        _, item, first, last, started, stage, doc_id, sha, raw = values
        text = [v.rstrip(b"\0").decode() for v in (stage, doc_id, sha)]
        return Position(item, first, last, started, text[0], text[1], text[2], raw)

    def close(self) -> None:
        self.page.close()


# ------------------------------------------------------------ messages through a pipe
#
# A message is pickled with protocol 5 and its large buffers (a batch's Arrow columns)
# travel out of band: written from where they are, read into their own bytearrays and
# handed to the unpickler as they are. One copy each way, through the kernel; the
# multiprocessing Connection costs three more (about 4% of a shard's CPU, measured).

_HEADER = struct.Struct("<QI")  # pickle length, number of buffers


def send_message(fd: int, message: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []
    meta = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    head = _HEADER.pack(len(meta), len(raws)) + struct.pack(f"<{len(raws)}Q", *map(len, raws))
    for chunk in (head, meta, *raws):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    while view:
        got = os.readv(fd, [view])
        if not got:
            raise EOFError("the worker process closed the pipe")
        view = view[got:]
    return buf


def receive_message(fd: int) -> Any:
    size, count = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    sizes = struct.unpack(f"<{count}Q", _read_exactly(fd, 8 * count)) if count else ()
    meta = _read_exactly(fd, size)
    return pickle.loads(meta, buffers=[_read_exactly(fd, n) for n in sizes])


def _readable(fd: int, timeout: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(timeout * 1000))


# ------------------------------------------------------------------ the supervision


@dataclass(frozen=True)
class Failure:
    """A document that cost its worker process: quarantine it with this reason."""

    item: int
    stage: str
    check: str  # crash | timeout | memory
    reason: str
    detail: str
    doc_id: str
    sha256: str
    raw_bytes: int


class WorkerError(RuntimeError):
    """The worker process failed in a way no document explains (before its first one)."""


class Interrupted(RuntimeError):
    """The run is being stopped (a signal to the command, a cancelled flow run)."""


# Children of this process, so that a stop request (zhclean.run.workers.stop_workers)
# can end them at once, whichever thread supervises them.
_CHILDREN: set[int] = set()
_STOPPING = threading.Event()


def stop_children() -> None:
    """Stop every guarded child of this process now; their supervisors raise Interrupted."""
    _STOPPING.set()
    for pid in list(_CHILDREN):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Plan:
    """What a child does: the items from ``start`` on, without ``skip``, and ``single``
    ones in batches of their own."""

    start: int
    skip: frozenset[int]
    single: frozenset[int]


Work = Callable[["Tracker", Callable[[Any], None], Plan], None]


def supervise(
    work: Work,
    sizes: list[int],
    limits: Limits,
    on_message: Callable[[tuple], None],
    what: str = "shard",
) -> list[Failure]:
    """Run ``work`` in child processes until every item is done or quarantined.

    ``work(tracker, send, plan)`` processes the items the plan names, marks its position
    in ``tracker`` and sends ``("batch", next_item, ...)`` after each batch (``next_item``:
    the first item after it); those messages go to ``on_message``, after a ``("child",)``
    for each new child. ``sizes`` are the items' sizes in bytes (for deadlines).
    """
    failures: list[Failure] = []
    start, skip, single = 0, set(), set()
    while True:
        on_message(("child",))  # a new child: its messages count from zero
        child = _Child(work, Plan(start, frozenset(skip), frozenset(single)), limits)
        try:
            shipped = child.follow(on_message, sizes, start)
        finally:
            child.close()
        if child.finished:
            return failures
        start = shipped
        where = child.position
        if where is None or not where.stage:
            raise WorkerError(
                f"the {what}'s worker process {child.how_it_ended()} before its first document"
            )
        if where.item < 0:  # a stage on a whole batch: run it again document by document
            single.update(range(where.first, where.last))
            start = min(start, where.first)
            continue
        failures.append(child.failure(where))
        skip.add(where.item)


class _Child:
    def __init__(self, work: Work, plan: Plan, limits: Limits) -> None:
        self.limits = limits
        self.tracker = Tracker()
        self.finished = False
        self.error: tuple[BaseException | None, str] | None = None
        self.position: Position | None = None
        self.timed_out: float | None = None  # the deadline it ran over
        self.status = 0
        self.max_rss = 0
        self.crash_text = ""
        # its limit: this process's size (it starts as a copy) plus the budget
        self.memory_limit = (
            (address_space() or 0) + limits.memory if limits.memory is not None else None
        )
        read_end, write_end = os.pipe()
        crash_read, crash_write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_end)
            os.close(crash_read)
            _child_main(work, plan, limits, self.tracker, write_end, crash_write, parent)
        os.close(write_end)
        os.close(crash_write)
        self.pid = pid
        _CHILDREN.add(pid)
        self.pipe = read_end
        self.crash_report = crash_read

    def follow(self, on_message: Callable[[tuple], None], sizes: list[int], start: int) -> int:
        """Pass the child's messages on until it ends; return the first item not shipped."""
        shipped = start
        ended_here = False  # it ended as it should (done, or an error it reported)
        try:
            while True:
                if _STOPPING.is_set():
                    raise Interrupted("the run is being stopped")
                try:
                    ready = _readable(self.pipe, POLL_SECONDS)
                    message = receive_message(self.pipe) if ready else None
                except (EOFError, OSError):  # it died, between messages or in one
                    break
                if message is None:
                    if not self._within_deadline(sizes):
                        break
                    continue
                if message[0] == "batch":
                    on_message(message)
                    shipped = message[1]
                elif message[0] == "done":
                    self.finished = ended_here = True
                    break
                elif message[0] == "error":
                    self.error = (message[1], message[2])
                    ended_here = True
                    break
        finally:
            self._reap(kill=not ended_here)
        if _STOPPING.is_set() and not self.finished:
            raise Interrupted("the run is being stopped")
        if self.error is not None:
            exc, text = self.error
            raise exc if exc is not None else WorkerError(text)
        return shipped

    def _within_deadline(self, sizes: list[int]) -> bool:
        where = self.tracker.read()
        if where.stage in _NO_DEADLINE:
            return True
        nbytes = sizes[where.item] if where.item >= 0 else sum(sizes[where.first : where.last])
        deadline = self.limits.deadline(nbytes)
        if time.monotonic() - where.started <= deadline:
            return True
        self.timed_out = deadline
        return False

    def _reap(self, kill: bool) -> None:
        """Collect the child (killed first unless it ended as it should)."""
        if kill:
            self.position = self.tracker.read()  # where it crashed, hung or was stopped
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)  # a dead child: nothing happens
        _, self.status, usage = os.wait4(self.pid, 0)
        _CHILDREN.discard(self.pid)
        self.max_rss = usage.ru_maxrss * 1024
        self.crash_text = self._crash_text() if kill else ""

    def how_it_ended(self) -> str:
        if os.WIFSIGNALED(self.status):
            return f"was killed by {signal_name(os.WTERMSIG(self.status))}"
        return f"exited with code {os.WEXITSTATUS(self.status)}"

    def _crash_text(self) -> str:
        """What faulthandler wrote when the child crashed: its Python stack."""
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := os.read(self.crash_report, 65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace").strip()

    def failure(self, where: Position) -> Failure:
        stage = where.stage
        ended = self.how_it_ended()
        out_of_memory = (
            os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == MEMORY_EXIT
        ) or (self.memory_limit is not None and self.max_rss >= 0.9 * self.memory_limit)
        if self.timed_out is not None:
            check = "timeout"
            ended = "was stopped (SIGKILL)"
            reason = (
                f"the {stage} stage was still on this document after {self.timed_out:.0f} s "
                f"(--stage-timeout {self.limits.stage_timeout:g} s, plus as much per MB); "
                "its worker process was stopped"
            )
        elif out_of_memory:
            check = "memory"
            reason = (
                f"the {stage} stage ran out of memory on this document (its worker process "
                f"may grow by {(self.limits.memory or 0) / MB:,.0f} MB of address space)"
            )
        else:
            check = "crash"
            reason = f"the {stage} stage crashed on this document (its worker process {ended})"
        detail = f"worker process {ended}; peak RSS {self.max_rss / MB:,.0f} MB"
        frames = _frames(self.crash_text)
        if frames:
            detail += "; in " + " <- ".join(frames)
        return Failure(
            where.item, stage, check, reason, detail, where.doc_id, where.sha256, where.raw_bytes
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.pipe)
        with contextlib.suppress(OSError):
            os.close(self.crash_report)
        self.tracker.close()


def _frames(crash_text: str, n: int = 6) -> list[str]:
    """The innermost Python frames of a faulthandler report, short: ``file:line func``."""
    frames = []
    for line in crash_text.splitlines():
        line = line.strip()
        if line.startswith('File "'):
            path, _, rest = line[6:].partition('", line ')
            number, _, func = rest.partition(" in ")
            short = path.split("/site-packages/")[-1].split("/zhclean/")[-1]
            frames.append(f"{short}:{number} {func}")
    return frames[:n]


def _child_main(
    work: Work,
    plan: Plan,
    limits: Limits,
    tracker: Tracker,
    write_end: int,
    crash_write: int,
    parent: int,
) -> None:
    """The child's whole life: set up, work, report, exit (never return, never unwind
    into the parent's code: its threads, handlers and atexit hooks are not ours)."""
    code = 0
    conn = None
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        die_with_parent()
        if os.getppid() != parent:  # the parent died before the death signal was set
            os._exit(1)
        faulthandler.enable(file=os.fdopen(crash_write, "w", closefd=False))
        if limits.memory is not None:
            limit_address_space(limits.memory)
        conn = write_end

        def send(message: Any) -> None:
            send_message(write_end, message)

        work(tracker, send, plan)
        send(("done",))
    except MemoryError:
        code = MEMORY_EXIT
    except BaseException as exc:  # not a document's fault: the supervisor raises it
        code = 1
        text = "".join(traceback.format_exception(exc))
        try:
            pickle.dumps(exc)
            message = ("error", exc, text)
        except Exception:
            message = ("error", None, text.strip().splitlines()[-1])
        with contextlib.suppress(Exception):
            if conn is not None:
                send_message(conn, message)
    finally:
        os._exit(code)


# ------------------------------------------------------------------ helpers for work


def fault_watcher() -> Callable[[str, Document | None], None] | None:
    """Outside a guarded child, a watcher only for the faults a test asked for."""
    faults = stage_faults()
    if not faults:
        return None

    def seen(stage: str, doc: Document | None) -> None:
        if doc is not None:
            stage_fault(faults, stage, [doc.source, doc.raw_text])

    return seen


@contextlib.contextmanager
def watching(watcher: Callable[[str, Document | None], None] | None) -> Iterator[None]:
    previous = watch(watcher)
    try:
        yield
    finally:
        watch(previous)


class Watch:
    """The pipeline's watcher in a child: records each (stage, document) as it starts,
    and fails there when a test asked for it (zhclean.run.faults)."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.faults = stage_faults()
        self.index: dict[int, int] = {}
        self.docs: list[Document] = []

    def batch(self, docs: list[Document], items: list[int]) -> None:
        self.docs = docs
        self.index = {id(doc): item for doc, item in zip(docs, items, strict=True)}
        self.tracker.batch(items[0], items[-1] + 1, items[0] if len(items) == 1 else -1)

    def __call__(self, stage: str, doc: Document | None) -> None:
        self.tracker.mark(stage, self.index[id(doc)] if doc is not None else -1, doc)
        if self.faults:
            docs = [doc] if doc is not None else self.docs
            stage_fault(self.faults, stage, [t for d in docs for t in (d.source, d.raw_text)])

    def installed(self) -> contextlib.AbstractContextManager[None]:
        return watching(self)


def plan_batches(
    sizes: list[int], plan: Plan, max_docs: int, max_bytes: int
) -> Iterator[list[int]]:
    """The items of ``plan`` in batches, as the pipeline cuts them (at most ``max_docs``
    items and ``max_bytes`` bytes; a larger item alone), single items alone."""
    run: list[int] = []
    for i in range(plan.start, len(sizes)):
        if i in plan.skip:
            continue
        if i in plan.single:
            yield from cut_batches(run, sizes.__getitem__, max_docs, max_bytes)
            run = []
            yield [i]
        else:
            run.append(i)
    yield from cut_batches(run, sizes.__getitem__, max_docs, max_bytes)
