"""Pipeline step around :func:`split_sentences`."""

from __future__ import annotations

from zhclean.document import Document, Sentence
from zhclean.pipeline.base import PipelineStep
from zhclean.splitters.sentences import split_sentences


class SentenceSplitter(PipelineStep):
    """Split each paragraph into stripped sentences, remembering the paragraph index."""

    name = "split"

    def process(self, doc: Document) -> None:
        sentences = []
        for para_idx, paragraph in enumerate(doc.paragraphs):
            for piece in split_sentences(paragraph):
                text = piece.strip()
                if text:
                    sentences.append(Sentence(para_idx, text))
        doc.sentences = sentences
        self.count("sentences", len(sentences))
        self.count("paragraphs", len(doc.paragraphs))
