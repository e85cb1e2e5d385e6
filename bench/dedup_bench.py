"""Sign and index a million documents built from real sentences: time and memory.

Documents: 4-16 sentences drawn at random from the real sentences of the repository
(seeds, dev gold, class gold; t2s), so unrelated documents share a sentence now and then
as real ones do; ``--copies`` of them (default 5%) are near-copies of an earlier one
(2% of the ideographs replaced). Phases, each timed in CPU seconds:

1. **sign**: :func:`zhclean.dedup.minhash.signatures` and band keys in batches of 500
   (what the shard tasks do);
2. **index, one run**: :func:`zhclean.run.dedup.update_index` of all of them at once (a
   first run or a full refresh: the largest reduce);
3. **index, incremental**: ``--new`` more documents against that index (a daily run);
4. the index written to Parquet and read back (what a run loads).

Memory: the process's peak RSS after each phase, and the index's bytes per document.

    .venv/bin/python bench/dedup_bench.py [--docs 1000000] [--new 10000] [--copies 0.05]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from zhclean.core.simplify import converter  # noqa: E402
from zhclean.dedup.minhash import DEFAULT_CONFIG, band_keys, signatures  # noqa: E402
from zhclean.run.dedup import Entries, update_index  # noqa: E402
from zhclean.run.dedup_publish import INDEX_COMPRESSION  # noqa: E402
from zhclean.splitters.sentences import split_sentences  # noqa: E402

BATCH = 500


def real_sentences() -> list[str]:
    paths = sorted((REPO / "seeds").glob("*.txt")) + sorted(
        (REPO / "evals" / "data").rglob("*.gold.txt")
    )
    out = set()
    t2s = converter("t2s")
    for path in paths:
        for line in t2s.convert(path.read_text(encoding="utf-8")).splitlines():
            for s in split_sentences(line.strip()):
                if len(s.strip()) >= 8:
                    out.add(s.strip())
    return sorted(out)


def documents(n: int, sentences: list[str], copies: float, seed: int):
    """Batches of (ids, texts); the same arguments give the same documents."""
    rng = random.Random(seed)
    han = sorted({c for s in sentences for c in s if "\u4e00" <= c <= "\u9fff"})
    recent: list[str] = []
    ids, texts = [], []
    for i in range(n):
        if recent and rng.random() < copies:
            chars = list(rng.choice(recent))
            for j in rng.sample(range(len(chars)), max(1, len(chars) // 50)):
                chars[j] = rng.choice(han)
            text = "".join(chars)
        else:
            text = "".join(rng.choices(sentences, k=rng.randint(4, 16)))
            recent.append(text)
            if len(recent) > 1000:
                recent.pop(0)
        ids.append(f"{seed:02d}{i:030x}")
        texts.append(text)
        if len(ids) == BATCH:
            yield ids, texts
            ids, texts = [], []
    if ids:
        yield ids, texts


def sign_all(n: int, sentences: list[str], copies: float, seed: int, run: str) -> tuple:
    parts, chars, seconds = [], 0, 0.0
    for ids, texts in documents(n, sentences, copies, seed):
        chars += sum(len(t) for t in texts)
        t0 = time.process_time()
        sigs = signatures(texts)
        keys = band_keys(sigs)
        seconds += time.process_time() - t0
        parts.append(Entries.new(ids, run, sigs, keys))
    return Entries.concat(parts, DEFAULT_CONFIG), chars, seconds


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--copies", type=float, default=0.05)
    args = ap.parse_args(argv)
    config = DEFAULT_CONFIG
    sentences = real_sentences()
    out: dict = {"config": config.key, "threshold": config.threshold, "sentences": len(sentences)}
    base_rss = peak_mb()
    out["rss_before_mb"] = round(base_rss)

    entries, chars, seconds = sign_all(args.docs, sentences, args.copies, 1, "r1")
    out["sign"] = {
        "docs": args.docs,
        "chars": chars,
        "cpu_s": round(seconds, 1),
        "us_per_doc": round(1e6 * seconds / args.docs, 1),
        "mb_utf8_per_cpu_s": round(chars * 3 / 1e6 / seconds, 1),
        "peak_rss_mb": round(peak_mb()),
    }
    print(json.dumps(out), flush=True)

    t0 = time.process_time()
    first = update_index(Entries.empty(config), [], entries, config)
    out["index_one_run"] = {
        "cpu_s": round(time.process_time() - t0, 1),
        **first.counts(),
        "peak_rss_mb": round(peak_mb()),
    }
    del entries
    print(json.dumps(out["index_one_run"]), flush=True)

    index = first.entries
    in_memory = index.sigs.nbytes + index.bands.nbytes
    out["index_bytes_per_doc_arrays"] = round(in_memory / len(index))

    new, _new_chars, _new_seconds = sign_all(args.new, sentences, args.copies, 2, "r2")
    t0 = time.process_time()
    second = update_index(index, [], new, config)
    out["index_incremental"] = {
        "new_docs": args.new,
        "cpu_s": round(time.process_time() - t0, 2),
        "changed": len(second.changed),
        **second.counts(),
        "peak_rss_mb": round(peak_mb()),
    }
    print(json.dumps(out["index_incremental"]), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.parquet"
        t0 = time.process_time()
        pq.write_table(second.entries.to_table(config), path, compression=INDEX_COMPRESSION)
        write_s = time.process_time() - t0
        t0 = time.process_time()
        back = Entries.from_table(pq.read_table(path), config)
        read_s = time.process_time() - t0
        out["parquet"] = {
            "bytes_per_doc": round(path.stat().st_size / len(back)),
            "write_cpu_s": round(write_s, 1),
            "read_cpu_s": round(read_s, 1),
            "peak_rss_mb": round(peak_mb()),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
