"""Small composable pipeline steps that carry their own statistics (datatrove-style)."""

from __future__ import annotations

import traceback
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from zhclean.document import Document


@dataclass
class StepStats:
    """What one step did: documents in/out/rejected plus named counters.

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


class PipelineStep(ABC):
    """A stage that transforms documents one at a time and counts what it did.

    Rejected documents pass through untouched. An exception inside ``process`` rejects
    that one document with the exception as the reason: one bad input never aborts a run.
    """

    name: str = "step"

    def __init__(self) -> None:
        self.stats = StepStats(self.name)

    def count(self, key: str, n: int = 1) -> None:
        self.stats.counters[key] += n

    @abstractmethod
    def process(self, doc: Document) -> None:
        """Transform ``doc`` in place, or call ``doc.reject(...)``."""

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.rejected:
                yield doc
                continue
            self.stats.docs_in += 1
            started = perf_counter()
            try:
                self.process(doc)
            except Exception as exc:
                doc.reject(
                    self.name,
                    "exception",
                    f"{type(exc).__name__} in {self.name}: {exc}",
                    "".join(traceback.format_exception(exc, limit=-3))[-2000:],
                )
            self.stats.seconds += perf_counter() - started
            if doc.rejected:
                self.stats.docs_rejected += 1
            else:
                self.stats.docs_out += 1
            yield doc


class Pipeline:
    """An ordered list of steps applied lazily to a stream of documents."""

    def __init__(self, steps: list[PipelineStep]) -> None:
        self.steps = steps

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        stream: Iterable[Document] = docs
        for step in self.steps:
            stream = step(stream)
        yield from stream

    def stats(self) -> list[StepStats]:
        return [step.stats for step in self.steps]
