"""Protected spans: URLs, e-mail addresses, domains, versions, decimals and percentages.

Their dots and colons are not punctuation, so the normalizer leaves them alone, the
splitter never breaks inside them and the tokenizer emits each one as a single token.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from zhclean.core.chars import URL_STOP

_TLD = (
    "com|cn|net|org|gov|edu|info|biz|io|co|uk|jp|hk|tw|mo|sg|us|de|fr|ru|kr|tv|cc|me|mil|int|"
    "top|xyz|site|online|name|asia|au|ca|in|it|nl|es|se|ch"
)

PROTECTED_RE = re.compile(
    r"""
    (?:https?|ftp)://[^"""
    + URL_STOP
    + r"""]+  # URL (ends at Han)
  | [A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+                # e-mail
  | (?<![A-Za-z0-9@.\-])(?:www\.)?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*
      \.(?:"""
    + _TLD
    + r""")(?![A-Za-z0-9\-])(?:/[^"""
    + URL_STOP
    + r"""]*)?  # domain + path
  | (?<![A-Za-z0-9.])[vV]\d+(?:[.．]\d+)+[A-Za-z]?(?![\d.])                 # v2.0, v2.3.1
  | (?<![A-Za-z0-9.．])\d+(?:[.．]\d+)+(?:[%％‰])?(?![\d])                   # 1.789, 3.2.1, 99.7%
  | (?<![A-Za-z0-9.．])\d+[%％‰]                                            # 47%
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Characters without which no protected span can occur: a cheap pre-check.
_TRIGGERS = re.compile(r"[.．@%％‰:/]")
# Every protected span lies inside one run of these (the URL character class): scanning
# only the runs that hold a trigger keeps the big pattern off the Han text.
_RUN_RE = re.compile(f"[^{URL_STOP}]+")


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of every protected span in ``text``, in order.

    The runs are found from their triggers: the literal trigger scan is fast, a scan of
    every run (or a lookbehind for run starts) is slow over Han text, whose class is large.
    A run's start is its end in the reversed text.
    """
    trigger = _TRIGGERS.search(text)
    if trigger is None:
        return []
    spans: list[tuple[int, int]] = []
    reverse = text[::-1]  # reverse[n - 1 - i] == text[i]
    n = len(text)
    run_from, finditer = _RUN_RE.match, PROTECTED_RE.finditer
    while trigger is not None:
        pos = trigger.start()
        start = n - run_from(reverse, n - 1 - pos).end()
        end = run_from(text, pos).end()
        spans.extend(m.span() for m in finditer(text, start, end))
        trigger = _TRIGGERS.search(text, end)
    return spans


def in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    """True when offset ``pos`` lies inside one of ``spans`` (sorted, non-overlapping).

    Binary search: a 5 MB line can hold tens of thousands of numbers.
    """
    i = bisect_right(spans, (pos, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]
