"""What an HTML page's structure says about each line of its text.

The HTML step (``zhclean.readers.html``) converts a page into one block per line and
records, for every line, the evidence of its place in the page: how much of it is link
text, which elements enclose it (``nav``, ``footer``, a list, a table, ``pre``, a heading)
and which class and id names its ancestors carry (``comment``, ``sidebar`` versus
``article``, ``content``). The boilerplate stripper reads them as features of its line
model. A text input has none (``Document.dom`` is None): the model works without them.

Shared here because readers and cleaners are independent steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Class and id vocabularies: the categories of names that ancestors of a line carry.
# Negative ones name page furniture, positive ones the content.
CLASS_CATEGORIES = (
    "nav",
    "footer",
    "side",
    "related",
    "comment",
    "share",
    "ad",
    "header",
    "meta",
    "content",
    "post",
)

# Columns of :attr:`LineDom.values`, in order.
COLUMNS = (
    "link_share",  # characters inside <a> / characters of the line
    "links",  # <a> elements the line's text touches
    "in_nav",
    "in_aside",
    "in_footer",
    "in_header",
    "in_form",
    "in_li",
    "in_table",
    "in_pre",
    "in_blockquote",
    "in_p",
    "hidden",  # inside an element the page hides (display: none, the hidden attribute)
    "heading",  # 1-6 for <h1>-<h6>, 0 otherwise
    "depth",  # elements above the line's first text
    "is_title",  # the <title> line
    *(f"cls_{c}" for c in CLASS_CATEGORIES),  # levels up to the nearest such name, or 0
)
COLUMN = {name: i for i, name in enumerate(COLUMNS)}


@dataclass(slots=True)
class LineDom:
    """Per-line DOM evidence for the lines of a converted page (row i is line i)."""

    values: np.ndarray  # float32, (lines, len(COLUMNS))
    block: np.ndarray  # int32: the block element the line sits in (lines of one <p> share it)
    container: np.ndarray  # int32: that block's parent block (a post, a list, the article)
    signature: np.ndarray  # int64: hash of the path of tags and classes above the line

    def __len__(self) -> int:
        return len(self.values)


__all__ = ["CLASS_CATEGORIES", "COLUMN", "COLUMNS", "LineDom"]
