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
import re
import shutil
import time

import psutil
import pytest

from tests.conftest import SEEDS, seed_text
from tests.test_server import (
    DEPLOYMENT,
    _api,
    _free_port,
    _prefect,
    _wait_until,
    deployed_server,
    prefect_env,
    server_tracebacks,
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
    reached = tmp_path / "reached"
    env = prefect_env(tmp_path, _free_port())
    inp = shutil.copytree(SEEDS, tmp_path / "in")
    text = seed_text("004")
    cut = text.index("。", len(text) // 2) + 1
    (inp / "hangs.txt").write_text(text[:cut] + "@@HANG@@" + text[cut:], encoding="utf-8")
    out = tmp_path / "out"
    logs = tmp_path / "logs"
    try:
        with deployed_server(tmp_path, logs, env) as start_worker:
            worker = start_worker(
                {**env, FAULT_ENV: "hang:normalize:@@HANG@@", REACHED_ENV: str(reached)}
            )
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
            print(
                f"cancelled after {seconds:.1f} s (the worker's polling and bookkeeping included)"
            )
            reports = [json.loads(p.read_text()) for p in (out / "_runs").glob("*.json")]
            assert [r["status"] for r in reports] == ["interrupted"]
            message = reports[0]["message"]
            assert "SIGTERM" in message and "nothing was published" in message
            assert not (out / "current").exists()  # nothing published
    finally:
        if (logs / "worker.log").exists():
            print((logs / "worker.log").read_text()[-5000:])
    errors = server_tracebacks((logs / "server.log").read_text())
    assert not errors, errors[0][-3000:]
