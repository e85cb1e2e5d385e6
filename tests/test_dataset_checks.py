"""Dataset checks fail on crafted broken snapshots and pass on good ones; statistical
checks warn."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhclean.contract.arrow import DOCUMENTS, SENTENCES
from zhclean.run.report import statistical_warnings
from zhclean.validation.dataset import check_snapshot

A, B, C = "a" * 32, "b" * 32, "c" * 32


def _docs(path, rows):
    cols = {f.name: [] for f in DOCUMENTS}
    for doc_id, n, *link in rows:
        dup = link[0] if link else None
        values = {"duplicate_of": dup, "dup_similarity": None if dup is None else 0.9,
                  "doc_id": doc_id, "source": f"{doc_id[:3]}.txt", "script": "hans", "encoding": "utf-8",
                  "text": "正文。", "raw_text": "正文。", "removed": [], "extraction": "main_block",
                  "removed_share": 0.0, "confidence": 1.0, "punctuation": "original",
                  "punct_restored": 0, "n_chars": 3, "n_sentences": n,
                  "content_sha256": "0" * 64, "run_id": "r", "processed_at": 0}  # fmt: skip
        for name in cols:
            cols[name].append(values.get(name))
    pq.write_table(pa.table(cols, schema=DOCUMENTS), path)


def _sents(path, rows):
    cols = {f.name: [] for f in SENTENCES}
    for doc_id, idx in rows:
        values = {"doc_id": doc_id, "sent_idx": idx, "para_idx": 0, "text": "句。", "tokens": ["句", "。"],
                  "n_chars": 2, "n_tokens": 2, "run_id": "r"}  # fmt: skip
        for name in cols:
            cols[name].append(values[name])
    pq.write_table(pa.table(cols, schema=SENTENCES), path)


def _snapshot(tmp_path, docs_files, sents_files):
    (tmp_path / "documents").mkdir()
    (tmp_path / "sentences").mkdir()
    for i, rows in enumerate(docs_files):
        _docs(tmp_path / "documents" / f"part-{i}.parquet", rows)
    for i, rows in enumerate(sents_files):
        _sents(tmp_path / "sentences" / f"part-{i}.parquet", rows)
    results = check_snapshot(tmp_path / "documents", tmp_path / "sentences")
    return {r.name: r for r in results}


GOOD_DOCS = [[(A, 2), (B, 1, A)]]  # B is a near-duplicate of A
GOOD_SENTS = [[(A, 0), (A, 1), (B, 0)]]


def test_good_snapshot_passes(tmp_path):
    results = _snapshot(tmp_path, GOOD_DOCS, GOOD_SENTS)
    assert len(results) == 6 and all(r.passed for r in results.values())


@pytest.mark.parametrize(
    ("docs", "sents", "failing", "example"),
    [
        ([[(A, 2)], [(A, 2), (B, 1)]], GOOD_SENTS, "documents_doc_id_unique", A),
        (GOOD_DOCS, [[(A, 0), (A, 1), (B, 0), (C, 0)]], "sentence_doc_id_exists_in_documents", C),
        ([[(A, 3), (B, 1)]], GOOD_SENTS, "sentence_count_equals_n_sentences", A),
        (
            [[(A, 2), (B, 1)]],
            [[(A, 0), (A, 2), (B, 0)]],
            "sent_idx_unique_and_contiguous_from_0",
            A,
        ),
        (
            [[(A, 2), (B, 1)]],
            [[(A, 0), (A, 0), (B, 0)]],
            "sent_idx_unique_and_contiguous_from_0",
            A,
        ),
        (
            [[(A, 2), (B, 1)]],
            [[(A, 1), (A, 2), (B, 0)]],
            "sent_idx_unique_and_contiguous_from_0",
            A,
        ),
        (GOOD_DOCS, [[(A, 0), (B, 0)], [(A, 1)]], "document_sentences_in_one_file", A),
        # a copy of a document that is not published, and a copy of a copy
        ([[(A, 2), (B, 1, C)]], GOOD_SENTS, "duplicate_of_is_a_published_representative", B),
        ([[(A, 2, B), (B, 1, A)]], GOOD_SENTS, "duplicate_of_is_a_published_representative", A),
    ],
)
def test_broken_snapshot_fails_the_right_check(tmp_path, docs, sents, failing, example):
    results = _snapshot(tmp_path, docs, sents)
    assert not results[failing].passed
    assert example in results[failing].examples


def test_statistical_checks_warn():
    assert statistical_warnings({"published": 10, "docs_heavy_boilerplate": 1, "sentences": 100,
                                 "sentence_chars": 3000}) == []  # fmt: skip
    heavy = statistical_warnings({"published": 10, "docs_heavy_boilerplate": 5, "sentences": 100,
                                  "sentence_chars": 3000})  # fmt: skip
    assert len(heavy) == 1 and "50% of published documents" in heavy[0]
    short = statistical_warnings({"published": 10, "sentences": 100, "sentence_chars": 300})
    assert len(short) == 1 and "mean sentence length 3.0" in short[0]
