"""Throughput and memory benchmark: the pipeline next to jieba alone on the same text.

    python bench/run_bench.py                 # 20 MB and 80 MB, every measurement
    python bench/run_bench.py --sizes 20      # one size
    python bench/run_bench.py --flow          # also time `zhclean run` (all cores)

Corpora are built from the seeds: each copy of the five seeds goes in its own folder, so
the cross-document repeated-line filter (which works per folder) sees five distinct
documents, as it would on real data, instead of erasing the duplicated text.

Every measurement runs in a fresh Python process so that its peak RSS is its own:
- ``pipeline``: read → normalize → convert → strip → metadata → split → tokenize →
  validate → write Parquet, one process, one core (``process_shard`` without Prefect);
- ``jieba``: ``jieba.lcut`` alone over every line of the same decoded text;
- ``split``: ``split_sentences`` alone over the cleaned text;
- ``tokenize``: zhclean's ``tokenize`` vs bare ``jieba.lcut`` on the same sentences.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from evals.webtext_eval import zhclean_command  # noqa: E402

SEEDS = REPO / "seeds"
CORPUS = REPO / "bench" / "corpus"


def build_corpus(size_mb: float, parent: Path = CORPUS) -> Path:
    """A folder of about ``size_mb`` MB: copies of the seeds, five per sub-folder."""
    root = parent / f"{size_mb:g}MB"
    target = int(size_mb * 1_000_000)
    seeds = sorted(SEEDS.glob("*.txt"))
    seed_bytes = sum(p.stat().st_size for p in seeds)
    copies = -(-target // seed_bytes)
    if root.exists() and len(list(root.iterdir())) == copies:
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(copies):
        folder = root / f"batch_{i:05d}"
        folder.mkdir(parents=True)
        for seed in seeds:
            shutil.copyfile(seed, folder / seed.name)
    return root


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pipeline(corpus: Path) -> dict:
    from zhclean.core.params import RunParams
    from zhclean.readers.files import list_sources
    from zhclean.run import Run, process_shard
    from zhclean.tokenizers.jieba_tokenizer import get_tokenizer

    get_tokenizer()  # dictionary load is a per-process constant, not throughput
    refs = list_sources(corpus)
    total = sum(r.size for r in refs)
    with tempfile.TemporaryDirectory() as out:
        run = Run("bench", RunParams(input_dir=str(corpus), output_dir=out), str(corpus), out)
        start = time.perf_counter()
        result = process_shard(run, 0, refs)
        elapsed = time.perf_counter() - start
    return {"mb": total / 1e6, "seconds": elapsed, "mb_per_s": total / 1e6 / elapsed,
            "peak_rss_mb": _peak_rss_mb(), "published": result.totals.get("published", 0),
            "quarantined": result.totals.get("quarantined", 0), "sentences": result.totals.get("sentences", 0)}  # fmt: skip


def measure_jieba(corpus: Path) -> dict:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    paths = sorted(corpus.rglob("*.txt"))
    total = sum(p.stat().st_size for p in paths)
    start = time.perf_counter()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            jieba.lcut(line)
    elapsed = time.perf_counter() - start
    return {
        "mb": total / 1e6,
        "seconds": elapsed,
        "mb_per_s": total / 1e6 / elapsed,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _cleaned_sentences(corpus: Path, limit_mb: float) -> tuple[list[str], list[str]]:
    from zhclean.core.record import Document
    from zhclean.readers.files import list_sources
    from zhclean.run import build_pipeline

    texts, sentences, size = [], [], 0
    pipeline = build_pipeline(tokenize=False, validate=False)
    for doc in pipeline(Document.from_ref(ref) for ref in list_sources(corpus)):
        if doc.rejected:
            continue
        texts.append(doc.text)
        sentences.extend(s.text for s in doc.sentences)
        size += len(doc.text.encode("utf-8"))
        if size >= limit_mb * 1e6:
            break
    return texts, sentences


def measure_split(corpus: Path) -> dict:
    from zhclean.splitters.sentences import split_sentences

    texts, _ = _cleaned_sentences(corpus, 20)
    total = sum(len(t.encode("utf-8")) for t in texts)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            split_sentences(text)
        best = min(best, time.perf_counter() - start)
    return {"mb": total / 1e6, "seconds": best, "mb_per_s": total / 1e6 / best}


def measure_tokenize(corpus: Path) -> dict:
    import jieba

    from zhclean.tokenizers.jieba_tokenizer import get_tokenizer, tokenize

    _, sentences = _cleaned_sentences(corpus, 4)
    get_tokenizer()
    jieba.initialize()
    total = sum(len(s.encode("utf-8")) for s in sentences)
    bare = ours = float("inf")
    for _ in range(3):  # interleaved, best of three: the first pass warms caches for both
        start = time.perf_counter()
        for s in sentences:
            jieba.lcut(s)
        bare = min(bare, time.perf_counter() - start)
        start = time.perf_counter()
        for s in sentences:
            tokenize(s)
        ours = min(ours, time.perf_counter() - start)
    return {"mb": total / 1e6, "jieba_mb_per_s": total / 1e6 / bare, "zhclean_mb_per_s": total / 1e6 / ours,
            "overhead": ours / bare - 1}  # fmt: skip


MEASURES = {
    "pipeline": measure_pipeline,
    "jieba": measure_jieba,
    "split": measure_split,
    "tokenize": measure_tokenize,
}


def run_isolated(kind: str, corpus: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--corpus", str(corpus)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_flow(corpus: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([zhclean_command(), "run", "--input", str(corpus), "--output", out, "--max-quarantine-fraction", "1"],
                       check=True, capture_output=True, cwd=REPO)  # fmt: skip
        wall = time.perf_counter() - start
        report = json.loads(max(Path(out, "_runs").glob("*.json")).read_text(encoding="utf-8"))
    return {"mb": report["counts"]["bytes_processed"] / 1e6, "flow_seconds": report["elapsed_seconds"],
            "flow_mb_per_s": report["counts"]["mb_per_s"], "wall_seconds_with_startup": wall}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 80], help="corpus sizes in MB")
    parser.add_argument(
        "--flow", action="store_true", help="also time `zhclean run` with all cores"
    )
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(MEASURES[args.measure](args.corpus)))
        return 0

    print(f"{'corpus':>8} {'measure':>10} {'MB':>7} {'s':>8} {'MB/s':>7} {'peak RSS MB':>12}")
    for size in args.sizes:
        corpus = build_corpus(size)
        pipe = run_isolated("pipeline", corpus)
        bare = run_isolated("jieba", corpus)
        for name, m in (("pipeline", pipe), ("jieba", bare)):
            print(
                f"{size:>6}MB {name:>10} {m['mb']:7.1f} {m['seconds']:8.1f} {m['mb_per_s']:7.3f} {m['peak_rss_mb']:12.0f}"
            )
        print(f"{size:>6}MB pipeline/jieba throughput: {pipe['mb_per_s'] / bare['mb_per_s']:.1%}  "
              f"(published {pipe['published']}, quarantined {pipe['quarantined']}, {pipe['sentences']} sentences)")  # fmt: skip
        if args.flow:
            flow = run_flow(corpus)
            print(f"{size:>6}MB zhclean run (all cores): {flow['flow_mb_per_s']:.3f} MB/s over {flow['mb']:.1f} MB "
                  f"in {flow['flow_seconds']:.1f} s ({flow['wall_seconds_with_startup']:.1f} s with API startup)")  # fmt: skip
    corpus = build_corpus(min(args.sizes))
    split = run_isolated("split", corpus)
    tok = run_isolated("tokenize", corpus)
    print(
        f"split_sentences alone: {split['mb_per_s']:.1f} MB/s on one core ({split['mb']:.1f} MB of cleaned text)"
    )
    print(f"tokenize: {tok['zhclean_mb_per_s']:.3f} MB/s vs bare jieba.lcut {tok['jieba_mb_per_s']:.3f} MB/s "
          f"on the same {tok['mb']:.1f} MB of sentences: overhead {tok['overhead']:+.1%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
