"""The ``zhclean`` command as operators use it."""

from __future__ import annotations

import pytest

from tests.badinput import build_bad_corpus
from tests.conftest import SEEDS, copy_tree
from tests.flowutil import read, zhclean_cli


def test_run_on_seeds_prints_summary_and_no_noise(tmp_path):
    """Real ephemeral API, fresh PREFECT_HOME: the path the README's first command takes."""
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(out),
                       env={"PREFECT_HOME": str(tmp_path / "prefect-home")})  # fmt: skip
    combined = proc.stdout + proc.stderr
    assert proc.returncode == 0, combined
    for expected in ("documents  read 5", "written 5", "quarantined 0", "sentences", "tokens",
                     "boilerplate removed", "removed lines by rule", "bp.related_links 9", "elapsed", "MB/s"):  # fmt: skip
        assert expected in proc.stdout, proc.stdout
    assert "Traceback" not in combined
    assert "| ERROR" not in combined and "Error logging to API" not in combined
    assert "shard 1/1 done" in combined  # progress
    assert read(out, "documents").num_rows == 5


@pytest.mark.usefixtures("prefect_harness")
def test_gate_failure_exits_non_zero_with_one_line(tmp_path, harness_api):
    inp = copy_tree(SEEDS, tmp_path / "in")
    build_bad_corpus(inp, with_seeds=False)
    proc = zhclean_cli("run", "--input", str(inp), "--output", str(tmp_path / "out"),
                       env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 1
    failure = [line for line in proc.stderr.splitlines() if line.startswith("zhclean:")]
    assert len(failure) == 1 and "quality gate" in failure[0], proc.stderr
    assert "run 2" in proc.stdout and "blocked_by_gate" in proc.stdout


@pytest.mark.usefixtures("prefect_harness")
def test_report_command(tmp_path, harness_api):
    out = tmp_path / "out"
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(out), "--workers", "1",
                       env={"PREFECT_API_URL": harness_api})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    latest = zhclean_cli("report", "--output", str(out))
    assert latest.returncode == 0
    assert latest.stdout.startswith("# zhclean run `")
    assert "## Removals by rule" in latest.stdout and "`bp.related_links`" in latest.stdout
    run_id = latest.stdout.split("`")[1]
    as_json = zhclean_cli("report", run_id, "--output", str(out), "--json")
    assert f'"run_id": "{run_id}"' in as_json.stdout
    missing = zhclean_cli("report", "no-such-run", "--output", str(out))
    assert missing.returncode == 1 and "no report for run no-such-run" in missing.stderr


def test_bad_arguments_are_clear(tmp_path):
    proc = zhclean_cli("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2 and "input directory not found" in proc.stderr
    proc = zhclean_cli("run", "--max-quarantine-fraction", "2")
    assert proc.returncode == 2 and "between 0 and 1" in proc.stderr
