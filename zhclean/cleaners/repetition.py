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
    """Per source group: how many documents contain each line key."""

    n_docs: int = 0
    keys: list[np.ndarray] = field(default_factory=list)

    def add(self, doc_keys: np.ndarray) -> None:
        self.n_docs += 1
        self.keys.append(doc_keys)

    def merge(self, other: GroupLineCounts) -> None:
        self.n_docs += other.n_docs
        self.keys.extend(other.keys)

    def repeated(self, min_docs: int) -> RepeatedLines:
        if not self.keys:
            return RepeatedLines(self.n_docs, {})
        uniq, counts = np.unique(np.concatenate(self.keys), return_counts=True)
        keep = counts >= min_docs
        return RepeatedLines(
            self.n_docs, dict(zip(uniq[keep].tolist(), counts[keep].tolist(), strict=True))
        )


@dataclass(frozen=True)
class RepeatedLines:
    """Line keys seen in at least ``min_docs`` documents of a group, with their counts."""

    n_docs: int
    counts: dict[int, int]

    def count(self, raw_line: str) -> int:
        key = line_key(raw_line)
        return 0 if key is None else self.counts.get(key, 0)
