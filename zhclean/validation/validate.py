"""Validate a batch of documents against the contract; failures go to quarantine.

Validation is lazy: every failing row of every check is collected. A document with one
bad sentence is quarantined whole, so downstream never sees a document with holes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from time import perf_counter

import pandas as pd
import pandera.pandas as pa

from schemas.models import DocumentsModel, QuarantineModel, sentence_schema
from zhclean.document import Document
from zhclean.pipeline.base import StepStats

MAX_FAILURE_CASE_CHARS = 300


@dataclass
class ValidatedBatch:
    documents: pd.DataFrame
    sentences: pd.DataFrame
    rejected: list[Document]


def documents_frame(docs: list[Document], run_id: str, processed_at: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [d.doc_id for d in docs],
            "source": [d.source for d in docs],
            "title": [d.title for d in docs],
            "published_at": pd.to_datetime([d.published_at for d in docs]),
            "published_at_precision": [d.published_at_precision for d in docs],
            "source_name": [d.source_name for d in docs],
            "author": [d.author for d in docs],
            "script": [d.script for d in docs],
            "encoding": [d.encoding for d in docs],
            "text": [d.text for d in docs],
            "raw_text": [d.raw_text for d in docs],
            "removed": [[{"rule_id": r, "text": t} for r, t in d.removed] for d in docs],
            "n_chars": [len(d.text) for d in docs],
            "n_sentences": [len(d.sentences) for d in docs],
            "content_sha256": [d.content_sha256 for d in docs],
            "run_id": run_id,
            "processed_at": pd.Timestamp(processed_at),
        }
    )


def sentences_frame(docs: list[Document], run_id: str) -> pd.DataFrame:
    doc_ids, sent_idx, para_idx, texts, tokens = [], [], [], [], []
    for d in docs:
        for i, s in enumerate(d.sentences):
            doc_ids.append(d.doc_id)
            sent_idx.append(i)
            para_idx.append(s.para_idx)
            texts.append(s.text)
            tokens.append(s.tokens)
    return pd.DataFrame(
        {
            "doc_id": doc_ids,
            "sent_idx": sent_idx,
            "para_idx": para_idx,
            "text": texts,
            "tokens": tokens,
            "n_chars": [len(t) for t in texts],
            "n_tokens": [len(t) for t in tokens],
            "run_id": run_id,
        }
    )


def quarantine_frame(
    docs: list[Document], run_id: str, input_root: str, at: datetime
) -> pd.DataFrame:
    rej = [d.rejection for d in docs]
    return pd.DataFrame(
        {
            "run_id": run_id,
            "source": [d.source for d in docs],
            "input_root": input_root,
            "doc_id": [d.doc_id for d in docs],
            "content_sha256": [d.content_sha256 or None for d in docs],
            "stage": [r.stage for r in rej],
            "check": [r.check for r in rej],
            "reason": [r.reason for r in rej],
            "detail": [r.detail for r in rej],
            "failure_case": [r.failure_case for r in rej],
            "raw_text": [d.raw_text if d.raw_text else None for d in docs],
            "quarantined_at": pd.Timestamp(at),
        },
        columns=list(QuarantineModel.to_schema().columns),
    )


def _failures_by_row(err: pa.errors.SchemaErrors) -> dict[int, list[tuple[str, str, str]]]:
    """Row index -> [(column, check, failure case)] from pandera's lazy error report."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    cases = err.failure_cases
    for column, check, case, index in zip(
        cases["column"], cases["check"], cases["failure_case"], cases["index"], strict=True
    ):
        if index is None or pd.isna(index):
            raise ValueError(
                f"schema-level failure, not row-level: {column} {check}: {case}"
            ) from err
        out.setdefault(int(index), []).append((str(column), str(check), str(case)))
    return out


class BatchValidator:
    """Validate documents and their sentences; quarantine every document that fails."""

    name = "validate"

    def __init__(self, max_sentence_chars: int | None = None) -> None:
        self.documents_schema = DocumentsModel.to_schema()
        self.sentences_schema = (
            sentence_schema(max_sentence_chars) if max_sentence_chars else sentence_schema()
        )
        self.stats = StepStats(self.name)

    def _validate(
        self, schema: pa.DataFrameSchema, frame: pd.DataFrame
    ) -> tuple[pd.DataFrame | None, dict[int, list[tuple[str, str, str]]]]:
        try:
            return schema.validate(frame, lazy=True), {}
        except pa.errors.SchemaErrors as err:
            return None, _failures_by_row(err)

    def __call__(self, docs: list[Document], run_id: str, processed_at: datetime) -> ValidatedBatch:
        started = perf_counter()
        try:
            return self._check(docs, run_id, processed_at)
        finally:
            self.stats.seconds += perf_counter() - started

    def _check(self, docs: list[Document], run_id: str, processed_at: datetime) -> ValidatedBatch:
        good = [d for d in docs if not d.rejected]
        self.stats.docs_in += len(good)
        failed: dict[str, list[tuple[str, str, str, str]]] = {}
        doc_frame = documents_frame(good, run_id, processed_at)
        sent_frame = sentences_frame(good, run_id)
        checked_docs, doc_failures = self._validate(self.documents_schema, doc_frame)
        for row, problems in doc_failures.items():
            failed.setdefault(good[row].doc_id, []).extend(("documents", *p) for p in problems)
        checked_sents, sent_failures = self._validate(self.sentences_schema, sent_frame)
        for row, problems in sent_failures.items():
            failed.setdefault(sent_frame["doc_id"].iat[row], []).extend(
                ("sentences", *p) for p in problems
            )

        if failed:
            by_id = {d.doc_id: d for d in good}
            for doc_id, problems in failed.items():
                dataset, column, check, case = problems[0]
                by_id[doc_id].reject(
                    "validate",
                    check,
                    f"{dataset}.{column} failed check {check}",
                    "; ".join(sorted({f"{ds}.{c}: {ch}" for ds, c, ch, _ in problems})),
                    case[:MAX_FAILURE_CASE_CHARS],
                )
                self.stats.counters[f"failed.{dataset}.{check}"] += 1
            self.stats.docs_rejected += len(failed)
            keep = [d for d in good if d.doc_id not in failed]
            checked_docs = self.documents_schema.validate(
                documents_frame(keep, run_id, processed_at)
            )
            checked_sents = self.sentences_schema.validate(sentences_frame(keep, run_id))
        self.stats.docs_out += len(checked_docs)
        return ValidatedBatch(checked_docs, checked_sents, [d for d in docs if d.rejected])
