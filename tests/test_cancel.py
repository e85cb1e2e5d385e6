"""Cancelling a deployment's flow run stops it as a signal stops ``zhclean run`` (issue 17,
item 7): within seconds, an ``interrupted`` report, no worker process left, nothing
published.

A real ``prefect server start``, the deployment from prefect.yaml and a process worker
(as in tests/test_server.py); the flow run is held inside a shard by a native hang that
ignores every signal (zhclean.run.faults), then cancelled the way the UI does it
(``prefect flow-run cancel``: the state becomes Cancelling, the worker sends SIGTERM).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import psutil
import pytest

from tests.conftest import REPO, SEEDS, seed_text
from tests.test_server import (
    BIN,
    DEPLOYMENT,
    HEALTHY,
    POOL,
    _api,
    _free_port,
    _prefect,
    _wait_until,
)
from zhclean.run.faults import FAULT_ENV, REACHED_ENV

pytestmark = [pytest.mark.server, pytest.mark.slow]

STATE = """
async def main():
    async with get_client() as client:
        run = await client.read_flow_run("{id}")
        return run.state.type.value
"""


def test_cancelling_a_flow_run_stops_it(tmp_path):
    port = _free_port()
    reached = tmp_path / "reached"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "PWD": str(REPO),
    }
    inp = shutil.copytree(SEEDS, tmp_path / "in")
    text = seed_text("004")
    cut = text.index("。", len(text) // 2) + 1
    (inp / "hangs.txt").write_text(text[:cut] + "@@HANG@@" + text[cut:], encoding="utf-8")
    out = tmp_path / "out"
    logs = tmp_path / "logs"
    logs.mkdir()
    server_log = open(logs / "server.log", "w")  # noqa: SIM115 - closed in finally
    worker_log = open(logs / "worker.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    worker = None
    try:
        _wait_until(lambda: _api(env, HEALTHY), 240, "the Prefect server")
        _prefect("work-pool", "create", POOL, "--type", "process", env=env)
        _prefect("deploy", "--all", "--no-prompt", env=env)
        worker_env = {**env, FAULT_ENV: "hang:normalize:@@HANG@@", REACHED_ENV: str(reached)}
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--limit", "1"],
            env=worker_env, cwd=tmp_path, stdout=worker_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        started = _prefect(
            "deployment", "run", DEPLOYMENT, "--param", f"input_dir={inp}",
            "--param", f"output_dir={out}", "--param", "stage_timeout=600",
            "--param", "max_quarantine_fraction=1", env=env,
        )  # fmt: skip
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)
        _wait_until(reached.exists, 300, "the flow run to be inside a shard")
        busy = psutil.Process(worker.pid).children(recursive=True)
        assert len(busy) >= 3  # the flow run, a shard worker, its guarded child

        cancelled_at = time.monotonic()
        _prefect("flow-run", "cancel", flow_run_id, env=env)
        _wait_until(
            lambda: _api(env, STATE.format(id=flow_run_id)) == "CANCELLED",
            120,
            "the flow run to be cancelled",
        )
        seconds = time.monotonic() - cancelled_at
        _wait_until(
            lambda: not [p for p in busy if p.is_running() and p.status() != "zombie"] or None,
            30,
            "the flow run's processes to end",
        )
        print(f"cancelled after {seconds:.1f} s (the worker's polling and bookkeeping included)")
        reports = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
        assert [r["status"] for r in reports] == ["interrupted"]
        assert (
            "SIGTERM" in reports[0]["message"] and "nothing was published" in reports[0]["message"]
        )
        assert not (out / "current").exists()  # nothing published
    finally:
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        server_log.close()
        worker_log.close()
        print((logs / "worker.log").read_text()[-5000:])
    assert "Traceback" not in (logs / "server.log").read_text()
