"""Near-duplicate clusters that stay stable from run to run (the reduce side of dedup).

Every published document has an entry in the **index**: its id, the run that first
published it, its MinHash signature and LSH band keys (made in the shard tasks, see
:mod:`zhclean.dedup`), and its link: the representative it is a copy of and the
estimated Jaccard similarity to it, or none.

The rule, applied in publication order ``(first_run, doc_id)``: a document is a copy of
the most similar **representative** published before it whose estimated similarity
reaches the threshold (ties: the earlier one); otherwise it is a representative itself.
Only representatives are candidates, found through equal band keys, so a cluster is a
star around its representative and the representative is its first-published copy
(ties to the smaller ``doc_id``). Consequences an operator can rely on:

- a run that adds documents only links them; no earlier link changes;
- when a representative's rows go (its source changed, was quarantined, or left the input
  before a full refresh), its copies are linked again in order, among themselves and with
  the representatives published before them: the first of them becomes the new
  representative unless it is a copy of an older one; all of it in the same commit;
- a full refresh links everything again, but a document keeps the run that first
  published it (its ``doc_id`` is the same while its bytes are), so representatives do
  not move unless the text itself changed.

State in memory: the band keys of the index's representatives (one band at a time when
filtering), the signatures of the candidates that matched, and everything of this run's
new documents; see the README for the measured bytes per document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from zhclean.dedup.minhash import MinHashConfig, signed
from zhclean.dedup.step import entries_table


@dataclass
class Entries:
    """Index entries as aligned columns: one row per document."""

    doc_id: list[str]
    first_run: list[str]
    duplicate_of: list[str | None]
    similarity: list[float | None]
    sigs: np.ndarray  # (n, num_perm) uint32
    bands: np.ndarray  # (n, bands) int64

    def __len__(self) -> int:
        return len(self.doc_id)

    @classmethod
    def empty(cls, config: MinHashConfig) -> Entries:
        return cls(
            [],
            [],
            [],
            [],
            np.zeros((0, config.num_perm), np.uint32),
            np.zeros((0, config.bands), np.int64),
        )

    @classmethod
    def new(
        cls, doc_ids: Sequence[str], run_id: str, sigs: np.ndarray, bands: np.ndarray
    ) -> Entries:
        """This run's documents: first published now, linked to nothing yet."""
        n = len(doc_ids)
        return cls(list(doc_ids), [run_id] * n, [None] * n, [None] * n, sigs, bands)

    def take(self, rows: Iterable[int]) -> Entries:
        idx = np.fromiter(rows, np.int64)
        pick = idx.tolist()
        return Entries(
            [self.doc_id[i] for i in pick],
            [self.first_run[i] for i in pick],
            [self.duplicate_of[i] for i in pick],
            [self.similarity[i] for i in pick],
            self.sigs[idx],
            self.bands[idx],
        )

    @staticmethod
    def concat(parts: Sequence[Entries], config: MinHashConfig) -> Entries:
        if not parts:
            return Entries.empty(config)
        return Entries(
            [x for p in parts for x in p.doc_id],
            [x for p in parts for x in p.first_run],
            [x for p in parts for x in p.duplicate_of],
            [x for p in parts for x in p.similarity],
            np.concatenate([p.sigs for p in parts]),
            np.concatenate([p.bands for p in parts]),
        )

    def order(self) -> list[tuple[str, str]]:
        return list(zip(self.first_run, self.doc_id, strict=True))

    # -- as Parquet rows --------------------------------------------------------------------

    def to_table(self, config: MinHashConfig) -> pa.Table:
        return entries_table(
            self.doc_id, self.first_run, self.duplicate_of, self.similarity,
            self.sigs, self.bands, config,
        )  # fmt: skip

    @classmethod
    def from_table(cls, table: pa.Table, config: MinHashConfig) -> Entries:
        n = table.num_rows
        sig_col = table.column("signature").combine_chunks()
        band_col = table.column("bands").combine_chunks()
        sigs = (
            np.frombuffer(
                sig_col.buffers()[1],
                "<u4",
                count=n * config.num_perm,
                offset=sig_col.offset * 4 * config.num_perm,
            )
            .reshape(n, config.num_perm)
            .astype(np.uint32)
            if n
            else np.zeros((0, config.num_perm), np.uint32)
        )
        bands = (
            band_col.flatten()
            .to_numpy(zero_copy_only=False)
            .reshape(n, config.bands)
            .astype(np.int64)
            if n
            else np.zeros((0, config.bands), np.int64)
        )
        return cls(
            table.column("doc_id").to_pylist(),
            table.column("first_run").to_pylist(),
            table.column("duplicate_of").to_pylist(),
            table.column("dup_similarity").to_pylist(),
            sigs,
            bands,
        )


@dataclass
class Update:
    """The index after a run, and the links that changed (what rows must say now)."""

    entries: Entries
    changed: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)
    new_copies: int = 0  # this run's documents that are copies
    handovers: int = 0  # representatives that left while they had copies

    def counts(self) -> dict[str, int]:
        """Clusters (representatives with at least one copy) and copies, over the index."""
        copies = [d for d in self.entries.duplicate_of if d is not None]
        return {
            "clusters": len(set(copies)),
            "copies": len(copies),
            "new_copies": self.new_copies,
            "handovers": self.handovers,
        }


def update_index(
    index: Entries,
    removed: Iterable[str],
    new: Entries,
    config: MinHashConfig,
    full_refresh: bool = False,
) -> Update:
    """Link this run's ``new`` documents, hand over the role of removed representatives.

    ``removed``: documents whose rows leave the published version in this commit.
    ``new``: this run's documents; one whose ``doc_id`` the index already holds (a full
    refresh, or a document processed again) keeps the run that first published it.
    With ``full_refresh``, every document is linked again (the index only lends its order).
    """
    removed = set(removed)
    first_seen = dict(zip(index.doc_id, index.first_run, strict=True))
    new.first_run = [first_seen.get(d, r) for d, r in zip(new.doc_id, new.first_run, strict=True)]
    gone = removed | set(new.doc_id)
    if full_refresh:
        gone |= set(index.doc_id)
    was_rep = {d for d in index.duplicate_of if d is not None}
    broken = gone & was_rep
    kept = [i for i, d in enumerate(index.doc_id) if d not in gone]
    reopened = [i for i in kept if index.duplicate_of[i] in broken]
    reopened_set = set(reopened)
    settled = index.take(i for i in kept if i not in reopened_set)
    previous = {d: (index.duplicate_of[i], index.similarity[i]) for i, d in enumerate(index.doc_id)}
    open_ = Entries.concat([index.take(reopened), new], config)
    links = link(settled, open_, config)
    open_.duplicate_of = [dup for dup, _ in links]
    open_.similarity = [sim for _, sim in links]
    update = Update(Entries.concat([settled, open_], config))
    new_ids = set(new.doc_id)
    for doc_id, dup, sim in zip(open_.doc_id, open_.duplicate_of, open_.similarity, strict=True):
        before = (None, None) if doc_id in new_ids else previous.get(doc_id, (None, None))
        if (dup, sim) != before:
            update.changed[doc_id] = (dup, sim)
        if doc_id in new_ids and dup is not None:
            update.new_copies += 1
    # representatives that left (not the same document signed again) while they had copies
    update.handovers = len((removed & was_rep) - new_ids)
    return update


def link(
    settled: Entries, open_: Entries, config: MinHashConfig
) -> list[tuple[str | None, float | None]]:
    """The link of each ``open_`` document, taken in publication order (see the module).

    Candidates are the representatives among ``settled`` (their links stay) and the
    ``open_`` documents that became representatives earlier in the order, found through
    equal band keys and kept when the estimated similarity reaches the threshold.
    """
    if not len(open_):
        return []
    open_ok = signed(open_.sigs)
    # Representatives that share no band key with an open document can never be a
    # candidate: only the others enter the ordered pass (and only their signatures are
    # copied out of the index). One band at a time: one column of keys in memory.
    is_rep = np.fromiter((d is None for d in settled.duplicate_of), bool, len(settled))
    rep_rows = np.flatnonzero(is_rep)
    share = np.zeros(len(rep_rows), bool)
    for b in range(config.bands):
        share |= np.isin(settled.bands[rep_rows, b], open_.bands[open_ok, b])
    cands = settled.take(rep_rows[share])
    cands = cands.take(np.flatnonzero(signed(cands.sigs)))
    n_c, n_o = len(cands), len(open_)
    # One sequence: candidates first, then open documents, each group in order; a
    # candidate can only come after an open one when a handover reopened old copies.
    order_c, order_o = cands.order(), open_.order()
    sequence = sorted(
        [(order_c[i], 0, i) for i in range(n_c)] + [(order_o[j], 1, j) for j in range(n_o)]
    )
    sigs = np.concatenate([cands.sigs, open_.sigs])
    ok = np.concatenate([signed(cands.sigs), open_ok])
    ids = cands.doc_id + open_.doc_id
    # Bucket numbers: per band, equal keys get one number (unsigned rows get none).
    all_bands = np.concatenate([cands.bands, open_.bands])
    buckets = np.full(all_bands.shape, -1, np.int64)
    base = 0
    for b in range(config.bands):
        uniq, inverse = np.unique(all_bands[ok, b], return_inverse=True)
        buckets[ok, b] = inverse + base
        base += len(uniq)
    # A row alone in all its buckets has no candidate and is no one's: most rows of a run
    # of unique documents. Only the others take the ordered pass.
    shares = np.zeros(len(all_bands), bool)
    if ok.any():
        counts = np.bincount(buckets[ok].ravel(), minlength=base)
        shares[ok] = (counts[buckets[ok]] > 1).any(axis=1)
    first_rep = np.full(base, -1, np.int64)  # the first representative in each bucket
    more: dict[int, list[int]] = {}  # buckets that hold several
    rank = {}  # position in the sequence, for ties
    out: list[tuple[str | None, float | None]] = [(None, None)] * n_o
    threshold = config.threshold

    def register(row: int) -> None:
        for bucket in buckets[row].tolist():
            if first_rep[bucket] < 0:
                first_rep[bucket] = row
            else:
                more.setdefault(bucket, []).append(row)

    for pos, (_, is_open, i) in enumerate(sequence):
        row = i if not is_open else n_c + i
        if not shares[row]:
            continue  # nothing to compare: unique, and no one's representative
        rank[row] = pos
        if not is_open:
            register(row)
            continue
        found: set[int] = set()
        for bucket in buckets[row].tolist():
            head = first_rep[bucket]
            if head >= 0:
                found.add(int(head))
                found.update(more.get(bucket, ()))
        if found:
            rows = sorted(found, key=rank.__getitem__)
            sims = np.mean(sigs[rows] == sigs[row], axis=1)
            best = int(np.argmax(sims))  # the first maximum: the earliest representative
            if sims[best] >= threshold:
                out[i] = (ids[rows[best]], float(sims[best]))
                continue
        register(row)
    return out
