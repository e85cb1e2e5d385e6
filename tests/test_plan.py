"""The scan and the plan: each input read once per pass, partial scans merge exactly,
shards sized for the workers."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SEEDS, copy_tree
from tests.flowutil import read
from zhclean.cleaners.repetition import GroupLineCounts
from zhclean.core.params import RunParams
from zhclean.core.record import SourceRef
from zhclean.readers.files import list_sources
from zhclean.run import (
    list_inputs,
    open_run,
    plan_work,
    process_shard,
    publish_run,
    run_local,
)
from zhclean.run.plan import ScanResult, make_shards, scan_sources, shard_bytes

_LOG: int | None = None  # a file the opens are written to, from every process


def _audit(event: str, args: tuple) -> None:
    if _LOG is not None and event == "open" and isinstance(args[0], str):
        os.write(_LOG, (args[0] + "\n").encode("utf-8", "surrogateescape"))


sys.addaudithook(_audit)  # observes real opens; cannot be removed, so it is gated by _LOG


def _opens_during(fn, root) -> Counter:
    """Opens under ``root`` while ``fn`` runs, here and in the guarded children it forks
    (zhclean.run.guard: they inherit the hook and the log's descriptor)."""
    global _LOG
    log = Path(str(root) + ".opens")
    _LOG = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        fn()
    finally:
        os.close(_LOG)
        _LOG = None
    opened = log.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    return Counter(p for p in opened if p.startswith(str(root)))


def test_each_input_is_read_once_per_pass(tmp_path):
    inp = copy_tree(SEEDS, tmp_path / "in")
    params = RunParams(input_dir=str(inp), output_dir=str(tmp_path / "out"), workers=1)
    first = _opens_during(lambda: run_local(params), inp)
    # first run: the scan (hash + line keys) and the processing read each source once
    assert sorted(first.values()) == [2] * 5, first
    again = _opens_during(lambda: run_local(params), inp)
    # nothing changed: only the scan reads, once
    assert sorted(again.values()) == [1] * 5, again


def test_partial_scans_merge_into_the_whole_scan(tmp_path):
    inp = copy_tree(SEEDS, tmp_path / "in")
    for i in range(3):  # a second group, sharing the seeds' lines
        copy_tree(SEEDS, inp / f"g{i}")
    refs = list_sources(inp)
    whole = scan_sources(refs)
    merged = ScanResult()
    for shard in make_shards(refs, 40_000):
        merged.merge(scan_sources(shard))
    assert merged.hashes == whole.hashes and len(whole.hashes) == 20
    for group in whole.lines:
        a, b = whole.lines[group], merged.lines[group]
        assert (a.n_docs, a.keys.tolist(), a.counts.tolist()) == (
            b.n_docs,
            b.keys.tolist(),
            b.counts.tolist(),
        )
    assert whole.repeated(["g0"], 3)["g0"].counts == {}  # one copy per group: nothing repeats
    assert merged.repeated([""], 1)[""].n_docs == 5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(-5, 5), max_size=6), max_size=12), st.integers(1, 4))
def test_line_counts_merge_by_addition(docs, parts):
    import numpy as np

    whole, pieces = GroupLineCounts(), [GroupLineCounts() for _ in range(parts)]
    for i, keys in enumerate(docs):
        arr = np.unique(np.array(keys, dtype=np.int64))
        whole.add(arr)
        pieces[i % parts].add(arr)
    merged = pieces[0]
    for piece in pieces[1:]:
        merged.merge(piece)
    expected = Counter(k for keys in docs for k in set(keys))
    for counts in (whole.compact(), merged.compact()):
        assert counts.n_docs == len(docs)
        assert dict(zip(counts.keys.tolist(), counts.counts.tolist(), strict=True)) == expected


def test_shards_keep_every_worker_busy():
    mb = 1024 * 1024
    assert shard_bytes(40 * mb, workers=2, shard_mb=8) == 8 * mb  # capped by --shard-mb
    assert shard_bytes(8 * mb, workers=2, shard_mb=8) == 2 * mb + 1  # two shards per worker
    assert shard_bytes(8 * mb, workers=1, shard_mb=8) == 4 * mb + 1
    assert shard_bytes(1000, workers=4, shard_mb=8) == 256 * 1024  # never tiny


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 5000), min_size=1, max_size=300),
    target=st.integers(1, 40_000),
)
def test_shards_are_even_and_leave_no_small_tail(sizes, target):
    """A worker that gets the last shard must not be the only one still working: every
    shard is within one source of an even share, in input order, nothing lost."""
    refs = [SourceRef(f"f{i}", f"f{i:04d}", size) for i, size in enumerate(sizes)]
    shards = make_shards(refs, target)
    assert [r for shard in shards for r in shard] == refs
    total, biggest = sum(sizes), max(sizes)
    parts = max(1, -(-total // target))
    assert len(shards) <= parts
    share = total / parts
    for shard in shards:
        assert abs(sum(r.size for r in shard) - share) <= biggest


def test_a_source_deleted_during_a_run_stays_published_like_one_deleted_before(tmp_path):
    inp = copy_tree(SEEDS, tmp_path / "in")
    params = RunParams(input_dir=str(inp), output_dir=str(tmp_path / "out"), workers=1)
    run_local(params)
    before = {r["source"]: r["text"] for r in read(tmp_path / "out", "documents").to_pylist()}
    changed = next(inp.glob("004_*.txt"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n新增的一段。", encoding="utf-8")

    # the production steps in order; the changed file disappears after the scan planned it
    with open_run(params) as run:
        sources, scan_shards = list_inputs(run)
        work = plan_work(run, sources, [scan_sources(s, run.input_root) for s in scan_shards])
        assert work.plan.changed == [changed.name]
        changed.unlink()
        results = [
            process_shard(run, i, s, work.repeated_for(s)) for i, s in enumerate(work.shards)
        ]
        during = publish_run(run, work.plan, results)
    after = {r["source"]: r["text"] for r in read(tmp_path / "out", "documents").to_pylist()}
    assert after == before  # its old rows are still published
    assert during["missing_sources"] == [changed.name] and during["counts"]["quarantined"] == 0
    assert during["accounting"]["deleted_during_run"] == 1 and during["accounting"]["balanced"]

    again = run_local(params)  # deleted before this run: the same outcome
    assert again["missing_sources"] == [changed.name]
    assert {
        r["source"]: r["text"] for r in read(tmp_path / "out", "documents").to_pylist()
    } == before
