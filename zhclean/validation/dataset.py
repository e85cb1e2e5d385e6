"""Dataset-level checks over a whole snapshot: keys, references and counts.

Row checks cannot see across rows or files. These checks read only key columns, one
sentences file at a time, so their memory grows with the number of documents, never
with the number of sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pyarrow.parquet as pq

MAX_EXAMPLES = 5


@dataclass
class CheckResult:
    name: str
    passed: bool
    failures: int = 0
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "failures": self.failures,
            "examples": self.examples,
        }


# name -> row predicate over the merged documents/sentences key frame (one row per doc_id).
CONSISTENCY_CHECKS = {
    "sentence_doc_id_exists_in_documents": lambda df: df["_merge"] != "right_only",
    "sentence_count_equals_n_sentences": lambda df: (
        (df["_merge"] == "right_only") | (df["count"].fillna(0) == df["n_sentences"])
    ),
    "sent_idx_unique_and_contiguous_from_0": lambda df: (
        (df["count"].fillna(0) == 0)
        | ((df["min"] == 0) & (df["max"] + 1 == df["count"]) & (df["nunique"] == df["count"]))
    ),
}


def _files(files: Path | list[str]) -> list[str]:
    if isinstance(files, Path):
        return sorted(str(p) for p in files.glob("*.parquet") if not p.name.startswith((".", "_")))
    return list(files)


def _check(name: str, frame: pd.DataFrame, predicate) -> CheckResult:
    """Run one named pandera check over ``frame``; examples are the failing doc_ids."""
    schema = pa.DataFrameSchema(checks=[pa.Check(predicate, name=name)], name=name)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        rows = err.failure_cases["index"].dropna().astype(int).unique().tolist()
        examples = sorted({str(frame["doc_id"].iloc[i]) for i in rows})[:MAX_EXAMPLES]
        return CheckResult(name, False, len(rows), examples)
    return CheckResult(name, True)


def _links_to_representative(frame: pd.DataFrame) -> pd.Series:
    """A copy names a published document that is no one's copy (near-duplicates)."""
    representatives = set(frame.loc[frame["duplicate_of"].isna(), "doc_id"])
    return frame["duplicate_of"].isna() | frame["duplicate_of"].isin(representatives)


def _unique_doc_id(frame: pd.DataFrame) -> pd.Series:
    return ~frame["doc_id"].duplicated(keep=False)


def check_snapshot(
    documents: Path | list[str], sentences: Path | list[str], filesystem: Any = None
) -> list[CheckResult]:
    """Run every dataset check on a version's documents and sentences.

    Each is a folder, or the list of its part files (paths or URIs read through
    ``filesystem``, for object storage).
    """
    doc_frames = [
        pq.read_table(
            p, columns=["doc_id", "n_sentences", "duplicate_of"], filesystem=filesystem
        ).to_pandas()
        for p in _files(documents)
    ]
    docs = (
        pd.concat(doc_frames, ignore_index=True)
        if doc_frames
        else pd.DataFrame(
            {
                "doc_id": pd.Series(dtype=str),
                "n_sentences": pd.Series(dtype="int32"),
                "duplicate_of": pd.Series(dtype=str),
            }
        )
    )
    per_file = []
    for path in _files(sentences):
        sents = pq.read_table(
            path, columns=["doc_id", "sent_idx"], filesystem=filesystem
        ).to_pandas()
        if not sents.empty:
            per_file.append(
                sents.groupby("doc_id")["sent_idx"]
                .agg(["count", "min", "max", "nunique"])
                .reset_index()
            )
    agg = (
        pd.concat(per_file, ignore_index=True)
        if per_file
        else pd.DataFrame(
            {
                c: pd.Series(dtype=str if c == "doc_id" else "int64")
                for c in ("doc_id", "count", "min", "max", "nunique")
            }
        )
    )
    results = [
        _check("documents_doc_id_unique", docs, _unique_doc_id),
        _check("document_sentences_in_one_file", agg, _unique_doc_id),
        _check("duplicate_of_is_a_published_representative", docs, _links_to_representative),
    ]
    docs = docs.drop(columns=["duplicate_of"])
    merged = docs.merge(agg, on="doc_id", how="outer", indicator=True)
    merged["_merge"] = merged["_merge"].astype(str)
    results += [_check(name, merged, pred) for name, pred in CONSISTENCY_CHECKS.items()]
    return results
