"""jieba tokenization (precise mode, HMM) with the repository's user dictionary.

Protected spans (decimals, percentages, versions, domains, URLs, e-mails) are cut out
before jieba sees the text and come back as single tokens: jieba alone turns
``www.gov.cn`` into five tokens and ``v2.3.1`` into ``v2.3`` / ``.`` / ``1``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba

from zhclean.document import Document
from zhclean.pipeline.base import PipelineStep
from zhclean.spans import protected_spans

jieba.setLogLevel(logging.WARNING)

USER_DICT = resources.files("zhclean") / "data" / "userdict.tsv"


def load_user_dict(path: str | Path | None = None) -> list[tuple[str, int, str, str]]:
    """Entries of the user dictionary: (word, freq, tag, reason); '#' lines are comments."""
    source = Path(path) if path else USER_DICT
    entries = []
    for raw in source.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#") or raw.startswith("word\t"):
            continue
        word, freq, tag, reason = raw.split("\t", 3)
        entries.append((word, int(freq), tag, reason))
    return entries


@lru_cache(maxsize=4)
def get_tokenizer(user_dict: str | None = None) -> jieba.Tokenizer:
    """One initialized jieba tokenizer per process and dictionary (loading costs ~1 s)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word, freq, tag, _reason in load_user_dict(user_dict):
        tokenizer.add_word(word, freq, tag)
    return tokenizer


def tokenize(sentence: str, user_dict: str | None = None) -> list[str]:
    """Tokens of ``sentence``; they concatenate to the sentence with whitespace removed."""
    cut = get_tokenizer(user_dict).lcut
    spans = protected_spans(sentence)
    if not spans:
        return [t for t in cut(sentence) if not t.isspace()]
    tokens: list[str] = []
    pos = 0
    for start, end in spans:
        if start > pos:
            tokens.extend(cut(sentence[pos:start]))
        tokens.append(sentence[start:end])
        pos = end
    if pos < len(sentence):
        tokens.extend(cut(sentence[pos:]))
    return [t for t in tokens if not t.isspace()]


class Tokenizer(PipelineStep):
    """Tokenize every sentence of a document."""

    name = "tokenize"

    def __init__(self, user_dict: str | None = None) -> None:
        super().__init__()
        self.user_dict = user_dict

    def process(self, doc: Document) -> None:
        n = 0
        for sentence in doc.sentences:
            sentence.tokens = tokenize(sentence.text, self.user_dict)
            n += len(sentence.tokens)
        self.count("tokens", n)
        self.count("sentences", len(doc.sentences))
