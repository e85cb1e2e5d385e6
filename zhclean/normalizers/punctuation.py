"""Punctuation restoration for text whose 。，、 were all written as ``.``.

Crawlers, OCR and old converters write every full stop, comma and enumeration comma of a
Chinese text as an ASCII ``.`` (seed 000). Read as full stops, such a text splits into
clause fragments (``习近平。李源潮等``). This module finds those lines and gives each
collapsed ``.`` its mark back with a small learned model that reads the whole line.

- **Detection** (:func:`collapsed_lines`, called by the normalizer before its ``.`` → 。
  pass): a line whose ``.`` after Han are its only clause punctuation (no 。，、 and at
  most a few ASCII commas) is *dot-punctuated*; a document is collapsed when its
  dot-punctuated lines hold at least :data:`MIN_DOTS` such dots and at least half of all
  its punctuation. Stray dots in normal text, decimals, versions, URLs and list numbers
  never qualify, so every other document stays byte-identical.
- **Restoration** (:class:`PunctModel`): per candidate ``.`` the characters around it,
  hashed character n-grams, the lengths and contents of the clauses on both sides,
  quotation and bracket state; a bidirectional GRU over the sequence of candidates of the
  line adds the context of the whole paragraph (a run of ，ending in 。, the items of an
  enumeration). Numpy only; the weights are ``zhclean/data/punct_model.npz``, trained by
  ``train/punct_train.py`` (which names the data it learned from).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from zhclean.core.chars import HAN, HAN_RANGES
from zhclean.core.record import PUNCT_RESTORED, Document
from zhclean.core.spans import in_spans, protected_spans
from zhclean.core.step import Step

MARKS = ("。", "，", "、")
# A '.' right after Han (or a closing quote/bracket, or Han and an ASCII quote) that no
# letter or other '.' follows: the full stops the normalizer turns into 。. The same
# pattern finds the candidates of collapsed lines.
CLOSING = "”’」』）》】〕"
FULL_STOP_RE = re.compile(f"\\.(?![.A-Za-z])(?:(?<={HAN}\\.)|(?<=[{CLOSING}]\\.)|(?<={HAN}['\"]\\.))")
# In a collapsed line only: a '.' after a digit, a letter, % or ) that Han, an opening
# mark or the end of the line follows ("增长5%.同比", "iPhone.我们") is a collapsed mark
# too, unless it ends a list number ("1.加强学习", see _LIST_NUMBER_RE).
_AFTER_WORD_RE = re.compile(f"(?<=[0-9A-Za-z%％)）])\\.(?=[{HAN_RANGES}“‘「『（《【]|$)")
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


def collapsed_lines(text: str, spans: list[tuple[int, int]] | None = None) -> list[int]:
    """Indices of the lines of ``text`` whose ``.`` are collapsed 。，、 (empty for almost
    every document: no ``.`` after Han at all, or normal punctuation beside it)."""
    if "." not in text:
        return []
    if spans is None:
        spans = protected_spans(text)
    first = FULL_STOP_RE.search(text)
    while first is not None and spans and in_spans(first.start(), spans):
        first = FULL_STOP_RE.search(text, first.end())
    if first is None:
        return []
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    per_line: dict[int, int] = {}
    for m in FULL_STOP_RE.finditer(text, first.start()):
        if spans and in_spans(m.start(), spans):
            continue
        line = bisect_right(starts, m.start()) - 1
        per_line[line] = per_line.get(line, 0) + 1
    dotted, dots, other = [], 0, 0
    for line, n in per_line.items():
        end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
        body = text[starts[line] : end]
        native = sum(body.count(c) for c in _NATIVE)
        commas = body.count(",")
        if native == 0 and commas * 4 <= n:
            dotted.append(line)
            dots += n
        else:
            other += n + native + commas
    if dots < MIN_DOTS or dots < MIN_SHARE * (dots + other):
        return []
    return sorted(dotted)


def candidates(line: str) -> list[int]:
    """Offsets of the collapsed ``.`` of a collapsed line: after Han or a closing mark as
    the normalizer sees them, and after digits, letters, % or ) before Han (not a list
    number); never inside a URL, domain, e-mail, decimal or version."""
    spans = protected_spans(line)
    found = [m.start() for m in FULL_STOP_RE.finditer(line)]
    for m in _AFTER_WORD_RE.finditer(line):
        if not _LIST_NUMBER_RE.search(line, 0, m.start()):
            found.append(m.start())
    if spans:
        found = [p for p in found if not in_spans(p, spans)]
    return sorted(set(found))


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
class LineFeatures:
    """The model's inputs for the candidates of one line."""

    window: np.ndarray  # (n, 2W) char ids
    hashes: np.ndarray  # (n, len(NGRAMS)) bucket ids
    numeric: np.ndarray  # (n, N_NUMERIC) float32
    left: tuple[np.ndarray, np.ndarray]  # segment bounds [start, end) left of each dot
    right: tuple[np.ndarray, np.ndarray]
    ids: np.ndarray  # (L,) char ids of the line (for the segment bags)


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


def line_features(
    line: str, cands: list[int], table: np.ndarray, window: int, buckets: int
) -> LineFeatures:
    """Features of every candidate ``.`` of ``line`` (shared by training and inference)."""
    cps = code_points(line)
    n_chars = len(cps)
    pos = np.asarray(cands, dtype=np.int64)
    n = len(pos)
    ids = char_ids(cps, table)
    padded = np.concatenate([np.zeros(window, np.int64), ids, np.zeros(window, np.int64)])
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    win = padded[pos[:, None] + offsets[None, :] + window]

    keys = np.concatenate([np.zeros(4, np.int64), _class_points(cps), np.zeros(4, np.int64)])
    hashes = np.empty((n, len(NGRAMS)), np.int64)
    for t, grams in enumerate(NGRAMS):
        h = np.full(n, t + 1, np.uint64)
        for o in grams:
            h = h * _HASH_MUL + keys[pos + o + 4].astype(np.uint64)
        hashes[:, t] = (h % np.uint64(buckets)).astype(np.int64)

    prev = np.concatenate([[-1], pos[:-1]])
    nxt = np.concatenate([pos[1:], [n_chars]])
    llen = (pos - prev - 1).astype(np.float32)
    rlen = (nxt - pos - 1).astype(np.float32)
    # quotation and bracket depth at each candidate
    is_open = np.isin(cps, [ord(c) for c in _OPENERS])
    is_close = np.isin(cps, [ord(c) for c in _CLOSERS])
    depth = np.cumsum(is_open.astype(np.int64) - is_close.astype(np.int64))
    depth_at = depth[pos] if n_chars else np.zeros(n, np.int64)
    digit = ((cps >= 48) & (cps <= 57)).astype(np.int64)
    dcum = np.concatenate([[0], np.cumsum(digit)])
    left_digits = dcum[pos] - dcum[prev + 1]
    right_digits = dcum[nxt] - dcum[pos + 1]
    tail = nxt == n_chars
    rest_empty = tail & (rlen <= 1)
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
            prev < 0,
            tail,
            rest_empty,
            pos / max(n_chars, 1),
            depth_at > 0,
            left_digits > 0,
            right_digits > 0,
            np.full(n, np.log1p(n) / 6),
        ],
        axis=1,
    ).astype(np.float32)
    return LineFeatures(win, hashes, numeric, (prev + 1, pos), (pos + 1, nxt), ids)


# -- the model ------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class PunctModel:
    """The restoration model: numpy inference of the network ``train/punct_train.py``
    trained (embeddings → dense → bidirectional GRU over the line's candidates → marks).

    Rows are computed independently of the other lines of a batch (the same line gives
    the same probabilities whatever else is processed with it)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.meta = json.loads(str(arrays["meta"]))
        self.window = int(self.meta["window"])
        self.buckets = int(self.meta["buckets"])
        self.table = char_table(arrays["vocab"])
        f32 = {k: v.astype(np.float32) for k, v in arrays.items() if k not in ("meta", "vocab")}
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
        self.w2, self.b2 = f32["out.weight"].T.copy(), f32["out.bias"]

    @classmethod
    @cache
    def load(cls) -> PunctModel:
        """The packaged model (loaded once per process)."""
        path = resources.files("zhclean") / "data" / "punct_model.npz"
        with resources.as_file(path) as p, np.load(p, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def features(self, line: str, cands: list[int]) -> LineFeatures:
        return line_features(line, cands, self.table, self.window, self.buckets)

    def _inputs(self, feats: LineFeatures) -> np.ndarray:
        """The dense layer's input for each candidate of one line."""
        n = len(feats.window)
        bag = self.bag_emb[feats.ids]
        cum = np.vstack([np.zeros((1, bag.shape[1]), np.float32), np.cumsum(bag, axis=0)])

        def seg_mean(bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            start, end = bounds
            total = cum[end] - cum[start]
            return total / np.maximum(end - start, 1)[:, None].astype(np.float32)

        return np.hstack(
            [
                self.emb[feats.window].reshape(n, -1),
                self.hash_emb[feats.hashes].reshape(n, -1),
                feats.numeric,
                seg_mean(feats.left),
                seg_mean(feats.right),
            ]
        )

    def predict(self, items: list[tuple[str, list[int]]]) -> list[np.ndarray]:
        """Probabilities of 。，、 for each candidate of each (line, candidates) item."""
        if not items:
            return []
        dense = []
        for line, cands in items:
            x = self._inputs(self.features(line, cands))
            dense.append(np.maximum(x @ self.w1 + self.b1, 0.0))
        lengths = np.array([len(d) for d in dense])
        h = self.hidden
        states = [np.zeros((n, 2 * h), np.float32) for n in lengths]
        for direction, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.gru):
            # inputs of every step at once; then the recurrence, all lines together,
            # each line aligned at its own first (forward) or last (backward) candidate
            gates_x = [d @ w_ih + b_ih for d in dense]
            if direction:
                gates_x = [g[::-1] for g in gates_x]
            steps = int(lengths.max())
            padded = np.zeros((len(dense), steps, 3 * h), np.float32)
            for i, g in enumerate(gates_x):
                padded[i, : len(g)] = g
            state = np.zeros((len(dense), h), np.float32)
            out = np.zeros((len(dense), steps, h), np.float32)
            for t in range(steps):
                gx = padded[:, t]
                gh = state @ w_hh + b_hh
                r = _sigmoid(gx[:, :h] + gh[:, :h])
                z = _sigmoid(gx[:, h : 2 * h] + gh[:, h : 2 * h])
                cand = np.tanh(gx[:, 2 * h :] + r * gh[:, 2 * h :])
                state = (1.0 - z) * cand + z * state
                out[:, t] = state
            for i, n in enumerate(lengths):
                seq = out[i, :n]
                states[i][:, direction * h : (direction + 1) * h] = seq[::-1] if direction else seq
        probs = []
        for d, s in zip(dense, states, strict=True):
            logits = np.hstack([s, d]) @ self.w2 + self.b2
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            probs.append(e / e.sum(axis=1, keepdims=True))
        return probs


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


def restore_lines(
    lines: list[str], indices: list[int], model: PunctModel | None = None
) -> list[Decision]:
    """Restore the collapsed ``.`` of ``lines[i]`` for each ``i`` in ``indices``, in place;
    the decisions made, in text order."""
    model = model or PunctModel.load()
    items = [(i, candidates(lines[i])) for i in indices]
    items = [(i, c) for i, c in items if c]
    probs = model.predict([(lines[i], c) for i, c in items])
    decisions = []
    for (i, cands), p in zip(items, probs, strict=True):
        chars = list(lines[i])
        best = p.argmax(axis=1)
        for offset, k, row in zip(cands, best, p, strict=True):
            chars[offset] = MARKS[k]
            decisions.append(Decision(i, offset, MARKS[k], tuple(round(float(x), 4) for x in row)))
        lines[i] = "".join(chars)
    return decisions


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
        jobs = [(k, i) for k, d in enumerate(todo) for i in d.collapsed_lines]
        flat = [split[k][i] for k, i in jobs]
        decisions = restore_lines(flat, list(range(len(flat))), model)
        per_doc: dict[int, list[Decision]] = {}
        for dec in decisions:
            per_doc.setdefault(jobs[dec.line][0], []).append(dec)
        for (k, i), line in zip(jobs, flat, strict=True):
            split[k][i] = line
        for k, doc in enumerate(todo):
            made = per_doc.get(k, [])
            doc.collapsed_lines = []
            if not made:
                continue
            doc.text = "\n".join(split[k])
            doc.punctuation = PUNCT_RESTORED
            doc.punct_restored = len(made)
            close = sum(dec.close for dec in made)
            doc.punct_confidence = round(1.0 - close / len(made), 3)
            self.count("documents_restored")
            self.count("marks_restored", len(made))
            self.count("close_calls", close)
            for mark, name in zip(MARKS, ("full_stop", "comma", "enumeration_comma"), strict=True):
                self.count(f"marks.{name}", sum(dec.mark == mark for dec in made))
