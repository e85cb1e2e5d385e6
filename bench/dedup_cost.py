"""What near-duplicate detection costs a run: CPU seconds of --dedup off, mark and drop.

Two corpora of about ``--mb`` MB:

- **seeds**: the benchmark corpus of ``bench/run_bench.py`` (copies of the five seeds,
  one folder per copy). Every document but five is a copy: the worst case for dedup's
  publish side (in mark mode every row gets a link, so every documents part is written
  twice; in drop mode every sentences part is filtered), and the best case for the
  index (five representatives).
- **unique**: documents of 4-16 real sentences drawn at random (``bench/dedup_bench.py``),
  nearly all unique: the index holds every document, and almost no row changes.

Each run is ``run_local`` (scan, shards, publish: the production path without Prefect) in
this process, on a fresh output. The dedup share is the sign step (in the shards) plus
the reduce at publish (reading the index and the staged signatures, linking, writing the
links, the duplicates and the index), over the run's CPU seconds.

    .venv/bin/python bench/dedup_cost.py [--mb 30] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dedup_bench import documents, real_sentences  # noqa: E402
from run_bench import build_corpus  # noqa: E402


def unique_corpus(size_mb: float, parent: Path) -> Path:
    root = parent / f"unique-{size_mb:g}MB"
    if root.exists():
        return root
    target, written, n = int(size_mb * 1_000_000), 0, 0
    sentences = real_sentences()
    for ids, texts in documents(10**9, sentences, 0.0, 3):
        for doc_id, text in zip(ids, texts, strict=True):
            folder = root / f"batch_{n // 500:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            data = text.encode("utf-8")
            (folder / f"{doc_id}.txt").write_bytes(data)
            written += len(data)
            n += 1
        if written >= target:
            return root
    return root


def measure(corpus: Path, mode: str) -> dict:
    import zhclean.core.step as step_module

    step_module.perf_counter = time.process_time  # stage seconds become CPU seconds
    from zhclean.core.params import RunParams
    from zhclean.run.local import run_local

    with tempfile.TemporaryDirectory() as out:
        cpu = time.process_time()
        params = RunParams(
            input_dir=str(corpus),
            output_dir=out,
            workers=1,
            dedup=mode,
            max_quarantine_fraction=1.0,
        )  # the cost of every stage, whatever the gate would say
        report = run_local(params)
        cpu = time.process_time() - cpu
    stages = {s["name"]: s["seconds"] for s in report["stages"]}
    dedup = report.get("dedup") or {}
    sign, reduce = stages.get("sign", 0.0), dedup.get("seconds", 0.0)
    return {
        "mode": mode,
        "cpu_s": round(cpu, 2),
        "sign_s": round(sign, 2),
        "reduce_s": round(reduce, 2),
        "dedup_share": round((sign + reduce) / cpu, 4),
        "documents": report["counts"]["published"],
        "copies": dedup.get("copies"),
        "rewritten_parts": dedup.get("rewritten_parts"),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    random.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        corpora = {
            "seeds": build_corpus(args.mb, Path(tmp)),
            "unique": unique_corpus(args.mb, Path(tmp)),
        }
        measure(corpora["seeds"], "off")  # warm-up: imports, dictionaries, rules
        for name, corpus in corpora.items():
            mb = sum(p.stat().st_size for p in corpus.rglob("*.txt")) / 1e6
            for mode in ("off", "mark", "drop"):
                best = min(
                    (measure(corpus, mode) for _ in range(args.rounds)), key=lambda r: r["cpu_s"]
                )
                print(json.dumps({"corpus": name, "mb": round(mb, 1), **best}), flush=True)


if __name__ == "__main__":
    main()
