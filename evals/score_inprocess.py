"""Score the cleaner in-process (no Prefect): the fast loop for working on the cleaner.

    python -m evals.score_inprocess                 # the 34 dev pages, macro P/R/F1
    python -m evals.score_inprocess --pages         # ... and one row per page
    python -m evals.score_inprocess --classes       # the failure-class examples, per class
    python -m evals.score_inprocess --json

Runs exactly the stages ``zhclean run`` runs up to sentence splitting (normalize, t2s,
boilerplate, metadata, assemble, split; tokenizing does not change the text), with the
same corpus pass for repeated lines, and scores with :mod:`evals.metric` (README
definition, including step 0: both sides in Simplified).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from evals.metric import author_matches, content_prf, date_matches
from evals.webtext_eval import DEFAULT_DEV, EvalResult, load_gold, render, score
from zhclean.cleaners.boilerplate import StripperConfig
from zhclean.core.params import RunParams
from zhclean.core.record import Document, SourceRef
from zhclean.run import build_pipeline, scan_sources

CLASSES_DIR = Path(__file__).resolve().parent / "data" / "classes"


def run_files(paths: list[Path], stripper: StripperConfig | None = None) -> dict[Path, Document]:
    """Process ``paths`` (files of one folder) as one source group, as a run does: the
    scan counts repeated lines, then the production pipeline up to sentence splitting."""
    root = str(paths[0].parent) if paths else "."
    refs = [SourceRef(str(p), p.name, p.stat().st_size) for p in paths]
    config = stripper or StripperConfig()
    repeated = scan_sources(refs, root).repeated([""], config.repeat_min_docs)
    pipeline = build_pipeline(
        RunParams(input_dir=root), repeated, tokenize=False, validate=False, stripper=config
    )
    by_name = {p.name: p for p in paths}
    return {by_name[d.source]: d for d in pipeline(Document.from_ref(ref) for ref in refs)}


def predictions(docs: dict[Path, Document]) -> dict[str, dict]:
    return {
        p.name[: -len(".txt")]: {
            "text": "" if d.rejected else d.text,
            "published_at": d.published_at,
            "author": d.author,
        }
        for p, d in docs.items()
    }


def score_dev(
    dev: Path = DEFAULT_DEV,
    pages: list[str] | None = None,
    stripper: StripperConfig | None = None,
) -> EvalResult:
    """Score the dev pages (or the subset ``pages``), processed together as one group."""
    gold = load_gold(dev)
    if pages is not None:
        gold = {p: g for p, g in gold.items() if p in set(pages)}
    docs = run_files([dev / f"{p}.txt" for p in gold], stripper)
    return score(predictions(docs), gold)


@dataclass
class ClassExample:
    cls: str
    name: str
    precision: float
    recall: float
    f1: float
    n_chars: int
    extraction: str | None = None
    confidence: float | None = None
    date_ok: bool | None = None  # None: the page's .meta.json does not give the date
    author_ok: bool | None = None


def meta_matches(doc: Document, meta: dict) -> tuple[bool | None, bool | None]:
    """Compare a document's date and author with a page's ``.meta.json``.

    A key that is absent is not scored; ``null`` means the page shows no such field, so
    the pipeline must not report one (a date from a reader's comment, a body line taken
    for a byline).
    """
    checks: list[bool | None] = []
    for key, pred, match in (
        ("published_at", doc.published_at, date_matches),
        ("author", doc.author, author_matches),
    ):
        if key not in meta:
            checks.append(None)
        elif meta[key] is None:
            checks.append(pred is None)
        else:
            checks.append(match(pred, meta[key]))
    return checks[0], checks[1]


@dataclass
class ClassScores:
    examples: list[ClassExample] = field(default_factory=list)

    def by_class(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for cls in sorted({e.cls for e in self.examples}):
            rows = [e for e in self.examples if e.cls == cls]
            out[cls] = {
                "examples": len(rows),
                "precision": sum(e.precision for e in rows) / len(rows),
                "recall": sum(e.recall for e in rows) / len(rows),
                "f1": sum(e.f1 for e in rows) / len(rows),
                "min_f1": min(e.f1 for e in rows),
            }
        return out

    def meta_accuracy(self) -> dict[str, tuple[int, int]]:
        """(right, scored) for the date and the author over the pages with a .meta.json."""
        out = {}
        for name in ("date_ok", "author_ok"):
            scored = [getattr(e, name) for e in self.examples if getattr(e, name) is not None]
            out[name[: -len("_ok")]] = (sum(scored), len(scored))
        return out


def score_classes(root: Path = CLASSES_DIR, stripper: StripperConfig | None = None) -> ClassScores:
    """Score every ``<class>/<name>.txt`` against its ``.gold.txt``.

    Each example is processed on its own (a group of one): these are pages of different
    sites, so no cross-document repetition applies. A ``<name>.meta.json`` next to a page
    gives its date and author (see :func:`meta_matches`).
    """
    result = ClassScores()
    for cls_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        for page in sorted(cls_dir.glob("*.txt")):
            if page.name.endswith(".gold.txt"):
                continue
            gold = page.with_name(page.name[: -len(".txt")] + ".gold.txt").read_text(
                encoding="utf-8"
            )
            (doc,) = run_files([page], stripper).values()
            text = "" if doc.rejected else doc.text
            p, r, f = content_prf(text, gold)
            meta_file = page.with_name(page.name[: -len(".txt")] + ".meta.json")
            date_ok, author_ok = (
                meta_matches(doc, json.loads(meta_file.read_text(encoding="utf-8")))
                if meta_file.exists()
                else (None, None)
            )
            result.examples.append(
                ClassExample(
                    cls_dir.name,
                    page.name[: -len(".txt")],
                    p,
                    r,
                    f,
                    len(text),
                    getattr(doc, "extraction", None),
                    getattr(doc, "confidence", None),
                    date_ok,
                    author_ok,
                )
            )
    return result


def render_classes(scores: ClassScores) -> str:
    def ok(v: bool | None) -> str:
        return "–" if v is None else ("ok" if v else "miss")

    lines = ["| class | example | P | R | F1 | chars | extraction | confidence | date | author |"]
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for e in scores.examples:
        conf = "–" if e.confidence is None else f"{e.confidence:.2f}"
        lines.append(
            f"| {e.cls} | {e.name} | {e.precision:.3f} | {e.recall:.3f} | {e.f1:.3f} | "
            f"{e.n_chars} | {e.extraction or '–'} | {conf} | {ok(e.date_ok)} | {ok(e.author_ok)} |"
        )
    lines.append("")
    for cls, m in scores.by_class().items():
        lines.append(
            f"{cls}: {m['examples']} examples  P {m['precision']:.3f}  R {m['recall']:.3f}  "
            f"F1 {m['f1']:.3f}  (min F1 {m['min_f1']:.3f})"
        )
    n = len(scores.examples)
    macro = sum(e.f1 for e in scores.examples) / n if n else 0.0
    low = sum(1 for e in scores.examples if e.f1 < 0.6)
    meta = scores.meta_accuracy()
    lines.append(
        f"all {n} class pages: macro F1 {macro:.3f}, {low} below 0.6; "
        f"date {meta['date'][0]}/{meta['date'][1]}, author {meta['author'][0]}/{meta['author'][1]}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV, help="webtext-dev directory")
    parser.add_argument("--pages", action="store_true", help="one row per dev page")
    parser.add_argument("--classes", action="store_true", help="also score the class examples")
    parser.add_argument("--classes-dir", type=Path, default=CLASSES_DIR)
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    args = parser.parse_args(argv)
    result = score_dev(args.dev)
    classes = score_classes(args.classes_dir) if args.classes else None
    if args.json:
        out: dict = {"dev": result.macro()}
        if classes is not None:
            out["classes"] = classes.by_class()
            out["class_meta"] = classes.meta_accuracy()
        print(json.dumps(out, indent=1))
        return 0
    if args.pages:
        print(render(result))
    else:
        m = result.macro()
        print(
            f"dev {m['pages']} pages: P {m['precision']:.3f}  R {m['recall']:.3f}  "
            f"F1 {m['f1']:.3f}  date {m['date_accuracy']:.1%}  author {m['author_accuracy']:.1%}"
        )
    if classes is not None:
        print()
        print(render_classes(classes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
