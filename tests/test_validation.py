"""Row checks fail on crafted bad rows and pass on good ones; bad documents go whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pandera.pandas as pa
import pytest

from tests.conftest import seed_text
from zhclean.contract.models import DocumentsModel, QuarantineModel, SentencesModel, sentence_schema
from zhclean.contract.rows import documents_table, quarantine_table, sentences_table, to_frame
from zhclean.core.record import Document
from zhclean.run.pipeline import build_pipeline
from zhclean.validation.validate import ContractValidator

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seed_docs() -> list[Document]:
    docs = [Document(source=f"{p}.txt", doc_id=f"{i:032x}", raw_text=seed_text(p), content_sha256="a" * 64)
            for i, p in enumerate(("000", "001", "004"))]  # fmt: skip
    return list(build_pipeline(validate=False)(docs))


def _docs(seed_docs):
    return DocumentsModel.validate(to_frame(documents_table(seed_docs, "run", NOW)))


def _sents(seed_docs):
    return SentencesModel.validate(to_frame(sentences_table(seed_docs, "run")))


def _fails(schema, frame, check: str) -> None:
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(frame, lazy=True)
    assert check in set(err.value.failure_cases["check"].astype(str)), err.value.failure_cases


def test_good_rows_pass(seed_docs):
    assert len(_docs(seed_docs)) == 3
    assert len(_sents(seed_docs)) > 100


DOC_CASES = [
    ("text", "", "str_length(1, None)"),
    ("text", "正文里有控制字符\x07。", "no_control_or_zero_width_chars"),
    ("text", "正文里有零宽字符\u200b。", "no_control_or_zero_width_chars"),
    ("text", "這裡還有繁體字。", "simplified_only"),
    ("script", "latin", "isin(['hans', 'hant', 'mixed'])"),
    ("published_at", pd.Timestamp("1900-01-01"), "published_at_in_range"),
    ("published_at", pd.Timestamp("2999-01-01"), "published_at_in_range"),
    ("n_chars", 7, "n_chars_equals_len_text"),
    ("doc_id", "not-a-hash", r"str_matches('^[0-9a-f]{32}$')"),
]


@pytest.mark.parametrize(("column", "value", "check"), DOC_CASES, ids=[c[2] for c in DOC_CASES])
def test_document_check_fails_on_crafted_row(seed_docs, column, value, check):
    frame = _docs(seed_docs).copy()
    frame[column] = frame[column].astype(object)
    frame.at[1, column] = value
    _fails(DocumentsModel.to_schema(), frame, check)


def test_duplicate_doc_id_fails(seed_docs):
    frame = _docs(seed_docs).copy()
    frame.loc[2, "doc_id"] = frame.loc[0, "doc_id"]
    _fails(DocumentsModel.to_schema(), frame, "field_uniqueness")


SENT_CASES = [
    ("text", "", "str_length(1, 1000)"),
    ("text", "好" * 1001, "str_length(1, 1000)"),
    ("text", "有控制字符\x1b的句子。", "no_control_or_zero_width_chars"),
    ("text", ">>", "not_only_boilerplate_markers"),
    ("text", "| · |", "not_only_boilerplate_markers"),
    ("text", "相关链接", "not_only_boilerplate_markers"),
    ("sent_idx", -1, "greater_than_or_equal_to(0)"),
    ("n_chars", 999, "n_chars_equals_len_text"),
    ("n_tokens", 999, "n_tokens_equals_len_tokens"),
    ("tokens", ["有 空格"], "tokens_are_strings_without_whitespace"),
]


@pytest.mark.parametrize(
    ("column", "value", "check"), SENT_CASES, ids=[c[2] + ":" + str(c[1])[:8] for c in SENT_CASES]
)
def test_sentence_check_fails_on_crafted_row(seed_docs, column, value, check):
    frame = _sents(seed_docs).copy()
    frame[column] = frame[column].astype(object)
    frame.at[5, column] = value
    if column == "text" and check != "n_chars_equals_len_text":
        frame.at[5, "n_chars"] = len(value)
    _fails(SentencesModel.to_schema(), frame, check)


def test_duplicate_sentence_key_fails(seed_docs):
    frame = _sents(seed_docs).copy()
    frame.loc[6, "sent_idx"] = frame.loc[5, "sent_idx"]
    frame.loc[6, "doc_id"] = frame.loc[5, "doc_id"]
    _fails(SentencesModel.to_schema(), frame, "multiple_fields_uniqueness")


def test_max_sentence_length_is_configurable(seed_docs):
    frame = _sents(seed_docs)
    longest = int(frame["n_chars"].max())
    sentence_schema(longest).validate(frame)
    _fails(sentence_schema(longest - 1), frame, f"str_length(1, {longest - 1})")


def test_quarantine_model_accepts_rejections():
    doc = Document(source="bad.bin", doc_id="f" * 32)
    doc.reject("read", "binary_file", "binary file (PNG image signature), not text", "89504e47")
    frame = QuarantineModel.validate(to_frame(quarantine_table([doc], "run", "/in", NOW)))
    (row,) = frame.to_dict("records")
    assert {k: row[k] for k in ("run_id", "source", "input_root", "doc_id", "stage", "check", "reason", "detail")} == {
        "run_id": "run", "source": "bad.bin", "input_root": "/in", "doc_id": "f" * 32, "stage": "read",
        "check": "binary_file", "reason": "binary file (PNG image signature), not text", "detail": "89504e47",
    }  # fmt: skip
    assert row["quarantined_at"] == pd.Timestamp(NOW)
    assert frame[["content_sha256", "failure_case"]].isna().all(axis=None)  # unknown: null
    assert row["size_bytes"] == 0 and "raw_text" not in frame.columns  # a pointer, not a copy
    empty_reason = to_frame(quarantine_table([doc], "run", "/in", NOW)).assign(reason="")
    _fails(QuarantineModel.to_schema(), empty_reason, "str_length(1, None)")


def test_document_with_one_bad_sentence_is_quarantined_whole(seed_docs):
    docs = [d for d in build_pipeline(validate=False)(
        [Document(source=f"{p}.txt", doc_id=f"{i + 10:032x}", raw_text=seed_text(p), content_sha256="b" * 64)
         for i, p in enumerate(("000", "001"))]
    )]  # fmt: skip
    docs[1].sentences[3].text = "好" * 1200  # a failed split
    validator = ContractValidator()
    validator.run(docs)
    assert [d.rejected for d in docs] == [False, True]
    assert (validator.stats.docs_in, validator.stats.docs_out, validator.stats.docs_rejected) == (
        2,
        1,
        1,
    )
    rej = docs[1].rejection
    assert (rej.stage, rej.check) == ("validate", "str_length(1, 1000)")
    assert "sentences.text" in rej.reason
