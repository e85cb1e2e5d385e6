"""Arrow schemas the Parquet writer uses; ``tests/test_contract.py`` checks them against
the pandera models, which remain the source of truth."""

from __future__ import annotations

import pyarrow as pa

from zhclean.contract.versions import SCHEMA_VERSIONS

REMOVED_TYPE = pa.list_(pa.struct([("rule_id", pa.string()), ("text", pa.string())]))


def _schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(
        fields,
        metadata={
            b"zhclean.dataset": name.encode(),
            b"zhclean.schema_version": str(SCHEMA_VERSIONS[name]).encode(),
        },
    )


DOCUMENTS = _schema(
    "documents",
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("published_at", pa.timestamp("us")),
        pa.field("published_at_precision", pa.string()),
        pa.field("source_name", pa.string()),
        pa.field("author", pa.string()),
        pa.field("script", pa.string(), nullable=False),
        pa.field("encoding", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("raw_text", pa.string(), nullable=False),
        pa.field("removed", REMOVED_TYPE, nullable=False),
        pa.field("extraction", pa.string(), nullable=False),
        pa.field("removed_share", pa.float64(), nullable=False),
        pa.field("confidence", pa.float64(), nullable=False),
        pa.field("punctuation", pa.string(), nullable=False),
        pa.field("punct_restored", pa.int32(), nullable=False),
        pa.field("n_chars", pa.int64(), nullable=False),
        pa.field("n_sentences", pa.int32(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("dup_similarity", pa.float64()),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("processed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ],
)

SENTENCES = _schema(
    "sentences",
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("sent_idx", pa.int32(), nullable=False),
        pa.field("para_idx", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("tokens", pa.list_(pa.string()), nullable=False),
        pa.field("n_chars", pa.int32(), nullable=False),
        pa.field("n_tokens", pa.int32(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ],
)

QUARANTINE = _schema(
    "quarantine",
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("input_root", pa.string(), nullable=False),
        pa.field("doc_id", pa.string()),
        pa.field("content_sha256", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("check", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("failure_case", pa.string()),
        pa.field("size_bytes", pa.int64(), nullable=False),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ],
)

DUPLICATES = _schema(
    "duplicates",
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("dup_similarity", pa.float64(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("processed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ],
)

ARROW_SCHEMAS: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "sentences": SENTENCES,
    "quarantine": QUARANTINE,
    "duplicates": DUPLICATES,
}
