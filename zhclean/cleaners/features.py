"""The features of every line of a page, for the line model (:mod:`zhclean.cleaners.model`).

A line's own shape says little on its own: a table cell, a menu item and a line of a poem
look alike. What it is depends on its neighbours, on where it sits on the page, on the
page's own statistics and, for an HTML page, on the elements around it. Every line gets
one row of numbers:

- **shape** (:class:`~zhclean.cleaners.quality.LineFeatures`): length, Han share,
  punctuation, function characters, separators, bullets, teasers, timestamps;
- **rules**: which kind of rule of ``boilerplate_rules.toml`` matched the line (a wording
  rule is evidence, not a verdict), whether it lies under a block header or after a tail
  rule, whether it is the title or a copy of it, how many documents of its group repeat it,
  how often the page itself repeats it;
- **position and page**: where the line sits in the page and in its text, its length
  against the page's longest line, the run of running text it belongs to against the
  page's longest run, how much of the page is records (timestamps) and repeats;
- **neighbours**: the shape of the lines around it (windows of 1, 3 and 8 lines);
- **DOM** (HTML input only, :mod:`zhclean.core.dom`; zero with ``has_dom`` 0 otherwise):
  link share, enclosing elements, class and id names, and its block, container and
  repeated structure (the posts of a thread share one).

The second pass of the model adds the first pass's scores of the neighbours, the
container, the repeated structure and the page (:func:`context_columns`).

A batch of pages is computed at once: every column is a few array operations over all
lines of the batch, with windows, runs and groups kept inside each page, so the cost is
linear in the lines and does not grow with the number of pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from zhclean.cleaners.quality import LineFeatures
from zhclean.core.dom import COLUMNS, LineDom

RULE_KINDS = ("line", "block", "tail", "meta", "extract")

_SHAPE = (
    "log_chars", "log_han", "han_share", "alnum_share", "digit_share", "clause_punct",
    "punct_density", "ends_terminal", "separators", "bullet", "teaser", "counted",
    "date_only", "stamp", "function_density", "spaced", "org_name", "labels", "is_good",
    "is_prose", "is_link_like", "field_record", "spaced_prose", "no_content", "ends_colon",
    "ends_question",
)  # fmt: skip
_RULES = (
    *(f"rule_{k}" for k in RULE_KINDS), "rule_edge", "title", "repeat_log", "repeat_share",
    "after_tail", "in_block",
)  # fmt: skip
_PAGE = (
    "pos", "text_before", "page_log_han", "page_log_lines", "han_vs_max", "run_log_han",
    "run_share", "in_max_run", "page_good_share", "page_run_share", "page_stamps", "dup_log",
    "page_dup_share",
)  # fmt: skip
_WINDOW = (
    "good_1", "good_3", "good_8", "link_3", "han_3", "prev_good", "next_good",
    "prev_log_han", "next_log_han", "good_up", "good_down", "rule_3", "stamp_3",
)  # fmt: skip
_DOM = (
    "has_dom", *(f"dom_{c}" for c in COLUMNS), "depth_rel", "cont_log_lines", "cont_han_share",
    "cont_link_share", "cont_good_share", "block_han_share", "sig_log_lines", "sig_han_share",
    "sig_log_containers", "link_window", "sig_unit_log_han", "page_repeat_share",
)  # fmt: skip
FEATURES = (*_SHAPE, *_RULES, *_PAGE, *_WINDOW, *_DOM)
CONTEXT = (
    "p", "p_1", "p_3", "p_10", "p_max_3", "p_group", "p_page", "p_kept_share", "p_structure",
)  # fmt: skip
FEATURES_2 = (*FEATURES, *CONTEXT)
INDEX = {name: i for i, name in enumerate(FEATURES_2)}
# Lines of a run of running text may be apart by this many other lines.
RUN_GAP = 2
# columns of LineTable.shape
_N_SHAPE = 24
_CHARS, _HAN, _ALNUM, _DIGITS, _CLAUSE = range(5)
_GOOD, _LINK, _STAMP = 16, 18, 11
_CLASS_FIRST = COLUMNS.index("cls_nav")


@dataclass(slots=True)
class LineTable:
    """What the stripper learned about the non-blank lines of one page before the model:
    the raw material of the features."""

    shape: np.ndarray  # (lines, 24): LineFeatures counts and flags, see shape_rows
    kind: np.ndarray  # int: 0 no rule, else 1 + the index of the rule's kind in RULE_KINDS
    edge: np.ndarray  # bool: the rule is edge-scoped
    title: np.ndarray  # bool: the title or a copy of it
    after_tail: np.ndarray  # bool: a tail rule matched above, after some text
    in_block: np.ndarray  # bool: in the link list under a block header
    repeats: np.ndarray  # documents of the group that hold the line
    repeat_docs: int  # documents of the group
    dup: np.ndarray  # times the page holds the line
    dom: LineDom | None  # rows of the page's DOM evidence, or None (text input)

    def __len__(self) -> int:
        return len(self.shape)

    @property
    def han(self) -> np.ndarray:
        return self.shape[:, _HAN]

    @property
    def chars(self) -> np.ndarray:
        return self.shape[:, _CHARS]

    @property
    def good(self) -> np.ndarray:
        return self.shape[:, _GOOD] > 0


_COUNTS = attrgetter(
    "n_chars", "n_han", "n_alnum", "n_digits", "n_clause_punct", "ends_terminal",
    "n_separators", "bullet", "teaser", "counted", "date_only", "stamp", "n_function",
    "n_spaced", "org_name", "n_labels",
)  # fmt: skip


def shape_rows(texts: list[str], feats: list[LineFeatures]) -> np.ndarray:
    """The per-line counts and flags the features are computed from: the fields of
    :class:`LineFeatures`, then its properties (``is_good``, ``is_prose``, …) computed
    for all lines at once, then how the line ends."""
    n = len(texts)
    out = np.zeros((n, _N_SHAPE))
    if not n:
        return out
    out[:, :16] = np.asarray([_COUNTS(f) for f in feats], dtype=np.float64)
    chars, han, alnum, _, clause, terminal, seps, bullet, teaser, counted, date_only = out[:, :11].T
    spaced, labels = out[:, 13], out[:, 15]
    plain = (teaser == 0) & (counted == 0) & (seps < 3)
    good = plain & (
        ((han >= 10) & ((terminal > 0) | (clause >= 2)))
        | ((han >= 40) & (clause >= 1))
        | ((han < 10) & (chars >= 80) & (clause >= 2))
    )
    out[:, 16] = good
    out[:, 17] = (han >= 20) & (clause >= 2) & (han >= 0.5 * chars) & (teaser == 0)
    out[:, 18] = ~good & (
        (bullet > 0) | (teaser > 0) | (counted > 0) | (date_only > 0)
        | ((chars <= 40) & (clause <= 1) & (terminal == 0))
    )  # fmt: skip
    out[:, 19] = (labels >= 2) & (terminal == 0) & (clause <= labels)
    out[:, 20] = (spaced >= 1) & (han >= 10) & (clause <= 1) & (han / (spaced + 1) >= 5)
    out[:, 21] = [t.endswith(("：", ":")) for t in texts]
    out[:, 22] = [t.endswith(("？", "?", "！", "!")) for t in texts]
    out[:, 23] = han + alnum == 0
    return out


# --------------------------------------------------------------- page-bounded helpers


@dataclass(frozen=True)
class Pages:
    """Where each page's rows lie in a batch."""

    page: np.ndarray  # page index of every row
    start: np.ndarray  # first row of the row's page
    end: np.ndarray  # one past its last row
    idx: np.ndarray  # the row's index

    @classmethod
    def of(cls, sizes: list[int]) -> Pages:
        sizes_ = np.asarray(sizes, dtype=np.int64)
        page = np.repeat(np.arange(len(sizes_)), sizes_)
        bounds = np.concatenate(([0], np.cumsum(sizes_)))
        return cls(page, bounds[:-1][page], bounds[1:][page], np.arange(len(page)))

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Per row: the sum of ``values`` over its page."""
        return np.bincount(self.page, weights=values, minlength=self.page.max(initial=-1) + 1)[
            self.page
        ]

    def max(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.page.max(initial=-1) + 1, -np.inf)
        np.maximum.at(out, self.page, values)
        return out[self.page]

    def window_mean(self, x: np.ndarray, k: int) -> np.ndarray:
        """Mean of ``x`` over the ``k`` rows on each side within the page (not the row)."""
        c = np.concatenate(([0.0], np.cumsum(x)))
        lo = np.maximum(self.idx - k, self.start)
        hi = np.minimum(self.idx + k + 1, self.end)
        count = hi - lo - 1
        return np.divide(c[hi] - c[lo] - x, count, out=np.zeros(len(x)), where=count > 0)

    def shift(self, x: np.ndarray, by: int) -> np.ndarray:
        """``x`` of the row ``by`` rows before (-1) or after (+1), 0 past the page's edge."""
        out = np.zeros(len(x))
        if by < 0:
            out[1:] = x[:-1]
            out[self.idx == self.start] = 0.0
        else:
            out[:-1] = x[1:]
            out[self.idx == self.end - 1] = 0.0
        return out

    def distance(self, mask: np.ndarray, cap: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Rows to the nearest ``mask`` row above and below within the page (capped)."""
        idx = self.idx
        above = np.where(mask, idx, -(10**9))
        above = np.maximum.accumulate(np.concatenate(([-(10**9)], above[:-1])))
        up = np.where(above >= self.start, idx - above, cap)
        below = np.where(mask, idx, 10**9)
        below = np.minimum.accumulate(np.concatenate((below[1:], [10**9]))[::-1])[::-1]
        down = np.where(below < self.end, below - idx, cap)
        return np.minimum(up, cap), np.minimum(down, cap)

    def group_sum(self, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per row: the sum of ``values`` over the rows of its page with its key."""
        return _summed(self.grouping(keys), values)

    def grouping(self, keys: np.ndarray) -> np.ndarray:
        """The group of every row (its page and key), for :func:`_summed`: several sums
        over one key sort the keys once."""
        return np.unique(self.page * (1 << 32) + keys, return_inverse=True)[1]


def _summed(inverse: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the sum of ``values`` over the rows of its group (``Pages.grouping``)."""
    return np.bincount(inverse, weights=values)[inverse]


def runs(good: np.ndarray, pages: Pages | None = None, gap: int = RUN_GAP) -> np.ndarray:
    """Run id of every row: runs of ``good`` rows at most ``gap`` rows apart within a
    page, with the rows between them; rows outside a run get -1."""
    n = len(good)
    pos = np.flatnonzero(good)
    out = np.full(n, -1)
    if not len(pos):
        return out
    if pages is None:
        pages = Pages.of([n])
    new = np.ones(len(pos), dtype=bool)
    new[1:] = (np.diff(pos) > gap + 1) | (pages.page[pos[1:]] != pages.page[pos[:-1]])
    run_of = np.cumsum(new) - 1
    first = pos[new]
    last = np.zeros(len(first), dtype=np.int64)
    np.maximum.at(last, run_of, pos)
    marks = np.full(n, -1)
    marks[first] = np.arange(len(first))
    current = np.maximum.accumulate(marks)
    inside = (current >= 0) & (np.arange(n) <= last[np.maximum(current, 0)])
    out[inside] = current[inside]
    return out


# ---------------------------------------------------------------------------- features


def matrix(tables: list[LineTable]) -> tuple[np.ndarray, Pages]:
    """The feature rows (``FEATURES_2`` columns, the second pass's left at 0) of every
    line of a batch of pages, and where each page's rows lie."""
    pages = Pages.of([len(t) for t in tables])
    n = len(pages.page)
    out = np.zeros((n, len(FEATURES_2)), dtype=np.float64)
    if not n:
        return out, pages
    s = np.concatenate([t.shape for t in tables])
    chars, han, alnum, digits, clause = (s[:, k] for k in range(5))
    safe = np.maximum(chars, 1)
    content = han + alnum
    good, link, stamp = s[:, _GOOD], s[:, _LINK], s[:, _STAMP]
    col = 0

    def put(*cols: np.ndarray) -> None:
        nonlocal col
        for c in cols:
            out[:, col] = c
            col += 1

    put(
        np.log1p(chars), np.log1p(han), han / safe, alnum / safe, digits / safe,
        np.minimum(clause, 50), clause / np.maximum(content, 1), s[:, 5], s[:, 6], s[:, 7],
        s[:, 8], s[:, 9], s[:, 10], stamp, np.divide(s[:, 12], han, out=np.zeros(n), where=han > 0),
        s[:, 13], s[:, 14], s[:, 15], good, s[:, 17], link, s[:, 19], s[:, 20], s[:, 23],
        s[:, 21], s[:, 22],
    )  # fmt: skip
    kind = np.concatenate([t.kind for t in tables])
    put(*((kind == k + 1).astype(float) for k in range(len(RULE_KINDS))))
    reps = np.concatenate([t.repeats for t in tables])
    docs = np.repeat([max(t.repeat_docs, 1) for t in tables], [len(t) for t in tables])
    put(
        np.concatenate([t.edge for t in tables]),
        np.concatenate([t.title for t in tables]),
        np.log1p(reps),
        reps / docs,
        np.concatenate([t.after_tail for t in tables]),
        np.concatenate([t.in_block for t in tables]),
    )
    # position and page
    good_han = han * good
    page_han = pages.sum(han)
    page_good = pages.sum(good_han)
    size = pages.end - pages.start
    before = np.cumsum(good_han) - good_han
    before -= (np.cumsum(good_han) - good_han)[pages.start]
    run = runs(good > 0, pages)
    run_han = np.where(run >= 0, pages.group_sum(run, good_han), 0.0)
    max_run = pages.max(run_han)
    dup = np.concatenate([t.dup for t in tables])
    put(
        (pages.idx - pages.start) / np.maximum(size - 1, 1),
        np.divide(before, page_good, out=np.zeros(n), where=page_good > 0),
        np.log1p(page_han),
        np.log1p(size),
        han / np.maximum(pages.max(han), 1),
        np.log1p(run_han),
        np.divide(run_han, max_run, out=np.zeros(n), where=max_run > 0),
        ((run_han == max_run) & (max_run > 0)).astype(float),
        page_good / np.maximum(page_han, 1),
        max_run / np.maximum(page_han, 1),
        np.log1p(pages.sum(stamp)),
        np.log1p(dup - 1),
        pages.sum((dup >= 3).astype(float)) / size,
    )
    # neighbours
    log_han = np.log1p(han)
    rule = (kind > 0).astype(float)
    up, down = pages.distance(good > 0)
    put(
        pages.window_mean(good, 1), pages.window_mean(good, 3), pages.window_mean(good, 8),
        pages.window_mean(link, 3), np.log1p(pages.window_mean(han, 3) * 6),
        pages.shift(good, -1), pages.shift(good, 1), pages.shift(log_han, -1),
        pages.shift(log_han, 1), up, down, pages.window_mean(rule, 3),
        pages.window_mean(stamp, 3),
    )  # fmt: skip
    if all(t.dom is None for t in tables):
        return out, pages
    _dom_columns(out, col, tables, pages, han, content, good, good_han)
    return out, pages


def _dom_columns(
    out: np.ndarray,
    col: int,
    tables: list[LineTable],
    pages: Pages,
    han: np.ndarray,
    content: np.ndarray,
    good: np.ndarray,
    good_han: np.ndarray,
) -> None:
    """The DOM columns of the rows of pages that have a DOM (zero elsewhere)."""
    width = len(COLUMNS)
    has = np.concatenate([np.full(len(t), t.dom is not None) for t in tables])
    v = np.concatenate(
        [t.dom.values if t.dom is not None else np.zeros((len(t), width)) for t in tables]
    ).astype(np.float64)

    def ids(name: str) -> np.ndarray:
        return np.concatenate(
            [getattr(t.dom, name) if t.dom is not None else np.zeros(len(t)) for t in tables]
        ).astype(np.int64)

    # class names: the nearer the ancestor so named, the stronger the evidence (1 for the
    # line's own element, 1/2 for its parent, ..., 0 for none)
    named = v[:, _CLASS_FIRST:]
    v[:, _CLASS_FIRST:] = np.divide(1.0, named, out=np.zeros_like(named), where=named > 0)
    container, block, signature = ids("container"), ids("block"), ids("signature")
    n = len(has)
    ones = np.ones(n)
    depth = v[:, COLUMNS.index("depth")]
    ref = pages.sum(depth * good) / np.maximum(pages.sum(good), 1)
    link_chars = v[:, 0] * content
    page_han = np.maximum(pages.sum(han), 1)
    in_container, in_signature = pages.grouping(container), pages.grouping(signature)
    cont_han = _summed(in_container, han)
    sig_han = _summed(in_signature, han)
    # per row: how many containers of its page hold its structure (distinct pairs of
    # structure and container, counted per structure: one integer per pair, as a
    # unique over stacked columns is 7 times slower)
    sig_keys, key_of = np.unique(pages.page * (1 << 32) + signature, return_inverse=True)
    low = int(container.min(initial=0))
    span = int(container.max(initial=0)) - low + 1
    pair_keys = np.unique(key_of * span + (container - low))
    sig_containers = np.bincount(pair_keys // span, minlength=len(sig_keys))[key_of]
    sig_share = sig_han / page_han
    repeated = np.where(sig_containers >= 3, sig_share, 0.0)
    block_cols = [
        has.astype(float),
        *v.T,
        depth - ref,
        np.log1p(_summed(in_container, ones)),
        cont_han / page_han,
        _summed(in_container, link_chars) / np.maximum(_summed(in_container, content), 1),
        _summed(in_container, good_han) / np.maximum(cont_han, 1),
        pages.group_sum(block, han) / page_han,
        np.log1p(_summed(in_signature, ones)),
        sig_share,
        np.log1p(sig_containers),
        pages.window_mean(v[:, 0], 3),
        np.log1p(sig_han / sig_containers),
        pages.max(repeated),
    ]
    for c in block_cols:
        out[:, col] = np.where(has, c, 0.0)
        col += 1


def context_columns(
    x: np.ndarray, p: np.ndarray, pages: Pages, han: np.ndarray, groups: np.ndarray
) -> None:
    """Fill the second pass's columns (``CONTEXT``) of ``x`` from first-pass scores ``p``:
    the line's own, its neighbours', the best of its window, its group's (column 0 of
    ``groups``: the DOM container, or the run of text) and its structure's (column 1:
    the lines whose DOM path has the same tags and classes, the posts of a thread), and
    the page's (Han-weighted)."""
    if not len(p):
        return
    base = len(FEATURES)
    weight = np.maximum(han, 1.0)
    x[:, base] = p
    x[:, base + 1] = pages.window_mean(p, 1)
    x[:, base + 2] = pages.window_mean(p, 3)
    x[:, base + 3] = pages.window_mean(p, 10)
    best = p.copy()
    for by in (1, 2, 3):
        best = np.maximum(best, np.maximum(_shift_n(p, pages, -by), _shift_n(p, pages, by)))
    x[:, base + 4] = best
    in_group, in_structure = pages.grouping(groups[:, 0]), pages.grouping(groups[:, 1])
    x[:, base + 5] = _summed(in_group, p * weight) / _summed(in_group, weight)
    x[:, base + 6] = pages.sum(p * weight) / pages.sum(weight)
    x[:, base + 7] = pages.sum(weight * (p > 0.5)) / pages.sum(weight)
    x[:, base + 8] = _summed(in_structure, p * weight) / _summed(in_structure, weight)


def _shift_n(x: np.ndarray, pages: Pages, by: int) -> np.ndarray:
    """``x`` of the row ``by`` rows away within the page, 0 past its edge."""
    out = np.zeros(len(x))
    target = pages.idx + by
    inside = (target >= pages.start) & (target < pages.end)
    out[inside] = x[target[inside]]
    return out


__all__ = [
    "CONTEXT",
    "FEATURES",
    "FEATURES_2",
    "INDEX",
    "LineTable",
    "Pages",
    "context_columns",
    "matrix",
    "runs",
    "shape_rows",
]
