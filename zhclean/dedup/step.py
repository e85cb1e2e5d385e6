"""The sign step: the MinHash signature and band keys of every document to be published.

It runs in the shard tasks (the map side of dedup), after validation, so only documents
that will be published are signed. It keeps the shard's entries (about 800 bytes a
document: a shard's few thousand documents stay small); the shard task stages them as one
Parquet part, and the flow links them to the published index and writes the index of the
new version (:mod:`zhclean.run.dedup`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from zhclean.core.record import Document
from zhclean.core.step import Step
from zhclean.dedup.minhash import (
    DEFAULT_CONFIG,
    MinHashConfig,
    band_keys,
    load_library,
    signatures,
    signed,
)


def entries_schema(config: MinHashConfig) -> pa.Schema:
    """One index entry: the document, the run that first published it, its link (the
    representative and the estimated similarity to it), its signature and band keys."""
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("first_run", pa.string(), nullable=False),
            pa.field("duplicate_of", pa.string()),
            pa.field("dup_similarity", pa.float64()),
            pa.field("signature", pa.binary(4 * config.num_perm), nullable=False),
            pa.field("bands", pa.list_(pa.int64(), config.bands), nullable=False),
        ],
        metadata={b"zhclean.minhash": config.key.encode()},
    )


def entries_table(
    doc_ids: list[str],
    first_run: list[str],
    duplicate_of: list[str | None],
    similarity: list[float | None],
    sigs: np.ndarray,
    bands: np.ndarray,
    config: MinHashConfig,
) -> pa.Table:
    n = len(doc_ids)
    signature = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 * config.num_perm),
        n,
        [None, pa.py_buffer(np.ascontiguousarray(sigs, "<u4").tobytes())],
    )
    band_list = pa.FixedSizeListArray.from_arrays(
        pa.array(np.ascontiguousarray(bands, np.int64).ravel(), pa.int64()), config.bands
    )
    return pa.Table.from_arrays(
        [
            pa.array(doc_ids, pa.string()),
            pa.array(first_run, pa.string()),
            pa.array(duplicate_of, pa.string()),
            pa.array(similarity, pa.float64()),
            signature,
            band_list,
        ],
        schema=entries_schema(config),
    )


class Signer(Step):
    """Sign each document's ``text`` (see :mod:`zhclean.dedup.minhash`); keep the entries."""

    name = "sign"

    def __init__(self, run_id: str, config: MinHashConfig = DEFAULT_CONFIG) -> None:
        super().__init__()
        load_library()  # its allocator's first 32 MiB now, before a batch's peak
        self.config = config
        self.run_id = run_id
        self.doc_ids: list[str] = []
        self.sigs: list[np.ndarray] = []

    def process_batch(self, docs: list[Document]) -> None:
        sigs = signatures([d.text for d in docs], self.config)
        n_signed = int(signed(sigs).sum())
        self.count("signed", n_signed)
        self.count("unsigned", len(docs) - n_signed)
        self.doc_ids.extend(d.doc_id for d in docs)
        self.sigs.append(sigs)

    def _signatures(self) -> np.ndarray:
        if not self.sigs:
            return np.zeros((0, self.config.num_perm), np.uint32)
        return np.concatenate(self.sigs) if len(self.sigs) > 1 else self.sigs[0]

    def take(self) -> tuple[list[str], np.ndarray]:
        """The documents signed since the last call and their signatures, forgotten here
        (a guarded child sends each batch's to its supervisor: :mod:`zhclean.run.shard`)."""
        taken = (self.doc_ids, self._signatures())
        self.doc_ids, self.sigs = [], []
        return taken

    def add(self, doc_ids: list[str], sigs: np.ndarray) -> None:
        """Keep signatures made by another copy of this step (a guarded child)."""
        if doc_ids:
            self.doc_ids.extend(doc_ids)
            self.sigs.append(sigs)

    def table(self, published: set[str] | None = None) -> pa.Table:
        """The entries of the documents signed so far (of those in ``published``)."""
        sigs = self._signatures()
        keep = [i for i, d in enumerate(self.doc_ids) if published is None or d in published]
        sigs = sigs[keep]
        ids = [self.doc_ids[i] for i in keep]
        n = len(ids)
        return entries_table(
            ids, [self.run_id] * n, [None] * n, [None] * n,
            sigs, band_keys(sigs, self.config), self.config,
        )  # fmt: skip
