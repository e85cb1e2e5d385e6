"""The reference tokenizer: jieba (precise mode, HMM) with the repository's user dictionary.

``--tokenizer jieba`` selects it; the fast tokenizer (:mod:`zhclean.tokenizers.fast`) gives
the same tokens and is checked against it sentence by sentence.

Protected spans (decimals, percentages, versions, domains, URLs, e-mails) come out as
single tokens: jieba alone turns ``www.gov.cn`` into five tokens and ``v2.3.1`` into
``v2.3`` / ``.`` / ``1``.

Spans are found in the sentence first and jieba's cut points inside them are dropped, so
jieba sees the whole sentence (same context as bare jieba) and the spans stay whole.
"""

from __future__ import annotations

import logging
from functools import cache

import jieba

from zhclean.tokenizers.common import USER_DICT, finish, load_user_dict, merge_protected

jieba.setLogLevel(logging.WARNING)

__all__ = ["USER_DICT", "get_tokenizer", "load_user_dict", "merge_protected", "tokenize"]


@cache
def get_tokenizer() -> jieba.Tokenizer:
    """One initialized jieba tokenizer per process (loading the dictionary costs ~1 s)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word, freq, tag, _reason in load_user_dict():
        tokenizer.add_word(word, freq, tag)
    return tokenizer


def tokenize(sentence: str) -> list[str]:
    """Tokens of ``sentence``; they concatenate to the sentence with whitespace removed.

    Bare jieba on the sentence, then protected spans merged back into single tokens and
    whitespace tokens dropped (:func:`zhclean.tokenizers.common.finish`).
    """
    return finish(sentence, get_tokenizer().lcut(sentence))
