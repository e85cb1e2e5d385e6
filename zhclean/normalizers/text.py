"""Unicode and punctuation normalization.

Web text mixes encodings of the same thing: CRLF and CR, NBSP and U+3000, full-width
digits, ASCII commas between Han characters, ``.`` used as a full stop. Downstream
splitting and tokenizing only work on one spelling of each, so this stage picks it.
Protected spans (URLs, domains, e-mails, decimals, versions) are never touched.
"""

from __future__ import annotations

import re
import unicodedata

from zhclean.core.chars import (
    CJK_PROSE_PUNCT,
    HAN,
    HAN_RANGES,
    HAN_RE,
    NEWLINES_RE,
    SPACE_CHARS,
)
from zhclean.core.record import Document
from zhclean.core.spans import in_spans, protected_spans
from zhclean.core.step import Step
from zhclean.normalizers.punctuation import FULL_STOP_RE, collapsed_lines

# Zero-width, bidi and other invisible format characters, plus C0/C1 controls except \n.
_INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffd"
)
_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t\x0b\x0c")
_CONTROLS += "\x7f" + "".join(chr(c) for c in range(0x80, 0xA0) if c != 0x85)

# Noncharacters (U+FDD0-U+FDEF and the last two code points of every plane: U+FFFE,
# U+FFFF, ..., U+10FFFF) are never text: Unicode keeps them for a program's internal use.
_NONCHARACTERS = [*range(0xFDD0, 0xFDF0)] + [
    plane + last for plane in range(0, 0x110000, 0x10000) for last in (0xFFFE, 0xFFFF)
]
_NONCHARACTER_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _NONCHARACTERS) + "]")
NONCHARACTERS = "normalize.noncharacters"

_TRANSLATE = {ord(c): None for c in _INVISIBLE + _CONTROLS}
_TRANSLATE.update(dict.fromkeys(_NONCHARACTERS))
# Private-use code points in web text are icon-font glyphs (share buttons, arrows).
_TRANSLATE.update({c: None for c in range(0xE000, 0xF900)})
_TRANSLATE.update({ord(c): " " for c in SPACE_CHARS})
# Full-width ASCII letters and digits become half-width.
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)})
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})

# Most documents hold none of the characters the table changes: check before copying.
_NEEDS_TRANSLATE_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TRANSLATE)) + "]")
_SPACE_RUN_RE = re.compile(r" {2,}")
_WORD_RE = re.compile(r"[^\W_]")
_LINE_EDGE_RE = re.compile(r" *\n *")

# Each pass finds its literal character first (so the regex engine skips ahead fast) and
# checks the context with lookarounds, so only the matches that change call Python.
# A parenthesised group touching Han, or containing it.
_PAREN_PAIR_RE = re.compile(r"\(([^()\n]{0,200})\)")
# A lone ASCII parenthesis with Han on either side. Every pattern starts with its literal
# characters (a lookbehind first would be tried at every position of the text).
_LONE_PAREN_RE = re.compile(f"[()](?:(?<={HAN}[()])|(?={HAN}))")
# A single ASCII '.' right after Han (or a closing quote/bracket after Han) is a full stop,
# unless letters follow it: then it is a file extension or a domain (新闻.html, 中国.cn).
# Han, a closing mark or a quote before it also means it does not follow another '.'.
# Lines whose 。，、 were all collapsed to '.' keep their dots for the punctuation step
# (zhclean/normalizers/punctuation.py), which gives each its mark back.
_FULL_STOP_RE = FULL_STOP_RE
# Runs of ASCII , : ; ? ! next to Han convert as a unit, so "?!" and "?:" stay together:
# a run converts when Chinese context precedes it or Han follows it. Nearly every run in
# Chinese text converts, so the pass finds the runs that stay (this pattern: a maximal run
# with neither) and converts everything between them with str.replace, which costs no
# Python call per run.
_PUNCT = "[,:;?!]"
_ASCII_RUN_RE = re.compile(
    f"{_PUNCT}(?<![{HAN_RANGES}{CJK_PROSE_PUNCT},:;?!]{_PUNCT}){_PUNCT}*(?!{_PUNCT}|{HAN})"
)
# A maximal run, found from its first character (none of , : ; ? ! before it).
_RUN_START_RE = re.compile(f"{_PUNCT}(?<!{_PUNCT}{_PUNCT})")
_RUN_RE = re.compile(f"{_PUNCT}+")

_FULLWIDTH = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}


def _lone_paren(m: re.Match[str]) -> str:
    return _FULLWIDTH[m.group()]


def _full_stop(_m: re.Match[str]) -> str:
    return "。"


def _fullwidth_ascii(text: str) -> str:
    """``text`` with every ASCII , : ; ? ! full-width (str.replace: no Python per match)."""
    for ascii_mark in ",:;?!":
        text = text.replace(ascii_mark, _FULLWIDTH[ascii_mark])
    return text


def _fullwidth_punct_runs(text: str, spans: list[tuple[int, int]]) -> str:
    """Convert the runs of ASCII , : ; ? ! in Chinese context, except those that start
    inside a protected span: every other run is converted, between the ones that stay."""
    keep = [m.span() for m in _ASCII_RUN_RE.finditer(text)]
    if spans:
        for start, end in spans:
            for m in _RUN_START_RE.finditer(text, start, end):
                keep.append(_RUN_RE.match(text, m.start()).span())
        keep = sorted(set(keep))  # runs are disjoint: a run kept for both reasons is one
    pieces = []
    pos = 0
    for start, end in keep:
        pieces.append(_fullwidth_ascii(text[pos:start]))
        pieces.append(text[start:end])
        pos = end
    pieces.append(_fullwidth_ascii(text[pos:]))
    return "".join(pieces)


def _sub_outside(pattern: re.Pattern[str], text: str, repl, spans: list[tuple[int, int]]) -> str:
    if not spans:  # most documents: no wrapper call per match
        return pattern.sub(repl, text)

    def _repl(m: re.Match[str]) -> str:
        if in_spans(m.start(), spans):
            return m.group()
        return repl(m)

    return pattern.sub(_repl, text)


def _paren_pair(m: re.Match[str], text: str) -> str:
    start, end = m.span()
    inner = m.group(1)
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if HAN_RE.search(inner) or HAN_RE.match(before or " ") or HAN_RE.match(after or " "):
        return f"（{inner}）"
    return m.group()


def normalize_punctuation(text: str) -> str:
    """Make ASCII punctuation full-width where it punctuates Chinese, and ``.`` a ``。``
    (except in lines whose 。，、 were collapsed to ``.``: see :func:`normalize_lines`)."""
    return _normalize_punctuation(text)[0]


def _line_spans(text: str, lines: dict[int, list[int]]) -> list[tuple[int, int]]:
    """The (start, end) offsets of the given lines of ``text``."""
    wanted = set(lines)
    out, start = [], 0
    for i, line in enumerate(text.split("\n")):
        if i in wanted:
            out.append((start, start + len(line)))
        start += len(line) + 1
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans covering the same offsets (``in_spans`` needs them)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _normalize_punctuation(text: str) -> tuple[str, dict[int, list[int]]]:
    if not HAN_RE.search(text):
        return text, {}
    # Every substitution below is one character for one, so span offsets stay valid.
    spans = protected_spans(text)
    for _ in range(4 if "(" in text else 0):  # nested pairs convert inside out: "((们))"
        converted = _sub_outside(_PAREN_PAIR_RE, text, lambda m: _paren_pair(m, m.string), spans)
        if converted == text:
            break
        text = converted
    if "(" in text or ")" in text:
        text = _sub_outside(_LONE_PAREN_RE, text, _lone_paren, spans)
    collapsed: dict[int, list[int]] = {}
    if "." in text:
        collapsed = collapsed_lines(text, spans)
        # a collapsed line keeps its dots: the ``.`` pass skips it as a protected span
        skip = _merged(spans + _line_spans(text, collapsed)) if collapsed else spans
        text = _sub_outside(_FULL_STOP_RE, text, "。" if not skip else _full_stop, skip)
    return _fullwidth_punct_runs(text, spans), collapsed


def _has_any(text: str, chars: str) -> bool:
    return any(c in text for c in chars)


def normalize_text(raw: str) -> str:
    """Return the normalized form of ``raw``: one spelling for newlines, spaces and punctuation.

    Lines whose 。，、 were collapsed to ``.`` keep their dots (see :func:`normalize_lines`).
    """
    return normalize_lines(raw)[0]


def normalize_lines(raw: str) -> tuple[str, dict[int, list[int]]]:
    """The normalized form of ``raw`` and the lines whose 。，、 were all written as ``.``
    (line index → offsets of its dots after Han; the dots are left for the punctuation
    step).

    Newlines become ``\\n``; text is NFC; zero-width and control characters, noncharacters
    and private-use icon glyphs are deleted; every kind of space becomes one ASCII space;
    full-width letters and digits become half-width; lines are stripped; ASCII punctuation
    in Chinese context becomes full-width. Blank lines are kept: they mark paragraph breaks for hard-wrap
    repair. No pattern crosses a newline, so the punctuation passes run on the whole text.
    """
    # Each pass first asks (with a fast literal search) whether it has anything to do.
    text = NEWLINES_RE.sub("\n", raw) if _has_any(raw, "\r\u2028\u2029\x85") else raw
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _NEEDS_TRANSLATE_RE.search(text):
        text = text.translate(_TRANSLATE)
    if "  " in text:
        text = _SPACE_RUN_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_RE.sub("\n", text)
    text = text.strip(" ")
    return _normalize_punctuation(text)


class TextNormalizer(Step):
    """Normalize ``raw_text`` (or the text an HTML input was converted to) into ``text``;
    the raw text stays on the document."""

    name = "normalize"

    def reasons(self) -> dict[str, str]:
        return {
            NONCHARACTERS: "Unicode noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF, ...) were "
            "deleted; the entry says how many and which"
        }

    def process(self, doc: Document) -> None:
        found = _NONCHARACTER_RE.findall(doc.input_text)
        if found:  # deleted by normalize_text with the other invisible characters
            kinds = sorted(set(found))
            shown = ", ".join(f"U+{ord(c):04X}" for c in kinds[:5]) + (", ..." if kinds[5:] else "")
            doc.removed.append((NONCHARACTERS, f"{len(found)} noncharacter(s) deleted: {shown}"))
            self.count("noncharacters_deleted", len(found))
        doc.text, doc.collapsed_lines = normalize_lines(doc.input_text)
        self.count("chars_in", len(doc.input_text))
        self.count("chars_out", len(doc.text))
        if not doc.text.strip():
            doc.reject(
                self.name,
                "empty_text",
                "no text: the file is empty or holds only whitespace and invisible characters",
                f"{doc.raw_bytes} bytes",
            )
        elif not _WORD_RE.search(doc.text):
            doc.reject(
                self.name,
                "no_words",
                "no words: the file holds no letters, digits or Han characters, only symbols, "
                "emoji or punctuation",
                doc.text[:100],
            )
