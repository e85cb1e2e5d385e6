"""How well the stripper's confidence ranks pages by their F1.

    python -m evals.confidence [--classes-dir DIR] [--rows] [--json]

Scores the dev pages (as one group, as ``score_inprocess`` does) and every class page
(each alone), then reports Spearman's rank correlation between ``Document.confidence``
and the page's F1 over all of them, and how many pages under a confidence threshold hold
the pages that came out badly: a downstream team thresholds the confidence, so the
question is whether the bad pages sit at the bottom.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.metric import content_prf
from evals.score_inprocess import CLASSES_DIR, predictions, run_files
from evals.webtext_eval import DEFAULT_DEV, load_gold


def _ranks(values: list[float]) -> list[float]:
    """Average ranks (ties share the mean of their positions)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = _ranks(xs), _ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def rows(dev: Path = DEFAULT_DEV, classes: Path = CLASSES_DIR) -> list[dict]:
    """One row per page: set, name, F1, confidence, extraction."""
    out = []
    gold = load_gold(dev)
    docs = run_files([dev / f"{p}.txt" for p in gold])
    preds = predictions(docs)
    for path, doc in docs.items():
        name = path.name[: -len(".txt")]
        f1 = content_prf(preds[name]["text"], gold[name]["gold"])[2]
        out.append(dict(set="dev", name=name, f1=f1, conf=doc.confidence, mode=doc.extraction))
    for cls_dir in sorted(d for d in classes.iterdir() if d.is_dir()):
        for page in sorted(cls_dir.glob("*.txt")):
            if page.name.endswith(".gold.txt"):
                continue
            (doc,) = run_files([page]).values()
            gold_text = page.with_name(page.stem + ".gold.txt").read_text(encoding="utf-8")
            f1 = content_prf("" if doc.rejected else doc.text, gold_text)[2]
            conf = 0.0 if doc.rejected else doc.confidence
            out.append(
                dict(set=cls_dir.name, name=page.stem, f1=f1, conf=conf, mode=doc.extraction)
            )
    return out


def summary(table: list[dict]) -> dict:
    f1s = [r["f1"] for r in table]
    confs = [r["conf"] or 0.0 for r in table]
    bad = [r for r in table if r["f1"] < 0.9]
    out = {"pages": len(table), "spearman": spearman(confs, f1s), "below_0.9": len(bad)}
    for t in (0.5, 0.7):
        under = [r for r in table if (r["conf"] or 0.0) < t]
        out[f"conf<{t}"] = {
            "pages": len(under),
            "of_them_f1<0.9": sum(1 for r in under if r["f1"] < 0.9),
            "f1<0.9_caught": sum(1 for r in bad if (r["conf"] or 0.0) < t),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--classes-dir", type=Path, default=CLASSES_DIR)
    parser.add_argument("--rows", action="store_true", help="one row per page, by confidence")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    table = rows(args.dev, args.classes_dir)
    result = summary(table)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    if args.rows:
        for r in sorted(table, key=lambda r: r["conf"] or 0.0):
            print(f"{r['conf'] or 0:.3f}  F1 {r['f1']:.3f}  {r['mode']:<13} {r['set']}/{r['name']}")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
