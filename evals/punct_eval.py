"""How well collapsed 。，、 are given back: per-mark P/R/F1 and sentence boundaries.

    python -m evals.punct_eval [--corpus /work/data/punct/corpus.jsonl] [--split heldout]
    python -m evals.punct_eval --repo        # seeds 001-004 and the dev gold pages

Each document is written the way collapsed inputs are (every 。，、 as ``.``), then run
through the runtime's own path (normalizer with its detection, conversion to Simplified,
the punctuation step), and every position that held a mark is compared with what came
out: 。，or 、 (restored), or anything else (a ``.`` left alone counts as no mark). The
baseline is the normalizer before restoration existed: every ``.`` after Han a 。.
Sentence-boundary F1 is the F1 of 。 over those positions (the splitter ends a sentence
at a 。; the marks that were ！？ are never collapsed, so they are not counted).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from zhclean.core.simplify import to_simplified
from zhclean.core.spans import in_spans, protected_spans
from zhclean.normalizers.punctuation import FULL_STOP_RE, MARKS, PunctModel, restore_text
from zhclean.normalizers.text import normalize_lines, normalize_text

REPO = Path(__file__).resolve().parent.parent


def reference_text(raw: str) -> str:
    """A punctuated document as a run sees it: normalized, Simplified, and every '.' that
    the normalizer reads as a full stop a 。 (the gold the collapsed copy is scored on)."""
    text = to_simplified(normalize_text(raw))
    out = []
    for line in text.split("\n"):
        if "." in line:
            spans = protected_spans(line)
            chars = list(line)
            for m in FULL_STOP_RE.finditer(line):
                if not in_spans(m.start(), spans):
                    chars[m.start()] = "。"
            line = "".join(chars)
        out.append(line)
    return "\n".join(out)


def collapse_marks(text: str) -> str:
    """Every 。，、 written as ``.``, as the collapsed inputs were."""
    return "".join("." if c in MARKS else c for c in text)


def restore(collapsed: str, model: PunctModel | None = None) -> str:
    """The runtime's path for one document: normalize (finding collapsed lines), convert to
    Simplified, restore."""
    text, lines = normalize_lines(collapsed)
    return restore_text(to_simplified(text), lines, model)[0]


def all_periods(collapsed: str) -> str:
    """The baseline: the normalizer as it was, every ``.`` after Han a 。."""
    spans = protected_spans(collapsed)
    chars = list(collapsed)
    for m in FULL_STOP_RE.finditer(collapsed):
        if not in_spans(m.start(), spans):
            chars[m.start()] = "。"
    return "".join(chars)


@dataclass
class Score:
    """Counts over the positions that held a mark: gold mark → predicted character."""

    pairs: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # positions that held no mark (a real '.', a letter...) and came out as one: the
    # per-mark figures cannot see them
    inserted: int = 0
    docs: int = 0
    skipped: int = 0

    def add(self, gold: str, out: str) -> bool:
        if len(gold) != len(out):
            self.skipped += 1
            return False
        self.docs += 1
        for g, o in zip(gold, out, strict=True):
            if g in MARKS:
                self.pairs[(g, o if o in MARKS else "")] += 1
            elif o in MARKS:
                self.inserted += 1
        return True

    def prf(self, mark: str) -> tuple[float, float, float]:
        tp = self.pairs.get((mark, mark), 0)
        predicted = sum(n for (_, o), n in self.pairs.items() if o == mark)
        gold = sum(n for (g, _), n in self.pairs.items() if g == mark)
        p = tp / predicted if predicted else 0.0
        r = tp / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def marks(self) -> int:
        return sum(self.pairs.values())

    @property
    def accuracy(self) -> float:
        right = sum(n for (g, o), n in self.pairs.items() if g == o)
        return right / self.marks if self.marks else 0.0

    def summary(self) -> dict:
        out = {
            "documents": self.docs,
            "marks": self.marks,
            "marks_right": round(self.accuracy, 3),
            "marks_inserted": self.inserted,
        }
        for mark, name in zip(MARKS, ("full_stop", "comma", "enum_comma"), strict=True):
            out[name] = [round(x, 3) for x in self.prf(mark)]
        out["sentence_boundary_f1"] = out["full_stop"][2]
        return out


def score_documents(texts: list[str], model: PunctModel | None = None) -> tuple[Score, Score]:
    """(restoration, all-periods baseline) scores over punctuated documents."""
    ours, base = Score(), Score()
    for raw in texts:
        gold = reference_text(raw)
        if not any(m in gold for m in MARKS):
            continue
        collapsed = collapse_marks(gold)
        if ours.add(gold, restore(collapsed, model)):
            base.add(gold, all_periods(collapsed))
    return ours, base


def repo_documents() -> list[str]:
    """Punctuated real text in the repository: seeds 001-004 and the dev pages' gold."""
    seeds = sorted((REPO / "seeds").glob("*.txt"))[1:]
    gold = sorted((REPO / "evals" / "data" / "webtext-dev").glob("*.gold.txt"))
    return [p.read_text(encoding="utf-8") for p in seeds + gold]


def prf_cell(v: list[float]) -> str:
    """P / R / **F1** of one mark, as the README's tables show it."""
    return f"{v[0]:.2f} / {v[1]:.2f} / **{v[2]:.2f}**"


def _row(name: str, s: dict) -> str:
    return (
        f"| {name} | {s['documents']} | {s['marks']} | {prf_cell(s['full_stop'])} | "
        f"{prf_cell(s['comma'])} | {prf_cell(s['enum_comma'])} | {s['marks_right']:.2f} | "
        f"{s['marks_inserted']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/data/punct/corpus.jsonl"))
    parser.add_argument("--split", default="heldout")
    parser.add_argument("--repo", action="store_true", help="seeds 001-004 and dev gold pages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = PunctModel.load()
    groups: dict[str, list[str]] = defaultdict(list)
    if args.repo:
        groups["repository"] = repo_documents()
    else:
        for line in args.corpus.open(encoding="utf-8"):
            d = json.loads(line)
            if d["split"] == args.split:
                groups[d["source"]].append(d["text"])
    results = {}
    total_ours, total_base = Score(), Score()
    for name, texts in sorted(groups.items()):
        ours, base = score_documents(texts, model)
        results[name] = {"restored": ours.summary(), "all_periods": base.summary()}
        for total, part in ((total_ours, ours), (total_base, base)):
            total.docs += part.docs
            total.skipped += part.skipped
            total.inserted += part.inserted
            for k, v in part.pairs.items():
                total.pairs[k] += v
    if len(groups) > 1:
        results["all"] = {"restored": total_ours.summary(), "all_periods": total_base.summary()}
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return
    print(
        "| set | docs | marks | 。 P / R / F1 (sentence boundary) | ，P / R / F1 | 、P / R / F1 | marks right "
        "| marks where there was none |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(_row(f"{name}, all periods", r["all_periods"]))
        print(_row(f"**{name}, restored**", r["restored"]))
    if total_ours.skipped:
        print(f"({total_ours.skipped} documents skipped: normalization changed their length)")


if __name__ == "__main__":
    main()
