"""The pipeline, assembled once: read → convert HTML → normalize → convert script →
restore collapsed punctuation → strip boilerplate → extract metadata → assemble → split →
tokenize → validate → sign → write.

Tests, the benchmark, ``zhclean run`` and cluster workers all build it here, so they all
run the same steps in the same order.
"""

from __future__ import annotations

from datetime import datetime

from zhclean.cleaners.boilerplate import BoilerplateStripper, StripperConfig
from zhclean.cleaners.hardwrap import ParagraphAssembler
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.params import DEFAULTS, RunParams
from zhclean.core.step import Pipeline, Step
from zhclean.extractors.metadata import MetadataExtractor
from zhclean.normalizers.punctuation import PunctuationRestorer
from zhclean.normalizers.script import ScriptConverter
from zhclean.normalizers.text import TextNormalizer
from zhclean.readers.files import FileReader
from zhclean.readers.html import HtmlConverter
from zhclean.splitters.step import SentenceSplitter
from zhclean.tokenizers.step import Tokenizer
from zhclean.validation.validate import ContractValidator


def build_pipeline(
    params: RunParams = DEFAULTS,
    repeated: dict[str, RepeatedLines] | None = None,
    *,
    tokenize: bool = True,
    validate: bool = True,
    writer: Step | None = None,
    signer: Step | None = None,
    now: datetime | None = None,
    stripper: StripperConfig | None = None,
) -> Pipeline:
    """The whole pipeline. ``tokenize``/``validate`` off and no ``writer`` give its front
    part, for tests and evaluations that only look at the cleaned documents; ``stripper``
    overrides the stripper's thresholds (evaluations re-tune them); ``signer`` (the dedup
    signatures) runs after validation, on the documents that will be published."""
    steps: list[Step] = [
        FileReader(params.input_dir, params.follow_symlinks, params.max_doc_bytes),
        HtmlConverter(),
        TextNormalizer(),
        ScriptConverter(),
        PunctuationRestorer(),
        BoilerplateStripper(RuleSet.load(), repeated, stripper),
        MetadataExtractor(now=now),
        ParagraphAssembler(),
        SentenceSplitter(params.max_sentence_chars),
    ]
    if tokenize:
        steps.append(Tokenizer(params.tokenizer))
    if validate:
        steps.append(ContractValidator(params.max_sentence_chars))
    if signer is not None:
        steps.append(signer)
    if writer is not None:
        steps.append(writer)
    # A batch's documents are in memory together, with everything the steps make of them
    # (tokens, frames, Arrow buffers: about 50 times their size): bounding a batch's input
    # by the per-document cap bounds a worker's memory (README, "Throughput and memory").
    return Pipeline(steps, batch_docs=params.batch_docs, batch_bytes=params.max_doc_bytes)


def rule_reasons() -> dict[str, str]:
    """Every rule id the pipeline can record in ``documents.removed``, with its reason."""
    return build_pipeline(tokenize=False, validate=False).reasons()
