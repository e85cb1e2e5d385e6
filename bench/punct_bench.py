"""CPU per candidate of the punctuation model, on distinct lines and on copies.

    python bench/punct_bench.py              # both cases, best of 3
    python bench/punct_bench.py --rounds 5

The run's stage share (``bench/run_bench.py``) depends on how much of the corpus is
collapsed text and on how much of that is copies (the benchmark corpus is copies of the
seeds, so its collapsed dots are 516 copies of seed 000's line, computed once per batch).
This measures the model itself, with ``time.process_time`` in this process:

- ``distinct``: seeds 001-004 and the 34 dev pages' gold with every 。，、 written as
  ``.`` (the test floor's documents, all in the repository), their collapsed lines in
  batches of 500 lines: every line is different;
- ``copies``: seed 000's collapsed line 86 times in each of 6 batches (the benchmark
  corpus' 516 copies, about 500 documents to a batch).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from evals.punct_eval import collapse_marks, reference_text, repo_documents  # noqa: E402
from zhclean.core.simplify import to_simplified  # noqa: E402
from zhclean.normalizers.punctuation import PunctModel, _checked, candidates  # noqa: E402
from zhclean.normalizers.text import normalize_lines  # noqa: E402


def collapsed_items(raw: str) -> list[tuple[str, list[int]]]:
    """The (line, candidates) of a document's collapsed lines, as the step sees them."""
    text, collapsed = normalize_lines(raw)
    lines = to_simplified(text).split("\n")
    items = [
        (lines[i], candidates(lines[i], base)) for i, base in _checked(lines, collapsed).items()
    ]
    return [(line, c) for line, c in items if c]


def cases() -> dict[str, list[list[tuple[str, list[int]]]]]:
    distinct = [
        item
        for raw in repo_documents()
        for item in collapsed_items(collapse_marks(reference_text(raw)))
    ]
    seed = collapsed_items(next((REPO / "seeds").glob("000_*.txt")).read_text(encoding="utf-8"))
    return {
        "distinct": [distinct[i : i + 500] for i in range(0, len(distinct), 500)],
        "copies": [seed * 86] * 6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = PunctModel.load()
    for name, batches in cases().items():
        model.predict(batches[0][:5])  # warm-up
        lines = sum(len(b) for b in batches)
        cands = sum(len(c) for b in batches for _, c in b)
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            for batch in batches:
                model.predict(batch)
            best = min(best, time.process_time() - started)
        print(
            f"{name:9s} {lines:6d} lines {cands:7d} candidates  {best:6.3f} CPU-s  "
            f"{best / cands * 1e6:6.2f} us per candidate (best of {args.rounds})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
