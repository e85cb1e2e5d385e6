"""Peak memory of one worker: a shard through the whole pipeline, in a fresh process.

    python bench/peak_rss.py                         # every case below
    python bench/peak_rss.py doc5 corpus20           # some of them
    python bench/peak_rss.py doc20 --max-doc-mb 64   # with the per-document cap raised

Each case runs ``process_shard`` (read → … → write Parquet, what a worker does with one
task) over its input as a single shard in a new Python process, and prints that
process's peak RSS (``ru_maxrss``) and that of the guarded child it processes the
documents in (``zhclean.run.guard``; RSS counts the pages they share in both), its RSS once the imports and dictionaries are loaded
(the baseline), the outcome and the time. Inputs are built from the seeds and cached
under ``bench/corpus/``:

- ``docN``: one document of N MB (seed paragraphs, one per line);
- ``htmlN``: one HTML page of N MB (the test news page with its article repeated);
- ``corpusN``: N MB of normal documents (copies of the seeds, five per folder).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.run_bench import CORPUS, SEEDS, build_corpus  # noqa: E402

CASES = ["doc5", "doc8", "doc20", "doc50", "html8", "corpus20", "corpus200"]


def build_doc(size_mb: int) -> Path:
    root = CORPUS / f"doc{size_mb}"
    path = root / "big.txt"
    if path.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    paragraphs = [
        p
        for seed in sorted(SEEDS.glob("*.txt"))
        for p in seed.read_text(encoding="utf-8").split("\n")
        if len(p) > 80
    ]
    out, size, i = ["标题：大型文档测试"], 0, 0
    while size < size_mb * 1_000_000:
        line = f"{paragraphs[i % len(paragraphs)]}（第{i}段）"
        out.append(line)
        size += len(line.encode("utf-8")) + 1
        i += 1
    path.write_text("\n".join(out), encoding="utf-8")
    return root


def build_html(size_mb: int) -> Path:
    root = CORPUS / f"html{size_mb}"
    path = root / "page.txt"
    if path.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    page = (REPO / "tests" / "data" / "html" / "news.html").read_text(encoding="utf-8")
    head, _, rest = page.partition('<div class="article">')
    article, _, tail = rest.partition("</div>\n<noscript>")
    copies = size_mb * 1_000_000 // len(article.encode("utf-8"))
    path.write_text(
        head + '<div class="article">' + article * copies + "</div>\n<noscript>" + tail,
        encoding="utf-8",
    )
    return root


def build(case: str) -> Path:
    kind, size = re.fullmatch(r"([a-z]+)(\d+)", case).groups()
    return {"doc": build_doc, "html": build_html, "corpus": build_corpus}[kind](int(size))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(root: Path, max_doc_mb: float) -> dict:
    """One worker's shard, in this process (run through ``--measure``)."""
    from zhclean.core.params import RunParams
    from zhclean.readers.files import list_sources
    from zhclean.run import Run, process_shard
    from zhclean.tokenizers.jieba_tokenizer import get_tokenizer

    get_tokenizer()
    refs = list_sources(root)
    baseline = _rss_mb()
    with tempfile.TemporaryDirectory() as out:
        params = RunParams(input_dir=str(root), output_dir=out, max_doc_mb=max_doc_mb)
        start = time.perf_counter()
        result = process_shard(Run("bench", params, str(root), out), 0, refs)
        seconds = time.perf_counter() - start
    totals = result.totals
    checks = sorted({o.check for o in result.outcomes if o.check})
    return {"input_mb": sum(r.size for r in refs) / 1e6, "docs": len(refs),
            "published": totals.get("published", 0), "quarantined": totals.get("quarantined", 0),
            "checks": checks, "baseline_mb": round(baseline),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            # the guarded child that processed the documents (zhclean.run.guard)
            "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "seconds": round(seconds, 1)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", default=CASES, help="docN, htmlN or corpusN")
    parser.add_argument("--max-doc-mb", type=float, default=8.0, help="the per-document cap")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.max_doc_mb)))
        return 0
    print(f"--max-doc-mb {args.max_doc_mb:g}")
    print(f"{'case':>10} {'input MB':>9} {'docs':>6} {'published':>9} {'quarantined':>11} "
          f"{'baseline MB':>11} {'peak RSS MB':>11} {'child MB':>8} {'s':>7}")  # fmt: skip
    for case in args.cases:
        root = build(case)
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", str(root), "--max-doc-mb", str(args.max_doc_mb)],
            check=True, capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{case:>10} {r['input_mb']:9.1f} {r['docs']:6d} {r['published']:9d} "
              f"{r['quarantined']:11d} {r['baseline_mb']:11d} {r['peak_rss_mb']:11d} "
              f"{r['child_peak_rss_mb']:8d} {r['seconds']:7.1f}  {' '.join(r['checks'])}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
