"""Validate each batch of documents against the contract; failures go to quarantine.

Validation is lazy: every failing row of every check is collected. A document with one
bad sentence is quarantined whole, so downstream never sees a document with holes.

The contract's checks first run vectorized on the Arrow tables (:mod:`.prefilter`);
pandera then validates only the documents with a row the pre-filter could not clear, and
gives every quarantine reason. A batch that passes never becomes a pandas frame.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pandera.pandas as pa

from zhclean.contract.models import DocumentsModel, sentence_schema
from zhclean.contract.rows import documents_table, sentences_table, to_frame
from zhclean.core.markup import find_markup
from zhclean.core.params import MAX_SENTENCE_CHARS
from zhclean.core.record import Document
from zhclean.core.step import Step
from zhclean.validation import prefilter

MAX_FAILURE_CASE_CHARS = 300

# (dataset, column, check, failure case) for each problem of one row
Problem = tuple[str, str, str, str]


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


def markup_left(doc: Document) -> tuple[str, str] | None:
    """(field, the markup) when a published field of ``doc`` still holds an HTML tag or a
    character reference; sentences and tokens are cut from ``text``, so it covers them."""
    for column in ("text", "title", "author", "source_name"):
        value = getattr(doc, column)
        if value and (found := find_markup(value)):
            return column, found
    return None


def _row_failures(
    schema: pa.DataFrameSchema, frame: pd.DataFrame
) -> dict[int, list[tuple[str, str, str]]]:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _failures_by_row(err)
    return {}


class ContractValidator(Step):
    """Check the rows each document would publish; reject every document that fails.

    The rows are built by :mod:`zhclean.contract.rows`, the builder the writer uses, so
    what passes here is exactly what gets written.
    """

    name = "validate"

    def __init__(self, max_sentence_chars: int = MAX_SENTENCE_CHARS) -> None:
        super().__init__()
        self.documents_schema = DocumentsModel.to_schema()
        self.sentences_schema = sentence_schema(max_sentence_chars)
        # None when a check of the contract has no Arrow version: pandera checks every row
        self.prefilter = (
            prefilter.plan("documents", self.documents_schema),
            prefilter.plan("sentences", self.sentences_schema),
        )

    def process_batch(self, docs: list[Document]) -> None:
        for doc in docs:
            # Belt and braces behind the HTML step: markup never reaches the datasets,
            # whether a page escaped detection or its text quotes markup.
            if left := markup_left(doc):
                column, found = left
                doc.reject(
                    self.name,
                    "no_markup",
                    f"documents.{column} holds HTML markup ({found[:40]}): a page that was "
                    "not converted, or text that quotes markup",
                    f"documents.{column}: no_markup",
                    found[:MAX_FAILURE_CASE_CHARS],
                )
                self.count("failed.documents.no_markup")
        docs = [d for d in docs if not d.rejected]
        if not docs:
            return
        # run_id and processed_at are the writer's; any valid value checks the same.
        now = datetime.now(UTC)
        doc_table = documents_table(docs, "validate", now)
        sent_table = sentences_table(docs, "validate", keep=True)  # the writer's, too
        doc_checks, sent_checks = self.prefilter
        if doc_checks is not None and sent_checks is not None:
            suspects = {docs[i].doc_id for i in prefilter.suspect_rows(doc_table, doc_checks)}
            doc_ids = sent_table.column("doc_id")
            suspects.update(
                doc_ids[i].as_py() for i in prefilter.suspect_rows(sent_table, sent_checks)
            )
            if not suspects:
                return
            docs = [d for d in docs if d.doc_id in suspects]
            doc_table = documents_table(docs, "validate", now)
            sent_table = sentences_table(docs, "validate")
        self.count("checked_by_pandera", len(docs))
        doc_frame = to_frame(doc_table)
        failed: dict[str, list[Problem]] = {}
        for row, problems in _row_failures(self.documents_schema, doc_frame).items():
            failed.setdefault(docs[row].doc_id, []).extend(("documents", *p) for p in problems)
        sentence_failures = _row_failures(self.sentences_schema, to_frame(sent_table))
        sent_doc_ids = sent_table.column("doc_id")
        for row, problems in sentence_failures.items():
            failed.setdefault(sent_doc_ids[row].as_py(), []).extend(
                ("sentences", *p) for p in problems
            )
        if not failed:
            return
        for doc in docs:
            problems = failed.get(doc.doc_id)
            if not problems:
                continue
            dataset, column, check, case = problems[0]
            doc.reject(
                self.name,
                check,
                f"{dataset}.{column} failed check {check}",
                "; ".join(sorted({f"{ds}.{c}: {ch}" for ds, c, ch, _ in problems})),
                case[:MAX_FAILURE_CASE_CHARS],
            )
            self.count(f"failed.{dataset}.{check}")
