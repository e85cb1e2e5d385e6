"""Crash safety (SIGKILL at every publishing step) and runs that collide on one output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import copy_tree
from tests.flowutil import REPO, read, run_flow, zhclean_cli
from zhclean.run.faults import ENV, POINTS
from zhclean.run.lock import OutputLocked, output_lock
from zhclean.run.store import LocalStore
from zhclean.validation.dataset import check_snapshot

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _published(out):
    snap = LocalStore(out).current_snapshot()
    files = {p.relative_to(snap).as_posix(): p.read_bytes() for p in snap.rglob("*.parquet")}
    assert all(c.passed for c in check_snapshot(snap / "documents", snap / "sentences"))
    return snap.name, files


def _published_sources(out) -> int:
    manifest = LocalStore(out).current_manifest()
    return sum(1 for e in manifest.sources.values() if e.status == "published")


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_leaves_published_data_intact(point, many_docs, tmp_path, harness_api):
    inp = copy_tree(many_docs, tmp_path / "in")
    out = tmp_path / "out"
    assert run_flow(inp, out).is_completed()
    before_name, before_files = _published(out)
    docs_before = read(out, "documents").num_rows
    changed = sorted(inp.glob("*.txt"))[:200]  # enough changed sources for several batches
    for i, path in enumerate(changed):
        note = f"\n补充说明：第{i}号文件修订后新增了本段内容。"  # unique: not a repeated line
        path.write_text(path.read_text(encoding="utf-8") + note, encoding="utf-8")

    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out), "--workers", "1", "--batch-docs", "40",
                       env={ENV: point, "PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr

    name, files = _published(out)  # readable and consistent at every point
    if point == "after-swap":
        assert name != before_name  # the new snapshot was already complete and current
        assert read(out, "documents").num_rows == _published_sources(out)
    else:
        assert (name, files) == (before_name, before_files)
        assert read(out, "documents").num_rows == docs_before

    reported = {p.stem for p in (out / "_runs").glob("*.json")}
    (killed_id,) = [d.name for d in (out / "_snapshots").iterdir() if d.name not in reported]
    again = run_flow(inp, out)  # the next run cleans up and succeeds
    assert again.is_completed(), again.message
    report = again.result()
    assert report["leftovers_removed"] >= 1 or point == "after-swap"
    killed = LocalStore(out).read_report(killed_id)  # the killed run has a report now
    assert killed["status"] == "interrupted" and report["run_id"] in killed["message"]
    assert ("had been published" in killed["message"]) == (point == "after-swap")
    kept = {m.snapshot_id for m in LocalStore(out)._kept()}
    assert {
        d.name for d in (out / "_snapshots").iterdir()
    } <= kept  # the killed run's folder is gone
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # and no half-written file
    # the changed sources were published again: their decoded input carries the note (what
    # the cleaner keeps of these synthetic pages, built from paragraphs repeated across the
    # folder, is not this test's concern: the line model may drop a note it finds among them)
    texts = read(out, "documents").column("raw_text").to_pylist()
    assert sum("修订后新增了本段内容" in t for t in texts) >= len(changed) - 5
    assert len(texts) == _published_sources(out) >= 260


def test_locked_output_fails_fast_with_clear_message(tmp_path, harness_api):
    inp = copy_tree(REPO / "seeds", tmp_path / "in")
    out = tmp_path / "out"
    with output_lock(out, "holder-run"):
        proc = zhclean_cli("run", "--input", str(inp), "--output", str(out), "--workers", "1",
                           env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 4  # "locked": try again later
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("zhclean:")]
    assert "is locked by another zhclean run (run holder-run, pid" in line
    assert "temporary server" not in proc.stderr and "Flow run" not in proc.stderr  # before Prefect
    assert not (out / "documents").exists()


def test_a_locked_deployment_run_writes_a_locked_report(tmp_path):
    """Under a deployment there is no command to check first: the flow records the run."""
    inp = copy_tree(REPO / "seeds", tmp_path / "in")
    out = tmp_path / "out"
    with output_lock(out, "holder-run"):
        state = run_flow(inp, out)
    assert state.is_failed() and state.message.startswith("locked: ")
    report = LocalStore(out).read_report()
    assert report["status"] == "locked" and "holder-run" in report["message"]
    latest = zhclean_cli("report", "--output", str(out))
    assert "**Status: LOCKED**" in latest.stdout


def test_two_runs_at_once_never_corrupt_the_output(many_docs, tmp_path, harness_api):
    inp = copy_tree(many_docs, tmp_path / "in")
    out = tmp_path / "out"
    env = {**os.environ, "PREFECT_API_URL": harness_api}
    exe = shutil.which("zhclean", path=os.path.dirname(sys.executable))
    cmd = [exe, "run", "--input", str(inp), "--output", str(out), "--workers", "1"]
    procs = [subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    results = [(p.wait(600), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 4]), results
    for code, _, err in results:
        if code == 4:
            assert "is locked by another zhclean run" in err
    _published(out)
    ids = read(out, "documents").column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == _published_sources(out) >= 260


def test_waiting_for_the_lock(tmp_path):
    out = tmp_path / "out"
    with (
        output_lock(out, "first"),
        pytest.raises(OutputLocked, match="locked by another zhclean run"),
        output_lock(out, "second", wait_seconds=0.5),
    ):
        pass
    with output_lock(out, "third", wait_seconds=0.5):
        pass


def test_a_lent_lock_is_used_by_the_flow_in_the_same_process(tmp_path):
    """The command takes the lock before Prefect starts and lends it to its own flow."""
    out = tmp_path / "out"
    with output_lock(out, "command", lend=True), output_lock(out, "flow-run-id"):
        holder = json.loads((out / ".zhclean.lock").read_text(encoding="utf-8"))
        assert holder["run_id"] == "flow-run-id" and holder["pid"] == os.getpid()
    with output_lock(out, "next"):  # released afterwards
        pass


def test_a_crash_after_the_first_commit_loses_no_quarantine_row(tmp_path, harness_api):
    """Issue 13 item 3: the quarantine rows are committed with the documents, and the
    dataset links exist from the first commit, so a crash right after it loses nothing."""
    inp = copy_tree(REPO / "seeds", tmp_path / "in")
    (inp / "bad.txt").write_bytes(bytes(range(256)) * 12)  # binary: quarantined
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(out), "--max-quarantine-fraction", "1",
                       "--workers", "1", env={ENV: "after-swap", "PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == -signal.SIGKILL
    for name in (
        "documents",
        "sentences",
        "quarantine",
    ):  # readable at once, as the README reads them
        assert (out / name).is_symlink()
    assert read(out, "quarantine").column("source").to_pylist() == ["bad.txt"]
    assert read(out, "documents").num_rows == 5
    again = run_flow(inp, out, max_quarantine_fraction=1.0)  # nothing to do, and nothing lost
    assert again.result()["status"] == "nothing_to_do"
    assert read(out, "quarantine").column("source").to_pylist() == ["bad.txt"]
