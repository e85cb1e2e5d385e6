"""SIGINT and SIGTERM stop a run within seconds, whatever it is doing (issue 17, item 7).

Before: SIGINT to the process group killed the temporary API first, and the command
retried it every 7 s for about 4 minutes (214 lines, 4 tracebacks, exit 1, a report
saying ``failed: ConnectError``); SIGINT to the main process alone was ignored and the
run published; ``kill -- -PGID`` left the main process alive for minutes and no report.

Each test starts a real ``zhclean run`` in its own session, holds it inside a shard with
a native hang that ignores every signal (zhclean.run.faults: the run then is as busy as
it gets), waits for the fault to be reached (a file it creates), and sends real signals.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS, seed_text
from tests.flowutil import REPO, output_fingerprint
from zhclean.run.faults import FAULT_ENV, REACHED_ENV

pytestmark = pytest.mark.slow

COLUMNS = {"documents": ["source", "text", "doc_id"], "sentences": ["doc_id", "sent_idx", "tokens"]}


def _session(sid: int) -> dict[int, str]:
    """Live processes (not zombies) of session ``sid``: pid -> command line."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] not in "ZX":
            members[int(entry.name)] = cmdline
    return members


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)  # a polling interval, not a wait for something to happen
    return result


def _hang_doc(folder: Path) -> None:
    text = seed_text("004")
    cut = text.index("。", len(text) // 2) + 1
    (folder / "hangs.txt").write_text(text[:cut] + "@@HANG@@" + text[cut:], encoding="utf-8")


def _start(
    inp: Path, out: Path, reached: Path, *extra: str, api: str | None = None
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api:  # a Prefect server of its own instead of the temporary API
        env["PREFECT_API_URL"] = api
    env.update({FAULT_ENV: "hang:normalize:@@HANG@@", REACHED_ENV: str(reached)})
    exe = Path(sys.executable).with_name("zhclean")
    logs = reached.parent
    with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
        return subprocess.Popen(
            [str(exe), "run", "--input", str(inp), "--output", str(out), "--stage-timeout",
             "600", "--max-quarantine-fraction", "1", *extra],
            stdout=stdout, stderr=stderr, env=env, cwd=REPO,
            start_new_session=True,  # its own session and process group, as a shell's job
        )  # fmt: skip


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """An output with the seeds published: what an interrupted run must leave as it is."""
    root = tmp_path_factory.mktemp("published")
    out = root / "out"
    from tests.flowutil import zhclean_cli

    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _interrupt(proc: subprocess.Popen, sig: int, group: bool) -> float:
    """Send ``sig`` to the command or to its group; seconds until it exited."""
    sent = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    return time.monotonic() - sent


def _check_stopped(proc, elapsed: float, sig: int, out: Path, before: dict) -> dict:
    stderr = (out.parent / "stderr").read_text(errors="replace")
    try:
        left = _wait_for(lambda: not _session(proc.pid) or None, 10, "the run's processes to end")
    except AssertionError:
        left = None
    finally:
        for pid in _session(proc.pid):
            os.kill(pid, signal.SIGKILL)
    assert left, "processes of the run were still running"
    assert proc.returncode == 128 + sig, (proc.returncode, stderr[-2000:])
    assert elapsed < 5, elapsed
    ours = [line for line in stderr.splitlines() if line.startswith("zhclean:")]
    name = signal.Signals(sig).name
    assert len(ours) == 1 and f"interrupted by {name}" in ours[0], stderr[-2000:]
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-2000:]
    reports = {p.name: json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")}
    latest = reports[max(reports)]
    assert latest["status"] == "interrupted" and name in latest["message"]
    assert latest["run_id"] in ours[0]
    assert output_fingerprint(out, COLUMNS) == before  # the published data as it was
    return latest


@pytest.mark.parametrize(
    ("sig", "group"),
    [
        (signal.SIGINT, False),
        (signal.SIGINT, True),
        (signal.SIGTERM, False),
        (signal.SIGTERM, True),
    ],
    ids=["SIGINT-process", "SIGINT-group", "SIGTERM-process", "SIGTERM-group"],
)
def test_a_signal_stops_the_run_within_seconds(tmp_path, published, sig, group):
    inp = shutil.copytree(SEEDS, tmp_path / "in")
    _hang_doc(inp)
    out = shutil.copytree(published, tmp_path / "out", symlinks=True)
    before = output_fingerprint(out, COLUMNS)
    reached = tmp_path / "reached"
    proc = _start(inp, out, reached)
    try:
        _wait_for(reached.exists, 300, "the run to be inside a shard")
        elapsed = _interrupt(proc, sig, group)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    report = _check_stopped(proc, elapsed, sig, out, before)
    if sig == signal.SIGINT and not group:
        # the next run cleans up, keeps that report, and publishes
        (inp / "hangs.txt").unlink()
        from tests.flowutil import zhclean_cli

        again = zhclean_cli("run", "--input", str(inp), "--output", str(out))
        assert again.returncode == 0, again.stderr[-2000:]
        kept = json.loads((out / "_runs" / f"{report['run_id']}.json").read_text())
        assert kept == report
        assert not list((out / "_snapshots").glob(f"{report['run_id']}*"))


def test_kill_of_the_process_group_stops_a_run_with_workers(tmp_path, published):
    """The README's way to stop a run, on a run with two worker processes."""
    inp = tmp_path / "in"
    for i in range(150):  # 9 MB: two worker processes
        shutil.copytree(SEEDS, inp / f"site{i:03d}")
    _hang_doc(inp / "site000")
    out = shutil.copytree(published, tmp_path / "out", symlinks=True)
    before = output_fingerprint(out, COLUMNS)
    reached = tmp_path / "reached"
    proc = _start(inp, out, reached, "--workers", "2")
    try:
        _wait_for(reached.exists, 300, "the run to be inside a shard")
        assert len(_session(proc.pid)) >= 4  # the command, the API, two workers, a guard
        elapsed = _interrupt(proc, signal.SIGTERM, group=True)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    _check_stopped(proc, elapsed, signal.SIGTERM, out, before)


def test_a_stopped_run_on_a_prefect_server_ends_cancelled(tmp_path, published, harness_api):
    """With PREFECT_API_URL, the flow run does not stay Running forever on the server."""
    from prefect.client.orchestration import get_client

    inp = shutil.copytree(SEEDS, tmp_path / "in")
    _hang_doc(inp)
    out = shutil.copytree(published, tmp_path / "out", symlinks=True)
    before = output_fingerprint(out, COLUMNS)
    reached = tmp_path / "reached"
    proc = _start(inp, out, reached, api=harness_api)
    try:
        _wait_for(reached.exists, 300, "the run to be inside a shard")
        elapsed = _interrupt(proc, signal.SIGINT, group=False)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    report = _check_stopped(proc, elapsed, signal.SIGINT, out, before)
    prefix = report["run_id"].rsplit("-", 1)[1]
    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs(limit=200) if str(r.id).startswith(prefix)]
    assert [r.state.type.value for r in runs] == ["CANCELLED"]
