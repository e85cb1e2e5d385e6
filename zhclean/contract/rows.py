"""Documents to rows: the one place that says which field of a document fills which column.

The validator checks these tables against the pandera models and the writer writes them,
so what is validated is what is published. Tables are built straight in Arrow (no pandas
on the way to Parquet); ``to_frame`` gives the validator its pandas view.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from itertools import accumulate, chain
from operator import is_

import numpy as np
import pandas as pd
import pyarrow as pa

from zhclean.contract.arrow import DOCUMENTS, QUARANTINE, REMOVED_TYPE, SENTENCES
from zhclean.core.record import Document


def _list_offsets(lengths: list[int]) -> pa.Array:
    return pa.array([0, *accumulate(lengths)], pa.int32())


def _removed(docs: Sequence[Document]) -> pa.Array:
    """The ``removed`` column (list of rule and text) from flat arrays, not from dicts."""
    rules, texts = [], []
    for d in docs:
        for rule, text in d.removed:
            rules.append(rule)
            texts.append(text)
    items = pa.StructArray.from_arrays(
        [pa.array(rules, pa.string()), pa.array(texts, pa.string())],
        fields=list(REMOVED_TYPE.value_type),
    )
    return pa.ListArray.from_arrays(
        _list_offsets([len(d.removed) for d in docs]), items, type=REMOVED_TYPE
    )


def _repeat(value: object, n: int, type_: pa.DataType) -> pa.Array:
    return pa.array([value] * n, type_)


def _confidence(doc: Document) -> float | None:
    """The cleaner's confidence, lowered to the punctuation step's when it restored marks
    (a document with many close calls is one to look at)."""
    if doc.punct_confidence is None or doc.confidence is None:
        return doc.confidence
    return min(doc.confidence, doc.punct_confidence)


def documents_table(docs: Sequence[Document], run_id: str, processed_at: datetime) -> pa.Table:
    n = len(docs)
    columns = {
        "doc_id": [d.doc_id for d in docs],
        "source": [d.source for d in docs],
        "title": [d.title for d in docs],
        "published_at": [d.published_at for d in docs],
        "published_at_precision": [d.published_at_precision for d in docs],
        "source_name": [d.source_name for d in docs],
        "author": [d.author for d in docs],
        "script": [d.script for d in docs],
        "encoding": [d.encoding for d in docs],
        "text": [d.text for d in docs],
        "raw_text": [d.raw_text for d in docs],
        "removed": _removed(docs),
        "extraction": [d.extraction for d in docs],
        "removed_share": [d.removed_share for d in docs],
        "confidence": [_confidence(d) for d in docs],
        "punctuation": [d.punctuation for d in docs],
        "punct_restored": [d.punct_restored for d in docs],
        "n_chars": [len(d.text) for d in docs],
        "n_sentences": [len(d.sentences) for d in docs],
        "content_sha256": [d.content_sha256 for d in docs],
        # near-duplicates are found after the shards, across all of them: the publish
        # step fills these in (zhclean.run.dedup)
        "duplicate_of": pa.nulls(n, pa.string()),
        "dup_similarity": pa.nulls(n, pa.float64()),
        "run_id": _repeat(run_id, n, pa.string()),
        "processed_at": _repeat(processed_at, n, DOCUMENTS.field("processed_at").type),
    }
    return pa.table(columns, schema=DOCUMENTS)


class _Kept(threading.local):
    """A sentences table the validator built, kept for the writer of the same batch
    (tokens to Arrow is most of the cost of a table). It is handed over once, and only
    for the very same sentence texts and token lists: the entry holds them, so no other
    object can take their identities while it is kept."""

    def __init__(self) -> None:
        self.parts: list[object] = []
        self.table: pa.Table | None = None

    def take(self, docs: Sequence[Document]) -> pa.Table | None:
        table, parts = self.table, self.parts
        self.table, self.parts = None, []  # once: the batch's data must not outlive it
        if table is None:
            return None
        current = _identity(docs)
        if len(current) == len(parts) and all(map(is_, current, parts)):
            return table
        return None

    def keep(self, docs: Sequence[Document], table: pa.Table) -> None:
        self.parts, self.table = _identity(docs), table


def _identity(docs: Sequence[Document]) -> list[object]:
    """Each sentence's text and tokens, in turn, then the doc ids (filled by slices)."""
    sentences = [s for d in docs for s in d.sentences]
    parts: list[object] = [None] * (2 * len(sentences))
    parts[0::2] = [s.text for s in sentences]
    parts[1::2] = [s.tokens for s in sentences]
    parts.extend(d.doc_id for d in docs)
    return parts


_KEPT = _Kept()


def sentences_table(docs: Sequence[Document], run_id: str, keep: bool = False) -> pa.Table:
    """The sentences rows of ``docs``. ``keep``: the validator's call; the writer's next
    call for the same batch gets this table back (with its own run_id) instead of
    building it again."""
    table = _KEPT.take(docs)
    if table is not None:
        run = table.schema.get_field_index("run_id")
        return table.set_column(
            run, table.schema.field(run), _repeat(run_id, table.num_rows, pa.string())
        )
    table = _build_sentences_table(docs, run_id)
    if keep:
        _KEPT.keep(docs, table)
    return table


def _build_sentences_table(docs: Sequence[Document], run_id: str) -> pa.Table:
    """Built column by column (flat lists, repeated doc ids taken by index), not row by row."""
    counts = [len(d.sentences) for d in docs]
    sentences = [s for d in docs for s in d.sentences]
    texts = [s.text for s in sentences]
    tokens = [s.tokens for s in sentences]
    n_tokens = list(map(len, tokens))
    n = len(sentences)
    doc_index = np.repeat(np.arange(len(docs)), counts)
    first = np.zeros(len(docs), np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    columns = {
        "doc_id": pa.array([d.doc_id for d in docs], pa.string()).take(doc_index),
        "sent_idx": pa.array(np.arange(n) - first[doc_index], pa.int32()),
        "para_idx": pa.array([s.para_idx for s in sentences], pa.int32()),
        "text": pa.array(texts, pa.string()),
        "tokens": pa.ListArray.from_arrays(
            _list_offsets(n_tokens),
            # pa.array converts each token once; building one UTF-8 buffer by hand measured
            # slower (a bytes object per token for its length)
            pa.array(list(chain.from_iterable(tokens)), pa.string()),
            type=SENTENCES.field("tokens").type,
        ),
        "n_chars": pa.array(list(map(len, texts)), pa.int32()),
        "n_tokens": pa.array(n_tokens, pa.int32()),
        "run_id": _repeat(run_id, n, pa.string()),
    }
    return pa.table(columns, schema=SENTENCES)


def quarantine_table(
    docs: Sequence[Document], run_id: str, input_root: str, at: datetime
) -> pa.Table:
    n = len(docs)
    rejections = [d.rejection for d in docs]
    columns = {
        "run_id": _repeat(run_id, n, pa.string()),
        "source": [d.source for d in docs],
        "input_root": _repeat(input_root, n, pa.string()),
        "doc_id": [d.doc_id for d in docs],
        "content_sha256": [d.content_sha256 or None for d in docs],
        "stage": [r.stage for r in rejections],
        "check": [r.check for r in rejections],
        "reason": [r.reason for r in rejections],
        "detail": [r.detail for r in rejections],
        "failure_case": [r.failure_case for r in rejections],
        "size_bytes": [d.raw_bytes or (d.ref.size if d.ref is not None else 0) for d in docs],
        "quarantined_at": _repeat(at, n, QUARANTINE.field("quarantined_at").type),
    }
    return pa.table(columns, schema=QUARANTINE)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The pandas view the pandera models check: list columns as Python lists of Python
    values (the row checks inspect them one by one), everything else converted by Arrow."""
    lists = [f.name for f in table.schema if pa.types.is_list(f.type)]
    frame = table.drop_columns(lists).to_pandas()
    for name in lists:
        frame[name] = pd.Series(table.column(name).to_pylist(), index=frame.index, dtype=object)
    return frame[table.column_names]
