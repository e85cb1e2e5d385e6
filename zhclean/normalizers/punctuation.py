"""Punctuation restoration for text whose 。，、 were all written as ``.``.

Crawlers, OCR and old converters write every full stop, comma and enumeration comma of a
Chinese text as an ASCII ``.`` (seed 000). Read as full stops, such a text splits into
clause fragments (``习近平。李源潮等``). This module finds those lines and gives each
collapsed ``.`` its mark back with a small learned model that reads the whole paragraph.

- **Detection** (:func:`collapsed_lines`, called by the normalizer before its ``.`` → 。
  pass): a line whose ``.`` after Han are its only clause punctuation (no 。，、 and at
  most a few ASCII commas) is *dot-punctuated*; a document is collapsed when its
  dot-punctuated lines hold at least :data:`MIN_DOTS` such dots and at least half of all
  its punctuation. Stray dots in normal text, decimals, versions, URLs and list numbers
  never qualify, so every other document stays byte-identical.
- **Restoration** (:class:`PunctModel`): per candidate ``.`` the characters around it,
  hashed character n-grams, the lengths and contents of the clauses on both sides,
  quotation and bracket state; a bidirectional GRU over the sequence of candidates of the
  paragraph (a hard-wrapped one joined: :func:`restore_documents`) adds its whole context
  (a run of ，ending in 。, the items of an enumeration); two such networks, trained with
  other seeds, are averaged. Numpy only; the weights are ``zhclean/data/punct_model.npz``,
  trained by ``train/punct_train.py`` (which names the data it learned from).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from threadpoolctl import threadpool_limits

from zhclean.core.chars import HAN, HAN_RANGES
from zhclean.core.record import PUNCT_RESTORED, Document
from zhclean.core.spans import in_spans, protected_spans
from zhclean.core.step import Step

MARKS = ("。", "，", "、")
# A '.' right after Han (or a closing quote/bracket, or Han and an ASCII quote) that no
# letter or other '.' follows: the full stops the normalizer turns into 。. The same
# pattern finds the candidates of collapsed lines.
CLOSING = "”’」』）》】〕"
FULL_STOP_RE = re.compile(
    f"\\.(?![.A-Za-z])(?:(?<={HAN}\\.)|(?<=[{CLOSING}]\\.)|(?<={HAN}['\"]\\.))"
)
# In a collapsed line only: a '.' after a digit, a letter, % or ) that Han, an opening
# mark or the end of the line follows ("增长5%.同比", "iPhone.我们") is a collapsed mark
# too, unless it ends a list number ("1.加强学习", see _LIST_NUMBER_RE).
_AFTER_WORD_RE = re.compile(f"\\.(?<=[0-9A-Za-z%％)）]\\.)(?=[{HAN_RANGES}“‘「『（《【]|$)")
# Digits that start the line or follow a space, a mark or another '.': "1." numbers a list.
_LIST_NUMBER_RE = re.compile(r"(?:^|[\s.。，、；：:;（(])\d{1,2}$")
# Punctuation that shows a line was not collapsed: its 。，、 are still there.
_NATIVE = "。，、"
# A document is collapsed when its dot-punctuated lines hold at least this many candidate
# dots, and at least this share of all its punctuation (candidates and native marks).
MIN_DOTS = 2
MIN_SHARE = 0.5
# A decision whose two best marks are closer than this in probability is a close call.
CLOSE_MARGIN = 0.3

_OPENERS = "“‘「『《（(【〔"
_CLOSERS = "”’」』》）)】〕"


def collapsed_lines(text: str, spans: list[tuple[int, int]] | None = None) -> dict[int, list[int]]:
    """The lines of ``text`` whose ``.`` are collapsed 。，、, each with the offsets (in the
    line) of its ``.`` after Han; empty for almost every document: no ``.`` after Han at
    all, or normal punctuation beside it."""
    if "." not in text:
        return {}
    if spans is None:
        spans = protected_spans(text)
    hits = [m.start() for m in FULL_STOP_RE.finditer(text)]
    if spans:
        hits = [p for p in hits if not in_spans(p, spans)]
    if len(hits) < MIN_DOTS:
        return {}
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    per_line: dict[int, list[int]] = {}
    for p in hits:
        line = bisect_right(starts, p) - 1
        per_line.setdefault(line, []).append(p - starts[line])
    dotted: dict[int, list[int]] = {}
    dots, dotted_commas = 0, 0
    for line, offsets in per_line.items():
        end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
        body = text[starts[line] : end]
        commas = body.count(",")
        n = len(offsets)
        if commas * 4 <= n and not any(c in body for c in _NATIVE):
            dotted[line] = offsets
            dots += n
            dotted_commas += commas
    # every other mark of the document: its 。，、 and commas, and the dots of other lines
    other = sum(text.count(c) for c in _NATIVE) + text.count(",") - dotted_commas
    other += len(hits) - dots
    if dots < MIN_DOTS or dots < MIN_SHARE * (dots + other):
        return {}
    return dotted


def candidates(line: str, base: list[int] | None = None) -> list[int]:
    """Offsets of the collapsed ``.`` of a collapsed line: after Han or a closing mark as
    the normalizer sees them (``base``, when the normalizer found them already), and after
    digits, letters, % or ) before Han (not a list number); never inside a URL, domain,
    e-mail, decimal or version."""
    spans = None
    if base is None:
        spans = protected_spans(line)
        base = [m.start() for m in FULL_STOP_RE.finditer(line) if not in_spans(m.start(), spans)]
    extra = [
        m.start()
        for m in _AFTER_WORD_RE.finditer(line)
        if not _LIST_NUMBER_RE.search(line, 0, m.start())
    ]
    if not extra:
        return base
    if spans is None:
        spans = protected_spans(line)
    return sorted(set(base) | {p for p in extra if not in_spans(p, spans)})


# -- features -------------------------------------------------------------------------

# Character ids: 0 outside the line, then these classes, then the vocabulary.
PAD, UNK, DOT, DIGIT, LATIN, SPACE = range(6)
N_SPECIAL = 6
# Hashed character n-grams around the candidate (offsets relative to it).
NGRAMS = ((-2, -1), (1, 2), (-3, -2, -1), (1, 2, 3), (-1, 1), (2, 3), (-4, -3))
_HASH_MUL = np.uint64(1000003)
N_NUMERIC = 16


def code_points(line: str) -> np.ndarray:
    """The line as an array of code points (one per character, no Python loop)."""
    return np.frombuffer(line.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
        np.int64
    )


def _class_points(cps: np.ndarray) -> np.ndarray:
    """Code points with every digit as '0' and every ASCII letter as 'a' (n-gram keys)."""
    out = cps.copy()
    out[(cps >= 48) & (cps <= 57)] = 48
    letters = ((cps >= 65) & (cps <= 90)) | ((cps >= 97) & (cps <= 122))
    out[letters] = 97
    return out


@dataclass
class Features:
    """The model's inputs for the candidates of a batch of lines (concatenated)."""

    window: np.ndarray  # (n, 2W) char ids around each candidate
    hashes: np.ndarray  # (n, len(NGRAMS)) hashed n-gram buckets
    numeric: np.ndarray  # (n, N_NUMERIC) float32
    left: tuple[np.ndarray, np.ndarray]  # [start, end) of the clause left of each dot in ids
    right: tuple[np.ndarray, np.ndarray]
    ids: np.ndarray  # char ids of the lines, joined by one separator
    counts: np.ndarray  # candidates per line
    lengths: np.ndarray  # characters per line


def char_table(vocab: np.ndarray) -> np.ndarray:
    """Code point (BMP) → character id, for a vocabulary of code points."""
    table = np.full(0x10000, UNK, np.int64)
    bmp = vocab < 0xFFFF
    table[vocab[bmp]] = np.arange(len(vocab))[bmp] + N_SPECIAL
    table[ord(".")] = DOT
    table[48:58] = DIGIT
    table[65:91] = LATIN
    table[97:123] = LATIN
    table[32] = SPACE
    table[0xFFFF] = UNK
    return table


def char_ids(cps: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Vocabulary ids of code points (``table`` maps the BMP; the rest is UNK)."""
    ids = table[np.minimum(cps, len(table) - 1)]
    ids[cps >= len(table) - 1] = UNK
    return ids


_OPEN_CLOSE = np.zeros(0x10000, np.int64)
_OPEN_CLOSE[[ord(c) for c in _OPENERS]] = 1
_OPEN_CLOSE[[ord(c) for c in _CLOSERS]] = -1


def batch_features(
    items: list[tuple[str, list[int]]], table: np.ndarray, window: int, buckets: int
) -> Features:
    """Features of every candidate ``.`` of every (line, candidates) item, computed over
    all lines at once (shared by training and inference)."""
    lens = np.array([len(line) for line, _ in items], np.int64)
    counts = np.array([len(c) for _, c in items], np.int64)
    line_start = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    cps = code_points("\n".join(line for line, _ in items))
    size = len(cps)
    line_of = np.repeat(np.arange(len(items)), counts)
    ls = line_start[line_of]
    le = ls + lens[line_of]
    pos = np.concatenate([np.asarray(c, np.int64) for _, c in items]) + ls
    n = len(pos)
    ids = char_ids(cps, table)

    def around(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values`` at each candidate + offset, 0 outside the candidate's line."""
        idx = pos[:, None] + offsets[None, :]
        inside = (idx >= ls[:, None]) & (idx < le[:, None])
        return np.where(inside, values[np.clip(idx, 0, max(size - 1, 0))], 0)

    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    win = around(offsets, ids)
    keys = around(np.arange(-4, 5), _class_points(cps)).astype(np.uint64)  # offsets -4..4
    hashes = np.empty((n, len(NGRAMS)), np.int64)
    for t, grams in enumerate(NGRAMS):
        h = np.full(n, t + 1, np.uint64)
        for o in grams:
            h = h * _HASH_MUL + keys[:, o + 4]
        hashes[:, t] = (h % np.uint64(buckets)).astype(np.int64)

    first = np.ones(n, bool)
    first[1:] = line_of[1:] != line_of[:-1]
    last = np.ones(n, bool)
    last[:-1] = line_of[1:] != line_of[:-1]
    prev = np.where(first, ls - 1, np.concatenate([[0], pos[:-1]]))
    nxt = np.where(last, le, np.concatenate([pos[1:], [0]]))
    llen = (pos - prev - 1).astype(np.float32)
    rlen = (nxt - pos - 1).astype(np.float32)
    # quotation and bracket depth at each candidate, within its line
    depth = np.concatenate([[0], np.cumsum(_OPEN_CLOSE[np.minimum(cps, 0xFFFF)])])
    depth_at = depth[pos + 1] - depth[ls]
    digits = np.concatenate([[0], np.cumsum((cps >= 48) & (cps <= 57))])
    left_digits = digits[pos] - digits[prev + 1]
    right_digits = digits[nxt] - digits[np.minimum(pos + 1, nxt)]
    numeric = np.stack(
        [
            np.log1p(llen) / 4,
            np.log1p(rlen) / 4,
            llen <= 2,
            llen <= 4,
            llen <= 7,
            rlen <= 2,
            rlen <= 4,
            rlen <= 7,
            first,
            last,
            last & (rlen <= 1),
            (pos - ls) / np.maximum(lens[line_of], 1),
            depth_at > 0,
            left_digits > 0,
            right_digits > 0,
            np.log1p(counts[line_of]) / 6,
        ],
        axis=1,
    ).astype(np.float32)
    return Features(win, hashes, numeric, (prev + 1, pos), (pos + 1, nxt), ids, counts, lens)


# -- the model ------------------------------------------------------------------------


# Rows of a product computed together (see _mm).
_BLOCK = 256


def _mm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` whose rows do not depend on the other rows: OpenBLAS sends a one-row
    product to another kernel (gemv), so one row is computed as two; and a tall product
    to other kernels again (seen here on the 4-column output layer: 1,470 of 1,522 lines
    differed alone and in a batch of 9,139 candidates with blocks of 1,024 rows, none with
    blocks of 256 or 64), so rows go in blocks of at most _BLOCK."""
    if len(x) == 1:
        return (np.vstack([x, x]) @ w)[:1]
    if len(x) > _BLOCK:
        return np.concatenate([_mm(x[k : k + _BLOCK], w) for k in range(0, len(x), _BLOCK)])
    return x @ w


def _bmm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x[d] @ w[d]`` for every stacked direction d (two per network) in one product; one line is
    computed as two (see _mm), through the same stacked product as a group of lines, so
    that its recurrence does not depend on how many lines share its length group."""
    if x.shape[1] == 1:
        return np.matmul(np.concatenate([x, x], axis=1), w)[:, :1]
    return np.matmul(x, w)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class _Network:
    """One trained network in numpy (embeddings → dense → bidirectional GRU over the
    candidates of a line → 。，、), the mirror of ``train/punct_train.py``'s ``Net``."""

    def __init__(self, f32: dict[str, np.ndarray]) -> None:
        self.emb = f32["emb"]
        self.hash_emb = f32["hash_emb"]
        self.bag_emb = f32["bag_emb"]
        self.w1, self.b1 = f32["dense.weight"].T.copy(), f32["dense.bias"]
        self.gru = []
        for d in ("", "_reverse"):
            self.gru.append(
                (
                    f32[f"gru.weight_ih_l0{d}"].T.copy(),
                    f32[f"gru.weight_hh_l0{d}"].T.copy(),
                    f32[f"gru.bias_ih_l0{d}"],
                    f32[f"gru.bias_hh_l0{d}"],
                )
            )
        self.hidden = self.gru[0][1].shape[0]
        # the output layer padded to four columns: OpenBLAS computes a three-column
        # product differently depending on the number of rows (the fourth is dropped)
        w2 = f32["out.weight"].T
        self.w2 = np.hstack([w2, np.zeros((len(w2), 1), np.float32)])
        self.b2 = f32["out.bias"]

    def _inputs(self, feats: Features) -> np.ndarray:
        """The dense layer's input for each candidate."""
        n = len(feats.window)
        bag = self.bag_emb[feats.ids]
        # running sums of the bag embeddings, each line on its own (a running sum over the
        # batch would make a line's values depend on the lines before it): for the line
        # starting at s, row s + k holds the sum of its first k characters
        cum = np.zeros((len(bag) + 1, bag.shape[1]), np.float32)
        begin = 0
        for length in feats.lengths:
            np.cumsum(bag[begin : begin + length], axis=0, out=cum[begin + 1 : begin + length + 1])
            begin += length + 1
        dims = (
            len(feats.window[0]) * self.emb.shape[1],
            feats.hashes.shape[1] * self.hash_emb.shape[1],
        )
        x = np.empty((n, dims[0] + dims[1] + feats.numeric.shape[1] + 2 * bag.shape[1]), np.float32)
        x[:, : dims[0]] = self.emb[feats.window].reshape(n, -1)
        col = dims[0]
        x[:, col : col + dims[1]] = self.hash_emb[feats.hashes].reshape(n, -1)
        col += dims[1]
        x[:, col : col + feats.numeric.shape[1]] = feats.numeric
        col += feats.numeric.shape[1]
        for start, end in (feats.left, feats.right):
            width = np.maximum(end - start, 1)[:, None].astype(np.float32)
            x[:, col : col + bag.shape[1]] = (cum[end] - cum[start]) / width
            col += bag.shape[1]
        return x

    def gates(self, feats: Features) -> tuple[np.ndarray, list[np.ndarray]]:
        """The dense layer's output and the GRU's input gates of each direction."""
        dense = np.maximum(_mm(self._inputs(feats), self.w1) + self.b1, 0.0)
        return dense, [_mm(dense, w_ih) + b_ih for w_ih, _, b_ih, _ in self.gru]

    def output(self, states: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """Probabilities of 。，、 from the GRU states (both directions) and the dense output."""
        two_h = 2 * self.hidden
        states = np.ascontiguousarray(states)
        logits = (_mm(states, self.w2[:two_h]) + _mm(dense, self.w2[two_h:]))[:, :3] + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def _recurrence(
    gates_x: list[np.ndarray], w_hh: np.ndarray, b_hh: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """The GRU states of every candidate in each stacked direction (even: forward, odd:
    backward; two per network), side by side: (candidates, directions × hidden).

    Every direction of every network steps together, and lines of similar length run their
    recurrence together (little padding): the step loop is most of the model's time, so
    one loop serves all networks; each direction's product is its own (see _bmm)."""
    k, h = len(gates_x), w_hh.shape[1]
    n = len(gates_x[0])
    states = np.zeros((n, k * h), np.float32)
    line_of = np.repeat(np.arange(len(counts)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    step = np.arange(n) - first[line_of]
    t_of = (step, counts[line_of] - 1 - step)
    b_hh = b_hh[:, None, :]
    group_of = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    for group in np.unique(group_of[counts > 0]):
        lines = np.flatnonzero((group_of == group) & (counts > 0))
        row = np.full(len(counts), -1)
        row[lines] = np.arange(len(lines))
        member = row[line_of] >= 0
        r_of = row[line_of][member]
        steps = int(counts[lines].max())
        padded = np.zeros((steps, k, len(lines), 3 * h), np.float32)
        for d in range(k):
            padded[t_of[d % 2][member], d, r_of] = gates_x[d][member]
        out = np.empty((steps, k, len(lines), h), np.float32)
        state = np.zeros((k, len(lines), h), np.float32)
        for t in range(steps):
            gx = padded[t]
            gh = _bmm(state, w_hh) + b_hh
            rz = _sigmoid(gx[..., : 2 * h] + gh[..., : 2 * h])
            cand = np.tanh(gx[..., 2 * h :] + rz[..., :h] * gh[..., 2 * h :])
            state = cand + rz[..., h:] * (state - cand)
            out[t] = state
        for d in range(k):
            states[member, d * h : (d + 1) * h] = out[t_of[d % 2][member], d, r_of]
    return states


class PunctModel:
    """The restoration model: the mean of the probabilities of a few networks trained
    alike with other seeds, all reading the same features (two networks moved held-out
    sentence boundaries where more training text alone did not; see the README).

    A line's probabilities do not depend on the other lines of its batch (tested), so a
    document gets the same marks however a run is cut into shards and batches."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.meta = json.loads(str(arrays["meta"]))
        self.window = int(self.meta["window"])
        self.buckets = int(self.meta["buckets"])
        self.table = char_table(arrays["vocab"])
        f32 = {k: v.astype(np.float32) for k, v in arrays.items() if k not in ("meta", "vocab")}
        # a file of one network, or of several whose arrays are prefixed m0., m1., ...
        prefixes = [f"m{i}." for i in range(int(self.meta.get("members", 0)))] or [""]
        if prefixes == [""] and "emb" not in f32:
            raise ValueError("punctuation model: prefixed networks but no 'members' in its meta")
        self.networks = [
            _Network({k[len(p) :]: v for k, v in f32.items() if k.startswith(p)}) for p in prefixes
        ]
        # every direction of every network, stacked for the one recurrence
        self.w_hh = np.stack([g[1] for net in self.networks for g in net.gru])
        self.b_hh = np.stack([g[3] for net in self.networks for g in net.gru])

    @classmethod
    @cache
    def load(cls) -> PunctModel:
        """The packaged model (loaded once per process)."""
        path = resources.files("zhclean") / "data" / "punct_model.npz"
        with resources.as_file(path) as p, np.load(p, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def features(self, items: list[tuple[str, list[int]]]) -> Features:
        return batch_features(items, self.table, self.window, self.buckets)

    def predict(self, items: list[tuple[str, list[int]]]) -> list[np.ndarray]:
        """Probabilities of 。，、 for each candidate of each (line, candidates) item.

        Identical items are computed once: a line's probabilities do not depend on the
        other lines of its batch, and collapsed text is often copied (reposts, mirrors,
        the same page under two addresses)."""
        items = [(line, list(c)) for line, c in items]
        if not items or not any(c for _, c in items):
            return [np.zeros((len(c), 3), np.float32) for _, c in items]
        first: dict[tuple[str, tuple[int, ...]], int] = {}
        slot = [first.setdefault((line, tuple(c)), len(first)) for line, c in items]
        unique = [(line, list(c)) for line, c in first]
        with threadpool_limits(1, user_api="blas"):  # small products: threads only cost
            probs = self._predict(unique)
        if len(unique) == len(items):
            return probs
        return [probs[k].copy() for k in slot]

    def _predict(self, items: list[tuple[str, list[int]]]) -> list[np.ndarray]:
        feats = self.features(items)
        made = [net.gates(feats) for net in self.networks]
        states = _recurrence(
            [g for _, gates in made for g in gates], self.w_hh, self.b_hh, feats.counts
        )
        two_h = 2 * self.networks[0].hidden
        probs = np.zeros((len(states), 3), np.float32)
        for i, (net, (dense, _)) in enumerate(zip(self.networks, made, strict=True)):
            probs += net.output(states[:, i * two_h : (i + 1) * two_h], dense)
        probs /= np.float32(len(self.networks))
        return np.split(probs, np.cumsum(feats.counts)[:-1])


@dataclass(frozen=True)
class Decision:
    """One restored mark: where, which, and how sure."""

    line: int
    offset: int
    mark: str
    probs: tuple[float, float, float]

    @property
    def close(self) -> bool:
        top = sorted(self.probs, reverse=True)
        return top[0] - top[1] < CLOSE_MARGIN


@dataclass
class Restored:
    """What the model decided for the candidates of one line."""

    line: int
    offsets: list[int]
    probs: np.ndarray  # (n, 3): 。，、

    @property
    def marks(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def close(self) -> np.ndarray:
        top = np.sort(self.probs, axis=1)
        return top[:, -1] - top[:, -2] < CLOSE_MARGIN

    def decisions(self) -> list[Decision]:
        return [
            Decision(self.line, o, MARKS[k], tuple(round(float(x), 4) for x in row))
            for o, k, row in zip(self.offsets, self.marks, self.probs, strict=True)
        ]


_MARK_POINTS = np.array([ord(m) for m in MARKS], np.uint32)


# A line that stops in the middle of a clause (Han, a letter or a digit at its end, no
# mark) and a next line that carries on: a paragraph hard-wrapped over several lines.
_OPEN_END = re.compile(f"[{HAN_RANGES}0-9A-Za-z]$")
_HAN_END = re.compile(f"[{HAN_RANGES}{CLOSING}]$")
# The dot a continuation line starts with ends the clause of the line before only when
# Han or an opening mark follows it: "......", ".NET", ".com", ".5" are never marks.
_LEADING_DOT = re.compile(f"\\.(?=[{HAN_RANGES}“‘「『（《])")
_OPEN_START = re.compile(f"[{HAN_RANGES}0-9A-Za-z“‘「『（《.'\"]")
# A line that starts a list item ("2.深入调查", "二.加强", "(3)") is never a continuation.
_ITEM_START = re.compile(
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})[.、．]|[(（][0-9一二三四五六七八九十]{1,3}[)）]"
)
# Lines hard-wrapped at a fixed width (see _wrap_width): at least this many collapsed
# lines, this share of them exactly as long as the longest, which is at most this long.
_WRAP_LINES = 3
_WRAP_SHARE = 0.6
_WRAP_WIDTH = 200


def _wrap_width(lines: list[str], indices: list[int]) -> int | None:
    """The width the collapsed lines were cut at, when they were cut at one: most of them
    are exactly as long as the longest (a paragraph's last line is shorter), and the cut
    shows, a full line stopping in the middle of a clause. Paragraphs that merely have one
    length (verse, short items) end with their dot and are never joined by it."""
    if len(indices) < _WRAP_LINES:
        return None
    lengths = [len(lines[i]) for i in indices]
    longest = max(lengths)
    if longest > _WRAP_WIDTH or lengths.count(longest) < _WRAP_SHARE * len(lengths):
        return None
    cut = any(len(lines[i]) == longest and _OPEN_END.search(lines[i]) for i in indices)
    return longest if cut else None


def _plain_piece(line: str) -> bool:
    """A line with no dot or mark of its own, but perhaps a leading dot that ends the
    clause of the line before (see _LEADING_DOT)."""
    rest = line[1:] if _LEADING_DOT.match(line) else line
    return not any(c in rest for c in _NATIVE + ",.")


def _paragraphs(lines: list[str], indices: list[int]) -> list[list[int]]:
    """The collapsed lines grouped into paragraphs: a line that stops in the middle of a
    clause, or a full line of a text cut at a fixed width, continues on the next line when
    that one carries on (collapsed too, or a piece with no '.' and no mark of its own but
    perhaps the dot it starts with, and not a list item; through the width rule, only a
    collapsed line or another full one), so that the model reads the paragraph whole
    (the marks it gives the unwrapped paragraph) instead of each piece on its own."""
    if not indices:
        return []
    collapsed = set(indices)
    width = _wrap_width(lines, indices)
    out: list[list[int]] = []
    for i in range(indices[0], min(indices[-1] + 2, len(lines))):
        line, before = lines[i], lines[i - 1] if i else ""
        open_end = bool(_OPEN_END.search(before))
        # a full line goes on into a collapsed line, or into another full line (a piece of
        # the text without a dot); never into a short one such as a heading
        full = width is not None and len(before) == width and (i in collapsed or len(line) == width)
        carries = (
            out
            and out[-1][-1] == i - 1
            and (open_end or full)
            and _OPEN_START.match(line)
            and not _ITEM_START.match(line)
            and (i in collapsed or _plain_piece(line))
        )
        if carries:
            out[-1].append(i)
        elif i in collapsed:
            out.append([i])
    return out


def _points(line: str) -> np.ndarray:
    return np.frombuffer(line.encode("utf-32-le", "surrogatepass"), np.uint32)


def restore_documents(
    docs: list[tuple[list[str], dict[int, list[int] | None]]], model: PunctModel | None = None
) -> list[list[Restored]]:
    """Restore the collapsed ``.`` of every document's lines in place, all through the
    model at once. Each document is (its lines, line index → the offsets the normalizer
    found, or None to find them again); what was decided for each line, in text order.

    A paragraph hard-wrapped over several lines is read as one line: its candidates are
    each line's own, and a dot that starts a continuation line (the wrap fell right before
    it) is one too."""
    model = model or PunctModel.load()
    # (document, [(line, offsets in the line)], text, offsets in the text)
    units: list[tuple[int, list[tuple[int, list[int]]], str, list[int]]] = []
    for k, (lines, collapsed) in enumerate(docs):
        for para in _paragraphs(lines, sorted(collapsed)):
            parts, found, start = [], [], 0
            for j, i in enumerate(para):
                own = candidates(lines[i], collapsed.get(i))
                if (
                    j
                    and 0 not in own
                    and _LEADING_DOT.match(lines[i])
                    and _HAN_END.search(lines[para[j - 1]])
                ):
                    own = [0, *own]  # the wrap fell right before the dot that ends the clause
                if own:
                    parts.append((i, own))
                    found += [start + p for p in own]
                start += len(lines[i])
            if parts:
                units.append((k, parts, "".join(lines[i] for i in para), found))
    probs = model.predict([(text, found) for _, _, text, found in units])
    out: list[list[Restored]] = [[] for _ in docs]
    for (k, parts, _, _), unit_probs in zip(units, probs, strict=True):
        lines, begin = docs[k][0], 0
        for i, cands in parts:
            result = Restored(i, cands, unit_probs[begin : begin + len(cands)])
            begin += len(cands)
            points = _points(lines[i]).copy()
            points[cands] = _MARK_POINTS[result.marks]
            lines[i] = points.tobytes().decode("utf-32-le", "surrogatepass")
            out[k].append(result)
    return out


def restore_lines(
    lines: list[str],
    collapsed: dict[int, list[int] | None] | list[int],
    model: PunctModel | None = None,
) -> list[Restored]:
    """Restore the collapsed ``.`` of the given lines of one document in place (a mapping
    of line index to the offsets the normalizer found, or just line indices)."""
    if not isinstance(collapsed, dict):
        collapsed = dict.fromkeys(collapsed)
    return restore_documents([(lines, collapsed)], model)[0]


def _checked(lines: list[str], collapsed: dict[int, list[int]]) -> dict[int, list[int] | None]:
    """The normalizer's offsets per line, or None where the conversion to Simplified moved
    them (the candidates are then found again)."""
    out: dict[int, list[int] | None] = {}
    for i, base in collapsed.items():
        line = lines[i]
        out[i] = base if all(p < len(line) and line[p] == "." for p in base) else None
    return out


def restore_text(
    text: str, collapsed: dict[int, list[int]], model: PunctModel | None = None
) -> tuple[str, list[Decision]]:
    """``text`` with the collapsed lines the normalizer found restored, and each decision."""
    if not collapsed:
        return text, []
    lines = text.split("\n")
    restored = restore_lines(lines, _checked(lines, collapsed), model)
    return "\n".join(lines), [d for r in restored for d in r.decisions()]


def punct_confidence(close: int, marks: int) -> float:
    """The share of restored marks that were not close calls."""
    return round(1.0 - close / marks, 3) if marks else 1.0


class PunctuationRestorer(Step):
    """Give the collapsed lines the normalizer found their 。，、 back (after the conversion
    to Simplified, so the model reads the script it learned from).

    A document with restored marks says so (``punctuation``, ``punct_restored``) and how
    sure the model was: ``punct_confidence`` is the share of its marks that were not close
    calls (the published ``confidence`` is the lower of it and the cleaner's).
    """

    name = "punctuate"

    def __init__(self, model: PunctModel | None = None) -> None:
        super().__init__()
        self._model = model

    def process_batch(self, docs: list[Document]) -> None:
        todo = [d for d in docs if d.collapsed_lines]
        if not todo:
            return
        model = self._model or PunctModel.load()
        split = [d.text.split("\n") for d in todo]
        # every collapsed line of the batch through the model at once
        jobs = [
            (lines, _checked(lines, d.collapsed_lines))
            for lines, d in zip(split, todo, strict=True)
        ]
        for doc, lines, made in zip(todo, split, restore_documents(jobs, model), strict=True):
            doc.collapsed_lines = {}
            if not made:
                continue
            marks = np.bincount(np.concatenate([r.marks for r in made]), minlength=3)
            n = int(marks.sum())
            close = int(sum(int(r.close.sum()) for r in made))
            doc.text = "\n".join(lines)
            doc.punctuation = PUNCT_RESTORED
            doc.punct_restored = n
            doc.punct_confidence = punct_confidence(close, n)
            self.count("documents_restored")
            self.count("marks_restored", n)
            self.count("close_calls", close)
            for count, name in zip(marks, ("full_stop", "comma", "enumeration_comma"), strict=True):
                self.count(f"marks.{name}", int(count))
