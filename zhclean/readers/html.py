"""HTML saved as text: find it, and turn it into the text a crawler dump would hold.

Crawlers sometimes store the page itself instead of its text. Cleaned as text, its tags,
scripts, styles and ``&gt;`` end up in ``text``, ``sentences`` and ``tokens``. This step
finds such pages and converts them with a real HTML5 parser (selectolax, on Lexbor)
into the shape the cleaner is tuned for: one block element per line (each table cell
too), inline elements joined into their block, ``<title>`` first, script, style,
noscript, template and form controls dropped, entities decoded. The boilerplate
stripper then cleans the result like any other page. ``raw_text`` keeps the decoded
input; the conversion is recorded in ``documents.removed`` as ``html.converted``.

Lexbor builds deep trees in quadratic time (50,000 nested ``<div>`` take seconds, a few
hundred thousand never finish) and re-checks every option of a ``<select>`` for each new
one; its tree takes about 150 bytes a node. A linear pass over the tags measures the page
first: one nested deeper than ``MAX_DEPTH`` (``html.too_deep``) or with more than
``MAX_TAGS`` tags (``html.too_many_tags``) is quarantined instead of being parsed, and
option tags, whose text is dropped anyway, are cut out before parsing.
"""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from zhclean.core.markup import HTML_TAGS, TAG_RE, names
from zhclean.core.record import Document
from zhclean.core.step import Step

CONVERTED = "html.converted"
# Deeper than any real page (they stay under a few hundred); Lexbor's time grows with
# depth x tags.
MAX_DEPTH = 1000
# A real 8 MB page holds about 300,000 tags. The tree costs about 150 bytes a node; the
# worst page within both limits (495,000 <p> under 999 <div>) measured 2.2 s and +316 MB.
MAX_TAGS = 500_000

# ------------------------------------------------------------------------- detection

_DOC_START_RE = re.compile(
    r"\A\ufeff?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    r"(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title>)",
    re.IGNORECASE | re.DOTALL,
)
SAMPLE_CHARS = 200_000


@dataclass(frozen=True)
class MarkupScore:
    """The markup evidence in the start of a text."""

    tags: int  # tags with a known HTML element name, start or end
    structure: int  # end tags and <br>: what real markup has and prose mentioning a tag lacks
    markup_chars: int  # characters inside those tags
    chars: int
    doc_start: bool  # the text starts as a document: <!DOCTYPE html>, <html>, <head>, <meta>…

    @property
    def is_html(self) -> bool:
        if self.doc_start:
            return True
        if self.tags < 4 or self.structure < 2:
            return False
        # a page or a fragment: a real share of the characters is markup
        return self.markup_chars >= 0.05 * max(self.chars, 1) or self.structure >= 20


def markup_score(text: str, sample_chars: int = SAMPLE_CHARS) -> MarkupScore:
    """Count the markup in the first ``sample_chars`` characters (bounded cost)."""
    sample = text[:sample_chars]
    doc_start = bool(_DOC_START_RE.match(sample[:4096]))
    if not doc_start and sample.count("</") + sample.count("<br") + sample.count("<BR") < 2:
        return MarkupScore(0, 0, 0, len(sample), False)  # the usual case, at C speed
    tags = structure = chars = 0
    for m in TAG_RE.finditer(sample):
        name = m.group(2).lower()
        if name not in HTML_TAGS:
            continue
        tags += 1
        chars += m.end() - m.start()
        if m.group(1) or name == "br":
            structure += 1
    return MarkupScore(tags, structure, chars, len(sample), doc_start)


def looks_like_html(text: str) -> bool:
    """Is this text an HTML page or fragment, rather than text that mentions a tag?

    Text that quotes a tag (a comment form's "you may use <a href=""> <b>"), uses ``<<``
    and ``>>`` as arrows or ``<书名>`` as title marks is not: a page has end tags or line
    breaks, and markup makes up a real share of it.
    """
    return markup_score(text).is_html


# ---------------------------------------------------------------------- the guard

# One linear pass over the tokens that matter for the tree's shape: comments and raw-text
# elements are skipped whole (their content is not markup; unclosed, they run to the
# end, as in a browser), and start and end tags are read with quoted attribute values.
_TOKEN_RE = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext)(?=[\s/>])"
    r"(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>.*?(?:</\1\s*>|\Z)"
    r"|<(/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^<>\"'/]|/(?!>)|\"[^\"]*\"|'[^']*')*)(/?)>",
    re.IGNORECASE | re.DOTALL,
)
# Elements that never hold children, and those a sibling closes (<p>, <li>, <td>…):
# neither makes the tree deeper.
_VOID = names(
    "area base basefont bgsound br col embed frame hr img input keygen link meta param "
    "source track wbr"
)
_OPTIONAL_END = names(
    "p li dt dd option optgroup rb rt rtc rp tr td th thead tbody tfoot colgroup caption "
    "html head body"
)
# A start tag of these closes an open one of the same name first (<a> in <a>, …).
_NO_SELF_NESTING = names("a nobr button form h1 h2 h3 h4 h5 h6")


class HtmlRefused(ValueError):
    """A page the parser would take too long or too much memory for; ``check`` says why."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(reason)
        self.check = check


@dataclass(frozen=True)
class Shape:
    depth: int  # how deep elements nest (an estimate of the parser's open elements)
    tags: int  # start and end tags
    options: list[tuple[int, int]]  # spans of <option> tags, cut out before parsing


def page_shape(html: str) -> Shape:
    """Estimate how deep the parser's tree gets, in one linear pass (no parsing).

    End tags pop to the matching open element, as a browser does; an end tag with no
    open element of its name is ignored. Elements closed by a sibling or by ``/>`` in
    SVG and MathML do not count.
    """
    stack: list[str] = []
    open_count: Counter[str] = Counter()
    top = tags = 0
    options: list[tuple[int, int]] = []
    for m in _TOKEN_RE.finditer(html):
        name = m.group(3)
        if name is None:
            tags += m.group(1) is not None
            continue
        tags += 1
        name = name.lower()
        if name == "option":
            options.append(m.span())
            continue
        if m.group(2):  # end tag
            if open_count[name]:
                while stack:
                    last = stack.pop()
                    open_count[last] -= 1
                    if last == name:
                        break
            continue
        if name in _VOID or name in _OPTIONAL_END:
            continue
        if m.group(5) and (open_count["svg"] or open_count["math"]):
            continue  # <path/> in SVG: closed at once
        if name in _NO_SELF_NESTING and open_count[name]:
            while stack:
                last = stack.pop()
                open_count[last] -= 1
                if last == name:
                    break
        stack.append(name)
        open_count[name] += 1
        top = max(top, len(stack))
    return Shape(top, tags, options)


# ------------------------------------------------------------------- conversion

BLOCK_TAGS = names(
    """address article aside blockquote body caption center dd details dialog dir div dl dt
    fieldset figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html
    legend li main menu nav ol p pre section summary table tbody td tfoot th thead title tr
    ul"""
)
# Removed with everything inside them: code, styles, fallbacks, embedded objects and
# form controls are not the page's text.
SCRIPT_TAGS = ["script", "style", "noscript", "template"]
DROP_TAGS = [
    *SCRIPT_TAGS, "head", "iframe", "object", "embed", "svg", "math", "canvas", "select",
    "datalist", "textarea", "button", "input", "noembed", "noframes", "xmp", "audio",
    "video", "map",
]  # fmt: skip
_BLOCK_CSS = ", ".join(sorted(BLOCK_TAGS - {"html", "body", "title"}))
# Marks line ends in the tree's text; private use, so it is never in a page's text (and
# the normalizer would remove it anyway).
_BREAK = "\ue000"
_SPACE_RE = re.compile(r"[ \t\n\r\f\v\xa0\u200b\u3000]+")


@dataclass(frozen=True)
class PageText:
    text: str  # one block per line
    tags: int
    scripts: int  # script, style, noscript and template elements dropped with their content


def _lines(text: str) -> str:
    """Break-separated blocks -> one block per line, white space squeezed, no empty lines."""
    out = []
    for block in text.split(_BREAK):
        line = _SPACE_RE.sub(" ", block).strip()
        if line:
            out.append(line)
    return "\n".join(out)


def _without(html: str, spans: list[tuple[int, int]]) -> str:
    pieces, start = [], 0
    for begin, end in spans:
        pieces.append(html[start:begin])
        start = end
    pieces.append(html[start:])
    return "".join(pieces)


def html_to_text(html: str, max_depth: int = MAX_DEPTH, max_tags: int = MAX_TAGS) -> PageText:
    """The page's visible text, one block element per line.

    :class:`HtmlRefused` when the page nests deeper than ``max_depth`` or holds more than
    ``max_tags`` tags: it is not parsed at all.
    """
    shape = page_shape(html)
    if shape.depth > max_depth:
        raise HtmlRefused(
            "too_deep",
            f"HTML nests elements about {shape.depth:,} deep (limit {max_depth:,}); "
            "not parsed: that is a page built to stall the parser",
        )
    if shape.tags > max_tags:
        raise HtmlRefused(
            "too_many_tags",
            f"HTML page with {shape.tags:,} tags (limit {max_tags:,}); not parsed: the "
            "parser's tree would take too much memory",
        )
    if shape.options:
        html = _without(html, shape.options)
    tree = LexborHTMLParser(html.replace(_BREAK, ""))
    title_node = tree.css_first("title")
    title = title_node.text(deep=True) if title_node is not None else ""
    scripts = len(tree.css(", ".join(SCRIPT_TAGS)))
    tree.strip_tags(DROP_TAGS, recursive=True)
    body = tree.body
    if body is None:
        return PageText(_lines(title), shape.tags, scripts)
    for pre in body.css("pre"):  # preformatted text keeps its line breaks
        # Collect first: replacing nodes while Lexbor walks the tree crashes it (SIGSEGV).
        texts = [
            node
            for node in pre.traverse(include_text=True)
            if node.tag == "-text" and "\n" in (node.text_content or "")
        ]
        for node in texts:
            node.replace_with(node.text_content.replace("\n", _BREAK))
    for br in body.css("br"):
        br.replace_with(_BREAK)
    for node in body.css(_BLOCK_CSS):
        node.insert_before(_BREAK)
        node.insert_after(_BREAK)
    text = _lines(title + _BREAK + body.text(deep=True, separator=""))
    if "&" in text:
        # Entities escaped twice (&amp;nbsp;, a common CMS bug) show as "&nbsp;" on the
        # page: decode them too, so that no character reference reaches the text.
        text = htmllib.unescape(text)
    return PageText(text, shape.tags, scripts)


class HtmlConverter(Step):
    """Convert documents that are HTML into one-block-per-line text; leave others alone.

    The converted text is what the normalizer and the boilerplate stripper read
    (``Document.converted_text``); ``raw_text`` stays the decoded input.
    """

    name = "html"

    def __init__(self, max_depth: int = MAX_DEPTH, max_tags: int = MAX_TAGS) -> None:
        super().__init__()
        self.max_depth = max_depth
        self.max_tags = max_tags

    def reasons(self) -> dict[str, str]:
        return {
            CONVERTED: "the input was an HTML page saved as text: converted to its visible "
            "text, one block per line (tags, scripts, styles and comments dropped, entities "
            "decoded)"
        }

    def process(self, doc: Document) -> None:
        if not looks_like_html(doc.raw_text):
            return
        self.count("detected")
        try:
            page = html_to_text(doc.raw_text, self.max_depth, self.max_tags)
        except HtmlRefused as err:
            doc.reject(self.name, err.check, str(err), f"{len(doc.raw_text):,} characters")
            self.count(f"rejected.{err.check}")
            return
        doc.converted_text = page.text
        if not page.text:
            doc.reject(
                self.name,
                "no_text",
                "an HTML page with no visible text (only markup, scripts or styles)",
                f"{page.tags} tags, {page.scripts} scripts/styles",
            )
            self.count("rejected.no_text")
            return
        doc.removed.append(
            (
                CONVERTED,
                f"converted from HTML: {page.tags} tags, {page.scripts} scripts/styles removed",
            )
        )
        self.count("converted")
        self.count("tags", page.tags)
        self.count("scripts_removed", page.scripts)


def page_text(text: str) -> str:
    """``text`` as the cleaning stages see it: converted when it is HTML."""
    return html_to_text(text).text if looks_like_html(text) else text


__all__ = [
    "CONVERTED",
    "HtmlConverter",
    "HtmlRefused",
    "html_to_text",
    "looks_like_html",
    "markup_score",
    "page_shape",
    "page_text",
]
