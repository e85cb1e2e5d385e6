"""Real servers on loopback for the scale-out tests: moto's S3 server and a Dask cluster.

Readiness is polled, never slept on: moto prints the port it bound; the scheduler writes
its address to a file; workers are awaited through the scheduler. Every process starts
in its own session, so teardown signals the whole group and nothing outlives a test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
AWS_ENV = {  # credentials the standard way; any value works with moto
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_RUNNING = re.compile(rb"Running on (http://127\.0\.0\.1:(\d+))")


def wait_until(check: Callable[[], bool], timeout: float, what: str, procs: tuple = ()) -> None:
    """Poll ``check`` with a growing interval; fail early if one of ``procs`` died."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while not check():
        for proc, log in procs:
            if proc.poll() is not None:
                tail = Path(log).read_text(errors="replace")[-3000:] if log else ""
                raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(delay)  # a polling interval, not a wait for something to happen
        delay = min(2 * delay, 0.2)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_stopped(pid: int) -> bool:
    """The process is stopped (SIGSTOP): state ``T`` in /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] == "T"


@contextmanager
def s3_environment(log: Path) -> Iterator[str]:
    """A moto S3 endpoint reached the standard way (credentials in the environment,
    AWS_ENDPOINT_URL), which subprocesses inherit; yields its URL. One per session: S3
    clients keep the endpoint they were made with (zhclean's, one per process)."""
    saved = {k: os.environ.get(k) for k in (*AWS_ENV, "AWS_ENDPOINT_URL")}
    with moto_s3(log) as url:
        os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=url)
        try:
            yield url
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def create_bucket(name: str) -> None:
    import boto3

    client = boto3.client("s3")
    if name not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=name)


def stop_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left in it (pgid = pid)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)


@contextmanager
def moto_s3(log: Path) -> Iterator[str]:
    """A fresh moto S3 server; yields its endpoint URL (http://127.0.0.1:PORT)."""
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    found: list[str] = []

    def pump() -> None:  # drain the pipe so the server never blocks on it
        with open(log, "wb") as fh:
            for line in proc.stdout:
                fh.write(line)
                fh.flush()
                match = _RUNNING.search(line)
                if match and not found:
                    found.append(match.group(1).decode())

    threading.Thread(target=pump, daemon=True).start()
    try:
        wait_until(lambda: bool(found), 60, "moto_server's address", ((proc, None),))

        def answers() -> bool:
            try:
                with urllib.request.urlopen(found[0] + "/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(answers, 60, "moto_server to answer", ((proc, None),))
        yield found[0]
    finally:
        stop_group(proc)


@dataclass
class DaskCluster:
    address: str
    workdir: Path
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)


def _spawn(args: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:
        return subprocess.Popen(
            args, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )


@contextmanager
def dask_cluster(workdir: Path, worker_envs: list[dict[str, str]]) -> Iterator[DaskCluster]:
    """A real ``dask scheduler`` and one single-threaded ``dask worker`` per env given.

    The workers get no PREFECT_API_URL: task runs must still reach the flow's API.
    """
    from distributed import Client

    workdir.mkdir(parents=True, exist_ok=True)
    address_file = workdir / "scheduler.json"
    scheduler = _spawn(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(address_file)],
        workdir / "scheduler.log", dict(os.environ), workdir,
    )  # fmt: skip
    cluster = DaskCluster("", workdir, scheduler)
    try:

        def written() -> bool:
            try:
                return bool(json.loads(address_file.read_text())["address"])
            except (OSError, ValueError, KeyError):
                return False

        wait_until(
            written, 60, "the scheduler's address", ((scheduler, workdir / "scheduler.log"),)
        )
        cluster.address = json.loads(address_file.read_text())["address"]
        for i, env in enumerate(worker_envs):
            args = [str(BIN / "dask"), "worker", cluster.address, "--host", "127.0.0.1",
                    "--nthreads", "1", "--nworkers", "1", "--name", f"w{i}", "--no-dashboard",
                    "--memory-limit", "0", "--local-directory", str(workdir / f"w{i}")]  # fmt: skip
            cluster.workers.append(_spawn(args, workdir / f"w{i}.log", env, workdir))
        logs = tuple((w, workdir / f"w{i}.log") for i, w in enumerate(cluster.workers))
        with Client(cluster.address, timeout=60) as client:

            def all_joined() -> bool:
                return len(client.scheduler_info()["workers"]) >= len(worker_envs)

            wait_until(all_joined, 120, "the workers to join", logs)
        yield cluster
    finally:
        for worker in cluster.workers:
            stop_group(worker)
        stop_group(scheduler)


def worker_env(home: Path, **extra: str) -> dict[str, str]:
    """A worker's environment: this one, without a Prefect API, with its own home."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), **extra)
    return env
