"""jieba tokenization (precise mode, HMM) with the repository's user dictionary.

Protected spans (decimals, percentages, versions, domains, URLs, e-mails) come out as
single tokens: jieba alone turns ``www.gov.cn`` into five tokens and ``v2.3.1`` into
``v2.3`` / ``.`` / ``1``.

Spans are found in the sentence first and jieba's cut points inside them are dropped, so
jieba sees the whole sentence (same context as bare jieba) and the spans stay whole.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from functools import cache
from importlib import resources
from itertools import accumulate, pairwise
from pathlib import Path

import jieba

from zhclean.core.record import Document
from zhclean.core.spans import protected_spans
from zhclean.core.step import Step

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


@cache
def get_tokenizer() -> jieba.Tokenizer:
    """One initialized jieba tokenizer per process (loading the dictionary costs ~1 s)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word, freq, tag, _reason in load_user_dict():
        tokenizer.add_word(word, freq, tag)
    return tokenizer


def _merge_protected(sentence: str, tokens: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """Re-cut ``tokens`` so that each protected span is exactly one token."""
    cuts = [0, *accumulate(map(len, tokens))]
    inside = set()
    for start, end in spans:
        inside.update(cuts[bisect_right(cuts, start) : bisect_left(cuts, end)])
    bounds = sorted((set(cuts) - inside) | {p for span in spans for p in span})
    return [sentence[a:b] for a, b in pairwise(bounds)]


def tokenize(sentence: str) -> list[str]:
    """Tokens of ``sentence``; they concatenate to the sentence with whitespace removed.

    Bare jieba on the sentence, then protected spans merged back into single tokens and
    whitespace tokens dropped; both fix-ups are skipped when a sentence cannot need them.
    """
    tokens = get_tokenizer().lcut(sentence)
    spans = protected_spans(sentence)
    if spans:
        tokens = _merge_protected(sentence, tokens, spans)
    if " " in sentence or not sentence.isprintable():
        tokens = [t for t in tokens if not t.isspace()]
    return tokens


class Tokenizer(Step):
    """Tokenize every sentence of a document."""

    name = "tokenize"

    def __init__(self) -> None:
        super().__init__()
        get_tokenizer()  # load the dictionary now, not inside the first batch

    def process(self, doc: Document) -> None:
        n = 0
        for sentence in doc.sentences:
            sentence.tokens = tokenize(sentence.text)
            n += len(sentence.tokens)
        self.count("tokens", n)
        self.count("sentences", len(doc.sentences))
