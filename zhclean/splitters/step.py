"""Pipeline step around :func:`split_sentences`."""

from __future__ import annotations

import re

from zhclean.chars import HAN_RANGES
from zhclean.document import Document, Sentence
from zhclean.pipeline.base import PipelineStep
from zhclean.splitters.sentences import split_sentences

_WORD_RE = re.compile(f"[0-9A-Za-z{HAN_RANGES}]|[^\\W_]")


class SentenceSplitter(PipelineStep):
    """Split each paragraph into stripped sentences, remembering the paragraph index.

    A piece with no letter, digit or Han character is folded into the sentence before it
    (or after it, at the start of a paragraph): it is punctuation left over by the page.
    """

    name = "split"

    def process(self, doc: Document) -> None:
        sentences = []
        for para_idx, paragraph in enumerate(doc.paragraphs):
            pending = ""  # punctuation-only text waiting for a sentence to join
            for piece in split_sentences(paragraph):
                text = piece.strip()
                if not text:
                    continue
                if not _WORD_RE.search(text):
                    # "□" closing an article, a lone "（": not a sentence of its own
                    last = (
                        sentences[-1] if sentences and sentences[-1].para_idx == para_idx else None
                    )
                    if last is not None:
                        last.text += text
                    else:
                        pending += text
                    self.count("punctuation_pieces_merged")
                    continue
                sentences.append(Sentence(para_idx, pending + text))
                pending = ""
            if pending:
                sentences.append(Sentence(para_idx, pending))
        doc.sentences = sentences
        self.count("sentences", len(sentences))
        self.count("paragraphs", len(doc.paragraphs))
