"""Pipeline step around :func:`split_sentences`."""

from __future__ import annotations

import re

from zhclean.core.params import MAX_SENTENCE_CHARS
from zhclean.core.record import Document, Sentence
from zhclean.core.step import Step
from zhclean.splitters.sentences import split_sentences

_WORD_RE = re.compile(r"[^\W_]")
# Where an over-long sentence may be cut, strongest first.
_CLAUSE_BREAKS = (re.compile(r"[；;]"), re.compile(r"[，,：:、]"), re.compile(r"\s"))


def split_long(text: str, max_chars: int) -> list[str]:
    """Cut a sentence longer than ``max_chars`` at clause punctuation or spaces.

    Web text has run-on "sentences" (a forum post without a full stop, a pasted list).
    They are cut after the strongest break in the second half of each window, so pieces
    stay long and nothing is lost. Text with no break at all stays whole; validation
    then rejects it as a failed split.
    """
    pieces: list[str] = []
    start = 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = None
        for breaks in _CLAUSE_BREAKS:
            ends = [m.end() for m in breaks.finditer(window, max_chars // 2)]
            if ends:
                cut = ends[-1]
                break
        if cut is None:
            break
        pieces.append(text[start : start + cut])
        start += cut
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


class SentenceSplitter(Step):
    """Split each paragraph into stripped sentences, remembering the paragraph index.

    A piece with no letter, digit or Han character is folded into the sentence before it
    (or after it, at the start of a paragraph): it is punctuation left over by the page.
    A sentence longer than ``max_chars`` is cut again at clause boundaries.
    """

    name = "split"

    def __init__(self, max_chars: int = MAX_SENTENCE_CHARS) -> None:
        super().__init__()
        self.max_chars = max_chars

    def process(self, doc: Document) -> None:
        sentences: list[Sentence] = []
        max_chars = self.max_chars
        has_word = _WORD_RE.search
        for para_idx, paragraph in enumerate(doc.paragraphs):
            texts: list[str] = []
            # Punctuation-only pieces waiting to be joined to a sentence, joined once: a
            # sentence grown piece by piece is copied each time, quadratic in a run of
            # such pieces ("好。□。□。□…": issue 17).
            pending: list[str] = []  # before the paragraph's first sentence
            tail: list[str] = []  # after texts[-1]
            for piece in split_sentences(paragraph):
                text = piece.strip()
                if not text:
                    continue
                if not has_word(text):  # "□" closing an article, a lone "（"
                    (tail if texts else pending).append(text)
                    self.count("punctuation_pieces_merged")
                    continue
                if tail:
                    texts[-1] += "".join(tail)
                    tail = []
                if pending:
                    text = "".join(pending) + text
                    pending = []
                texts.append(text)
            if tail:
                texts[-1] += "".join(tail)
            if pending:
                texts.append("".join(pending))
            for text in texts:
                if len(text) <= max_chars:  # nearly every sentence: no split_long call
                    sentences.append(Sentence(para_idx, text))
                    continue
                parts = split_long(text, max_chars)
                if len(parts) > 1:
                    self.count("long_sentences_cut_at_clauses")
                sentences.extend(Sentence(para_idx, part) for part in parts)
        doc.sentences = sentences
        self.count("sentences", len(sentences))
        self.count("paragraphs", len(doc.paragraphs))
