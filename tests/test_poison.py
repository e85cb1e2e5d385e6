"""A document that crashes, hangs or exhausts a worker costs that document (issue 17, item 1).

An HTML page with a ``<pre>`` block segfaulted Lexbor inside the command's own process:
``zhclean run`` died with 139 and no report, every scheduled run after it too. Now the
documents of a shard are processed in a supervised child process (zhclean.run.guard).
The faults here are real: a read of address 0 (SIGSEGV), ``abort()`` (SIGABRT), a C call
that never returns with every signal blocked, an allocation without end; each is set off
inside a stage by a marker in a document (zhclean.run.faults), in every mode the command
runs shards in: its own process, a pool of workers, Dask workers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.conftest import SEEDS, seed_text
from tests.flowutil import zhclean_cli
from zhclean.run.faults import FAULT_ENV
from zhclean.run.guard import Limits, Plan, WorkerError, plan_batches, supervise

PRE_PAGE = (
    "<html><body><p>这是一个测试页面，用来检查解析器是否稳定。</p>"
    "<pre>def f(x):\n    return x + 1\n</pre></body></html>"
)
# stage -> (fault, marker): one poison document each
FAULTS = {
    "html": ("segv", "@@SEGV@@"),
    "normalize": ("hang", "@@HANG@@"),
    "split": ("memory", "@@MEMORY@@"),
    "validate": ("abort", "@@ABORT@@"),  # a stage on the whole batch: found again one by one
    # the scan parses HTML pages too: the same document crashes it first
    "scan": ("segv", "@@SEGV@@"),
}
EXPECTED = {  # source -> (stage, check) of its one quarantine row
    "poison_html.txt": ("html", "crash"),
    "poison_normalize.txt": ("normalize", "timeout"),
    "poison_split.txt": ("split", "memory"),
    "poison_validate.txt": ("validate", "crash"),
}
STAGE_TIMEOUT = 3.0


def _fault_env() -> dict[str, str]:
    return {
        FAULT_ENV: ";".join(f"{kind}:{stage}:{marker}" for stage, (kind, marker) in FAULTS.items())
    }


def _poison_docs(folder: Path) -> None:
    """A real article per fault, the marker inside a paragraph: published without it."""
    text = seed_text("004")
    cut = text.index("。", len(text) // 2) + 1
    for stage, (_kind, marker) in FAULTS.items():
        if stage != "scan":
            (folder / f"poison_{stage}.txt").write_text(text[:cut] + marker + text[cut:], "utf-8")


def _quarantine(out: Path) -> dict[str, dict]:
    rows = ds.dataset(out / "quarantine", format="parquet", partitioning="hive").to_table()
    by_source: dict[str, dict] = {}
    for row in rows.to_pylist():
        assert row["source"] not in by_source, f"two rows for {row['source']}"
        by_source[row["source"]] = row
    return by_source


def _check_poison_run(proc, out: Path, published: int) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    report = json.loads(max((out / "_runs").glob("*.json")).read_text(encoding="utf-8"))
    rows = _quarantine(out)
    assert {s: (r["stage"], r["check"]) for s, r in rows.items()} == EXPECTED
    for row in rows.values():
        assert "\n" not in row["reason"] and row["stage"] in row["reason"]
        assert row["doc_id"] and row["content_sha256"]
    assert "SIGSEGV" in rows["poison_html.txt"]["reason"]
    assert "SIGABRT" in rows["poison_validate.txt"]["reason"]
    assert f"after {STAGE_TIMEOUT:.0f} s" in rows["poison_normalize.txt"]["reason"]
    assert report["counts"]["published"] == published
    assert report["accounting"]["balanced"]
    stages = {s["name"]: s for s in report["stages"]}
    assert stages["html"]["docs_rejected"] == 1 and stages["validate"]["docs_rejected"] == 1
    assert stages["read"]["docs_in"] == report["counts"]["inputs"]
    return report


@pytest.mark.slow
def test_a_page_with_a_pre_block_is_published_with_the_seeds(tmp_path):
    """The issue's reproduction: exit 139 and no report before; now every input publishes."""
    inp = shutil.copytree(SEEDS, tmp_path / "in")
    (inp / "a.html").write_text(PRE_PAGE, encoding="utf-8")
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(max((out / "_runs").glob("*.json")).read_text(encoding="utf-8"))
    assert (report["counts"]["published"], report["counts"]["quarantined"]) == (6, 0)
    docs = ds.dataset(out / "documents", format="parquet", partitioning="hive").to_table()
    page = next(r for r in docs.to_pylist() if r["source"] == "a.html")
    assert page["text"].startswith("这是一个测试页面，用来检查解析器是否稳定。")


@pytest.mark.slow
def test_poison_documents_cost_themselves_in_the_commands_process(tmp_path):
    """A small input runs in the command's own process: the guard forks from it."""
    inp = shutil.copytree(SEEDS, tmp_path / "in")
    _poison_docs(inp)
    out = tmp_path / "out"
    started = time.monotonic()
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out),
                       "--max-quarantine-fraction", "1", "--stage-timeout", str(STAGE_TIMEOUT),
                       env=_fault_env())  # fmt: skip
    elapsed = time.monotonic() - started
    report = _check_poison_run(proc, out, published=5)
    assert "in this process" in proc.stdout  # the mode this test is about
    # the hang cost its deadline (3 s for a small document), not minutes
    assert elapsed < 120, elapsed
    assert report["status"] == "published"


@pytest.mark.slow
def test_poison_documents_cost_themselves_in_pool_workers(tmp_path):
    """9 MB: two worker processes, each supervising its own guarded children."""
    inp = tmp_path / "in"
    for i in range(150):
        shutil.copytree(SEEDS, inp / f"site{i:03d}")
    _poison_docs(inp / "site000")
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out), "--workers", "2",
                       "--max-quarantine-fraction", "1", "--stage-timeout", str(STAGE_TIMEOUT),
                       env=_fault_env())  # fmt: skip
    expected = {f"site000/{s}": v for s, v in EXPECTED.items()}
    assert "workers" not in proc.stdout  # all of --workers 2 were used
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _quarantine(out)
    assert {s: (r["stage"], r["check"]) for s, r in rows.items()} == expected
    report = json.loads(max((out / "_runs").glob("*.json")).read_text(encoding="utf-8"))
    assert report["counts"]["published"] == 750 and report["accounting"]["balanced"]


@pytest.mark.slow
@pytest.mark.cluster
def test_poison_documents_cost_themselves_on_dask_workers(tmp_path, prefect_harness):
    from tests.cluster import dask_cluster, worker_env
    from tests.flowutil import run_flow

    inp = shutil.copytree(SEEDS, tmp_path / "in")
    _poison_docs(inp)
    envs = [worker_env(tmp_path / "home0", **_fault_env())]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        out = tmp_path / "out"
        state = run_flow(inp, out, dask_address=cluster.address, max_quarantine_fraction=1.0,
                         stage_timeout=STAGE_TIMEOUT)  # fmt: skip
        worker_log = (tmp_path / "dask" / "w0.log").read_text(errors="replace")
    assert state.is_completed(), state.message
    rows = _quarantine(out)
    assert {s: (r["stage"], r["check"]) for s, r in rows.items()} == EXPECTED
    assert state.result()["counts"]["published"] == 5
    assert "restarting" not in worker_log.lower()  # the Dask worker itself never died


# ------------------------------------------------------------- the supervisor itself


def _numbers(items: list[int], crash_on: set[int], batch_level: bool = False):
    """Work that "processes" numbers and dies with SIGSEGV on some of them."""
    import ctypes

    def work(tracker, send, plan: Plan) -> None:
        for batch in plan_batches([1] * len(items), plan, 3, 1 << 30):
            tracker.batch(batch[0], batch[-1] + 1, batch[0] if len(batch) == 1 else -1)
            for i in batch:
                if not batch_level:
                    tracker.mark("double", i)
                elif i == batch[0]:
                    tracker.mark("double", -1)
                if items[i] in crash_on:
                    ctypes.string_at(0)
            send(("batch", batch[-1] + 1, [2 * items[i] for i in batch]))

    return work


def test_the_supervisor_quarantines_each_crash_and_finishes_the_rest():
    got: list[int] = []
    items = list(range(10))
    failures = supervise(
        _numbers(items, {3, 7}), [1] * 10, Limits(5.0, None),
        lambda m: got.extend(m[2]) if m[0] == "batch" else None,
    )  # fmt: skip
    assert [(f.item, f.stage, f.check) for f in failures] == [
        (3, "double", "crash"),
        (7, "double", "crash"),
    ]
    assert sorted(got) == [2 * i for i in items if i not in (3, 7)]


def test_a_crash_in_a_stage_on_a_whole_batch_is_found_one_document_at_a_time():
    got: list[int] = []
    failures = supervise(
        _numbers(list(range(9)), {4}, batch_level=True), [1] * 9, Limits(5.0, None),
        lambda m: got.extend(m[2]) if m[0] == "batch" else None,
    )  # fmt: skip
    assert [(f.item, f.check) for f in failures] == [(4, "crash")]
    assert sorted(got) == [2 * i for i in range(9) if i != 4]


def test_an_error_that_is_no_documents_fault_is_raised_as_before():
    def work(tracker, send, plan):
        tracker.batch(0, 1, 0)
        tracker.mark("write", 0)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        supervise(work, [1], Limits(5.0, None), lambda m: None)

    def dies_first(tracker, send, plan):
        os.kill(os.getpid(), signal.SIGSEGV)

    with pytest.raises(WorkerError, match="killed by SIGSEGV before its first document"):
        supervise(dies_first, [1], Limits(5.0, None), lambda m: None)


def test_a_hang_that_ignores_signals_is_stopped_at_its_deadline():
    import ctypes

    def work(tracker, send, plan):
        for i in range(plan.start, 3):
            if i in plan.skip:
                continue
            tracker.batch(i, i + 1, i)
            tracker.mark("wait", i)
            if i == 1:
                signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
                ctypes.CDLL(None).pause()
            send(("batch", i + 1, [i]))

    got: list[int] = []
    started = time.monotonic()
    failures = supervise(work, [0, 0, 0], Limits(0.5, None),
                         lambda m: got.extend(m[2]) if m[0] == "batch" else None)  # fmt: skip
    assert [(f.item, f.check) for f in failures] == [(1, "timeout")]
    assert got == [0, 2] and time.monotonic() - started < 30
