"""HTML markup inside text: element names, tags and character references.

Shared by the HTML step (``zhclean.readers.html``: it finds pages saved as text and
converts them) and by validation, which refuses a document whose text still holds
markup, whatever the reason it survived.
"""

from __future__ import annotations

import re
from html.entities import html5


def names(words: str) -> frozenset[str]:
    """A set of element names, written as one space-separated string."""
    return frozenset(words.split())


# HTML5 element names and the legacy ones that old Chinese pages still use. A name that
# is not here (<一个馒头的血案>, <<三体>>, <x>) is not a tag.
HTML_TAGS = names(
    """a abbr acronym address area article aside audio b base bdi bdo big blockquote body
    br button canvas caption center cite code col colgroup data datalist dd del details dfn
    dialog dir div dl dt em embed fieldset figcaption figure font footer form frame frameset
    h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li
    link main map mark marquee menu meta meter nav nobr noframes noscript object ol optgroup
    option output p param picture pre progress q rp rt ruby s samp script section select
    small source span strike strong style sub summary sup svg table tbody td template
    textarea tfoot th thead time title tr track tt u ul var video wbr"""
)

# A start or end tag: a name, then attributes that look like attributes (name, or
# name=value), then ``>``. Prose that merely holds ``<`` (a<b 与 c>d, <<三体>>) is not a
# tag; quoted values may not hold ``<`` or ``>``, so a match never runs across text.
TAG_RE = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]{0,9})"
    r"(?:\s+[A-Za-z_:@][-A-Za-z0-9_:.@]*"
    r"(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>=`]+))?)*"
    r"\s*/?>"
)
# A character reference: a name HTML knows (&nbsp; &gt; &amp;; checked against
# ENTITY_NAMES, so "R&D;" is not one), a number, or one of the common references that
# browsers also read without the semicolon (&nbsp &gt). The semicolon may be full-width:
# the normalizer turns ";" after Han into "；".
ENTITY_RE = re.compile(
    r"&(?:([A-Za-z][A-Za-z0-9]{1,31})|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6})[;；]"
    r"|&(?:nbsp|lt|gt|quot)(?![A-Za-z0-9=;；])"
)
ENTITY_NAMES = frozenset(name[:-1] for name in html5 if name.endswith(";"))


def known_tags(text: str) -> list[re.Match[str]]:
    """The tags of ``text`` whose element name HTML knows."""
    if "<" not in text:
        return []
    return [m for m in TAG_RE.finditer(text) if m.group(2).lower() in HTML_TAGS]


def find_markup(text: str) -> str | None:
    """The first HTML tag or character reference in ``text`` (None: there is none)."""
    if "<" in text:
        for m in TAG_RE.finditer(text):
            if m.group(2).lower() in HTML_TAGS:
                return m.group()
    if "&" in text:
        for m in ENTITY_RE.finditer(text):
            if m.group(1) is None or m.group(1) in ENTITY_NAMES:
                return m.group()
    return None
