"""Near-duplicates end to end: real articles reprinted on three sites, through ``zhclean run``.

The corpus comes from the repository (evals/dedup_corpus.py): the seeds' and dev pages'
articles, each on three sites with that site's real furniture, about 2% of the ideographs
edited, the last sentence dropped, a line added, Traditional characters; near-misses share
30% of an article's sentences (its opening, a template, a long quotation).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from evals.dedup_corpus import Corpus, build_corpus, dev_sites, repository_articles
from tests.flowutil import read, zhclean_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    pool = repository_articles()
    real = [a for a in pool if a.key.startswith(("seed-", "dev-"))]
    reprinted = [a for a in real if len("".join(a.paragraphs)) < 6000][:14]
    filler = [a for a in pool if a not in reprinted]
    return build_corpus(
        tmp_path_factory.mktemp("dedup"), reprinted, dev_sites(), filler, fourth=True
    )


def _links(out: Path) -> dict[str, tuple[str, str | None]]:
    """source -> (doc_id, duplicate_of) of every published document."""
    docs = read(out, "documents").select(["source", "doc_id", "duplicate_of"]).to_pylist()
    return {r["source"]: (r["doc_id"], r["duplicate_of"]) for r in docs}


def _pairs(links: dict[str, tuple[str, str | None]]) -> set[tuple[str, str]]:
    clusters: dict[str, list[str]] = defaultdict(list)
    for source, (doc_id, dup) in links.items():
        clusters[dup or doc_id].append(source)
    return {tuple(sorted(p)) for members in clusters.values() for p in combinations(members, 2)}


def _precision_recall(predicted: set, truth: set) -> tuple[float, float]:
    tp = len(predicted & truth)
    return tp / max(len(predicted), 1), tp / max(len(truth), 1)


def test_reprints_are_marked_and_stay_linked_to_the_same_representative(corpus, tmp_path):
    out = tmp_path / "out"
    first = zhclean_cli("run", "--input", str(corpus.input), "--output", str(out), "--workers", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "near-duplicates" in first.stdout
    links = _links(out)
    assert set(links) == set(corpus.labels) - {s for s, k in corpus.kinds.items() if k == "d"}, (
        "every page is published, copies too (--dedup mark)"
    )
    truth = corpus.true_pairs(list(links))
    p, r = _precision_recall(_pairs(links), truth)
    assert p >= 0.95 and r >= 0.95, (p, r)
    near = [s for s, k in corpus.kinds.items() if k in ("open", "tmpl", "quote")]
    assert len(near) >= 20
    for source in near:  # a near-miss is no one's copy, and has no copy
        doc_id, dup = links[source]
        assert dup is None, source
        assert all(d != doc_id for _, d in links.values()), source
    marked = sum(dup is not None for _, dup in links.values())
    assert marked >= 0.95 * 2 * len({corpus.labels[s] for s, k in corpus.kinds.items() if k == "a"})

    # a fourth copy of every article, in an incremental run
    for path in corpus.later.rglob("*.txt"):
        target = corpus.input / path.relative_to(corpus.later)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    second = zhclean_cli(
        "run", "--input", str(corpus.input), "--output", str(out), "--workers", "1"
    )
    assert second.returncode == 0, second.stderr[-3000:]
    after = _links(out)
    assert {s: after[s] for s in links} == links, "no earlier link changed"
    representative = {corpus.labels[s]: dup or d for s, (d, dup) in links.items() if dup}
    fourth = [s for s, k in corpus.kinds.items() if k == "d"]
    linked = [s for s in fourth if after[s][1] == representative.get(corpus.labels[s])]
    assert len(linked) >= 0.95 * len(fourth), (len(linked), len(fourth))
    p, r = _precision_recall(_pairs(after), corpus.true_pairs(list(after)))
    assert p >= 0.95 and r >= 0.95, (p, r)
    found = sum(after[s][1] is not None for s in fourth)
    report = zhclean_cli("report", "--output", str(out))
    assert f"near-duplicates: {found} copies found in this run" in report.stdout
