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
from functools import lru_cache

import numpy as np
from selectolax.lexbor import LexborHTMLParser, LexborNode

from zhclean.core.chars import display_width
from zhclean.core.dom import CLASS_CATEGORIES, COLUMN, COLUMNS, LineDom
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
    if _DOC_START_RE.match(text[:4096]):
        return True  # what markup_score(text).is_html says first, without counting tags
    return markup_score(text).is_html


# ---------------------------------------------------------------------- the guard

# One linear pass over the tokens that matter for the tree's shape: comments and raw-text
# elements are skipped whole (their content is not markup; unclosed, they run to the
# end, as in a browser), and start and end tags are read with quoted attribute values.
# The attribute loops are possessive and take runs of plain characters at a time: giving
# characters back could never let ``>`` match (they stop only at < > " ' or />), so the
# tokens are the same, found 20% faster.
_TOKEN_RE = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|textarea|title|xmp|iframe|noembed|noframes|plaintext)(?=[\s/>])"
    r"(?:[^<>\"']++|\"[^\"]*\"|'[^']*')*+>.*?(?:</\1\s*>|\Z)"
    r"|<(/?)([A-Za-z][A-Za-z0-9:-]*)((?:[^<>\"'/]++|/(?!>)|\"[^\"]*\"|'[^']*')*+)(/?)>",
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
_SPACE_RE = re.compile(r"[ \t\n\r\f\v\x85\xa0\u200b\u2028\u2029\u3000]+")
# A text node whose source lines are the page's lines: at least this many non-blank
# source lines (a PTT post, a plain-text article in a div styled white-space: pre).
# Indentation around a single run of text never has more than one.
_SOURCE_LINES = 3
_SOURCE_WIDTH = 100
_WRAPPED_WORDS_RE = re.compile(r"[A-Za-z0-9,.][ \t]*\n[ \t]*[A-Za-z0-9]")


@dataclass(frozen=True)
class PageText:
    text: str  # one block per line
    tags: int
    scripts: int  # script, style, noscript and template elements dropped with their content
    dom: LineDom | None = None  # per-line evidence of the page's structure (row i: line i)


# Element flags a line inherits from its ancestors (bits of _Ctx.flags).
_FLAG_TAGS = {
    "a": 1, "nav": 2, "aside": 4, "footer": 8, "header": 16, "form": 32, "li": 64,
    "td": 128, "th": 128, "pre": 256, "code": 256, "blockquote": 512, "p": 1024,
}  # fmt: skip
_HIDDEN = 2048  # display: none, visibility: hidden, the hidden attribute
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_FLAG_COLUMNS = [
    (2, "in_nav"), (4, "in_aside"), (8, "in_footer"), (16, "in_header"), (32, "in_form"),
    (64, "in_li"), (128, "in_table"), (256, "in_pre"), (512, "in_blockquote"), (1024, "in_p"),
    (_HIDDEN, "hidden"),
]  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

# Class and id names by category (zhclean.core.dom.CLASS_CATEGORIES): whole tokens of the
# names (split at punctuation and camelCase), and longer words found anywhere in them.
_CLASS_WORDS = {
    "nav": "nav navbar navigation menu menus breadcrumb breadcrumbs crumb crumbs bread pager "
    "pagination paging pagenav topnav subnav mainnav tab tabs channel location position "
    "daohang mianbao sitemap",
    "footer": "footer foot ft copyright bottom beian icp",
    "side": "sidebar side aside rightbar leftbar rail widget widgets right left sidenav",
    "related": "related relate relative recommend recommends recommended rec hot hotnews "
    "rank ranking ranklist popular guess interest xiangguan tuijian remen more",
    "comment": "comment comments cmt cmts pinglun pl discuss feedback review reviews",
    "share": "share sharing social fenxiang bshare jiathis qrcode qr weixin wechat follow "
    "digg zan like likes",
    "ad": "ad ads advert advertisement adv banner sponsor promo gg guanggao adsense",
    "header": "header head top topbar logo masthead hd brand",
    "meta": "meta info author time date datetime pubtime posttime byline source tag tags "
    "keywords attr user userid username uname nick nickname ip ipdatetime",
    "content": "article articles content contents text body main entry detail details story "
    "zw zhengwen cont con rich richtext markdown md news",
    "post": "post posts reply replies thread message msg floor answer answers question "
    "topic tpc postmessage forum bbs lou",
}
_CLASS_SUBSTRINGS = {
    "nav": ("breadcrumb", "navbar", "navigation"),
    "footer": ("footer", "copyright"),
    "side": ("sidebar",),
    "related": ("related", "recommend"),
    "comment": ("comment", "pinglun"),
    "share": ("share",),
    "ad": ("advert",),
    "content": ("article", "content"),
    "post": ("reply", "message", "answer", "question", "postmessage"),
}
_CATEGORY_BIT = {c: 1 << i for i, c in enumerate(CLASS_CATEGORIES)}
_META_BIT = _CATEGORY_BIT["meta"]
_WORD_BITS: dict[str, int] = {}
for _cat, _words in _CLASS_WORDS.items():
    for _w in _words.split():
        _WORD_BITS[_w] = _WORD_BITS.get(_w, 0) | _CATEGORY_BIT[_cat]
_DIGITS_RE = re.compile(r"\d+")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_TOKEN_SPLIT_RE = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def class_bits(names_: str) -> int:
    """The categories a class/id string names, as bits of :data:`CLASS_CATEGORIES`."""
    lowered = _CAMEL_RE.sub(" ", names_).lower()
    bits = 0
    for token in _TOKEN_SPLIT_RE.split(lowered):
        if token:
            bits |= _WORD_BITS.get(token, 0) | _WORD_BITS.get(token.rstrip("s"), 0)
    for cat, subs in _CLASS_SUBSTRINGS.items():
        if any(s in lowered for s in subs):
            bits |= _CATEGORY_BIT[cat]
    return bits


def _source_lines(text: str) -> bool:
    """Are the source lines of this text node the lines the page shows? At least
    ``_SOURCE_LINES`` non-blank ones, each at most a screen wide (``_SOURCE_WIDTH``
    columns), and not a paragraph of Latin words wrapped in the source (a break between
    two letters or digits is a space on the page)."""
    if text.count("\n") < _SOURCE_LINES - 1:
        return False
    pieces = [p.strip() for p in text.split("\n")]
    filled = [p for p in pieces if p]
    if len(filled) < _SOURCE_LINES or max(map(display_width, filled)) > _SOURCE_WIDTH:
        return False
    return not _WRAPPED_WORDS_RE.search(text)


class _Ctx:
    """An open element as the walk sees it: what its descendants inherit."""

    __slots__ = ("block", "container", "depth", "flags", "heading", "near", "signature", "tail")

    def __init__(self, depth, flags, heading, near, block, container, signature):
        self.depth = depth
        self.flags = flags
        self.heading = heading
        self.near = near  # per class category: depth of the nearest ancestor so named, or -1
        self.block = block
        self.container = container
        self.signature = signature
        self.tail: list[float] | None = None  # its lines' DOM row after the link columns

    def row_tail(self) -> list[float]:
        """The columns of a line's DOM row that only its element decides (computed once
        for all the lines of an element)."""
        tail = self.tail
        if tail is None:
            flags, depth = self.flags, self.depth
            tail = self.tail = [
                *_flag_row(flags),
                float(self.heading),
                float(depth),
                0.0,
                *[float(depth - d + 1) if d >= 0 else 0.0 for d in self.near],
            ]
        return tail


@lru_cache(maxsize=4096)
def _flag_row(flags: int) -> tuple[float, ...]:
    return tuple(1.0 if flags & bit else 0.0 for bit, _ in _FLAG_COLUMNS)


@lru_cache(maxsize=4096)
def _bit_indices(bits: int) -> tuple[int, ...]:
    """The class categories (indices) that the bits of :func:`class_bits` name."""
    return tuple(i for i in range(len(CLASS_CATEGORIES)) if bits >> i & 1)


_NO_NEAR = (-1,) * len(CLASS_CATEGORIES)


class _Lines:
    """The lines of a page as the walk flushes them, with their DOM evidence."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.rows: list[list[float]] = []
        self.blocks: list[int] = []
        self.containers: list[int] = []
        self.signatures: list[int] = []
        self.pieces: list[str] = []
        self.link_chars = 0
        self.links = 0
        self.first: _Ctx | None = None

    def add(self, text: str, ctx: _Ctx) -> None:
        if self.first is None:
            if not text.strip():
                return
            self.first = ctx
        self.pieces.append(text)
        if ctx.flags & 1:
            self.link_chars += len(text) - text.count(" ")

    def flush(self) -> None:
        ctx = self.first
        if ctx is None:
            self.pieces.clear()
            return
        line = _SPACE_RE.sub(" ", "".join(self.pieces)).strip()
        self.pieces.clear()
        self.first = None
        link_chars, links = self.link_chars, self.links
        self.link_chars = self.links = 0
        if not line:
            return
        if "&" in line:
            # Entities escaped twice (&amp;nbsp;, a common CMS bug) show as "&nbsp;" on
            # the page: decode them too, so that no character reference reaches the text.
            line = htmllib.unescape(line)
        chars = max(1, len(line) - line.count(" "))
        self.texts.append(line)
        self.rows.append([min(1.0, link_chars / chars), float(links), *ctx.row_tail()])
        self.blocks.append(ctx.block)
        self.containers.append(ctx.container)
        self.signatures.append(ctx.signature)

    def title(self, text: str) -> None:
        line = _SPACE_RE.sub(" ", text).strip()
        if line:
            self.texts.append(line)
            row = [0.0] * len(COLUMNS)
            row[COLUMN["is_title"]] = 1.0
            self.rows.append(row)
            self.blocks.append(-1)
            self.containers.append(-1)
            self.signatures.append(0)

    def dom(self) -> LineDom:
        return LineDom(
            np.asarray(self.rows, dtype=np.float32).reshape(len(self.rows), len(COLUMNS)),
            np.asarray(self.blocks, dtype=np.int32),
            np.asarray(self.containers, dtype=np.int32),
            np.asarray(self.signatures, dtype=np.int64),
        )


def _signature(known: dict[tuple[int, str, str], int], parent: int, tag: str, names_: str) -> int:
    """The id of a path of tags and class names from the root (numbers dropped from
    the names: post_1234 and post_1235 are one structure)."""
    key = (parent, tag, _DIGITS_RE.sub("", names_))
    found = known.get(key)
    if found is None:
        found = known[key] = len(known) + 1
    return found


def _walk(body: LexborNode, out: _Lines) -> None:
    """One pass over the tree in document order: a block element starts and ends a line,
    ``<br>`` ends one, inline elements join their block; text keeps the context of the
    element it sits in. Iterative: pages nest up to ``MAX_DEPTH`` deep.

    It visits every node of the page, so the per-node work is kept to locals and C
    calls: one dict of attributes, children pushed from the last one back, a text
    node's ``_Lines.add`` inlined, ``flush`` called only when a line is open (a
    whitespace-only text node is never a run of source lines)."""
    serial = 0
    signatures: dict[tuple[int, str, str], int] = {}
    root = _Ctx(0, 0, 0, _NO_NEAR, 0, 0, 0)
    todo: list = [(body, root)]
    pop, push = todo.pop, todo.append
    pieces, flush = out.pieces, out.flush
    flag_tags, headings, block_tags = _FLAG_TAGS, _HEADINGS, BLOCK_TAGS
    while todo:
        node, parent = pop()
        if node is None:  # the end of a block element
            if out.first is not None:  # (else flush has nothing to do)
                flush()
            continue
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if "\n" in text and (
                parent.flags & 256 or (not text.isspace() and _source_lines(text))
            ):
                for k, piece in enumerate(text.split("\n")):
                    if k:
                        flush()
                    out.add(piece, parent)
                continue
            # out.add(text, parent), inlined
            if out.first is None:
                if not text.strip():
                    continue
                out.first = parent
            pieces.append(text)
            if parent.flags & 1:
                out.link_chars += len(text) - text.count(" ")
            continue
        if tag[0] == "-":  # comments, doctype
            continue
        if tag == "br":
            if out.first is not None:
                flush()
            continue
        serial += 1
        flags = parent.flags | flag_tags.get(tag, 0)
        attrs = node.attributes
        if attrs:
            style = attrs.get("style")
            if (style and _HIDDEN_STYLE_RE.search(style)) or "hidden" in attrs:
                flags |= _HIDDEN
            cls, ident = attrs.get("class"), attrs.get("id")
            names_ = (cls + " " + ident if ident else cls) if cls else (ident or "")
        else:
            names_ = ""
        if tag == "a":
            out.links += 1
        bits = class_bits(names_) if names_ else 0
        near = parent.near
        depth = parent.depth + 1
        if bits:
            near_ = list(near)
            for i in _bit_indices(bits):
                near_[i] = depth
            near = tuple(near_)
        # an inline name, a timestamp or a user card inside a line (a post's header,
        # a reply's author and time) is a line of its own: the model decides on it alone
        if tag in block_tags or bits & _META_BIT:
            ctx = _Ctx(
                depth,
                flags,
                headings.get(tag, parent.heading),
                near,
                serial,
                parent.block,
                _signature(signatures, parent.signature, tag, names_),
            )
            if out.first is not None:
                flush()
            push((None, ctx))
        else:
            ctx = _Ctx(
                depth,
                flags,
                headings.get(tag, parent.heading),
                near,
                parent.block,
                parent.container,
                parent.signature,
            )
        child = node.last_child
        while child is not None:
            push((child, ctx))
            child = child.prev
    flush()


def _without(html: str, spans: list[tuple[int, int]]) -> str:
    pieces, start = [], 0
    for begin, end in spans:
        pieces.append(html[start:begin])
        start = end
    pieces.append(html[start:])
    return "".join(pieces)


def html_to_text(html: str, max_depth: int = MAX_DEPTH, max_tags: int = MAX_TAGS) -> PageText:
    """The page's visible text, one block element per line, with each line's DOM evidence.

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
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(deep=True) if title_node is not None else ""
    scripts = len(tree.css(", ".join(SCRIPT_TAGS)))
    tree.strip_tags(DROP_TAGS, recursive=True)
    out = _Lines()
    out.title(htmllib.unescape(title) if "&" in title else title)
    if tree.body is not None:
        _walk(tree.body, out)
    return PageText("\n".join(out.texts), shape.tags, scripts, out.dom())


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
        doc.dom = page.dom
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
