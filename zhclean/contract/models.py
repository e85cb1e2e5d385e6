"""The data contract: pandera models for the three published datasets.

These models are the single source of truth for column names, types, nullability and
row checks. The Arrow schemas in :mod:`zhclean.contract.arrow` are checked against them by
a test, and ``docs/contract.md`` and ``schemas/*.json`` are generated from them.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from zhclean.core.dates import EARLIEST_PUBLICATION
from zhclean.core.params import MAX_SENTENCE_CHARS
from zhclean.core.record import EXTRACTIONS, PUNCTUATIONS
from zhclean.core.simplify import SCRIPTS, to_simplified

MIN_PUBLISHED_AT = pd.Timestamp(EARLIEST_PUBLICATION)
PRECISIONS = ("year", "month", "day", "minute", "second")

# Control characters (except \n in document text) and zero-width/invisible characters.
_FORBIDDEN_SENTENCE = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
_FORBIDDEN_DOCUMENT = r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
# A "sentence" made only of navigation marks or a bare link-list header.
_MARKERS_ONLY = re.compile(
    r"^(?:[\s|｜>»›<«‹·•●◆■□▪\-—_=~*#/\\]+"
    r"|(?:相关|延伸|推荐|热点|更多)(?:链接|阅读|新闻|文章|推荐|报道)?[:：]?(?:\s*>>)?)$"
)


_WHITESPACE = re.compile(r"\s")


def _clean_tokens(tokens: object) -> bool:
    """A list of non-empty strings none of which holds whitespace (one regex per row)."""
    if not isinstance(tokens, list) or not all(tokens):
        return False
    try:
        return _WHITESPACE.search("".join(tokens)) is None
    except TypeError:
        return False


def _no_forbidden(series: pd.Series, pattern: str) -> pd.Series:
    return ~series.astype("string").str.contains(pattern, regex=True).fillna(False)


class _Contract(pa.DataFrameModel):
    """Shared settings: exactly these columns, in this order, coerced to their types."""

    class Config:
        strict = True
        coerce = True
        ordered = True


class DocumentsModel(_Contract):
    """``output/documents/``: one row per published input document."""

    doc_id: Series[str] = pa.Field(
        unique=True,
        str_matches=r"^[0-9a-f]{32}$",
        description="sha256(source + NUL + bytes)[:32]: stable across runs and machines",
    )
    source: Series[str] = pa.Field(
        str_length={"min_value": 1}, description="path relative to the input root, POSIX separators"
    )
    title: Series[str] = pa.Field(
        nullable=True, description="the document's heading, if its first line is one"
    )
    published_at: Series[pd.Timestamp] = pa.Field(
        nullable=True,
        description="publication time as printed on the page: wall-clock, no time zone",
    )
    published_at_precision: Series[str] = pa.Field(
        nullable=True, isin=list(PRECISIONS), description="how much of published_at the page gave"
    )
    source_name: Series[str] = pa.Field(
        nullable=True, description="the 来源 (originating outlet) from the byline"
    )
    author: Series[str] = pa.Field(
        nullable=True, description="author, reporter(s) or editor from the byline"
    )
    script: Series[str] = pa.Field(
        isin=list(SCRIPTS), description="original script: hans, hant or mixed"
    )
    encoding: Series[str] = pa.Field(description="encoding the input was decoded from")
    text: Series[str] = pa.Field(
        str_length={"min_value": 1},
        description="cleaned, normalized, Simplified body without title and metadata lines; paragraphs joined with \\n",
    )
    raw_text: Series[str] = pa.Field(description="the decoded input, before any change")
    removed: Series[object] = pa.Field(
        description="list of {rule_id, text}: every removed line and the rule that removed it"
    )
    extraction: Series[str] = pa.Field(
        isin=list(EXTRACTIONS),
        description="how the article was found: main_block (the best block of text), "
        "short_lines (an article written in short lines), conservative (the block search "
        "would have emptied a real article, so only rules were applied)",
    )
    removed_share: Series[float] = pa.Field(
        ge=0,
        le=1,
        description="share of the page's characters removed as boilerplate, title and metadata",
    )
    confidence: Series[float] = pa.Field(
        ge=0,
        le=1,
        description="how sure the cleaner is that text is the page's article (0-1; "
        "conservative extractions score at most 0.3; for restored punctuation, at most the "
        "share of marks that were not close calls): `where confidence >= 0.5` keeps the sure ones",
    )
    punctuation: Series[str] = pa.Field(
        isin=list(PUNCTUATIONS),
        description="original: the text's own punctuation; restored: its 。，、 had all been "
        "written as '.', and a model gave them back (raw_text keeps the input)",
    )
    punct_restored: Series[pd.Int32Dtype] = pa.Field(
        ge=0, description="how many marks were restored (0 when punctuation is original)"
    )
    n_chars: Series[pd.Int64Dtype] = pa.Field(ge=0, description="len(text)")
    n_sentences: Series[pd.Int32Dtype] = pa.Field(
        ge=0, description="number of rows in sentences for this doc_id"
    )
    content_sha256: Series[str] = pa.Field(
        str_matches=r"^[0-9a-f]{64}$", description="sha256 of the input bytes"
    )
    duplicate_of: Series[str] = pa.Field(
        nullable=True,
        str_matches=r"^[0-9a-f]{32}$",
        description="doc_id of the representative this document is a near-duplicate of "
        "(estimated Jaccard similarity of the clean text at least the threshold); null for a "
        "unique document and for a representative: `where duplicate_of is null` keeps one "
        "copy of each text",
    )
    dup_similarity: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description="estimated Jaccard similarity to the representative (MinHash of "
        "character 3-grams); null exactly when duplicate_of is null",
    )
    run_id: Series[str] = pa.Field(description="the run that produced this row")
    processed_at: Series[pd.DatetimeTZDtype] = pa.Field(
        dtype_kwargs={"unit": "us", "tz": "UTC"}, description="when the row was produced (UTC)"
    )

    @pa.dataframe_check(name="dup_similarity_with_duplicate_of")
    def _dup_pair(cls, df: pd.DataFrame) -> pd.Series:
        return df["duplicate_of"].isna() == df["dup_similarity"].isna()

    @pa.check("text", name="no_control_or_zero_width_chars")
    def _text_clean(cls, series: pd.Series) -> pd.Series:
        return _no_forbidden(series, _FORBIDDEN_DOCUMENT)

    @pa.check("text", name="simplified_only")
    def _text_simplified(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda t: to_simplified(t) == t).astype(bool)

    @pa.check("published_at", name="published_at_in_range")
    def _published_range(cls, series: pd.Series) -> pd.Series:
        upper = pd.Timestamp.now() + pd.Timedelta(days=1)
        return series.isna() | ((series >= MIN_PUBLISHED_AT) & (series <= upper))

    @pa.check("removed", name="removed_is_list_of_rule_and_text")
    def _removed_shape(cls, series: pd.Series) -> pd.Series:
        return series.map(
            lambda v: (
                isinstance(v, list)
                and all(isinstance(x, dict) and {"rule_id", "text"} <= x.keys() for x in v)
            )
        ).astype(bool)

    @pa.dataframe_check(name="n_chars_equals_len_text")
    def _n_chars(cls, df: pd.DataFrame) -> pd.Series:
        return df["text"].str.len().astype("Int64") == df["n_chars"]


class SentencesModel(_Contract):
    """``output/sentences/``: one row per sentence of ``documents.text``."""

    doc_id: Series[str] = pa.Field(
        str_matches=r"^[0-9a-f]{32}$", description="the document the sentence belongs to"
    )
    sent_idx: Series[pd.Int32Dtype] = pa.Field(
        ge=0, description="0-based, contiguous within a document"
    )
    para_idx: Series[pd.Int32Dtype] = pa.Field(
        ge=0, description="the paragraph (line of documents.text) it comes from"
    )
    text: Series[str] = pa.Field(
        str_length={"min_value": 1, "max_value": MAX_SENTENCE_CHARS},
        description="the sentence, stripped; longer than the maximum means a failed split",
    )
    tokens: Series[object] = pa.Field(
        description="jieba tokens (precise mode, HMM, user dictionary)"
    )
    n_chars: Series[pd.Int32Dtype] = pa.Field(ge=1, description="len(text)")
    n_tokens: Series[pd.Int32Dtype] = pa.Field(ge=0, description="len(tokens)")
    run_id: Series[str] = pa.Field(description="the run that produced this row")

    class Config:
        unique = ("doc_id", "sent_idx")

    @pa.check("text", name="no_control_or_zero_width_chars")
    def _text_clean(cls, series: pd.Series) -> pd.Series:
        return _no_forbidden(series, _FORBIDDEN_SENTENCE)

    @pa.check("text", name="not_only_boilerplate_markers")
    def _not_markers(cls, series: pd.Series) -> pd.Series:
        return ~series.astype("string").str.match(_MARKERS_ONLY.pattern).fillna(False)

    @pa.check("tokens", name="tokens_are_strings_without_whitespace")
    def _tokens_shape(cls, series: pd.Series) -> pd.Series:
        return series.map(_clean_tokens).astype(bool)

    @pa.dataframe_check(name="n_chars_equals_len_text")
    def _n_chars(cls, df: pd.DataFrame) -> pd.Series:
        return df["text"].str.len().astype("Int32") == df["n_chars"]

    @pa.dataframe_check(name="n_tokens_equals_len_tokens")
    def _n_tokens(cls, df: pd.DataFrame) -> pd.Series:
        return df["tokens"].map(len).astype("Int32") == df["n_tokens"]


class QuarantineModel(_Contract):
    """``output/quarantine/``: one row per rejected input, with enough to reprocess it."""

    run_id: Series[str] = pa.Field(description="the run that rejected the input")
    source: Series[str] = pa.Field(
        str_length={"min_value": 1}, description="the input it came from (relative path)"
    )
    input_root: Series[str] = pa.Field(
        description="absolute input directory of that run: input_root/source is the file"
    )
    doc_id: Series[str] = pa.Field(nullable=True, description="doc_id the document would have had")
    content_sha256: Series[str] = pa.Field(
        nullable=True, description="sha256 of the input bytes, when readable"
    )
    stage: Series[str] = pa.Field(
        description="the stage that rejected it (read, normalize, validate, ...)"
    )
    check: Series[str] = pa.Field(
        description="the check that failed (binary_file, simplified_only, ...)"
    )
    reason: Series[str] = pa.Field(str_length={"min_value": 1}, description="why, in one sentence")
    detail: Series[str] = pa.Field(
        description="further detail: all failed checks, exception tail, byte sample"
    )
    failure_case: Series[str] = pa.Field(
        nullable=True, description="the offending value, truncated"
    )
    size_bytes: Series[pd.Int64Dtype] = pa.Field(
        ge=0,
        description="size of the input in bytes (the log keeps a pointer and a hash, "
        "never the content)",
    )
    quarantined_at: Series[pd.DatetimeTZDtype] = pa.Field(
        dtype_kwargs={"unit": "us", "tz": "UTC"}, description="when the row was written (UTC)"
    )


class DuplicatesModel(_Contract):
    """``output/duplicates/``: one row per near-duplicate that was not published
    (``--dedup drop``), saying of which published document it is a copy."""

    doc_id: Series[str] = pa.Field(
        unique=True, str_matches=r"^[0-9a-f]{32}$", description="the copy's doc_id"
    )
    source: Series[str] = pa.Field(
        str_length={"min_value": 1}, description="the input it came from (relative path)"
    )
    duplicate_of: Series[str] = pa.Field(
        str_matches=r"^[0-9a-f]{32}$",
        description="doc_id of the published representative (a row of documents)",
    )
    dup_similarity: Series[float] = pa.Field(
        ge=0, le=1, description="estimated Jaccard similarity to the representative"
    )
    content_sha256: Series[str] = pa.Field(
        str_matches=r"^[0-9a-f]{64}$", description="sha256 of the input bytes"
    )
    run_id: Series[str] = pa.Field(description="the run that found it")
    processed_at: Series[pd.DatetimeTZDtype] = pa.Field(
        dtype_kwargs={"unit": "us", "tz": "UTC"}, description="when the row was written (UTC)"
    )


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "documents": DocumentsModel,
    "sentences": SentencesModel,
    "quarantine": QuarantineModel,
    "duplicates": DuplicatesModel,
}


def sentence_schema(max_sentence_chars: int = MAX_SENTENCE_CHARS) -> pa.DataFrameSchema:
    """The sentences schema with a different maximum sentence length."""
    schema = SentencesModel.to_schema()
    if max_sentence_chars == MAX_SENTENCE_CHARS:
        return schema
    text = schema.columns["text"]
    checks = [c for c in text.checks if c.name != "str_length"]
    checks.append(pa.Check.str_length(min_value=1, max_value=max_sentence_chars))
    return schema.update_column("text", checks=checks)
