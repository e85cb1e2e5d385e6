"""Operating the deployment on a real Prefect server: what a failed run shows, and paging.

One `prefect server start` on a free loopback port (its own PREFECT_HOME, log streaming
on, as the README's "Operating it on a schedule" starts it), the deployment from
prefect.yaml, a process worker, and a webhook receiver on 127.0.0.1 standing in for the
pager. The paging automations are the repository's own (deploy/automations.yaml, created
by deploy/paging.py as the README says).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from tests.test_server import (
    BIN,
    DEPLOYMENT,
    _free_port,
    _wait_until,
    deployed_server,
    prefect_env,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]


class Deployed:
    """The server, its deployment and worker: how to reach them, and their logs."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs

    def run(self, *params: str, watch: bool = True) -> subprocess.CompletedProcess:
        """``prefect deployment run`` as an operator types it."""
        args = ["deployment", "run", DEPLOYMENT]
        for param in params:
            args += ["--param", param]
        if watch:
            args += ["--watch", "--watch-timeout", "600"]
        return subprocess.run([str(BIN / "prefect"), *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=700)  # fmt: skip

    def client_call(self, fn):
        """Run ``fn(client)`` (a coroutine function) against this server."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        async def main():
            async with get_client() as client:
                return await fn(client)

        with temporary_settings({PREFECT_API_URL: self.env["PREFECT_API_URL"]}):
            return asyncio.run(main())

    def worker_log(self) -> str:
        return (self.logs / "worker.log").read_text()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[Deployed]:
    tmp = tmp_path_factory.mktemp("operations")
    env = prefect_env(
        tmp, _free_port(),
        # what `prefect deployment run --watch` needs to show a run's logs
        PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED="true",
        PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED="true",
    )  # fmt: skip
    logs = tmp / "logs"
    with deployed_server(tmp, logs, env) as start_worker:
        start_worker()
        yield Deployed(env, logs)


class Receiver:
    """A webhook endpoint on 127.0.0.1: every POST body, with the time it arrived."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.other: list[tuple[float, dict]] = []  # passed over by next()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.put((time.time(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, matching: str, deadline: float) -> tuple[float, dict]:
        """The next notification whose subject holds ``matching`` (others are kept
        aside in ``self.other``); fails at ``deadline`` (time.monotonic)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no notification {matching!r} before the deadline")
            try:
                at, payload = self.received.get(timeout=left)
            except queue.Empty:
                continue
            if matching in payload["subject"]:
                return at, payload
            self.other.append((at, payload))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


def _paging(deployed: Deployed, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "deploy" / "paging.py"), *args],
                          env=deployed.env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


NOISE = ("Traceback", "unexpected exception", "cannot be resolved into an exception")


def _flow_run(deployed: Deployed, watch_output: str):
    name = watch_output.split("Created flow run '")[1].split("'")[0]

    async def read(client):
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterName,
            LogFilter,
            LogFilterFlowRunId,
        )

        (run,) = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        return run, [log.message for log in logs]

    return deployed.client_call(read)


def test_a_failed_run_ends_failed_with_its_one_line_reason_and_no_traceback(deployed, tmp_path):
    """A missing input and a gate block: `--watch`, the flow run's state (the UI) and its
    logs show the one-line reason; neither they nor the worker show a traceback."""
    missing = tmp_path / "no-such-folder"
    gated = shutil.copytree(SEEDS, tmp_path / "gated")
    for i in range(2):
        (gated / f"image{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00" + bytes(range(256)) * 4)
    cases = [
        (missing, f"usage_error: input directory not found: {missing}"),
        (gated, "blocked_by_gate: quality gate: 2/7 inputs quarantined (28.6%) > max 5.0%"),
    ]
    for inp, reason in cases:
        proc = deployed.run(f"input_dir={inp}", f"output_dir={tmp_path / 'out'}")
        shown = proc.stdout.replace("\n", " ")  # rich wraps long lines
        assert proc.returncode == 1 and "Flow run finished in state 'Failed'" in proc.stdout
        assert " ".join(reason.split()) in " ".join(shown.split()), proc.stdout
        assert not any(noise in proc.stdout + proc.stderr for noise in NOISE), proc.stdout
        run, logs = _flow_run(deployed, proc.stdout)
        assert run.state.is_failed() and run.state.message.startswith(reason), run.state
        assert any(reason in message for message in logs), logs
        assert not any(noise in message for message in logs for noise in NOISE), logs
    worker = deployed.worker_log()
    assert not any(noise in worker for noise in NOISE), worker[-3000:]


def test_paging_on_a_failed_or_crashed_run(deployed, receiver, tmp_path):
    """The recipe as the README gives it (default window, 26 h): a Failed run and a
    Crashed run (its process killed) each page once, with the run's reason."""
    out = _paging(deployed, "--webhook-url", receiver.url)
    assert "a run failed" in out and "no run completed" in out
    _paging(deployed, "--block", "custom-webhook/zhclean-paging")  # the block it saved
    names = deployed.client_call(lambda client: client.read_automations())
    assert sorted(a.name for a in names) == [  # replaced by name, not added
        "zhclean-etl/daily: a run failed", "zhclean-etl/daily: no run completed"
    ]  # fmt: skip
    wrong = subprocess.run([sys.executable, str(REPO / "deploy" / "paging.py"), "--block",
                            "slack-webhook/nope"], env=deployed.env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert (wrong.returncode, wrong.stderr) == (
        1,
        "paging: no block slack-webhook/nope on the server\n",
    )
    missing = tmp_path / "gone"
    proc = deployed.run(f"input_dir={missing}", f"output_dir={tmp_path / 'out'}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run, _ = _flow_run(deployed, proc.stdout)
    _, page = receiver.next(f"run {run.name} Failed", time.monotonic() + 120)
    assert f"usage_error: input directory not found: {missing}" in page["body"], page

    # A crash: a run waiting for the output's lock, its process killed by SIGKILL.
    from zhclean.run import output_lock

    out_dir = tmp_path / "locked"
    out_dir.mkdir()
    with output_lock(str(out_dir), "test holds the lock"):
        deployed.run(f"input_dir={SEEDS}", f"output_dir={out_dir}", "wait_for_lock=600",
                     watch=False)  # fmt: skip
        running = _wait_until(lambda: _running_run(deployed), 180, "the run to wait for the lock")
        os.kill(int(running.infrastructure_pid.rsplit(":", 1)[-1]), signal.SIGKILL)
        _, page = receiver.next(f"run {running.name} Crashed", time.monotonic() + 180)
    assert page["body"].startswith("Crashed: "), page


def _running_run(deployed: Deployed):
    async def read(client):
        runs = await client.read_flow_runs()
        return next((r for r in runs if r.state.is_running() and r.infrastructure_pid), None)

    return deployed.client_call(read)


def test_paging_when_no_run_completes_within_the_window(deployed, receiver, tmp_path):
    """The same file with a 30 s window instead of 26 h: a completed run restarts the
    window, and the page comes when the window has passed with no other completion
    (a window counted from the automation's creation would page up to a window later)."""
    window = 30
    _paging(deployed, "--webhook-url", receiver.url, "--window", f"{window}s")
    proc = deployed.run(f"input_dir={SEEDS}", f"output_dir={tmp_path / 'out'}", watch=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deadline = time.monotonic() + 300
    completed = _wait_until(lambda: _completed_at(deployed, proc.stdout), 300, "the run")
    while True:  # a page for a window that ended before the run completed is right too
        at, page = receiver.next("no run completed", deadline)
        if at > completed:
            break
    assert "no run completed for 30 seconds" in page["subject"]
    # not before the window since the completion has passed, and soon after it (the
    # server evaluates such triggers every 5 s)
    assert completed + window - 1 <= at <= completed + window + 15, (at - completed, page)
    run, _ = _flow_run(deployed, proc.stdout)
    assert not [p for _, p in receiver.other if run.name in p["subject"]]  # no failure page


def _completed_at(deployed: Deployed, run_output: str) -> float | None:
    run, _ = _flow_run(deployed, run_output)
    if not run.state.is_completed():
        assert not run.state.is_final(), run.state
        return None
    return run.state.timestamp.astimezone(UTC).timestamp()
