"""The features of every line of a page, for the line model (:mod:`zhclean.cleaners.model`).

A line's own shape says little on its own: a table cell, a menu item and a line of a poem
look alike. What it is depends on its neighbours, on where it sits on the page, on the
page's own statistics and, for an HTML page, on the elements around it. Every line gets
one row of numbers:

- **shape** (:class:`~zhclean.cleaners.quality.LineFeatures`): length, Han share,
  punctuation, function characters, separators, bullets, teasers, timestamps;
- **rules**: which kind of rule of ``boilerplate_rules.toml`` matched the line (a wording
  rule is evidence, not a verdict), whether it lies under a block header or after a tail
  rule, whether it is the title or a copy of it, how many documents of its group repeat it;
- **position and page**: where the line sits in the page and in its text, its length
  against the page's longest line, the run of running text it belongs to against the
  page's longest run;
- **neighbours**: the shape of the lines around it (windows of 1, 3 and 8 lines);
- **DOM** (HTML input only, :mod:`zhclean.core.dom`; zero with ``has_dom`` 0 otherwise):
  link share, enclosing elements, class and id names, and its block, container and
  repeated structure (the posts of a thread share one).

The second pass of the model adds the first pass's scores of the neighbours, the
container and the run (:func:`context_scores`). Everything is linear in the lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from zhclean.cleaners.quality import LineFeatures
from zhclean.core.dom import CLASS_CATEGORIES, COLUMNS, LineDom

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
CONTEXT = ("p", "p_1", "p_3", "p_10", "p_max_3", "p_group", "p_page", "p_kept_share")
FEATURES_2 = (*FEATURES, *CONTEXT)
INDEX = {name: i for i, name in enumerate(FEATURES_2)}
_DOM_FIRST = INDEX["dom_link_share"]
# Lines of a run of running text may be apart by this many other lines.
RUN_GAP = 2


def _shape_rows(texts: Sequence[str], feats: Sequence[LineFeatures]) -> np.ndarray:
    rows = [
        (
            f.n_chars, f.n_han, f.n_alnum, f.n_digits, f.n_clause_punct, f.ends_terminal,
            f.n_separators, f.bullet, f.teaser, f.counted, f.date_only, f.stamp,
            f.n_function, f.n_spaced, f.org_name, f.n_labels, f.is_good, f.is_prose,
            f.is_link_like, f.is_field_record, f.is_spaced_prose,
            t.endswith(("：", ":")), t.endswith(("？", "?", "！", "!")),
        )
        for t, f in zip(texts, feats, strict=True)
    ]  # fmt: skip
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 23)


def _window_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``x`` over the ``k`` items on each side (the item itself excluded)."""
    n = len(x)
    c = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(n)
    lo = np.maximum(idx - k, 0)
    hi = np.minimum(idx + k + 1, n)
    total = c[hi] - c[lo] - x
    count = hi - lo - 1
    return np.divide(total, count, out=np.zeros(n), where=count > 0)


def _distance(mask: np.ndarray, cap: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Items to the nearest ``mask`` item above and below (capped)."""
    n = len(mask)
    idx = np.arange(n)
    last = np.where(mask, idx, -1)
    up = np.maximum.accumulate(np.concatenate(([-(10**6)], last[:-1])))
    nxt = np.where(mask, idx, n + 10**6)
    down = np.minimum.accumulate(np.concatenate((nxt[1:], [n + 10**6]))[::-1])[::-1]
    return np.minimum(idx - up, cap), np.minimum(down - idx, cap)


def _group_sum(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For every item, the sum of ``values`` over the items with its key."""
    _, inverse = np.unique(keys, return_inverse=True)
    return np.bincount(inverse, weights=values)[inverse]


def runs(good: np.ndarray, han: np.ndarray, gap: int = RUN_GAP) -> np.ndarray:
    """Run id of every item: runs of ``good`` items at most ``gap`` items apart; items
    outside a run get -1."""
    n = len(good)
    idx = np.arange(n)
    pos = idx[good]
    if not len(pos):
        return np.full(n, -1)
    starts = np.concatenate(([True], np.diff(pos) > gap + 1))
    run_of_good = np.cumsum(starts) - 1
    out = np.full(n, -1)
    # every item between two good items of one run belongs to it
    first = pos[starts]
    last = pos[np.concatenate((starts[1:], [True]))]
    for r, (a, b) in enumerate(zip(first, last, strict=True)):
        out[a : b + 1] = r
    del run_of_good
    return out


def page_matrix(
    texts: Sequence[str],
    feats: Sequence[LineFeatures],
    kinds: Sequence[str | None],
    edge: Sequence[bool],
    title: Sequence[bool],
    repeats: Sequence[int],
    repeat_docs: int,
    after_tail: Sequence[bool],
    in_block: Sequence[bool],
    dom: LineDom | None,
) -> np.ndarray:
    """The feature rows (``FEATURES``) of the non-blank lines of one page, in order."""
    n = len(texts)
    out = np.zeros((n, len(FEATURES_2)), dtype=np.float64)
    if not n:
        return out
    s = _shape_rows(texts, feats)
    chars, han, alnum, digits, clause = s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4]
    safe = np.maximum(chars, 1)
    content = han + alnum
    good, link, stamp = s[:, 16], s[:, 18], s[:, 11]
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
        s[:, 13], s[:, 14], s[:, 15], good, s[:, 17], link, s[:, 19], s[:, 20],
        (content == 0).astype(float), s[:, 21], s[:, 22],
    )  # fmt: skip
    kind = np.asarray([k or "" for k in kinds])
    rule = kind != ""
    put(*((kind == k).astype(float) for k in RULE_KINDS))
    reps = np.asarray(repeats, dtype=np.float64)
    put(
        np.asarray(edge, dtype=float),
        np.asarray(title, dtype=float),
        np.log1p(reps),
        reps / max(repeat_docs, 1),
        np.asarray(after_tail, dtype=float),
        np.asarray(in_block, dtype=float),
    )
    # position and page
    idx = np.arange(n)
    seen: dict[str, int] = {}
    for t in texts:
        seen[t] = seen.get(t, 0) + 1
    dup = np.asarray([seen[t] for t in texts], dtype=np.float64)
    good_han = han * good
    total_good = good_han.sum()
    before = np.cumsum(good_han) - good_han
    run = runs(good > 0, han)
    run_han = np.where(run >= 0, _group_sum(run, good_han), 0.0)
    max_run = run_han.max() if n else 0.0
    put(
        idx / max(n - 1, 1),
        before / total_good if total_good else np.zeros(n),
        np.full(n, math.log1p(han.sum())),
        np.full(n, math.log1p(n)),
        han / max(han.max(), 1),
        np.log1p(run_han),
        run_han / max_run if max_run else np.zeros(n),
        ((run_han == max_run) & (max_run > 0)).astype(float),
        np.full(n, total_good / max(han.sum(), 1)),
        np.full(n, max_run / max(han.sum(), 1)),
        np.full(n, math.log1p(stamp.sum())),
        np.log1p(dup - 1),
        np.full(n, float((dup >= 3).mean())),
    )
    # neighbours
    log_han = np.log1p(han)
    up, down = _distance(good > 0)
    put(
        _window_mean(good, 1), _window_mean(good, 3), _window_mean(good, 8),
        _window_mean(link, 3), np.log1p(_window_mean(han, 3) * 6),
        np.concatenate(([0.0], good[:-1])), np.concatenate((good[1:], [0.0])),
        np.concatenate(([0.0], log_han[:-1])), np.concatenate((log_han[1:], [0.0])),
        up, down, _window_mean(rule.astype(float), 3), _window_mean(stamp, 3),
    )  # fmt: skip
    if dom is None:
        return out
    # DOM
    v = dom.values.astype(np.float64)
    out[:, col] = 1.0
    out[:, _DOM_FIRST : _DOM_FIRST + v.shape[1]] = v
    col = _DOM_FIRST + v.shape[1]
    depth = v[:, COLUMNS.index("depth")]
    ref = np.median(depth[good > 0]) if good.any() else np.median(depth)
    link_chars = v[:, 0] * content
    total_han = max(han.sum(), 1)
    cont = dom.container
    cont_chars = _group_sum(cont, content)
    sig = dom.signature
    sig_lines = _group_sum(sig, np.ones(n))
    # distinct containers per signature: count each (signature, container) pair once
    pairs = np.unique(np.stack([sig, cont.astype(np.int64)]), axis=1)
    sig_keys, sig_counts = np.unique(pairs[0], return_counts=True)
    sig_containers = sig_counts[np.searchsorted(sig_keys, sig)]
    sig_han = _group_sum(sig, han)
    sig_share = sig_han / total_han
    put(
        depth - ref,
        np.log1p(_group_sum(cont, np.ones(n))),
        _group_sum(cont, han) / total_han,
        _group_sum(cont, link_chars) / np.maximum(cont_chars, 1),
        _group_sum(cont, good_han) / np.maximum(_group_sum(cont, han), 1),
        _group_sum(dom.block, han) / total_han,
        np.log1p(sig_lines),
        sig_share,
        np.log1p(sig_containers),
        _window_mean(v[:, 0], 3),
        np.log1p(sig_han / sig_containers),
        np.full(n, float(sig_share[sig_containers >= 3].max(initial=0.0))),
    )
    return out


def context_scores(x: np.ndarray, p: np.ndarray, han: np.ndarray) -> None:
    """Fill the second pass's columns (``CONTEXT``) of ``x`` from first-pass scores ``p``:
    the line's own, its neighbours', the best of its window, its group's (the DOM
    container, or the run of text without a DOM) and the page's."""
    n = len(p)
    if not n:
        return
    base = len(FEATURES)
    x[:, base] = p
    x[:, base + 1] = _window_mean(p, 1)
    x[:, base + 2] = _window_mean(p, 3)
    x[:, base + 3] = _window_mean(p, 10)
    padded = np.concatenate((np.zeros(3), p, np.zeros(3)))
    x[:, base + 4] = np.max(np.lib.stride_tricks.sliding_window_view(padded, 7), axis=1)
    weight = np.maximum(han, 1.0)
    x[:, base + 6] = float(np.average(p, weights=weight))
    x[:, base + 7] = float(weight[p > 0.5].sum() / weight.sum())


def group_scores(x: np.ndarray, p: np.ndarray, groups: np.ndarray, han: np.ndarray) -> None:
    """The mean first-pass score of each line's group (Han-weighted)."""
    if not len(p):
        return
    weight = np.maximum(han, 1.0)
    x[:, INDEX["p_group"]] = _group_sum(groups, p * weight) / _group_sum(groups, weight)


__all__ = [
    "CLASS_CATEGORIES",
    "CONTEXT",
    "FEATURES",
    "FEATURES_2",
    "INDEX",
    "context_scores",
    "group_scores",
    "page_matrix",
    "runs",
]
