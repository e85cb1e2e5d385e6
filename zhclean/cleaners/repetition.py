"""Cross-document repeated-line detection in the manner of CCNet.

A line that recurs in many documents of the same source group (a folder, usually one
site) is template text: a footer, a menu, a disclaimer. Lines are hashed to 64 bits, so
the counting pass is one cheap extra read of the corpus and its state is a few arrays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

MIN_KEY_CHARS = 2
MAX_KEY_CHARS = 300


def line_key(raw_line: str) -> int | None:
    """64-bit hash of a line with all whitespace removed, or None for trivial/huge lines."""
    canonical = "".join(raw_line.split())
    if not MIN_KEY_CHARS <= len(canonical) <= MAX_KEY_CHARS:
        return None
    digest = hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def document_line_keys(raw_lines: Iterable[str]) -> np.ndarray:
    """The distinct line keys of one document (a document counts once per line)."""
    keys = {k for line in raw_lines if (k := line_key(line)) is not None}
    return np.fromiter(keys, dtype=np.int64, count=len(keys))


@dataclass
class GroupLineCounts:
    """Per source group: in how many documents each line key occurs.

    Kept as sorted (keys, counts) arrays so that partial counts from many shards (the map
    side of the corpus pass) merge by addition, and ship between processes cheaply.
    """

    n_docs: int = 0
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    _pending: list[np.ndarray] = field(default_factory=list, repr=False)

    def add(self, doc_keys: np.ndarray) -> None:
        """Count one document's distinct line keys."""
        self.n_docs += 1
        self._pending.append(doc_keys)

    def _fold(self, keys: np.ndarray, counts: np.ndarray) -> None:
        uniq, inverse = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        weights = np.concatenate([self.counts, counts])
        self.keys = uniq
        self.counts = np.bincount(inverse, weights=weights, minlength=len(uniq)).astype(np.int64)

    def compact(self) -> GroupLineCounts:
        """Fold the documents added so far into the arrays (before shipping or merging)."""
        if self._pending:
            keys = np.concatenate(self._pending)
            self._pending = []
            self._fold(keys, np.ones(len(keys), np.int64))
        return self

    def merge(self, other: GroupLineCounts) -> GroupLineCounts:
        other.compact()
        self.compact()
        self.n_docs += other.n_docs
        self._fold(other.keys, other.counts)
        return self

    def repeated(self, min_docs: int) -> RepeatedLines:
        self.compact()
        keep = self.counts >= min_docs
        return RepeatedLines(
            self.n_docs,
            dict(zip(self.keys[keep].tolist(), self.counts[keep].tolist(), strict=True)),
        )


@dataclass(frozen=True)
class RepeatedLines:
    """Line keys seen in at least ``min_docs`` documents of a group, with their counts."""

    n_docs: int
    counts: dict[int, int]

    def count(self, raw_line: str) -> int:
        key = line_key(raw_line)
        return 0 if key is None else self.counts.get(key, 0)
