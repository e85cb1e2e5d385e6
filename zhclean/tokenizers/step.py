"""The tokenize step: every sentence of a document, with the tokenizer the run chose."""

from __future__ import annotations

from collections.abc import Callable

from zhclean.core.params import TOKENIZERS
from zhclean.core.record import Document
from zhclean.core.step import Step


def tokenizer_function(kind: str = "fast") -> Callable[[str], list[str]]:
    """The ``tokenize(sentence)`` function of a tokenizer, its dictionary loaded."""
    if kind == "fast":
        from zhclean.tokenizers.fast import get_fast, tokenize

        get_fast()
        return tokenize
    if kind == "jieba":
        from zhclean.tokenizers.jieba_tokenizer import get_tokenizer, tokenize

        get_tokenizer()
        return tokenize
    raise ValueError(f"unknown tokenizer {kind!r}: one of {', '.join(TOKENIZERS)}")


class Tokenizer(Step):
    """Tokenize every sentence of a document."""

    name = "tokenize"

    def __init__(self, kind: str = "fast") -> None:
        super().__init__()
        self.kind = kind
        self.tokenize = tokenizer_function(kind)  # load the dictionary now, not in a batch

    def process(self, doc: Document) -> None:
        tokenize = self.tokenize
        n = 0
        for sentence in doc.sentences:
            sentence.tokens = tokens = tokenize(sentence.text)
            n += len(tokens)
        self.count("tokens", n)
        self.count("sentences", len(doc.sentences))
