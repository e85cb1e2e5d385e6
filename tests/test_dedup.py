"""Near-duplicates: signatures of real text, and the linking rule's invariants.

The signatures are rensa's (not mocked); the texts are the seeds' and dev pages' real
articles, edited the way reprints are (a few characters, a dropped line, Traditional).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, SEEDS
from zhclean.core.simplify import converter
from zhclean.dedup.minhash import (
    DEFAULT_CONFIG,
    MAX_CALL_CODES,
    MinHashConfig,
    band_keys,
    canonical,
    jaccard,
    load_library,
    shingle_codes,
    shingles,
    signatures,
    signed,
    similarity,
)
from zhclean.dedup.step import Signer
from zhclean.run.dedup import Entries, update_index

C = DEFAULT_CONFIG


def _articles() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    gold = sorted((REPO / "evals" / "data" / "webtext-dev").glob("*.gold.txt"))
    texts += [p.read_text(encoding="utf-8") for p in gold]
    return [converter("t2s").convert(t) for t in texts if len(canonical(t)) > 400]


ARTICLES = _articles()
ALPHABET = sorted({c for t in ARTICLES for c in canonical(t) if "\u4e00" <= c <= "\u9fff"})


def _edit(text: str, share: float, seed: int) -> str:
    rng = random.Random(seed)
    chars = list(text)
    han = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
    for i in rng.sample(han, round(share * len(han))):
        chars[i] = rng.choice(ALPHABET)
    return "".join(chars)


# -- signatures ---------------------------------------------------------------------------


def test_canonical_text_ignores_what_furniture_and_layout_change():
    text = ARTICLES[0]
    relaid = "\n\n".join(line.strip() + "  " for line in text.splitlines())
    assert canonical(relaid) == canonical(text)
    assert canonical("第1季度GDP增长5.2%，\n全年：") == "第1季度gdp增长52全年"


@given(st.text(min_size=0, max_size=40), st.integers(1, 3))
def test_shingle_codes_are_the_shingles_exactly(text, k):
    codes = shingle_codes(text, k)
    grams = shingles(text, k)
    assert len(codes) == len(grams)
    # equal shingles, equal codes; different shingles, different codes
    pairs = {}
    for gram, code in zip(grams, codes.tolist(), strict=True):
        assert pairs.setdefault(gram, code) == code
    assert len(set(pairs.values())) == len(pairs)


def test_estimates_track_exact_jaccard_on_real_text():
    pairs = [(t, _edit(t, share, i)) for i, t in enumerate(ARTICLES[:20]) for share in (0.02, 0.1)]
    a = signatures([x for x, _ in pairs])
    b = signatures([y for _, y in pairs])
    exact = np.array([jaccard(shingles(x, 3), shingles(y, 3)) for x, y in pairs])
    estimate = np.array([similarity(p, q) for p, q in zip(a, b, strict=True)])
    # 128 permutations: the standard error is at most 0.044
    assert np.abs(estimate - exact).mean() < 0.04
    assert np.abs(estimate - exact).max() < 0.15


def test_signatures_are_the_same_in_every_process():
    """The index outlives processes and machines: a signature must not depend on either
    (no per-process hash seed, no per-instance random permutations)."""
    code = (
        f"import sys, hashlib; sys.path.insert(0, {str(REPO)!r});"
        "from tests.test_dedup import ARTICLES; from zhclean.dedup.minhash import signatures;"
        "print(hashlib.sha256(signatures(ARTICLES[:10]).tobytes()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)}, cwd=REPO,
        ).stdout.strip()
        for seed in (1, 2)
    }  # fmt: skip
    import hashlib

    assert digests == {hashlib.sha256(signatures(ARTICLES[:10]).tobytes()).hexdigest()}


def test_long_documents_are_signed_in_pieces_to_the_same_signature():
    """rensa gets at most MAX_CALL_CODES codes a call (memory); a longer document's
    signature is the slot-wise minimum of its pieces', equal to one call's."""
    text = "".join(ARTICLES)
    codes = shingle_codes(text, 3)
    assert len(codes) > 3 * MAX_CALL_CODES
    whole = load_library().RMinHash.digest_matrix_from_flat_token_hashes(
        codes, np.array([0, len(codes)], np.uint64), num_perm=C.num_perm, seed=C.seed
    )
    short = ARTICLES[1]
    sigs = signatures([short, text, short])
    assert (sigs[1] == np.asarray(whole.to_rows(), np.uint32)[0]).all()
    assert (sigs[0] == sigs[2]).all() and (sigs[0] == signatures([short])[0]).all()


def test_texts_without_letters_get_no_signature_and_no_band():
    sigs = signatures(["，。！", "", ARTICLES[0]])
    assert signed(sigs).tolist() == [False, False, True]
    update = update_index(
        Entries.empty(C), [], Entries.new(["a", "b", "c"], "r1", sigs, band_keys(sigs)), C
    )
    assert update.entries.duplicate_of == [None, None, None]  # the two empties are not copies


def test_band_keys_equal_only_for_equal_bands():
    sigs = signatures([ARTICLES[0], ARTICLES[0], ARTICLES[1]])
    keys = band_keys(sigs)
    assert keys.shape == (3, C.bands)
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).any()


def test_config_key_names_everything_a_signature_depends_on():
    assert C.key != MinHashConfig(shingle=4).key != MinHashConfig(seed=1).key
    assert "rensa-r" in C.key
    with pytest.raises(ValueError):
        MinHashConfig(bands=64, rows=4)


def test_signer_step_signs_published_text():
    from zhclean.core.record import Document

    docs = [Document.from_text(t, source=f"{i}.txt") for i, t in enumerate(ARTICLES[:3])]
    for i, d in enumerate(docs):
        d.doc_id, d.text = f"{i:032x}", ARTICLES[i]
    step = Signer("r1")
    step.run(docs)
    table = step.table({docs[0].doc_id, docs[2].doc_id})
    assert table.column("doc_id").to_pylist() == [docs[0].doc_id, docs[2].doc_id]
    entries = Entries.from_table(table, C)
    assert (entries.sigs == signatures([ARTICLES[0], ARTICLES[2]])).all()
    assert step.stats.counters["signed"] == 3


# -- the linking rule ----------------------------------------------------------------------


def _entries(texts: list[str], ids: list[str], run: str) -> Entries:
    sigs = signatures(texts)
    return Entries.new(ids, run, sigs, band_keys(sigs))


def _reprints(n_articles: int, copies: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for a in range(n_articles):
        for c in range(copies):
            text = ARTICLES[a]
            if c:
                text = _edit(text, 0.02, rng.randrange(10**6))
            if c == 2:
                text = converter("s2t").convert(text)  # Traditional: canonical is not t2s'd
                text = converter("t2s").convert(text)
            texts.append(text)
            labels.append(a)
    return texts, labels


def _check_invariants(entries: Entries, config: MinHashConfig = C) -> None:
    by_id = {d: i for i, d in enumerate(entries.doc_id)}
    order = dict(zip(entries.doc_id, entries.order(), strict=True))
    for i, dup in enumerate(entries.duplicate_of):
        if dup is None:
            assert entries.similarity[i] is None
            continue
        rep = by_id[dup]
        assert entries.duplicate_of[rep] is None, "a copy links to a representative"
        assert order[dup] < order[entries.doc_id[i]], "a representative was published first"
        assert entries.similarity[i] >= config.threshold
        assert entries.similarity[i] == pytest.approx(
            similarity(entries.sigs[i], entries.sigs[rep])
        )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 6), st.integers(0, 10**6), st.data())
def test_linking_invariants_and_incremental_stability(n_articles, seed, data):
    texts, labels = _reprints(n_articles, 3, seed)
    ids = [f"{i:032x}" for i in range(len(texts))]
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    cut = data.draw(st.integers(1, len(texts) - 1))
    first, second = order[:cut], order[cut:]
    run1 = update_index(
        Entries.empty(C), [], _entries([texts[i] for i in first], [ids[i] for i in first], "r1"), C
    )
    _check_invariants(run1.entries)
    run2 = update_index(
        run1.entries, [], _entries([texts[i] for i in second], [ids[i] for i in second], "r2"), C
    )
    _check_invariants(run2.entries)
    # a run that only adds documents changes no earlier link
    before = dict(zip(run1.entries.doc_id, run1.entries.duplicate_of, strict=True))
    after = dict(zip(run2.entries.doc_id, run2.entries.duplicate_of, strict=True))
    assert all(after[d] == before[d] for d in before)
    assert set(run2.changed) <= {ids[i] for i in second}
    # copies of one article end up in one cluster, different articles never share one
    rep_of = {d: (dup or d) for d, dup in after.items()}
    label = {ids[i]: labels[i] for i in range(len(texts))}
    clusters: dict[str, set[int]] = {}
    for d, r in rep_of.items():
        clusters.setdefault(r, set()).add(label[d])
    assert all(len(v) == 1 for v in clusters.values())
    assert len(clusters) == n_articles


def test_ties_go_to_the_smaller_doc_id_and_order_wins_over_ids():
    text = ARTICLES[0]
    run1 = update_index(Entries.empty(C), [], _entries([text, text], ["b" * 32, "a" * 32], "r1"), C)
    assert dict(zip(run1.entries.doc_id, run1.entries.duplicate_of, strict=True)) == {
        "a" * 32: None,
        "b" * 32: "a" * 32,
    }
    # a later run's copy with a smaller id does not take the role
    run2 = update_index(run1.entries, [], _entries([text], ["0" * 32], "r2"), C)
    assert dict(zip(run2.entries.doc_id, run2.entries.duplicate_of, strict=True))["0" * 32] == (
        "a" * 32
    )
    assert run2.changed == {"0" * 32: ("a" * 32, 1.0)}


def test_a_removed_representative_hands_over_to_the_next_copy():
    texts, _ = _reprints(2, 4, 5)
    ids = [f"{i:032x}" for i in range(len(texts))]
    run1 = update_index(Entries.empty(C), [], _entries(texts, ids, "r1"), C)
    rep = run1.entries.duplicate_of[1]
    assert rep == ids[0]
    # the representative's source changed: its old rows go, its new version comes in
    new_version = _edit(texts[0], 0.02, 99)
    run2 = update_index(run1.entries, [ids[0]], _entries([new_version], ["f" * 32], "r2"), C)
    _check_invariants(run2.entries)
    links = dict(zip(run2.entries.doc_id, run2.entries.duplicate_of, strict=True))
    assert ids[0] not in links
    assert links[ids[1]] is None, "the next copy in order is the representative now"
    assert links[ids[2]] == links[ids[3]] == links["f" * 32] == ids[1]
    assert set(run2.changed) == {ids[1], ids[2], ids[3], "f" * 32}
    assert run2.handovers == 1
    # the other article's cluster is untouched
    assert all(links[ids[i]] == run1.entries.duplicate_of[i] for i in range(5, 8))


def test_full_refresh_keeps_representatives_of_unchanged_documents():
    texts, _ = _reprints(2, 3, 11)
    ids = [f"{i + 1:032x}" for i in range(len(texts))]
    run1 = update_index(Entries.empty(C), [], _entries(texts[:3], ids[:3], "r1"), C)
    # a copy first published later, with the smallest id: a full refresh signs everything
    # in one run again, and still it does not take the role
    late = "0" * 32
    run2 = update_index(run1.entries, [], _entries([texts[0]], [late], "r2"), C)
    refreshed = update_index(
        run2.entries, [], _entries([*texts[:3], texts[0]], [*ids[:3], late], "r3"), C, True
    )
    links = dict(zip(refreshed.entries.doc_id, refreshed.entries.duplicate_of, strict=True))
    assert links[ids[0]] is None and links[late] == ids[0]
    assert links == dict(zip(run2.entries.doc_id, run2.entries.duplicate_of, strict=True))
    # every row is written again, so every copy's link is in ``changed``
    assert set(refreshed.changed) == {d for d, dup in links.items() if dup}


def test_entries_round_trip_through_parquet(tmp_path):
    import pyarrow.parquet as pq

    texts, _ = _reprints(2, 2, 3)
    update = update_index(
        Entries.empty(C), [], _entries(texts, [f"{i:032x}" for i in range(4)], "r1"), C
    )
    pq.write_table(update.entries.to_table(C), tmp_path / "i.parquet")
    table = pq.read_table(tmp_path / "i.parquet")
    back = Entries.from_table(table, C)
    assert back.doc_id == update.entries.doc_id
    assert back.duplicate_of == update.entries.duplicate_of
    assert back.similarity == update.entries.similarity
    assert (back.sigs == update.entries.sigs).all() and (back.bands == update.entries.bands).all()
    assert table.schema.metadata[b"zhclean.minhash"] == C.key.encode()
