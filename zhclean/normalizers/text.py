"""Unicode and punctuation normalization.

Web text mixes encodings of the same thing: CRLF and CR, NBSP and U+3000, full-width
digits, ASCII commas between Han characters, ``.`` used as a full stop. Downstream
splitting and tokenizing only work on one spelling of each, so this stage picks it.
Protected spans (URLs, domains, e-mails, decimals, versions) are never touched.
"""

from __future__ import annotations

import re
import unicodedata

from zhclean.chars import HAN_RANGES, SPACE_CHARS
from zhclean.document import Document
from zhclean.pipeline.base import PipelineStep
from zhclean.spans import in_spans, protected_spans

_NEWLINES_RE = re.compile(r"\r\n?|[\u2028\u2029\x85]")

# Zero-width, bidi and other invisible format characters, plus C0/C1 controls except \n.
_INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufffd"
)
_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t\x0b\x0c")
_CONTROLS += "\x7f" + "".join(chr(c) for c in range(0x80, 0xA0) if c != 0x85)

_TRANSLATE = {ord(c): None for c in _INVISIBLE + _CONTROLS}
# Private-use code points in web text are icon-font glyphs (share buttons, arrows).
_TRANSLATE.update({c: None for c in range(0xE000, 0xF900)})
_TRANSLATE.update({ord(c): " " for c in SPACE_CHARS})
# Full-width ASCII letters and digits become half-width.
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)})
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_TRANSLATE.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})

_SPACE_RUN_RE = re.compile(r" {2,}")
_LINE_EDGE_RE = re.compile(r" *\n *")

_HAN_OR_PUNCT = f"[{HAN_RANGES}。，、；：？！…“”‘’「」『』《》（）【】〔〕]"
_CLOSING = "”’」』）》】〕"

# Runs of ASCII , : ; ? ! next to Han convert as a unit, so "?!" and "?:" stay together.
_PUNCT_RUN_RE = re.compile(rf"(?<={_HAN_OR_PUNCT})[,:;?!]+|[,:;?!]+(?=[{HAN_RANGES}])")
# A single ASCII '.' right after Han (or a closing quote/bracket after Han) is a full stop,
# unless letters follow it: then it is a file extension or a domain (新闻.html, 中国.cn).
_FULL_STOP_RE = re.compile(
    rf"(?:(?<=[{HAN_RANGES}{_CLOSING}])|(?<=[{HAN_RANGES}]['\"]))\.(?![.A-Za-z])"
)
# A parenthesised group touching Han, or containing it.
_PAREN_PAIR_RE = re.compile(r"\(([^()\n]{0,200})\)")
_LONE_PAREN_RE = re.compile(rf"(?<=[{HAN_RANGES}])[()]|[()](?=[{HAN_RANGES}])")
_HAN_RE = re.compile(f"[{HAN_RANGES}]")

_FULLWIDTH = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}


def _sub_outside(pattern: re.Pattern[str], text: str, repl, spans: list[tuple[int, int]]) -> str:
    def _repl(m: re.Match[str]) -> str:
        if spans and in_spans(m.start(), spans):
            return m.group()
        return repl(m)

    return pattern.sub(_repl, text)


def _paren_pair(m: re.Match[str], text: str) -> str:
    start, end = m.span()
    inner = m.group(1)
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if _HAN_RE.search(inner) or _HAN_RE.match(before or " ") or _HAN_RE.match(after or " "):
        return f"（{inner}）"
    return m.group()


def normalize_punctuation(text: str) -> str:
    """Make ASCII punctuation full-width where it punctuates Chinese, and ``.`` a ``。``."""
    if not _HAN_RE.search(text):
        return text
    # Every substitution below is one character for one, so span offsets stay valid.
    spans = protected_spans(text)
    text = _sub_outside(_PAREN_PAIR_RE, text, lambda m: _paren_pair(m, m.string), spans)
    text = _sub_outside(_LONE_PAREN_RE, text, lambda m: _FULLWIDTH[m.group()], spans)
    text = _sub_outside(_FULL_STOP_RE, text, lambda m: "。", spans)
    return _sub_outside(
        _PUNCT_RUN_RE, text, lambda m: "".join(_FULLWIDTH[c] for c in m.group()), spans
    )


def split_raw_lines(raw: str) -> list[str]:
    """Lines of the raw text, aligned one-to-one with the lines of ``normalize_text(raw)``."""
    return _NEWLINES_RE.sub("\n", raw).split("\n")


def normalize_text(raw: str) -> str:
    """Return the normalized form of ``raw``: one spelling for newlines, spaces and punctuation.

    Newlines become ``\\n``; text is NFC; zero-width and control characters are deleted;
    private-use icon glyphs are
    deleted; every kind of space becomes one ASCII space; full-width letters and digits become
    half-width; lines are stripped; ASCII punctuation in Chinese context becomes
    full-width. Blank lines are kept: they mark paragraph breaks for hard-wrap repair.
    """
    text = _NEWLINES_RE.sub("\n", raw)
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_TRANSLATE)
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _LINE_EDGE_RE.sub("\n", text).strip(" ")
    return "\n".join(normalize_punctuation(line) for line in text.split("\n"))


class TextNormalizer(PipelineStep):
    """Normalize ``raw_text`` into ``text``; the raw text stays on the document."""

    name = "normalize"

    def process(self, doc: Document) -> None:
        doc.text = normalize_text(doc.raw_text)
        self.count("chars_in", len(doc.raw_text))
        self.count("chars_out", len(doc.text))
        if not doc.text.strip():
            doc.reject(
                self.name,
                "empty_text",
                "no text: the file is empty or holds only whitespace and invisible characters",
                f"{doc.raw_bytes} bytes",
            )
