"""Fast tokenizer vs the reference, sentence by sentence, on a corpus built here.

    python bench/agreement.py                 # seeds, dev pages, class pages, bench corpus
    python bench/agreement.py --bench-mb 20   # a larger benchmark corpus
    python bench/agreement.py --json out.json # every differing sentence, both token lists

The reference is ``--tokenizer jieba``: Python jieba (precise mode, HMM, user dictionary)
plus protected spans; the fast tokenizer is jieba-rs with the fix-ups of
``zhclean/tokenizers/fast.py``. A sentence agrees when both give the same token list.

Sets (each built from files in the repository):
- ``seeds``: the sentences ``zhclean run`` publishes for the five seeds;
- ``dev``: the same for the 34 dev pages (``evals/data/webtext-dev``);
- ``dev_raw``: every line of the dev pages, boilerplate included (menus, dates, links,
  copyright lines: the mixed Han/Latin/digit text where the tokenizers could differ),
  normalized, converted and split;
- ``classes``: the class pages of ``evals/data/classes``, every line, as ``dev_raw``;
- ``bench``: the benchmark corpus (copies of the seeds, one folder per copy, as
  ``bench/run_bench.py`` builds it) through the pipeline;
- ``fuzz``: synthetic strings (fixed seed) that splice slices of real sentences with the
  non-Han pieces where the two tokenizers differ before the fix-ups: dates, versions,
  hyphenated and dotted words, mixed dictionary words (``T恤``, ``卡拉OK``), ``C++``,
  spaces. Not real text: it is there to find classes of difference, not to score.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SEEDS = REPO / "seeds"
DEV = REPO / "evals" / "data" / "webtext-dev"
CLASSES = REPO / "evals" / "data" / "classes"


@dataclass
class SetResult:
    name: str
    sentences: int = 0
    distinct: int = 0
    identical: int = 0
    differences: list[dict] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.identical / self.sentences if self.sentences else 1.0


def pipeline_sentences(input_dir: Path) -> list[str]:
    """The sentences the pipeline publishes for ``input_dir`` (repeated lines per folder)."""
    from zhclean.core.params import RunParams
    from zhclean.core.record import Document
    from zhclean.readers.files import list_sources
    from zhclean.run.pipeline import build_pipeline
    from zhclean.run.plan import scan_sources

    params = RunParams(input_dir=str(input_dir))
    refs = list_sources(input_dir)
    scan = scan_sources(refs, str(input_dir))
    repeated = scan.repeated({r.group for r in refs}, 2)
    pipeline = build_pipeline(params, repeated, tokenize=False, validate=False)
    return [
        s.text
        for doc in pipeline(Document.from_ref(ref) for ref in refs)
        if not doc.rejected
        for s in doc.sentences
    ]


def raw_line_sentences(paths: Iterable[Path]) -> list[str]:
    """Every line of the files, boilerplate included: normalized, converted, split."""
    from zhclean.core.simplify import to_simplified
    from zhclean.normalizers.text import normalize_text
    from zhclean.splitters.sentences import split_sentences

    out = []
    for path in paths:
        text = to_simplified(normalize_text(path.read_text(encoding="utf-8", errors="replace")))
        for line in text.split("\n"):
            out.extend(s.strip() for s in split_sentences(line) if s.strip())
    return out


# Non-Han pieces for the fuzz set: each is split differently by bare jieba-rs and jieba.
FUZZ_PIECES = (
    "2022-10-28", "010-84482345", "2004-2008", "COVID-19", "self-esteem", "e-commerce",
    "SK-II", "x86_64", "95N.m", "2009.03.08", "www.gov.cn", "a.b@qq.com", "v2.3.1", "3.5%",
    "T恤", "卡拉OK", "B超", "4S店", "IP电话", "AA制", "C++", "C#", "AT&T", "iPhone14Pro",
    "第1季度GDP", "1.789亿", " ", "  ", "-", ".", "_", "#", "&", "%", "+", "A", "9",
    "MP3", "A股", "X光", "维生素C", "PM2", "U盘", "QQ号", "Q版", "k歌", "3G", "x", "42",
)  # fmt: skip


def fuzz_sentences(real: list[str], n: int = 5000, seed: int = 11) -> list[str]:
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 5)):
            if rng.random() < 0.5:
                s = rng.choice(real)
                a = rng.randrange(len(s))
                parts.append(s[a : a + rng.randint(1, 12)])
            else:
                parts.append(rng.choice(FUZZ_PIECES))
        text = "".join(parts).strip()
        if text:
            out.append(text)
    return out


def build_sets(bench_mb: float = 1.0, fuzz: int = 5000) -> dict[str, list[str]]:
    import shutil

    from bench.run_bench import build_corpus

    dev_pages = sorted(p for p in DEV.glob("*.txt") if not p.name.endswith(".gold.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp, "dev")
        pages.mkdir()
        for page in dev_pages:
            shutil.copyfile(page, pages / page.name)
        sets = {
            "seeds": pipeline_sentences(SEEDS),
            "dev": pipeline_sentences(pages),
            "dev_raw": raw_line_sentences(dev_pages),
            "classes": raw_line_sentences(sorted(CLASSES.rglob("*.txt"))),
            "bench": pipeline_sentences(build_corpus(bench_mb, Path(tmp))),
        }
    if fuzz:
        sets["fuzz"] = fuzz_sentences(sets["dev_raw"] + sets["classes"], fuzz)
    return sets


def compare(
    name: str,
    sentences: list[str],
    fast: Callable[[str], list[str]],
    reference: Callable[[str], list[str]],
) -> SetResult:
    result = SetResult(name, len(sentences), len(set(sentences)))
    verdict: dict[str, bool] = {}  # repeated sentences are compared once, counted each time
    for sentence in sentences:
        same = verdict.get(sentence)
        if same is None:
            a, b = fast(sentence), reference(sentence)
            same = verdict[sentence] = a == b
            if not same:
                result.differences.append({"sentence": sentence, "fast": a, "reference": b})
        result.identical += same
    return result


def run(bench_mb: float = 1.0, fuzz: int = 5000) -> list[SetResult]:
    from zhclean.tokenizers.step import tokenizer_function

    fast, reference = tokenizer_function("fast"), tokenizer_function("jieba")
    return [compare(n, s, fast, reference) for n, s in build_sets(bench_mb, fuzz).items()]


def render(results: list[SetResult], limit: int = 20) -> str:
    lines = [f"{'set':<10} {'sentences':>10} {'distinct':>9} {'identical':>10} {'share':>9}"]
    total = SetResult("real text")
    for r in results:
        lines.append(
            f"{r.name:<10} {r.sentences:>10} {r.distinct:>9} {r.identical:>10} {r.share:>9.4%}"
        )
        if r.name != "fuzz":
            total.sentences += r.sentences
            total.identical += r.identical
    lines.append(
        f"{'real text':<10} {total.sentences:>10} {'':>9} {total.identical:>10} {total.share:>9.4%}"
    )
    differences = [d for r in results for d in r.differences]
    for d in differences[:limit]:
        lines.append(f"  differs: {d['sentence']}")
        lines.append(f"    fast:      {' / '.join(d['fast'])}")
        lines.append(f"    reference: {' / '.join(d['reference'])}")
    if len(differences) > limit:
        lines.append(f"  ... {len(differences) - limit} more (--json lists them all)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bench-mb", type=float, default=1.0, help="benchmark corpus size")
    parser.add_argument("--fuzz", type=int, default=5000, help="synthetic strings (0: none)")
    parser.add_argument("--json", type=Path, help="write every difference here")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(args.bench_mb, args.fuzz)
    print(render(results))
    print(f"({time.perf_counter() - started:.1f} s)")
    if args.json:
        args.json.write_text(
            json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
