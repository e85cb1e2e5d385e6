"""Score ``zhclean run`` on the webtext-dev pages: content P/R/F1, date and author accuracy.

    python -m evals.webtext_eval [--dev DIR] [--output DIR] [--skip-run]

Copies the crawler pages (not the gold files) into a scratch input folder, runs the
``zhclean`` command on it, reads ``documents`` back from Parquet and compares each page's
``text``, ``published_at`` and ``author`` with the hand-made gold (metric: the dev README).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from evals.metric import author_matches, content_prf, date_matches, gold_date_parts

DEFAULT_DEV = Path(__file__).resolve().parent / "data" / "webtext-dev"


@dataclass
class PageScore:
    page: str
    precision: float
    recall: float
    f1: float
    date_ok: bool | None  # None: the gold has no date
    author_ok: bool | None  # None: the gold has no author
    published_at: datetime | None = None
    author: str | None = None
    gold_date: str = ""
    gold_author: str = ""


@dataclass
class EvalResult:
    pages: list[PageScore] = field(default_factory=list)

    def macro(self) -> dict[str, float]:
        n = len(self.pages)
        dated = [p for p in self.pages if p.date_ok is not None]
        authored = [p for p in self.pages if p.author_ok is not None]
        return {
            "pages": n,
            "precision": sum(p.precision for p in self.pages) / n,
            "recall": sum(p.recall for p in self.pages) / n,
            "f1": sum(p.f1 for p in self.pages) / n,
            "date_accuracy": sum(p.date_ok for p in dated) / len(dated),
            "date_pages": len(dated),
            "author_accuracy": sum(p.author_ok for p in authored) / len(authored),
            "author_pages": len(authored),
        }


def zhclean_command() -> str:
    """The ``zhclean`` of this interpreter's environment (works without activating it)."""
    beside = Path(sys.executable).with_name("zhclean")
    return str(beside) if beside.exists() else "zhclean"


def load_gold(dev: Path) -> dict[str, dict]:
    meta = {}
    for line in (dev / "meta.gold.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        row["gold"] = (dev / f"{row['page']}.gold.txt").read_text(encoding="utf-8")
        meta[row["page"]] = row
    return meta


def score(predictions: dict[str, dict], gold: dict[str, dict]) -> EvalResult:
    """``predictions``: page -> {text, published_at, author}; a missing page scores zero.

    A gold date that is not a date (one page's annotator wrote a name) counts as no date.
    """
    result = EvalResult()
    for page, g in sorted(gold.items()):
        pred = predictions.get(page, {"text": "", "published_at": None, "author": None})
        p, r, f = content_prf(pred["text"] or "", g["gold"])
        has_date = gold_date_parts(g["date"]) is not None
        has_author = g["author"] != "UNKNOWN"
        result.pages.append(
            PageScore(
                page,
                p,
                r,
                f,
                date_matches(pred["published_at"], g["date"]) if has_date else None,
                author_matches(pred["author"], g["author"]) if has_author else None,
                pred["published_at"],
                pred["author"],
                g["date"],
                g["author"],
            )
        )
    return result


def read_predictions(output: Path) -> dict[str, dict]:
    import pyarrow.dataset as ds

    table = ds.dataset(output / "documents", format="parquet", partitioning="hive").to_table(
        columns=["source", "text", "published_at", "author"]
    )
    preds = {}
    for row in table.to_pylist():
        preds[Path(row["source"]).stem] = row
    return preds


def render(result: EvalResult) -> str:
    lines = ["| page | P | R | F1 | date | author |", "|---|---|---|---|---|---|"]
    for p in sorted(result.pages, key=lambda p: p.f1):
        mark = {True: "ok", False: "miss", None: "–"}
        lines.append(
            f"| {p.page[:8]} | {p.precision:.3f} | {p.recall:.3f} | {p.f1:.3f} | "
            f"{mark[p.date_ok]} | {mark[p.author_ok]} |"
        )
    m = result.macro()
    lines += [
        "",
        f"macro over {m['pages']} pages: P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}",
        f"published_at matches gold on {m['date_accuracy']:.1%} of {m['date_pages']} dated pages",
        f"author matches gold on {m['author_accuracy']:.1%} of {m['author_pages']} pages with an author",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="webtext-dev directory")
    parser.add_argument(
        "--output", type=Path, default=None, help="zhclean output dir (default: temporary)"
    )
    parser.add_argument("--skip-run", action="store_true", help="score an existing --output")
    parser.add_argument("--json", action="store_true", help="print macro figures as JSON")
    args = parser.parse_args(argv)
    gold = load_gold(args.dev)
    scratch = Path(tempfile.mkdtemp(prefix="zhclean-eval-"))
    output = args.output or scratch / "output"
    if not args.skip_run:
        pages = scratch / "pages"
        pages.mkdir()
        for page in gold:
            shutil.copy(args.dev / f"{page}.txt", pages / f"{page}.txt")
        cmd = [zhclean_command(), "run", "--input", str(pages), "--output", str(output)]
        print("$", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    result = score(read_predictions(output), gold)
    print(json.dumps(result.macro(), indent=1) if args.json else render(result))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
