"""Lossless Chinese sentence splitting (GB/T 15834-2011 plus what web text needs).

``split_sentences(text)`` returns pieces whose concatenation is exactly ``text``. A piece
ends after a terminator (``。！？`` and runs of them; ``!``/``?`` and a full-stop ``.``/``．``
in Chinese context; an ellipsis followed by a new sentence; in English, ``. ! ?`` before
a capital, except after abbreviations) together with any closing quote it ends and the
whitespace after it, or at a newline.

Quotes and brackets are matched per line with a capped stack. Nothing inside a bracket
ends the outer sentence. A terminator inside a quotation ends a sentence only when it sits
at the very end of the quotation and the text after the closing quote neither continues
(``，、：；``) nor is a short speech attribution that ends the sentence (``」他说。``); an
attribution that introduces a new quotation (``”我答：“``, ``”他说，“``) starts a new one. Unmatched quotes and brackets
protect nothing, so a stray ``「`` never swallows the rest of a document.

The hot path is a regex scan for terminator runs; only lines that contain quotes or
brackets pay for pair matching.
"""

from __future__ import annotations

import re

from zhclean.core.chars import (
    BRACKET_PAIRS,
    CLOSERS,
    CONTINUATION,
    HAN_RANGES,
    HAN_RE,
    QUOTE_PAIRS,
    is_cjk_context,
)
from zhclean.core.spans import in_spans, protected_spans

MAX_DEPTH = 8
# A quote or bracket "pair" wider than this is treated as two strays, so one bad mark
# cannot glue a whole paragraph into one sentence.
MAX_PAIR_SPAN = 500

_STRONG = frozenset("。！？｡")
_ASCII_QE = frozenset("!?")
_DOTS = frozenset(".．")
_TERM_RUN_RE = re.compile(r"[。！？｡!?．.…]+")
_HAS_TERM_RE = re.compile(r"[。！？｡!?．.…]")

_OPEN_TO_CLOSE = {**QUOTE_PAIRS, **BRACKET_PAIRS}
_SYMMETRIC = frozenset('"＂')
_APOSTROPHES = frozenset("'＇")
_QB_CHARS = (
    "".join(_OPEN_TO_CLOSE) + "".join(_OPEN_TO_CLOSE.values()) + "".join(_SYMMETRIC | _APOSTROPHES)
)
_QB_RE = re.compile("[" + re.escape(_QB_CHARS) + "]")
_QUOTE_CLOSERS = frozenset(QUOTE_PAIRS.values()) | _SYMMETRIC | _APOSTROPHES


# "一." / "1." / "A." at the start of a line or sentence is a list marker, not a full stop.
_LIST_MARKER_RE = re.compile(
    r"\s*(?:\d{1,3}|[一二三四五六七八九十百零〇]{1,4}|[A-Za-z]|[ivxIVX]{1,4})[.．](?![.．\d])"
)
# A short speech attribution right after a quotation keeps the quotation in its sentence
# when it ends that sentence ("“一定来。”他说。"). One that introduces a new quotation
# ("…吗？”我答：“一定来。”", "…”他说，“明天见。”") starts a new sentence.
_ATTRIBUTION_RE = re.compile(
    r"\s*[^\s，。！？；：,.!?;:“”「」『』\"]{0,6}?"
    r"(?:说|說|问|問|道|答|回答|答道|表示|喊|喊道|叫道|笑道|称|稱|补充|補充|补充道|補充道|追问|追問|"
    r"反问|反問|解释|解釋|强调|強調|感叹|感嘆|嘀咕)"
    r"([。！？，,：:；!?])"
)
_OPENING_QUOTES = frozenset('“「『‘"')


def _attribution_ends_sentence(line: str, end: int) -> bool:
    """True when a speech attribution follows the quotation closing at ``end`` and does
    not introduce a new quotation: the quotation and the attribution are one sentence."""
    m = _ATTRIBUTION_RE.match(line, end)
    if m is None:
        return False
    mark = m.group(1)
    if mark in "：:":
        return False  # 我答：“…”: a new quotation, a new sentence
    if mark in "，,":
        rest = line[m.end() :].lstrip()
        return rest[:1] not in _OPENING_QUOTES  # 他说，“…”: a new quotation
    return True


def _han_before(line: str, i: int) -> bool:
    """True when the nearest character before ``i``, skipping closers, is Han."""
    j = i - 1
    while j >= 0 and (line[j] in CLOSERS or line[j] in "'\""):
        j -= 1
    return j >= 0 and HAN_RE.match(line[j]) is not None


def _apostrophe_role(line: str, i: int) -> str | None:
    prev = line[i - 1] if i else ""
    nxt = line[i + 1] if i + 1 < len(line) else ""
    if not (is_cjk_context(prev) or is_cjk_context(nxt)):
        return None  # an English apostrophe or a prime, not a quote
    if nxt and not nxt.isspace() and not (prev.isalnum() and prev.isascii()):
        return "open"
    if prev and not prev.isspace():
        return "close"
    return None


def _match_pairs(line: str) -> list[tuple[int, int, bool]]:
    """Matched (open, close, is_quote) pairs in ``line``; strays are dropped."""
    pairs: list[tuple[int, int, bool]] = []
    stack: list[tuple[str, int, bool]] = []
    for m in _QB_RE.finditer(line):
        ch = m.group()
        i = m.start()
        closer = _OPEN_TO_CLOSE.get(ch)
        if closer is not None:  # an opener (never a symmetric quote or an apostrophe)
            if len(stack) < MAX_DEPTH:
                stack.append((closer, i, ch in QUOTE_PAIRS))
        elif ch in _SYMMETRIC or ch in _APOSTROPHES:
            role = "toggle" if ch in _SYMMETRIC else _apostrophe_role(line, i)
            if role is None:
                continue
            if stack and stack[-1][0] == ch and role != "open":
                _, start, _ = stack.pop()
                if i - start <= MAX_PAIR_SPAN:
                    pairs.append((start, i, True))
            elif role != "close" and len(stack) < MAX_DEPTH:
                stack.append((ch, i, True))
        else:
            for k in range(len(stack) - 1, -1, -1):
                if stack[k][0] == ch:
                    start, is_quote = stack[k][1], stack[k][2]
                    del stack[k:]
                    if i - start <= MAX_PAIR_SPAN:
                        pairs.append((start, i, is_quote))
                    break
    return pairs


class _Containment:
    """Pairs enclosing a position, for positions visited in increasing order.

    Matched pairs are nested or disjoint (they come from a stack), so a single sweep
    with a stack answers every query in amortized constant time, even on a 5 MB line.
    """

    def __init__(self, pairs: list[tuple[int, int, bool]]) -> None:
        self.pairs = sorted(pairs)
        self.closes = {p[1] for p in pairs}
        self.next = 0
        self.stack: list[tuple[int, int, bool]] = []

    def at(self, pos: int) -> list[tuple[int, int, bool]]:
        """Pairs with open < pos < close, outermost first."""
        while self.next < len(self.pairs) and self.pairs[self.next][0] < pos:
            pair = self.pairs[self.next]
            while self.stack and self.stack[-1][1] < pair[0]:
                self.stack.pop()
            self.stack.append(pair)
            self.next += 1
        while self.stack and self.stack[-1][1] <= pos:
            self.stack.pop()
        # The stack is a chain of nested pairs (closes decrease towards the top): once the
        # top closes after pos, every pair under it does too.
        return self.stack.copy()


def _end_of_quotation(
    line: str, e: int, containing: list[tuple[int, int, bool]], closes: set[int]
) -> int | None:
    """Where the sentence ends for a terminator ending at ``e``, or None if it does not end.

    Inside a bracket nothing ends. Inside quotations the terminator must be followed
    directly by the closing quote(s), after which no quote or bracket may remain open.
    """
    if not containing:
        end = e
        while end < len(line) and line[end] in CLOSERS and end not in closes:
            end += 1  # unmatched closing marks stay with the sentence they close
        return end
    if any(not is_quote for _, _, is_quote in containing):
        return None
    end = e
    for _, close, _ in reversed(containing):  # innermost (first to close) first
        if close != end:
            return None
        end += 1
    return end


# English: ". " (or "! ", "? ") then a capital letter or Han ends a sentence, unless the word
# before the dot is an abbreviation, an initial or dotted (U.S., e.g.).
_EN_NEXT_RE = re.compile(rf"\s+[\"'“‘(\[]?[A-Z{HAN_RANGES}]")
_EN_WORD_BEFORE_RE = re.compile(r"[A-Za-z][A-Za-z.]*$")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "no",
        "vol",
        "fig",
        "pp",
        "ed",
        "eds",
        "rev",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)


def _english_stop(line: str, s: int, e: int) -> bool:
    if s == 0 or not _EN_NEXT_RE.match(line, e):
        return False
    prev = line[s - 1]
    if not (prev.isascii() and (prev.isalnum() or prev in ")\"'")):
        return False
    if line[s] == ".":
        word = _EN_WORD_BEFORE_RE.search(line, 0, s)
        if word and (
            "." in word.group() or len(word.group()) == 1 or word.group().lower() in _ABBREVIATIONS
        ):
            return False
    return True


def _boundaries_in_line(line: str, base: int, out: list[int]) -> None:
    n = len(line)
    containment = _Containment(_match_pairs(line)) if _QB_RE.search(line) else None
    spans: list[tuple[int, int]] | None = None
    sentence_start = 0
    for m in _TERM_RUN_RE.finditer(line):
        s, e = m.span()
        run = m.group()
        ellipsis = False
        if run in _STRONG or not _STRONG.isdisjoint(run):  # a lone 。 (most runs) first
            pass
        elif not _ASCII_QE.isdisjoint(run):
            prev = line[s - 1] if s else ""
            nxt = line[e] if e < n else ""
            if not (is_cjk_context(prev) or HAN_RE.match(nxt or " ") or _english_stop(line, s, e)):
                continue
        elif len(run) <= 2 and _DOTS.issuperset(run):
            # after Han, but not a file extension or domain (新闻.html): letters follow those
            chinese = _han_before(line, s) and not (
                e < n and line[e].isascii() and line[e].isalpha()
            )
            if not chinese and not (run == "." and _english_stop(line, s, e)):
                continue
            marker = _LIST_MARKER_RE.match(line, sentence_start)
            if marker and s < marker.end():
                continue
            if spans is None:
                spans = protected_spans(line)
            if spans and in_spans(s, spans):
                continue
        else:
            ellipsis = True  # "……", "…", "...", "......"

        end = e
        if containment is not None:
            containing = containment.at(s)
            if containing:
                found = _end_of_quotation(line, e, containing, containment.closes)
                if found is None:
                    continue
            else:  # _end_of_quotation's first case, inline: most terminators are outside pairs
                found = e
                while found < n and line[found] in CLOSERS and found not in containment.closes:
                    found += 1
            closed_quote = found > e and line[found - 1] in _QUOTE_CLOSERS
            end = found
            if closed_quote and _attribution_ends_sentence(line, end):
                continue
        if ellipsis and (end >= n or not line[end].isspace()):
            continue  # an ellipsis pauses inside a sentence unless a new one visibly starts
        if end < n and line[end] in CONTINUATION:
            continue
        while end < n and line[end].isspace():
            end += 1
        if end < n:
            out.append(base + end)
            sentence_start = end


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; ``"".join(split_sentences(text)) == text``.

    Whitespace after a sentence stays with it; leading whitespace and blank lines join
    the sentence that follows. No piece is empty, and only an all-whitespace input yields
    an all-whitespace piece.
    """
    if not text:
        return []
    bounds: list[int] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        if _HAS_TERM_RE.search(line):
            _boundaries_in_line(line, pos, bounds)
        pos += len(line)
        bounds.append(pos)
    pieces: list[str] = []
    start = 0
    total = len(text)
    for b in bounds:
        if b <= start or b >= total:
            continue
        piece = text[start:b]
        if piece.isspace():
            continue
        pieces.append(piece)
        start = b
    tail = text[start:]
    if tail.isspace() and pieces:
        pieces[-1] += tail
    elif tail:
        pieces.append(tail)
    return pieces
