"""Assemble the default pipeline and run it over a shard of sources (no orchestration)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from zhclean.cleaners.boilerplate import BoilerplateStripper, StripperConfig
from zhclean.cleaners.hardwrap import ParagraphAssembler
from zhclean.cleaners.repetition import GroupLineCounts, RepeatedLines, document_line_keys
from zhclean.cleaners.rules import RuleSet
from zhclean.document import Document
from zhclean.extractors.metadata import MetadataExtractor
from zhclean.normalizers.script import ScriptConverter
from zhclean.normalizers.text import TextNormalizer, split_raw_lines
from zhclean.pipeline.base import Pipeline
from zhclean.readers.files import DEFAULT_MAX_BYTES, FileReader, SourceRef, read_document
from zhclean.splitters.step import SentenceSplitter
from zhclean.tokenizers.jieba_tokenizer import Tokenizer


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that changes what the pipeline produces for the same input."""

    rules_path: str | None = None
    user_dict: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    stripper: StripperConfig = field(default_factory=StripperConfig)
    tokenize: bool = True
    max_sentence_chars: int = 1000
    batch_docs: int = 500  # documents per validation batch and Parquet row group


def build_pipeline(
    config: PipelineConfig,
    repeated: dict[str, RepeatedLines] | None = None,
    now: datetime | None = None,
) -> Pipeline:
    """normalize → convert → strip boilerplate → extract metadata → assemble → split → tokenize."""
    steps = [
        TextNormalizer(),
        ScriptConverter(),
        BoilerplateStripper(RuleSet.load(config.rules_path), repeated, config.stripper),
        MetadataExtractor(now=now),
        ParagraphAssembler(),
        SentenceSplitter(config.max_sentence_chars),
    ]
    if config.tokenize:
        steps.append(Tokenizer(config.user_dict))
    return Pipeline(steps)


def process_sources(
    refs: Iterable[SourceRef],
    config: PipelineConfig,
    repeated: dict[str, RepeatedLines] | None = None,
) -> tuple[Iterator[Document], FileReader, Pipeline]:
    """Read and process ``refs`` lazily; returns the document stream and its steps."""
    reader = FileReader(config.max_bytes)
    pipeline = build_pipeline(config, repeated)
    return pipeline(reader(refs)), reader, pipeline


def count_group_lines(
    refs: Iterable[SourceRef], max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, GroupLineCounts]:
    """The corpus pass for repeated-line detection: line keys per document, per group."""
    counts: dict[str, GroupLineCounts] = {}
    for ref in refs:
        doc = read_document(ref, max_bytes)
        if doc.rejected:
            continue
        counts.setdefault(ref.group, GroupLineCounts()).add(
            document_line_keys(split_raw_lines(doc.raw_text))
        )
    return counts
