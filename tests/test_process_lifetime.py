"""Processes the command starts die with it (issue 13, item 5), and start the way we think.

A SIGKILL of ``zhclean run`` (an OOM kill does exactly this) used to leave the temporary
API server, the pool workers and multiprocessing's resource tracker running, reparented
to PID 1, with 0.5-0.9 GB between them; the workers also kept the command's output pipes
open, so whoever read them waited forever.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from tests.conftest import SEEDS
from tests.flowutil import REPO
from zhclean.run.faults import ENV


def _session_members(sid: int) -> dict[int, str]:
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
        state, session = fields[0], int(fields[3])
        if session == sid and state not in "ZX":
            members[int(entry.name)] = cmdline
    return members


def _wait_until_gone(sid: int, timeout: float) -> dict[int, str]:
    """Poll /proc until no process of the session is left, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (left := _session_members(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _corpus(root: Path, copies: int) -> Path:
    """Copies of the seeds, five per folder (as the benchmark builds its corpus)."""
    for i in range(copies):
        folder = root / f"batch_{i:04d}"
        folder.mkdir(parents=True)
        for seed in SEEDS.glob("*.txt"):
            shutil.copyfile(seed, folder / seed.name)
    return root


@pytest.mark.slow
def test_sigkill_of_the_command_leaves_no_process_behind(tmp_path):
    """Killed mid-shard with two workers: the server, the workers and the resource
    tracker are gone within seconds, and the command's pipes close."""
    inp = _corpus(tmp_path / "in", 160)  # 9 MB: two worker processes
    exe = Path(sys.executable).with_name("zhclean")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}  # its own server
    env.update({ENV: "staged-row-group", "PREFECT_HOME": str(tmp_path / "prefect-home")})
    proc = subprocess.Popen(
        [str(exe), "run", "--input", str(inp), "--output", str(tmp_path / "out"),
         "--workers", "2", "--batch-docs", "40"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO,
        start_new_session=True,  # its session id is its pid: every descendant is findable
    )  # fmt: skip
    try:
        assert proc.wait(timeout=600) == -signal.SIGKILL
        left = _wait_until_gone(proc.pid, timeout=10)
    finally:
        for pid in _session_members(proc.pid):  # never leave them to the next test
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the command was killed: {left}"
    _out, err = proc.communicate(timeout=10)  # nobody holds the pipes any more
    assert "Traceback" not in err.decode(errors="replace")


def test_the_server_command_is_prefects(monkeypatch):
    """The temporary server is started with the command Prefect's own
    SubprocessASGIServer uses (checked here, so a Prefect upgrade that changes it
    fails this test instead of the server)."""
    from prefect.server.api.server import SubprocessASGIServer

    from zhclean.flows.runtime import SERVER_ENV, server_command

    server = SubprocessASGIServer(port=45678)
    with mock.patch("subprocess.Popen") as popen:
        server._run_uvicorn_command()
    kwargs = popen.call_args.kwargs
    assert kwargs["args"] == server_command(45678)
    assert {k: kwargs["env"][k] for k in SERVER_ENV} == SERVER_ENV
    SubprocessASGIServer._instances.pop(45678, None)


def _child_modules() -> tuple[int, bool, bool]:
    return os.getpid(), "prefect" in sys.modules, "zhclean.tokenizers.fast" in sys.modules


def test_pool_workers_start_at_once_warm_and_without_prefect():
    from zhclean.run.workers import ShardPool

    pool = ShardPool(2)
    try:
        pids = set(pool.pids())
        assert len(pids) == 2  # started by the constructor, from this thread
        results = {pool.submit(_child_modules).result(timeout=120) for _ in range(4)}
    finally:
        pool.shutdown()
    assert {pid for pid, _, _ in results} <= pids
    assert all(not prefect and tokenizer for _, prefect, tokenizer in results)


def test_a_pool_worker_dies_with_its_parent(tmp_path):
    """The parent is SIGKILLed; its worker follows within seconds."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from zhclean.run.workers import ShardPool\n"
        "if __name__ == '__main__':\n"
        "    pool = ShardPool(1)\n"
        "    print(pool.pids()[0], flush=True)\n"
        "    sys.stdin.read()\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=REPO, start_new_session=True)  # fmt: skip
    try:
        worker = int(proc.stdout.readline())
        assert worker in _session_members(proc.pid)
        proc.kill()
        proc.wait(timeout=10)
        left = _wait_until_gone(proc.pid, timeout=10)
    finally:
        for pid in _session_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
    assert not left


def test_a_killed_pool_does_not_wait_for_its_shards():
    """Ctrl-C or a crash in the command stops the workers instead of waiting for them."""
    from zhclean.run.workers import ShardPool

    pool = ShardPool(1)
    pids = pool.pids()
    busy = pool.submit(_wait_forever)
    started = time.monotonic()
    pool.shutdown(kill=True)
    assert time.monotonic() - started < 60
    # the shard ends with an error, or never started: the pool's manager thread may not
    # have handed it to the worker before the kill (a race, about 1 in 5 in one process)
    assert busy.cancelled() or busy.exception(timeout=10) is not None
    assert not set(pids) & {p for p in _session_members(os.getsid(0))}


def _wait_forever() -> None:
    import threading

    threading.Event().wait()
