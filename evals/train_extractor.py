"""Train the line model of the boilerplate stripper (``zhclean/data/line_model.json``).

    python -m evals.train_extractor                 # site-grouped CV on the dev side, then
                                                    # train on all of it and write the model
    python -m evals.train_extractor --cv-only       # only the cross-validated estimate
    python -m evals.train_extractor --root DIR      # more page folders (zh-html layout)

Needs the ``train`` extra (scikit-learn). What it learns from, all on the ``dev`` side of
the site-disjoint split (the ``holdout`` side is never read):

- real pages with hand-made gold (``evals/data/zh-html`` and every ``--root`` folder of the
  same layout), each in two views: the HTML page (DOM features on) and its visible text
  one block per line (DOM features off), so that one model serves both inputs;
- the crawler-text dev pages (``evals/data/webtext-dev``), text view;
- the failure-class pages (``evals/data/classes``), text view, at a small weight
  (``--class-weight``): they are imagined pages.

Every page goes through the pipeline's own front (read, HTML, normalize, Simplified, the
corpus pass for repeated lines, all pages as one input folder as ``evals.real_pages``
runs them) and the stripper's :meth:`~zhclean.cleaners.boilerplate.BoilerplateStripper.
prepare`. A line's label is whether its 4-character shingles are in the gold
(:func:`label_lines`); a line weighs its share of the page's characters, so that each page
counts once and long lines count as the metric counts them.

Two passes: the first model sees the line features; the second also sees the first
pass's scores around the line, taken out of fold (a page never sees scores of a model
that trained on it). Site-grouped K-fold (``--folds``) gives the estimate of every choice
(F1 of the metric, per page, macro). Deterministic: fixed seeds, one thread.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evals.metric import content_prf, shingles
from evals.real_pages import DATA as ZH_HTML
from evals.real_pages import visible_text
from evals.score_inprocess import CLASSES_DIR
from evals.webtext_eval import DEFAULT_DEV
from zhclean.cleaners.boilerplate import BoilerplateStripper, Page, StripperConfig
from zhclean.cleaners.features import FEATURES, FEATURES_2
from zhclean.cleaners.model import LineModel, export_tree
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.record import Document, SourceRef
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.script import ScriptConverter
from zhclean.normalizers.text import TextNormalizer
from zhclean.readers.files import FileReader
from zhclean.readers.html import HtmlConverter
from zhclean.run.plan import scan_sources

# One thread: scikit-learn is imported later (in fit), after this is set.
os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent
MODEL_OUT = REPO / "zhclean" / "data" / "line_model.json"
# More gold pages in the same layout, outside the repository (pages whose sources state
# no licence stay local): $ZHCLEAN_EVALDATA, else ../shared/evaldata beside the checkout.
EVALDATA = Path(
    os.environ.get("ZHCLEAN_EVALDATA")
    or next(
        (
            str(p)
            for p in (
                REPO.parent / "shared" / "evaldata",
                REPO.parent.parent / "shared" / "evaldata",
            )
            if p.exists()
        ),
        str(REPO.parent / "shared" / "evaldata"),
    )
)
LOCAL_ROOTS = [EVALDATA / "zh-html-gold-local", EVALDATA / "zh-html-more-gold"]
SEED = 20261207
# The decisions on the second pass's scores (chosen by the same CV, on out-of-fold scores).
DECISIONS = {"threshold": 0.5, "fill": 0.25, "gap": 1}
PARAMS = {
    "max_iter": 120,
    "learning_rate": 0.1,
    "max_depth": 5,
    "max_leaf_nodes": 16,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
}


@dataclass
class Sample:
    """One page in one view, prepared by the stripper, with its labels."""

    pid: str
    view: str  # "html" or "text"
    source: str  # "zh-html", "webtext", "classes"
    group: str  # site group, for site-grouped folds
    kind: str
    gold: str
    page: Page
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    w: np.ndarray = field(default_factory=lambda: np.zeros(0))


# ---------------------------------------------------------------------------- labels


def label_lines(texts: list[str], gold: str) -> np.ndarray:
    """1.0 for a line whose text is in the gold: at least half of its 4-character
    shingles (Han, letters, digits; Simplified) occur there. A line too short for a
    shingle is gold when its characters occur in the gold and a neighbouring line is."""
    g = shingles(gold)
    gold_chars = "".join(to_simplified(gold).split())
    y = np.zeros(len(texts))
    short = []
    for r, text in enumerate(texts):
        s = shingles(text)
        total = sum(s.values())
        if total:
            hit = sum(min(c, g.get(k, 0)) for k, c in s.items())
            y[r] = 1.0 if hit >= 0.5 * total else 0.0
        else:
            short.append(r)
    for r in short:
        core = "".join(to_simplified(texts[r]).split())
        near = (r > 0 and y[r - 1] > 0) or (r + 1 < len(texts) and y[r + 1] > 0)
        y[r] = 1.0 if core and core in gold_chars and near else 0.0
    return y


def weights(page: Page) -> np.ndarray:
    """Each line's share of the page's characters, plus an equal share per line: every
    page weighs 1, long lines most, as the metric counts characters."""
    chars = page.chars
    n = len(chars)
    if not n:
        return chars
    return 0.7 * chars / max(chars.sum(), 1) + 0.3 / n


# ---------------------------------------------------------------------------- data


def _front(paths: list[Path]) -> tuple[dict[str, Document], dict[str, RepeatedLines]]:
    """The pipeline's front (read, HTML, normalize, Simplified) for files of one folder,
    and the corpus pass's repeated lines, as a run sees them."""
    root = str(paths[0].parent)
    refs = [SourceRef(str(p), p.name, p.stat().st_size) for p in paths]
    repeated = scan_sources(refs, root).repeated([""], StripperConfig.repeat_min_docs)
    steps = [FileReader(root), HtmlConverter(), TextNormalizer(), ScriptConverter()]
    docs = [Document.from_ref(r) for r in refs]
    for step in steps:
        step.run(docs)
    return {d.source: d for d in docs}, repeated


def _manifest(root: Path) -> dict[str, dict[str, str]]:
    path = root / "MANIFEST.tsv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as f:
        return {r["pid"]: r for r in csv.DictReader(f, delimiter="\t")}


def zh_html_pages(roots: list[Path], split: str) -> list[dict]:
    pages = []
    for root in roots:
        info = _manifest(root)
        for folder in sorted(p for p in root.iterdir() if (p / "gold.txt").exists()):
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            row = info.get(folder.name, {})
            if meta.get("kind") not in ("article", "thread") or row.get("split", "dev") != split:
                continue
            pages.append(
                {
                    "pid": folder.name,
                    "group": row.get("group") or folder.name.split("__")[0],
                    "kind": meta["kind"],
                    "html": (folder / "page.html").read_bytes(),
                    "gold": (folder / "gold.txt").read_text(encoding="utf-8"),
                }
            )
    return pages


def load_samples(
    roots: list[Path],
    split: str = "dev",
    classes: bool = True,
    webtext: bool = True,
    limit: int | None = None,
) -> list[Sample]:
    """Every training page of ``split`` prepared by the stripper, with labels and weights
    (``limit``: at most that many real pages, for tests)."""
    stripper = BoilerplateStripper(RuleSet.load())
    samples: list[Sample] = []
    pages = zh_html_pages(roots, split)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        for view in ("html", "text"):
            folder = Path(tmp) / view
            folder.mkdir()
            paths = []
            for pg in pages:
                path = folder / f"{pg['pid']}.{'html' if view == 'html' else 'txt'}"
                if view == "html":
                    path.write_bytes(pg["html"])
                else:
                    path.write_text(visible_text(pg["html"]), encoding="utf-8")
                paths.append(path)
            docs, stripper.repeated = _front(paths)
            for pg, path in zip(pages, paths, strict=True):
                doc = docs[path.name]
                if doc.rejected:
                    continue
                page = stripper.prepare(doc.text, split_lines(doc.input_text), "", doc.dom)
                samples.append(
                    Sample(pg["pid"], view, "zh-html", pg["group"], pg["kind"], pg["gold"], page)
                )
    if split == "dev" and webtext:
        sites = json.loads((REPO / "evals" / "sites.json").read_text(encoding="utf-8"))
        paths = sorted(p for p in DEFAULT_DEV.glob("*.txt") if not p.name.endswith(".gold.txt"))
        docs, stripper.repeated = _front(paths)
        for path in paths:
            doc = docs[path.name]
            gold = (path.parent / f"{path.stem}.gold.txt").read_text(encoding="utf-8")
            page = stripper.prepare(doc.text, split_lines(doc.input_text), "", None)
            site = sites.get(path.stem, {}).get("site", path.stem)
            samples.append(
                Sample(path.stem, "text", "webtext", f"webtext:{site}", "article", gold, page)
            )
    if split == "dev" and classes:
        for cls_dir in sorted(p for p in CLASSES_DIR.iterdir() if p.is_dir()):
            paths = sorted(p for p in cls_dir.glob("*.txt") if not p.name.endswith(".gold.txt"))
            for path in paths:  # each page alone, as the class scores read them
                docs, _ = _front([path])
                stripper.repeated = {}
                doc = docs[path.name]
                gold = (path.parent / f"{path.stem}.gold.txt").read_text(encoding="utf-8")
                page = stripper.prepare(doc.text, split_lines(doc.input_text), "", None)
                samples.append(
                    Sample(
                        path.stem,
                        "text",
                        "classes",
                        f"classes:{cls_dir.name}",
                        "article",
                        gold,
                        page,
                    )
                )
    stripper.featurize([s.page for s in samples])
    for s in samples:
        s.page.x = s.page.x.copy()  # its own rows (a view of the batch's otherwise)
        s.y = label_lines([s.page.lines[i].text for i in s.page.rows], s.gold)
        s.w = weights(s.page)
    return samples


# ---------------------------------------------------------------------------- training


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict):
    """One pass: gradient-boosted trees (deterministic: fixed seed, one thread)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(random_state=SEED, early_stopping=False, **params)
    model.fit(x, y, sample_weight=w)
    return model


def to_ensemble_dict(model, names: tuple[str, ...]) -> dict:
    return {
        "features": list(names),
        "baseline": float(np.ravel(model._baseline_prediction)[0]),
        "trees": [export_tree(pred[0].nodes) for pred in model._predictors],
    }


def stack(samples: list[Sample], rows: list[int] | None = None, cols: int | None = None):
    chosen = samples if rows is None else [samples[i] for i in rows]
    x = np.concatenate([s.page.x[:, :cols] for s in chosen])
    y = np.concatenate([s.y for s in chosen])
    w = np.concatenate([s.w * weight_of(s) for s in chosen])
    return x, y, w


# How much a page of each source weighs in training (a real page weighs 1). The 34
# crawler-text dev pages weigh 3: they are the dev set the product's targets are set on
# (F1 >= 0.97 on them); site-grouped CV shows no loss on the real pages for it (NOTES).
SOURCE_WEIGHTS = {"zh-html": 1.0, "webtext": 3.0, "classes": 0.2}


def weight_of(s: Sample) -> float:
    return SOURCE_WEIGHTS[s.source]


def folds_of(samples: list[Sample], k: int) -> list[int]:
    """Site-grouped folds: groups sorted by size, dealt round-robin (deterministic)."""
    sizes = Counter(s.group for s in samples)
    order = sorted(sizes, key=lambda g: (-sizes[g], g))
    fold = {g: i % k for i, g in enumerate(order)}
    return [fold[s.group] for s in samples]


def out_of_fold_p1(samples: list[Sample], fold: list[int], k: int, params: dict) -> None:
    """First-pass scores of every sample from the model of the other folds."""
    n1 = len(FEATURES)
    for f in range(k):
        train = [i for i in range(len(samples)) if fold[i] != f]
        model = fit(*stack(samples, train, n1), params)
        for i in range(len(samples)):
            if fold[i] == f:
                s = samples[i]
                s.page.p1 = model.predict_proba(s.page.x[:, :n1])[:, 1]


def fill_context(samples: list[Sample]) -> None:
    from zhclean.cleaners.features import Pages, context_columns

    for s in samples:
        context_columns(s.page.x, s.page.p1, Pages.of([len(s.y)]), s.page.han, s.page.groups)


def decide_text(stripper: BoilerplateStripper, s: Sample, p: np.ndarray) -> str:
    """The kept text of a sample for second-pass scores ``p`` (a copy of its lines)."""
    from copy import deepcopy

    page = deepcopy(s.page)
    page.p = p
    stripper.decide(page)
    return "\n".join(ln.text for ln in page.lines if ln.kept and ln.text)


def cross_validate(samples: list[Sample], k: int, params: dict, decisions: dict) -> dict:
    """Site-grouped K-fold: out-of-fold first pass, second pass trained on the other
    folds, the stripper's decisions, the metric per page."""
    fold = folds_of(samples, k)
    out_of_fold_p1(samples, fold, k, params)
    fill_context(samples)
    results: dict[tuple[str, str], float] = {}
    for f in range(k):
        train = [i for i in range(len(samples)) if fold[i] != f]
        model2 = fit(*stack(samples, train), params)
        stripper = BoilerplateStripper(RuleSet.load(), model=_fake_model(decisions))
        for i in range(len(samples)):
            if fold[i] != f:
                continue
            s = samples[i]
            p = model2.predict_proba(s.page.x)[:, 1]
            s.page.p = p  # out of fold: for tuning the decisions without refitting
            text = decide_text(stripper, s, p)
            results[(s.pid, s.view, s.source, s.kind)] = content_prf(text, s.gold)[2]
    return summarize(results)


def summarize(results: dict) -> dict:
    out = {}
    for name, pick in {
        "zh-html html": lambda key: key[2] == "zh-html" and key[1] == "html",
        "zh-html text": lambda key: key[2] == "zh-html" and key[1] == "text",
        "zh-html html articles": lambda key: (
            key[2] == "zh-html" and key[1] == "html" and key[3] == "article"
        ),
        "zh-html html threads": lambda key: (
            key[2] == "zh-html" and key[1] == "html" and key[3] == "thread"
        ),
        "zh-html text threads": lambda key: (
            key[2] == "zh-html" and key[1] == "text" and key[3] == "thread"
        ),
        "webtext": lambda key: key[2] == "webtext",
        "classes": lambda key: key[2] == "classes",
    }.items():
        vals = [v for key, v in results.items() if pick(key)]
        if vals:
            out[name] = {
                "pages": len(vals),
                "f1": round(float(np.mean(vals)), 4),
                "below_0.5": sum(1 for v in vals if v < 0.5),
            }
    out["_pages"] = {f"{k[0]}|{k[1]}": round(v, 4) for k, v in results.items()}
    return out


class _FakeEnsemble:
    features = FEATURES


def _fake_model(decisions: dict) -> LineModel:
    """A model that only decides (the scores are given): ``threshold``, ``fill``, ``gap``."""
    return LineModel(_FakeEnsemble(), _FakeEnsemble(), info={}, **decisions)  # type: ignore[arg-type]


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train_final(
    samples: list[Sample], k: int, params: dict, decisions: dict, roots: list[Path]
) -> dict:
    fold = folds_of(samples, k)
    out_of_fold_p1(samples, fold, k, params)
    fill_context(samples)
    n1 = len(FEATURES)
    first = fit(*stack(samples, None, n1), params)
    second = fit(*stack(samples), params)
    counts = Counter((s.source, s.view) for s in samples)
    ids = sorted({f"{s.source}:{s.pid}" for s in samples})
    per_root = {
        r: len({s.pid for s in samples if s.source == "zh-html" and (r / s.pid).is_dir()})
        for r in roots
    }
    return {
        **decisions,
        "first": to_ensemble_dict(first, FEATURES),
        "second": to_ensemble_dict(second, FEATURES_2),
        "info": {
            "script": "evals/train_extractor.py",
            "commit": _commit(),
            "seed": SEED,
            "params": params,
            "folds": k,
            "source_weights": SOURCE_WEIGHTS,
            "data": {
                "roots": [_where(r) for r in roots],
                "pages_per_root": {_where(r): n for r, n in per_root.items()},
                "split": "dev",
                "webtext": str(DEFAULT_DEV.relative_to(REPO)),
                "classes": str(CLASSES_DIR.relative_to(REPO)),
                "samples": {f"{a} {b}": n for (a, b), n in sorted(counts.items())},
                # the exact set, without naming pages that stay local
                "pages_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
                "lines": int(sum(len(s.y) for s in samples)),
            },
        },
    }


def _where(root: Path) -> str:
    """A data folder as the model file names it: inside the repository, its path there;
    outside, its path relative to the evaluation data folder."""
    if root.is_relative_to(REPO):
        return str(root.relative_to(REPO))
    if root.is_relative_to(EVALDATA):
        return f"$ZHCLEAN_EVALDATA/{root.relative_to(EVALDATA)}"
    return str(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, action="append", default=[])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=DECISIONS["threshold"])
    parser.add_argument("--fill", type=float, default=DECISIONS["fill"])
    parser.add_argument("--gap", type=int, default=DECISIONS["gap"])
    parser.add_argument("--cv-only", action="store_true")
    parser.add_argument("--no-classes", action="store_true")
    parser.add_argument("--out", type=Path, default=MODEL_OUT)
    parser.add_argument("--pages", action="store_true", help="print the CV F1 of every page")
    args = parser.parse_args(argv)
    roots = [ZH_HTML, *args.root, *(r for r in LOCAL_ROOTS if r.exists() and r not in args.root)]
    t0 = time.time()
    samples = load_samples(roots, "dev", classes=not args.no_classes)
    print(
        f"{len(samples)} samples, {sum(len(s.y) for s in samples)} lines, {time.time() - t0:.0f} s",
        file=sys.stderr,
    )
    decisions = {"threshold": args.threshold, "fill": args.fill, "gap": args.gap}
    cv = cross_validate(samples, args.folds, PARAMS, decisions)
    pages = cv.pop("_pages")
    print(json.dumps(cv, indent=1))
    if args.pages:
        for key, v in sorted(pages.items(), key=lambda kv: kv[1]):
            print(f"{v:.3f}  {key}")
    if args.cv_only:
        return 0
    model = train_final(samples, args.folds, PARAMS, decisions, roots)
    args.out.write_text(json.dumps(model, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
