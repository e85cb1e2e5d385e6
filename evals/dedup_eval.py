"""Pair precision and recall of near-duplicate detection on a labelled corpus.

Builds the corpus of :mod:`evals.dedup_corpus` (reprints on three sites, near-misses
sharing 30% of their sentences), runs it through the real pipeline (``run_local``, the
production path without Prefect) and scores, on the published ``documents.text``:

- **ours**: the settings of :mod:`zhclean.dedup.minhash` (and a sweep with ``--sweep``),
  clustered as the run does (:func:`zhclean.run.dedup.update_index`);
- **data-juicer**'s defaults for Chinese: character 5-grams of the lower-cased text,
  256 permutations, Jaccard 0.7 (bands x rows from its ``optimal_param``), every band
  collision a duplicate, union-find;
- **datatrove**'s defaults: word 5-grams of the simplified text (lower case, digits to
  0, no punctuation; jieba words, its Chinese tokenizer), 14 buckets x 8 hashes, every
  bucket collision a duplicate, union-find.

The anchors' settings are reproduced with the same MinHash library (rensa), so the
comparison is between settings, not libraries. A predicted pair is two documents in one
cluster; a true pair, two files with the same label.

    .venv/bin/python -m evals.dedup_eval [--sweep] [--text FILE [--limit N]] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads

from evals.dedup_corpus import Corpus, build_corpus, dev_sites, repository_articles, text_articles
from zhclean.core.params import RunParams
from zhclean.dedup.minhash import DEFAULT_CONFIG, MinHashConfig, band_keys, signatures, signed
from zhclean.run.dedup import Entries, update_index
from zhclean.run.local import run_local


def published_texts(corpus: Corpus, out: Path) -> tuple[list[str], list[str]]:
    run_local(RunParams(input_dir=str(corpus.input), output_dir=str(out), workers=1))
    table = pads.dataset(out / "documents", format="parquet").to_table(columns=["source", "text"])
    rows = sorted(
        zip(table.column("source").to_pylist(), table.column("text").to_pylist(), strict=True)
    )
    return [s for s, _ in rows], [t for _, t in rows]


def pairs_of(clusters: dict[int, list[int]]) -> set[tuple[int, int]]:
    out = set()
    for members in clusters.values():
        m = sorted(members)
        out.update((x, y) for i, x in enumerate(m) for y in m[i + 1 :])
    return out


def ours(texts: list[str], config: MinHashConfig) -> set[tuple[int, int]]:
    sigs = signatures(texts, config)
    ids = [f"{i:08d}" for i in range(len(texts))]  # the order of one run: by doc_id
    update = update_index(
        Entries.empty(config), [], Entries.new(ids, "run", sigs, band_keys(sigs, config)), config
    )
    clusters: dict[int, list[int]] = defaultdict(list)
    for doc, dup in zip(update.entries.doc_id, update.entries.duplicate_of, strict=True):
        clusters[int(dup or doc)].append(int(doc))
    return pairs_of(clusters)


def union_find_bands(sigs: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Every band collision a duplicate (the anchors have no verification step)."""
    parent = list(range(len(sigs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ok = signed(sigs)
    for b in range(bands):
        buckets: dict[bytes, int] = {}
        for i in np.flatnonzero(ok).tolist():
            key = sigs[i, b * rows : (b + 1) * rows].tobytes()
            if key in buckets:
                parent[find(i)] = find(buckets[key])
            else:
                buckets[key] = i
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(sigs)):
        clusters[find(i)].append(i)
    return pairs_of(clusters)


def optimal_param(threshold: float, num_perm: int) -> tuple[int, int]:
    """data-juicer's (and datasketch's) choice of bands x rows: the least false-positive
    plus false-negative area under the S-curve, with equal weights (numerically)."""
    xs = np.linspace(0.0, 1.0, 20001)
    best, choice = float("inf"), (1, 1)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1 - (1 - xs**r) ** b
            fp = np.trapezoid(np.where(xs <= threshold, p, 0), xs)
            fn = np.trapezoid(np.where(xs >= threshold, 1 - p, 0), xs)
            if 0.5 * fp + 0.5 * fn < best:
                best, choice = 0.5 * fp + 0.5 * fn, (b, r)
    return choice


def data_juicer(texts: list[str]) -> set[tuple[int, int]]:
    import rensa

    b, r = optimal_param(0.7, 256)  # 25 x 10
    lowered = [t.lower() for t in texts]
    sets = [[t[i : i + 5] for i in range(len(t) - 4)] or [t] for t in lowered]
    sigs = np.asarray(
        rensa.RMinHash.digest_matrix_from_token_sets(sets, num_perm=256, seed=42).to_rows(),
        np.uint32,
    )
    return union_find_bands(sigs, b, r)


_PUNCT = re.compile(r"[^\w\s]|_")


def datatrove(texts: list[str]) -> set[tuple[int, int]]:
    import jieba
    import rensa

    def words(text: str) -> list[str]:
        simple = re.sub(r"\d", "0", _PUNCT.sub(" ", text.lower()))
        tokens = [w for w in jieba.lcut(" ".join(simple.split())) if w.strip()]
        grams = [" ".join(tokens[i : i + 5]) for i in range(len(tokens) - 4)]
        return grams or [" ".join(tokens)]

    sigs = np.asarray(
        rensa.RMinHash.digest_matrix_from_token_sets(
            [words(t) for t in texts], num_perm=112, seed=1
        ).to_rows(),
        np.uint32,
    )
    return union_find_bands(sigs, 14, 8)


def score(
    name: str, predicted: set[tuple[int, int]], truth: set[tuple[int, int]], kinds: list[str]
) -> dict:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    missed: dict[str, int] = defaultdict(int)
    for x, y in truth - predicted:
        missed["".join(sorted(kinds[x] + kinds[y]))] += 1
    false: dict[str, int] = defaultdict(int)
    for x, y in predicted - truth:
        false["+".join(sorted((kinds[x], kinds[y])))] += 1
    return {
        "setting": name,
        "P": round(p, 3),
        "R": round(r, 3),
        "F1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
        "pairs_predicted": len(predicted),
        "pairs_true": len(truth),
        "missed_by_copies": dict(sorted(missed.items())),
        "false_by_kinds": dict(sorted(false.items())),
    }


def similarity_margins(texts: list[str], truth: set, kinds: list[str], k: int, perm: int) -> dict:
    """Estimated similarity of every true pair and of every near-miss with its article."""
    sigs = signatures(texts, MinHashConfig(shingle=k, num_perm=perm, bands=1, rows=1))
    sim = np.array([[np.mean(a == b) for b in sigs] for a in sigs])
    true_sims = [sim[x, y] for x, y in truth]
    near = [
        sim[x, y]
        for x in range(len(texts))
        for y in range(len(texts))
        if kinds[x] in ("open", "tmpl", "quote") and x != y
    ]
    return {
        "shingle": k,
        "true_min": round(float(min(true_sims)), 3),
        "true_p05": round(float(np.percentile(true_sims, 5)), 3),
        "near_max": round(float(max(near)), 3),
        "near_p99_99": round(float(np.percentile(near, 99.99)), 3),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", help="also articles from this file, one per line (local only)")
    ap.add_argument("--limit", type=int, default=150, help="articles taken from --text")
    ap.add_argument("--sweep", action="store_true", help="shingle sizes, thresholds, margins")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    pool = repository_articles()
    articles, filler = pool[::2], pool[1::2]
    if args.text:  # a local corpus: as many more reprinted articles, and their filler
        extra = text_articles(Path(args.text))
        articles += extra[: args.limit]
        filler += extra[args.limit :]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(Path(tmp) / "corpus", articles, dev_sites(), filler)
        t0 = time.monotonic()
        sources, texts = published_texts(corpus, Path(tmp) / "out")
        build_s = time.monotonic() - t0
    index = {s: i for i, s in enumerate(sources)}
    truth = {tuple(sorted((index[x], index[y]))) for x, y in corpus.true_pairs(sources)}
    kinds = [corpus.kinds[s] for s in sources]
    results = [
        score(
            f"ours ({DEFAULT_CONFIG.key}, threshold {DEFAULT_CONFIG.threshold})",
            ours(texts, DEFAULT_CONFIG),
            truth,
            kinds,
        ),
        score("data-juicer (char 5-grams, 256 perms, J 0.7)", data_juicer(texts), truth, kinds),
        score("datatrove (word 5-grams, 14 x 8)", datatrove(texts), truth, kinds),
    ]
    sweep = []
    if args.sweep:
        for k in (2, 3, 4, 5):
            sweep.append(similarity_margins(texts, truth, kinds, k, 128))
        grid = [(k, 128, 32, 4) for k in (2, 3, 4, 5)] + [(3, 128, 42, 3), (3, 256, 64, 4)]
        for k, perm, bands, rows in grid:
            for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
                config = MinHashConfig(k, perm, bands, rows, threshold)
                found = ours(texts, config)
                sweep.append(score(f"{config.key} J {threshold}", found, truth, kinds))
    summary = {
        "articles": len(articles),
        "documents": len(texts),
        "true_pairs": len(truth),
        "pipeline_seconds": round(build_s, 1),
        "results": results,
        "sweep": sweep,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    near = sum(k in ("open", "tmpl", "quote") for k in kinds)
    print(
        f"{len(articles)} articles, {len(texts)} published documents ({near} near-misses), "
        f"{len(truth)} true pairs"
    )
    for row in results + sweep:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
