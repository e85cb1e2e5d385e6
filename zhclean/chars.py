"""Character classes shared by every stage, so that "Chinese context" means one thing."""

from __future__ import annotations

import re

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, and the supplementary
# planes' extensions B-G. These are what "Han" means everywhere in zhclean.
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
HAN = f"[{HAN_RANGES}]"
HAN_RE = re.compile(HAN)

# Full-width and CJK punctuation that can sit next to Han text in running prose.
CJK_PUNCT = "。，、；：？！…—·“”‘’「」『』《》〈〉（）〔〕【】［］｛｝﹁﹂﹃﹄～．｡"
CJK_PUNCT_SET = frozenset(CJK_PUNCT)

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

SPACE_CHARS = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\t\x0b\x0c"
)


def is_han(ch: str) -> bool:
    """True for one CJK ideograph (any block zhclean treats as Han)."""
    return bool(ch) and HAN_RE.match(ch) is not None


def is_cjk_context(ch: str) -> bool:
    """True for a Han character or CJK punctuation: what makes ASCII punctuation 'Chinese'."""
    return bool(ch) and (ch in CJK_PUNCT_SET or HAN_RE.match(ch) is not None)


def count_han(text: str) -> int:
    """Number of Han characters in ``text``."""
    return len(HAN_RE.findall(text))
