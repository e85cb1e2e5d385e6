"""The deployment on a real Prefect server: schedule, worker, a triggered run.

Starts `prefect server start` on a free loopback port with its own PREFECT_HOME,
creates the process pool, deploys from prefect.yaml with `prefect deploy --all
--no-prompt`, starts a worker and triggers the deployment through the API.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.conftest import REPO, SEEDS

POOL = "zhclean-process"
DEPLOYMENT = "zhclean-etl/daily"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, timeout: float, what: str):
    """Readiness wait for an external process (not a timing assumption in a test)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _prefect(*args: str, env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / "prefect"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _api(env: dict, coro):
    code = (
        "import asyncio, json, sys\n"
        "from prefect.client.orchestration import get_client\n"
        f"{coro}\n"
        "print(json.dumps(asyncio.run(main()), default=str))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


# A log record of the server starts with its time ("03:58:12.333 | ERROR   | ...") or,
# from uvicorn, with its level ("ERROR:    Exception in ASGI application").
_LOG_RECORD = re.compile(r"^(?=\d\d:\d\d:\d\d\.\d{3} \||[A-Z]+: )", re.MULTILINE)
# SQLite under the server's own concurrent writers (worker polls, state changes) can
# answer "database is locked" to one transaction; Prefect logs it with a traceback and the
# client retries. It says nothing about zhclean, so it is the one traceback allowed.
_SQLITE_LOCKED = "sqlite3.OperationalError: database is locked"


def server_tracebacks(text: str) -> list[str]:
    """The server log's records that hold a traceback, but for SQLite's lock contention."""
    return [
        record
        for record in _LOG_RECORD.split(text)
        if "Traceback" in record and _SQLITE_LOCKED not in record
    ]


def prefect_env(tmp: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a real server on 127.0.0.1 and of its CLI, worker and clients."""
    return {
        **os.environ,
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "PWD": str(REPO),  # prefect.yaml's pull step: the worker runs from the repo root
        **extra,
    }


@contextmanager
def deployed_server(
    tmp: Path, logs: Path, env: dict[str, str]
) -> Iterator[Callable[..., subprocess.Popen]]:
    """``prefect server start`` on ``env``'s port, healthy, with the work pool and the
    repository's deployments; yields a function that starts the worker (``env`` or its
    own). Server and worker are stopped, and their logs closed, whatever happens."""
    port = env["PREFECT_API_URL"].split(":")[-1].split("/")[0]
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen] = []
    files = []

    def start(name: str, args: list[str], proc_env: dict[str, str]) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed in finally
        files.append(log)
        procs.append(subprocess.Popen(
            [str(BIN / "prefect"), *args], env=proc_env, cwd=tmp, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        ))  # fmt: skip
        return procs[-1]

    def start_worker(worker_env: dict[str, str] | None = None) -> subprocess.Popen:
        args = ["worker", "start", "--pool", POOL, "--limit", "1"]
        return start("worker", args, worker_env or env)

    try:
        start("server", ["server", "start", "--host", "127.0.0.1", "--port", port], env)
        _wait_until(lambda: _api(env, HEALTHY), 240, "the Prefect server")
        _prefect("work-pool", "create", POOL, "--type", "process", env=env)
        print(_prefect("deploy", "--all", "--no-prompt", env=env).stdout)
        yield start_worker
    finally:
        for proc in reversed(procs):  # the worker first, then the server
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        for log in files:
            log.close()


HEALTHY = """
async def main():
    async with get_client() as client:
        return (await client.api_healthcheck()) is None
"""

DEPLOYMENT_INFO = f"""
async def main():
    async with get_client() as client:
        d = await client.read_deployment_by_name("{DEPLOYMENT}")
        runs = await client.read_flow_runs()
        return {{
            "schedules": [{{"cron": s.schedule.cron, "timezone": s.schedule.timezone, "active": s.active}}
                          for s in d.schedules],
            "concurrency_limit": d.global_concurrency_limit.limit if d.global_concurrency_limit else None,
            "work_pool": d.work_pool_name,
            "scheduled_runs": sorted(str(r.expected_start_time) for r in runs
                                     if r.deployment_id == d.id and r.state_type.value == "SCHEDULED"),
        }}
"""


def test_deployment_schedule_worker_and_run(tmp_path):
    env = prefect_env(tmp_path, _free_port(), PREFECT_API_SERVICES_SCHEDULER_LOOP_SECONDS="2")
    log_dir = tmp_path / "logs"
    try:
        with deployed_server(tmp_path, log_dir, env) as start_worker:
            info = _wait_until(
                lambda: (i := _api(env, DEPLOYMENT_INFO))["scheduled_runs"] and i,
                120,
                "the scheduler to create runs",
            )
            print("deployment:", info)
            assert info["schedules"] == [
                {"cron": "0 2 * * *", "timezone": "Asia/Shanghai", "active": True}
            ]
            assert info["concurrency_limit"] == 1 and info["work_pool"] == POOL
            # 02:00 in Shanghai is 18:00 UTC: the scheduler really ran on this server
            assert all("18:00:00" in t for t in info["scheduled_runs"]), info["scheduled_runs"]

            start_worker()
            seeds = shutil.copytree(SEEDS, tmp_path / "seeds")
            out = tmp_path / "out"
            run = _prefect(
                "deployment", "run", DEPLOYMENT, "--param", f"input_dir={seeds}",
                "--param", f"output_dir={out}", "--watch", "--watch-timeout", "600", env=env,
            )  # fmt: skip
            print(run.stdout)
            assert "Completed" in run.stdout
            documents = ds.dataset(
                out / "documents", format="parquet", partitioning="hive"
            ).to_table()
            assert documents.num_rows == 5
            assert (out / "quarantine").is_dir() and list((out / "_runs").glob("*.json"))
    finally:
        if (log_dir / "worker.log").exists():
            print((log_dir / "worker.log").read_text()[-3000:])
    errors = server_tracebacks((log_dir / "server.log").read_text())
    assert not errors, errors[0][-3000:]
