"""The Arrow pre-filter never clears a row that pandera fails; pandera still decides.

Each crafted bad value of ``test_validation.py`` (and nulls, NaN, Unicode spaces) is put
into real rows; the rows pandera fails must all be among the pre-filter's suspects. The
regular expressions translated to RE2 must match exactly what Python's match.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import seed_text
from tests.test_validation import DOC_CASES, SENT_CASES
from zhclean.contract import models
from zhclean.contract.models import DocumentsModel, sentence_schema
from zhclean.contract.rows import documents_table, sentences_table, to_frame
from zhclean.core.record import Document
from zhclean.run.pipeline import build_pipeline
from zhclean.validation import prefilter
from zhclean.validation.validate import ContractValidator, _row_failures

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DOCS_SCHEMA = DocumentsModel.to_schema()
SENTS_SCHEMA = sentence_schema()


@pytest.fixture(scope="module")
def seed_docs() -> list[Document]:
    docs = [Document(source=f"{p}.txt", doc_id=f"{i:032x}", raw_text=seed_text(p), content_sha256="a" * 64)
            for i, p in enumerate(("000", "001", "004"))]  # fmt: skip
    return list(build_pipeline(validate=False)(docs))


def test_every_check_of_the_contract_has_an_arrow_version():
    assert prefilter.plan("documents", DOCS_SCHEMA) is not None
    assert prefilter.plan("sentences", SENTS_SCHEMA) is not None
    assert prefilter.plan("sentences", sentence_schema(50)) is not None


def test_an_unknown_check_sends_every_batch_to_pandera(seed_docs):
    import pandera.pandas as pdr

    schema = SENTS_SCHEMA.update_column(
        "text", checks=[*SENTS_SCHEMA.columns["text"].checks, pdr.Check(lambda s: s.str.len() > 0, name="new")]
    )  # fmt: skip
    assert prefilter.plan("sentences", schema) is None
    validator = ContractValidator()
    validator.sentences_schema = schema
    validator.prefilter = (validator.prefilter[0], None)
    validator.run(list(seed_docs))
    assert validator.stats.counters["checked_by_pandera"] == len(seed_docs)


def _with(table: pa.Table, column: str, row: int, value) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def _assert_covered(schema, table, checks, expect_failure=True, row=None) -> None:
    try:
        failures = set(_row_failures(schema, to_frame(table)))
    except ValueError:  # schema level (a date pandas cannot hold): the validator raises
        failures = {row}
    suspects = set(prefilter.suspect_rows(table, checks))
    assert failures <= suspects, (failures, suspects)
    if expect_failure:
        assert failures, "the crafted value should fail pandera"


def _doc_value(column, value):
    if column == "published_at":
        return value.to_pydatetime()
    return value


@pytest.mark.parametrize(("column", "value", "check"), DOC_CASES, ids=[c[2] for c in DOC_CASES])
def test_document_checks(seed_docs, column, value, check):
    table = _with(documents_table(seed_docs, "run", NOW), column, 1, _doc_value(column, value))
    _assert_covered(DOCS_SCHEMA, table, prefilter.plan("documents", DOCS_SCHEMA), row=1)


@pytest.mark.parametrize(
    ("column", "value", "check"), SENT_CASES, ids=[c[2] + ":" + str(c[1])[:8] for c in SENT_CASES]
)
def test_sentence_checks(seed_docs, column, value, check):
    table = _with(sentences_table(seed_docs, "run"), column, 5, value)
    if column == "text" and check != "n_chars_equals_len_text":
        table = _with(table, "n_chars", 5, len(value))
    _assert_covered(SENTS_SCHEMA, table, prefilter.plan("sentences", SENTS_SCHEMA), row=5)


@pytest.mark.parametrize(
    ("dataset", "column", "value"),
    [
        ("documents", "script", None),
        ("documents", "text", None),
        ("documents", "removed_share", float("nan")),
        ("documents", "confidence", 1.5),
        ("documents", "removed", None),
        ("documents", "removed", [None]),
        ("documents", "published_at_precision", "week"),
        ("documents", "content_sha256", "a" * 63 + "\n"),
        ("sentences", "tokens", None),
        ("sentences", "tokens", ["好", None]),
        ("sentences", "tokens", ["好", ""]),
        ("sentences", "tokens", ["全角\u3000空格"]),
        ("sentences", "tokens", ["不换行\u00a0空格"]),
        ("sentences", "text", "\u3000\u3000"),
        ("sentences", "text", "|||\n"),
        ("sentences", "para_idx", None),
        ("sentences", "run_id", None),
    ],
)
def test_nulls_nan_and_unicode_spaces(seed_docs, dataset, column, value):
    if dataset == "documents":
        table, schema = documents_table(seed_docs, "run", NOW), DOCS_SCHEMA
    else:
        table, schema = sentences_table(seed_docs, "run"), SENTS_SCHEMA
    table = _with(table, column, 1, value)
    if column == "text" and value is not None and dataset == "sentences":
        table = _with(table, "n_chars", 1, len(value))
    try:
        failures = set(_row_failures(schema, to_frame(table)))
    except ValueError:  # a schema-level failure (a null in a non-null column, a bad type)
        failures = {1}
    assert failures <= set(prefilter.suspect_rows(table, prefilter.plan(dataset, schema)))
    assert failures, "the crafted value should fail pandera"


def test_a_stricter_prefilter_only_costs_time(seed_docs):
    """Python's $ matches before a final newline, so pandera passes this doc_id; RE2's
    does not, so the pre-filter sends the row to pandera, which passes it."""
    table = _with(documents_table(seed_docs, "run", NOW), "doc_id", 1, "0" * 32 + "\n")
    assert _row_failures(DOCS_SCHEMA, to_frame(table)) == {}
    assert prefilter.suspect_rows(table, prefilter.plan("documents", DOCS_SCHEMA)) == [1]


def test_duplicates_are_suspects(seed_docs):
    docs = documents_table([*seed_docs, seed_docs[0]], "run", NOW)
    assert 3 in prefilter.suspect_rows(docs, prefilter.plan("documents", DOCS_SCHEMA))
    sents = sentences_table(seed_docs, "run")
    sents = _with(_with(sents, "sent_idx", 6, 5), "doc_id", 6, sents.column("doc_id")[5].as_py())
    _assert_covered(SENTS_SCHEMA, sents, prefilter.plan("sentences", SENTS_SCHEMA))


def test_good_batches_have_no_suspects(seed_docs):
    assert prefilter.suspect_rows(documents_table(seed_docs, "r", NOW), prefilter.plan("documents", DOCS_SCHEMA)) == []  # fmt: skip
    assert prefilter.suspect_rows(sentences_table(seed_docs, "r"), prefilter.plan("sentences", SENTS_SCHEMA)) == []  # fmt: skip


_ALPHABET = [
    *" \t\u3000\u00a0\u2028\u200b\x07\x1b|｜>»·•●-—_=~*#/\\相关链接阅读推荐更多:：\n好的。a1",
    "\u0085",
    "\ufeff",
]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=12))
def test_re2_translations_match_python(text):
    arr = pa.array([text])
    markers = pc.match_substring_regex(arr, prefilter.re2_match(models._MARKERS_ONLY.pattern))
    assert markers[0].as_py() == bool(models._MARKERS_ONLY.match(text))
    for pattern in (models._FORBIDDEN_SENTENCE, models._FORBIDDEN_DOCUMENT):
        found = pc.match_substring_regex(arr, prefilter.re2_class(pattern))[0].as_py()
        assert found == bool(re.search(pattern, text))
    assert pc.match_substring_regex(arr, prefilter._TOKEN_BAD)[0].as_py() == (
        text == "" or bool(re.search(r"\s", text))
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.sampled_from(_ALPHABET), min_size=0, max_size=8),
            st.lists(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=3), max_size=3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_random_sentence_rows_pandera_failures_are_suspects(seed_docs, rows):
    table = sentences_table(seed_docs[:1], "run").slice(0, 1)
    texts, tokens = zip(*rows, strict=True)
    n = len(rows)
    table = pa.table(
        {
            "doc_id": ["0" * 32] * n,
            "sent_idx": pa.array(range(n), pa.int32()),
            "para_idx": pa.array([0] * n, pa.int32()),
            "text": list(texts),
            "tokens": pa.array(list(tokens), pa.list_(pa.string())),
            "n_chars": pa.array([len(t) for t in texts], pa.int32()),
            "n_tokens": pa.array([len(t) for t in tokens], pa.int32()),
            "run_id": ["run"] * n,
        },
        schema=table.schema,
    )
    _assert_covered(SENTS_SCHEMA, table, prefilter.plan("sentences", SENTS_SCHEMA), False)


def test_the_validator_rejects_as_pandera_alone_does(seed_docs):
    """End to end: the same documents rejected, with the same reasons, either way."""

    def batch() -> list[Document]:
        docs = list(
            build_pipeline(validate=False)(
                [Document(source=f"{p}.txt", doc_id=f"{i + 20:032x}", raw_text=seed_text(p), content_sha256="c" * 64)
                 for i, p in enumerate(("000", "001", "002", "003", "004"))]
            )
        )  # fmt: skip
        docs[1].sentences[3].text = "好" * 1200
        docs[2].text += "這裡還有繁體字。"
        docs[3].sentences[0].tokens = ["有 空格", *docs[3].sentences[0].tokens]
        docs[4].published_at = pd.Timestamp("1900-01-01").to_pydatetime()
        return docs

    fast, slow = batch(), batch()
    ContractValidator().run(fast)
    pandera_only = ContractValidator()
    pandera_only.prefilter = (None, None)
    pandera_only.run(slow)
    assert [d.rejection for d in fast] == [d.rejection for d in slow]
    assert [d.rejected for d in fast] == [False, True, True, True, True]
