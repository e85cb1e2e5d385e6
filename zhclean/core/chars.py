"""Character classes shared by every stage, so that "Han" and "Chinese context" mean one thing.

Every module that asks "is this Chinese?" imports its answer from here; a range defined
twice drifts (one copy once missed the compatibility ideographs).
"""

from __future__ import annotations

import re

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, and the supplementary
# planes' extensions B-G. These are what "Han" means everywhere in zhclean.
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
HAN = f"[{HAN_RANGES}]"
HAN_RE = re.compile(HAN)
HAN_RUN_RE = re.compile(HAN + "+")

# The punctuation of Chinese running text: ASCII punctuation next to it punctuates Chinese.
CJK_PROSE_PUNCT = "。，、；：？！…“”‘’「」『』《》〈〉（）〔〕【】"
CJK_CONTEXT_RE = re.compile(f"[{HAN_RANGES}{CJK_PROSE_PUNCT}]")

# Characters a URL or domain cannot run into: whitespace, quotes, CJK punctuation, Han.
URL_STOP = "\\s<>\"'，。！？；、（）【】《》“”‘’「」" + HAN_RANGES

# Quotation pairs and bracket pairs (opener -> closer). Quotes and brackets behave
# differently in sentence splitting, so they are kept apart.
QUOTE_PAIRS = {"“": "”", "‘": "’", "「": "」", "『": "』", "﹁": "﹂", "﹃": "﹄"}
BRACKET_PAIRS = {
    "《": "》",
    "〈": "〉",
    "（": "）",
    "〔": "〕",
    "【": "】",
    "［": "］",
    "｛": "｝",
    "〖": "〗",
    "(": ")",
    "[": "]",
}
CLOSERS = frozenset(QUOTE_PAIRS.values()) | frozenset(BRACKET_PAIRS.values())

# Punctuation after which a sentence carries on (a "continuation mark").
CONTINUATION = frozenset("，、：；,;:")

# Every kind of space that normalization turns into one ASCII space.
SPACE_CHARS = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\x0b\x0c"
)

# Every spelling of a line break in web text: CRLF, CR, and the Unicode separators.
NEWLINES_RE = re.compile(r"\r\n?|[\u2028\u2029\x85]")

# East Asian Wide and Fullwidth ranges (Unicode EastAsianWidth W/F): two terminal columns.
WIDE_RE = re.compile(
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
    "\U0001f300-\U0001f64f\U0001f900-\U0001f9ff\U00020000-\U0003fffd]"
)


def is_han(ch: str) -> bool:
    """True for one CJK ideograph (any block zhclean treats as Han)."""
    return bool(ch) and HAN_RE.match(ch) is not None


def is_cjk_context(ch: str) -> bool:
    """True for a Han character or Chinese prose punctuation."""
    return bool(ch) and CJK_CONTEXT_RE.match(ch) is not None


def count_han(text: str) -> int:
    """Number of Han characters in ``text`` (runs, not single characters: ~4x faster)."""
    return len(text) - len(HAN_RUN_RE.sub("", text))


def split_lines(raw: str) -> list[str]:
    """Lines of ``raw`` for every newline convention; aligned one-to-one with the lines of
    the normalized text, which keeps every line and only rewrites within lines."""
    return NEWLINES_RE.sub("\n", raw).split("\n")


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters count two."""
    return len(text) + len(WIDE_RE.findall(text))
