"""The line model: gradient-boosted trees, shipped as data, evaluated with numpy.

``zhclean/data/line_model.json`` holds two tree ensembles (a first pass over the line
features, a second pass that also sees the first pass's scores of the neighbours), the
decision thresholds, and the record of what the model learned from (data, page counts,
commit, seeds, the script: ``evals/train_extractor.py``). Training needs scikit-learn (the
``train`` extra); running needs only numpy.

Every tree is evaluated for all lines of a batch at once: the lines walk down all trees
together, one level per step, so the cost is (lines x trees x depth) array operations in
C, without a Python call per line. :meth:`Ensemble.contributions` splits a score into
each feature's share (the path contributions of Saabas) for ``zhclean explain``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = resources.files("zhclean") / "data" / "line_model.json"
_CHUNK = 256  # rows evaluated together


@dataclass(frozen=True)
class Ensemble:
    """Trees as flat node arrays, numbered so that an inner node's right child follows its
    left child; a leaf is its own left child with an infinite threshold, so that walking
    past it stays."""

    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray  # int64 per node (0 for leaves)
    threshold: np.ndarray  # float64 per node: x <= threshold goes left, else right
    left: np.ndarray  # int64: the left child (the node itself for a leaf)
    value: np.ndarray  # float64: a leaf's value; an inner node's expected value
    roots: np.ndarray  # int64 root node of each tree
    depth: int
    # the walk's copies: 32-bit node and feature numbers halve the memory it moves
    _left32: np.ndarray = field(init=False, repr=False, compare=False)
    _feature32: np.ndarray = field(init=False, repr=False, compare=False)
    _roots32: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_left32", self.left.astype(np.int32))
        object.__setattr__(self, "_feature32", self.feature.astype(np.int32))
        object.__setattr__(self, "_roots32", self.roots.astype(np.int32))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ensemble:
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        value: list[float] = []
        roots: list[int] = []
        depth = 0
        for tree in data["trees"]:
            # breadth first: the two children of a node get consecutive numbers
            lo_of, hi_of = tree["left"], tree["right"]
            order, k = [0], 0
            while k < len(order):
                if lo_of[order[k]] >= 0:
                    order += [lo_of[order[k]], hi_of[order[k]]]
                k += 1
            base = len(feature)
            number = {node: base + j for j, node in enumerate(order)}
            roots.append(base)
            for node in order:
                leaf = lo_of[node] < 0
                feature.append(0 if leaf else tree["feature"][node])
                threshold.append(np.inf if leaf else tree["threshold"][node])
                left.append(number[node] if leaf else number[lo_of[node]])
                value.append(tree["value"][node])
            depth = max(depth, tree["depth"])
        return cls(
            tuple(data["features"]),
            float(data["baseline"]),
            np.asarray(feature, dtype=np.int64),
            np.asarray(threshold, dtype=np.float64),
            np.asarray(left, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
            np.asarray(roots, dtype=np.int64),
            depth,
        )

    def _leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: (rows, trees)."""
        rows, width = x.shape
        trees = len(self.roots)
        flat = np.ascontiguousarray(x).ravel()
        offset = (np.arange(rows, dtype=np.int32) * width)[:, None]
        node = np.broadcast_to(self._roots32, (rows, trees)).copy()
        # one level of every tree per step, into buffers allocated once (``take`` with
        # ``clip`` writes into ``out`` directly; every index is in range)
        at = np.empty((rows, trees), dtype=np.int32)
        value = np.empty((rows, trees), dtype=np.float64)
        threshold = np.empty((rows, trees), dtype=np.float64)
        right = np.empty((rows, trees), dtype=bool)
        for _ in range(self.depth):
            np.take(self._feature32, node, out=at, mode="clip")
            at += offset
            np.take(flat, at, out=value, mode="clip")
            np.take(self.threshold, node, out=threshold, mode="clip")
            np.greater(value, threshold, out=right)
            np.take(self._left32, node, out=node, mode="clip")
            node += right
        return node

    def margin(self, x: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of each row of ``x``, a chunk of rows at a time: the
        walk gathers from the rows at random, which is 3 times faster while a chunk's
        rows and nodes stay in the processor's cache (256 rows: twice as fast as 512
        with the walk's buffers)."""
        out = np.full(len(x), self.baseline)
        for start in range(0, len(x), _CHUNK):
            out[start : start + _CHUNK] += self.value[self._leaves(x[start : start + _CHUNK])].sum(
                axis=1
            )
        return out

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.margin(x)))

    @property
    def expected(self) -> float:
        """The log-odds of a line the features say nothing about (the training mean):
        contributions are measured from it."""
        return self.baseline + float(self.value[self.roots].sum())

    def contributions(self, row: np.ndarray) -> np.ndarray:
        """Each feature's share of one row's log-odds: they sum to margin - expected."""
        out = np.zeros(len(self.features))
        for root in self.roots:
            node = int(root)
            while self.left[node] != node:
                f = int(self.feature[node])
                child = int(self.left[node]) + int(row[f] > self.threshold[node])
                out[f] += self.value[child] - self.value[node]
                node = child
        return out


@dataclass(frozen=True)
class LineModel:
    """Two passes and the decisions taken on their scores."""

    first: Ensemble
    second: Ensemble
    threshold: float  # keep a line whose second-pass score reaches it
    info: dict[str, Any]
    # a gap of at most ``gap`` lines between kept lines stays where they score ``fill``
    fill: float = 0.25
    gap: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineModel:
        return cls(
            Ensemble.from_dict(data["first"]),
            Ensemble.from_dict(data["second"]),
            float(data["threshold"]),
            data.get("info", {}),
            float(data.get("fill", 0.5 * data["threshold"])),
            int(data.get("gap", 1)),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> LineModel:
        if path is None:
            return _default()
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@cache
def _default() -> LineModel:
    return LineModel.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def export_tree(nodes: np.ndarray) -> dict[str, Any]:
    """One scikit-learn ``HistGradientBoosting`` tree (its predictor's node array) as
    plain lists; an inner node's value is the count-weighted mean of its leaves."""
    n = len(nodes)
    value = [float(v) for v in nodes["value"]]
    count = [float(c) for c in nodes["count"]]
    # children come after their parents: fill inner values from the bottom up
    for i in range(n - 1, -1, -1):
        if not nodes["is_leaf"][i]:
            lo, hi = int(nodes["left"][i]), int(nodes["right"][i])
            total = count[lo] + count[hi]
            value[i] = (value[lo] * count[lo] + value[hi] * count[hi]) / total if total else 0.0
    return {
        "feature": [int(f) for f in nodes["feature_idx"]],
        "threshold": [float(t) for t in nodes["num_threshold"]],
        "left": [int(x) if not leaf else -1 for x, leaf in zip(nodes["left"], nodes["is_leaf"], strict=True)],
        "right": [int(x) if not leaf else -1 for x, leaf in zip(nodes["right"], nodes["is_leaf"], strict=True)],
        "value": value,
        "depth": int(nodes["depth"].max()),
    }  # fmt: skip


__all__ = ["MODEL_FILE", "Ensemble", "LineModel", "export_tree"]
