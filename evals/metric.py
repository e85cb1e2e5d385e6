"""The content P/R/F1 metric of the webtext-dev README, and date/author comparison."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from zhclean.core.simplify import to_simplified

_KEEP_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]")


def shingles(text: str, n: int = 4) -> Counter:
    """Multiset of overlapping ``n``-character shingles of the text's ideographs/alnum.

    Step 0 of the README: the text is converted to Simplified (OpenCC ``t2s``) first, so
    a Traditional gold text and the pipeline's Simplified output compare character by
    character.
    """
    kept = "".join(_KEEP_RE.findall(to_simplified(text)))
    return Counter(kept[i : i + n] for i in range(len(kept) - n + 1))


def content_prf(pred: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``pred`` against ``gold`` (README definition)."""
    p, g = shingles(pred), shingles(gold)
    overlap = sum((p & g).values())
    precision = overlap / sum(p.values()) if p else 0.0
    recall = overlap / sum(g.values()) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


_GOLD_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?$"
)


def gold_date_parts(gold: str) -> tuple[int, ...] | None:
    """The components a gold date gives (year … second), or None if it is not a date."""
    m = _GOLD_DATE_RE.match(gold.strip())
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def date_matches(pred: datetime | None, gold: str) -> bool:
    """True when ``pred`` agrees with ``gold`` at the precision the gold gives."""
    parts = gold_date_parts(gold)
    if parts is None or pred is None:
        return False
    have = (pred.year, pred.month, pred.day, pred.hour, pred.minute, pred.second)
    return have[: len(parts)] == parts


def _canon_author(text: str) -> str:
    return re.sub(r"[\s、，,;；/]+", "", text)


def author_matches(pred: str | None, gold: str) -> bool:
    """Exact match after removing whitespace and name separators."""
    return pred is not None and _canon_author(pred) == _canon_author(gold)
