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
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = resources.files("zhclean") / "data" / "line_model.json"


@dataclass(frozen=True)
class Ensemble:
    """Trees as flat node arrays; a leaf points to itself so that walking past it stays."""

    features: tuple[str, ...]
    baseline: float
    feature: np.ndarray  # int32 per node (0 for leaves)
    threshold: np.ndarray  # float64 per node: x <= threshold goes left
    left: np.ndarray  # int32 node index (global)
    right: np.ndarray
    value: np.ndarray  # float64: a leaf's value; an inner node's expected value
    roots: np.ndarray  # int32 root node of each tree
    depth: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ensemble:
        feature, threshold, left, right, value, roots = [], [], [], [], [], []
        depth = 0
        for tree in data["trees"]:
            base = len(feature)
            roots.append(base)
            for f, t, lo, hi, v in zip(
                tree["feature"],
                tree["threshold"],
                tree["left"],
                tree["right"],
                tree["value"],
                strict=True,
            ):
                leaf = lo < 0
                feature.append(0 if leaf else f)
                threshold.append(np.inf if leaf else t)
                left.append(len(left) if leaf else base + lo)
                right.append(len(right) if leaf else base + hi)
                value.append(v)
            depth = max(depth, tree["depth"])
        return cls(
            tuple(data["features"]),
            float(data["baseline"]),
            np.asarray(feature, dtype=np.int32),
            np.asarray(threshold, dtype=np.float64),
            np.asarray(left, dtype=np.int32),
            np.asarray(right, dtype=np.int32),
            np.asarray(value, dtype=np.float64),
            np.asarray(roots, dtype=np.int32),
            depth,
        )

    def _leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: (rows, trees)."""
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            f = self.feature[node]
            v = np.take_along_axis(x, f, axis=1)
            node = np.where(v <= self.threshold[node], self.left[node], self.right[node])
        return node

    def margin(self, x: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of each row of ``x``."""
        if not len(x):
            return np.zeros(0)
        return self.baseline + self.value[self._leaves(x)].sum(axis=1)

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
                child = self.left[node] if row[f] <= self.threshold[node] else self.right[node]
                out[f] += self.value[child] - self.value[node]
                node = int(child)
        return out


@dataclass(frozen=True)
class LineModel:
    """Two passes and the decisions taken on their scores."""

    first: Ensemble
    second: Ensemble
    threshold: float  # keep a line whose second-pass score reaches it
    info: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineModel:
        return cls(
            Ensemble.from_dict(data["first"]),
            Ensemble.from_dict(data["second"]),
            float(data["threshold"]),
            data.get("info", {}),
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
