"""The ``zhclean`` command as operators use it."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.badinput import build_bad_corpus
from tests.conftest import SEEDS, copy_tree
from tests.flowutil import read, zhclean_cli
from zhclean.core.params import RunParams
from zhclean.run import RunError, preflight


def test_run_on_seeds_prints_summary_and_no_noise(tmp_path):
    """Real ephemeral API, fresh PREFECT_HOME: the path the README's first command takes."""
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(out),
                       env={"PREFECT_HOME": str(tmp_path / "prefect-home")})  # fmt: skip
    combined = proc.stdout + proc.stderr
    assert proc.returncode == 0, combined
    for expected in ("documents  read 5", "written 5", "quarantined 0", "sentences", "tokens",
                     "boilerplate removed", "removed lines by rule", "model.boilerplate 24", "elapsed", "MB/s"):  # fmt: skip
        assert expected in proc.stdout, proc.stdout
    assert "Traceback" not in combined
    assert "| ERROR" not in combined and "Error logging to API" not in combined
    assert "View at" not in combined  # a link to the temporary API, gone when the command ends
    assert "shard 1/1 done" in combined  # progress
    assert read(out, "documents").num_rows == 5


@pytest.mark.usefixtures("prefect_harness")
def test_gate_failure_exits_non_zero_with_one_line(tmp_path, harness_api):
    inp = copy_tree(SEEDS, tmp_path / "in")
    build_bad_corpus(inp, with_seeds=False)
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(tmp_path / "out"),
                       env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 3  # the gate's own exit code
    failure = [line for line in proc.stderr.splitlines() if line.startswith("zhclean:")]
    assert len(failure) == 1 and "quality gate" in failure[0], proc.stderr
    assert "run 2" in proc.stdout and "blocked_by_gate" in proc.stdout
    assert "written 0" in proc.stdout and "documents passed their checks" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_report_command(tmp_path, harness_api):
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(out), "--workers", "1",
                       env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    latest = zhclean_cli("report", "--output", str(out))
    assert latest.returncode == 0
    assert latest.stdout.startswith("# zhclean run `")
    assert "## Removals by rule" in latest.stdout and "`model.boilerplate`" in latest.stdout
    run_id = latest.stdout.split("`")[1]
    as_json = zhclean_cli("report", run_id, "--output", str(out), "--json")
    assert f'"run_id": "{run_id}"' in as_json.stdout
    missing = zhclean_cli("report", "no-such-run", "--output", str(out))
    assert missing.returncode == 1 and "no report for run no-such-run" in missing.stderr


def _one_line_usage_error(proc, expected: str) -> None:
    """Exit 2, one line naming the problem, no traceback, and Prefect never started."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [f"zhclean: {expected}"], proc.stderr
    assert "Traceback" not in proc.stderr and "temporary server" not in proc.stderr + proc.stdout


def test_bad_arguments_are_clear(tmp_path):
    proc = zhclean_cli("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    _one_line_usage_error(proc, f"input directory not found: {tmp_path / 'nope'}")
    proc = zhclean_cli("run", "--max-quarantine-fraction", "2")
    _one_line_usage_error(
        proc, "--max-quarantine-fraction must be a finite number from 0 to 1, not 2"
    )
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    proc = zhclean_cli("run", "--input", str(a_file), "--output", str(tmp_path / "out"))
    _one_line_usage_error(proc, f"input is not a directory: {a_file}")
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(a_file))
    _one_line_usage_error(proc, f"output is not a directory: {a_file}")


def _preflight_as_nobody(inp: str, out: str, queue) -> None:
    os.setgid(65534)
    os.setuid(65534)  # from here on, nothing under /root (the interpreter's stdlib) is readable
    try:
        preflight(RunParams(input_dir=inp, output_dir=out))
        queue.put(None)
    except RunError as err:
        queue.put((err.exit_code, str(err)))


def _enterable_by_all() -> Path:
    """A temporary folder every account can enter (each folder above it has o+x), for
    what an unprivileged account must reach: not the clone, which may sit in a folder
    only root can enter (root's home, a ``mktemp -d`` folder)."""
    for top in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        top_path = Path(top).resolve()
        if all(p.is_dir() and p.stat().st_mode & 0o001 for p in (top_path, *top_path.parents)):
            return top_path
    pytest.skip("no temporary folder that every account can enter")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_unwritable_output_is_found_before_any_work(tmp_path):
    """The pre-flight check the command runs before Prefect starts (as an account that,
    unlike root, cannot write everywhere; the venv's Python is not reachable for it here,
    so the check runs in a forked child)."""
    base = Path(tempfile.mkdtemp(prefix="zhclean-ro-", dir=_enterable_by_all()))
    try:
        base.chmod(0o755)
        inp = copy_tree(SEEDS, base / "in")  # readable by the account wherever the clone is
        out = base / "readonly"
        out.mkdir(mode=0o555)
        hidden = tmp_path / "out"  # under a folder the account may not enter
        ctx = multiprocessing.get_context("fork")
        results = []
        for target in (out, hidden):
            queue = ctx.Queue()
            child = ctx.Process(target=_preflight_as_nobody, args=(str(inp), str(target), queue))
            child.start()
            child.join(60)
            results.append(queue.get(timeout=5))
    finally:
        shutil.rmtree(base)
    assert results[0] == (2, f"output directory is not writable: {out}")
    assert results[1][0] == 2 and results[1][1].endswith("Permission denied")


def test_report_json_into_a_closed_pipe_is_quiet(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_runs").mkdir()
    (out / "_runs" / "r1.json").write_text(
        json.dumps({"run_id": "r1", "status": "failed", "message": "x" * 200_000}), encoding="utf-8"
    )
    exe = Path(sys.executable).with_name("zhclean")
    proc = subprocess.run(f"'{exe}' report --output '{out}' --json | head -c 10",
                          shell=True, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.stdout == '{\n "run_id'[:10] and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_explain_shows_every_line_and_its_decision():
    source = next(SEEDS.glob("001_*.txt")).name
    proc = zhclean_cli("explain", source, "--input", str(SEEDS))
    assert proc.returncode == 0, proc.stderr
    head, _, body = proc.stdout.partition("\n\n")
    assert head.startswith("extraction main_block") and "confidence" in head
    rows = [r for r in body.splitlines()[1:] if r.strip()]
    text_lines = [
        ln for ln in (SEEDS / source).read_text(encoding="utf-8").splitlines() if ln.strip()
    ]
    assert len(rows) == len(text_lines)  # one row per non-blank line of the page
    assert any(
        " - " in r and "bp.breadcrumb" in r for r in rows
    )  # 當前位置 … removed, with its rule
    assert any(" +  " in r for r in rows)
    missing = zhclean_cli("explain", "no-such-page.txt", "--input", str(SEEDS))
    assert missing.returncode == 2 and "no source 'no-such-page.txt'" in missing.stderr


def test_a_prefect_home_that_cannot_be_made_is_one_line_not_a_five_minute_wait(tmp_path):
    """The temporary API keeps its database in Prefect's home; when that folder cannot be
    made, the server failed every request and the command waited out its 300 s start-up
    timeout before a traceback. Now: one line naming the folder and PREFECT_HOME, exit 2."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    home = blocker / "prefect"  # under a regular file: no account can create it
    out = tmp_path / "out"
    out.mkdir()
    started = time.monotonic()
    proc = zhclean_cli(
        "run", "--input", str(SEEDS), "--output", str(out),
        env={"PREFECT_HOME": str(home)}, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"zhclean: cannot create Prefect's home folder {home} (Not a directory): "
        "set PREFECT_HOME to a writable folder"
    ]
    assert time.monotonic() - started < 60
    assert not any(out.iterdir())
