"""One step protocol for every stage, from reading to writing (datatrove-style).

A :class:`Pipeline` cuts the document stream into batches and hands each batch to every
step in turn, stage by stage (jieba's dictionary then stays in the CPU caches while a
batch is tokenized). A step transforms the documents of a batch in place and counts what
it did in its own :class:`StepStats`; it never drops a document: a document that fails is
marked rejected and passes through the later steps untouched, so the writer at the end
sees every input once. The same ``Pipeline`` runs in tests, in ``zhclean run`` and on a
cluster; executors (``zhclean.run``, ``zhclean.flows``) only decide where it runs.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, ClassVar, TypeVar

from zhclean.core.record import Document

T = TypeVar("T")

# Who is told where the pipeline is: called with (stage, document) before a stage works on
# one document, and with (stage, None) before a stage works on a whole batch. A supervisor
# uses it to name the document a native crash or a hang happened on (zhclean.run.guard);
# tests use it to inject faults inside a stage (zhclean.run.faults). None: nobody watches.
Watcher = Callable[[str, Document | None], None]
_WATCHER: list[Watcher | None] = [None]


def watch(watcher: Watcher | None) -> Watcher | None:
    """Set the process's watcher (None: none); returns the previous one."""
    previous, _WATCHER[0] = _WATCHER[0], watcher
    return previous


@dataclass
class StepStats:
    """What one step did: documents in/out/rejected, seconds, and named counters.

    Counters use dotted keys (``removed_lines.bp.breadcrumb``) so that reports can
    group them; stats from different shards are merged by addition.
    """

    name: str
    docs_in: int = 0
    docs_out: int = 0
    docs_rejected: int = 0
    seconds: float = 0.0
    counters: Counter = field(default_factory=Counter)

    def merge(self, other: StepStats) -> StepStats:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.docs_rejected += other.docs_rejected
        self.seconds += other.seconds
        self.counters.update(other.counters)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "docs_rejected": self.docs_rejected,
            "seconds": round(self.seconds, 3),
            "counters": dict(sorted(self.counters.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepStats:
        return cls(
            name=data["name"],
            docs_in=data["docs_in"],
            docs_out=data["docs_out"],
            docs_rejected=data["docs_rejected"],
            seconds=data.get("seconds", 0.0),
            counters=Counter(data.get("counters", {})),
        )


def merge_stats(runs: Iterable[Iterable[dict[str, Any]]]) -> list[StepStats]:
    """Per-step stats summed over several runs of the same pipeline, in pipeline order."""
    merged: dict[str, StepStats] = {}
    for run in runs:
        for data in run:
            stats = StepStats.from_dict(data)
            if stats.name in merged:
                merged[stats.name].merge(stats)
            else:
                merged[stats.name] = stats
    return list(merged.values())


class Step:
    """A stage of the pipeline: transforms a batch of documents in place.

    Subclasses implement :meth:`process` (one document) or override :meth:`process_batch`
    (the whole batch, for work that is cheaper in bulk: validation, writing). An exception
    while processing rejects the document it came from, with the exception as the reason,
    so one bad input never aborts a run; a batch that raises is retried document by
    document to find the culprit. Steps whose errors are not about a document (a full
    disk under a writer) set ``isolate_errors = False`` and let them propagate.
    """

    name: ClassVar[str] = "step"
    #: Writers see rejected documents too (they write the quarantine); other steps skip them.
    handles_rejected: ClassVar[bool] = False
    isolate_errors: ClassVar[bool] = True

    def __init__(self) -> None:
        self.stats = StepStats(self.name)

    def count(self, key: str, n: int = 1) -> None:
        self.stats.counters[key] += n

    def process(self, doc: Document) -> None:
        """Transform one document in place, or call ``doc.reject(...)``."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither process nor process_batch"
        )

    def process_batch(self, docs: list[Document]) -> None:
        """Transform the documents of a batch in place (default: one at a time)."""
        for doc in docs:
            self._guarded(self.process, doc)

    def run(self, batch: list[Document]) -> None:
        """Apply this step to ``batch`` and update the stats."""
        docs = batch if self.handles_rejected else [d for d in batch if not d.rejected]
        if not docs:
            return
        already = sum(d.rejected for d in docs)
        started = perf_counter()
        per_document = type(self).process_batch is Step.process_batch  # already guarded
        watcher = _WATCHER[0]
        if watcher is not None and not per_document:
            watcher(self.name, None)
        if per_document or not self.isolate_errors:
            self.process_batch(docs)
        else:
            try:
                self.process_batch(docs)
            except Exception:
                for doc in docs:
                    self._guarded(lambda d: self.process_batch([d]), doc)
        self.stats.seconds += perf_counter() - started
        rejected_now = sum(d.rejected for d in docs) - already
        self.stats.docs_in += len(docs)
        self.stats.docs_rejected += rejected_now
        self.stats.docs_out += len(docs) - already - rejected_now

    def _guarded(self, fn: Callable[[Document], None], doc: Document) -> None:
        if doc.rejected and not self.handles_rejected:
            return
        watcher = _WATCHER[0]
        if not self.isolate_errors:
            if watcher is not None:
                watcher(self.name, doc)
            fn(doc)
            return
        try:
            if watcher is not None:
                watcher(self.name, doc)
            fn(doc)
        except MemoryError as exc:  # the worker's address-space limit (zhclean.run.guard)
            doc.reject(
                self.name,
                "memory",
                f"the {self.name} stage ran out of memory on this document (MemoryError)",
                "".join(traceback.format_exception(exc, limit=-3))[-2000:],
            )
        except Exception as exc:
            doc.reject(
                self.name,
                "exception",
                f"{type(exc).__name__} in {self.name}: {exc}",
                "".join(traceback.format_exception(exc, limit=-3))[-2000:],
            )

    def reasons(self) -> dict[str, str]:
        """The rule ids this step records in ``documents.removed``, with one-line reasons."""
        return {}

    def close(self) -> None:
        """The stream is complete: finish outputs (writers rename their files into place)."""

    def abort(self) -> None:
        """The run failed: discard partial outputs."""


class Pipeline:
    """Steps applied batch by batch to a stream of documents.

    A batch holds at most ``batch_docs`` documents and ``batch_bytes`` input bytes (a
    document's size is known from the listing before it is read; one larger document
    makes a batch of its own), which bounds memory.
    """

    def __init__(
        self, steps: list[Step], batch_docs: int = 500, batch_bytes: int = 8 << 20
    ) -> None:
        self.steps = steps
        self.batch_docs = batch_docs
        self.batch_bytes = batch_bytes

    def batches(self, docs: Iterable[Document]) -> Iterator[list[Document]]:
        """Yield each batch after every step has run over it.

        Writers are closed when the stream is exhausted and aborted if it is not (an
        exception, or a consumer that stops early).
        """
        complete = False
        try:
            for batch in cut_batches(docs, _doc_bytes, self.batch_docs, self.batch_bytes):
                for step in self.steps:
                    step.run(batch)
                yield batch
            complete = True
        finally:
            for step in self.steps:
                if complete:
                    step.close()
                else:
                    step.abort()

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Documents in, the same documents out, every step applied."""
        for batch in self.batches(docs):
            yield from batch

    def stats(self) -> list[StepStats]:
        return [step.stats for step in self.steps]

    def reasons(self) -> dict[str, str]:
        """Every rule id the steps may record, with its reason (for reports)."""
        return {rule: reason for step in self.steps for rule, reason in step.reasons().items()}

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def _doc_bytes(doc: Document) -> int:
    return doc.ref.size if doc.ref is not None else doc.raw_bytes


def cut_batches(
    items: Iterable[T], size: Callable[[T], int], max_docs: int, max_bytes: int
) -> Iterator[list[T]]:
    """Batches of at most ``max_docs`` items and ``max_bytes`` bytes, in order: an item
    that would take a batch over ``max_bytes`` starts the next one. The pipeline and the
    guard's supervisor (which must know where the child's batches end) both cut here."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (len(batch) >= max_docs or total + n > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch
