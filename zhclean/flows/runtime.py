"""Running flows in-process: an ephemeral local Prefect API, started early and stopped cleanly.

Prefect's own ephemeral mode starts a temporary server per process. With a process-pool
task runner that means one server per worker, and its shutdown prints errors. Here the
CLI starts one server, points every process at it through PREFECT_API_URL, flushes logs
and events before stopping it, and stops it with API logging off: no noise.

Starting the server is most of a small run's wall time (the server process imports
``prefect.server`` and builds its app: about 4 s on a warm ``PREFECT_HOME``). So
:func:`launch_server` starts it before anything heavy is imported, with the very command
Prefect's ``SubprocessASGIServer`` uses, without importing ``prefect.server`` here; the
command's own imports and the shard pool's start-up then overlap with its boot.

The server dies with the command: it is started with ``PR_SET_PDEATHSIG``, so a SIGKILL
(an OOM kill) of ``zhclean run`` does not leave it running.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from zhclean.core.process import die_with_parent, load_libc

# Set before Prefect is imported anywhere: first starts with a fresh PREFECT_HOME run
# database migrations and can exceed Prefect's 20 s default; analytics would try the
# network and log an error on machines without it.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_TELEMETRY_ENABLED": "false",
}

# What Prefect 3.8.8's SubprocessASGIServer._run_uvicorn_command sets for the server;
# tests/test_runtime.py checks that the command below is still the one Prefect uses.
SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
PORT_IN_USE = 3  # uvicorn's exit code when it cannot bind


def apply_prefect_defaults() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def prefect_home_problem() -> str | None:
    """Why Prefect cannot keep its database in its home folder, or None.

    The temporary API keeps its SQLite database there; a home it cannot create or write
    (a service account without a home, a read-only one) made the server fail on every
    request and the command wait out the 300 s start-up timeout before a traceback.
    """
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        return f"cannot create Prefect's home folder {home} ({reason}): set PREFECT_HOME to a writable folder"
    if not os.access(home, os.W_OK | os.X_OK):
        return (
            f"Prefect's home folder {home} is not writable: set PREFECT_HOME to a writable folder"
        )
    return None


def server_command(port: int) -> list[str]:
    """Prefect's own command for its temporary server (``prefect`` is not imported)."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("prefect")
    return [
        sys.executable, "-m", "uvicorn",
        "--app-dir", str(Path(spec.origin).parent.parent),
        "--factory", "prefect.server.api.server:create_app",
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "error", "--lifespan", "on",
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent(parent: int):
    load_libc()  # here: the child may only call what is already loaded

    def preexec() -> None:  # in the child, between fork and exec
        die_with_parent()
        if os.getppid() != parent:
            os._exit(1)
        # the command blocks these for its own signal thread (StopOnSignal); the server
        # handles them itself, as Prefect's own would
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    return preexec


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignal:
    """SIGINT and SIGTERM, to the command or its process group, stop it within seconds.

    Both are blocked in every thread (started first thing, before any other thread
    exists, so that all inherit the mask) and received by one thread of ours with
    ``sigwait``, which calls ``on_signal(signum)``. So no handler of Prefect's or of
    Python's runs in the middle of the flow (a KeyboardInterrupt there was swallowed or
    turned into minutes of retries against a dead API), and the processes the command
    starts keep the mask: the shard workers never see a signal sent to the group, and
    never print a traceback for it; they die with the command (``PR_SET_PDEATHSIG``).
    """

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        from multiprocessing import resource_tracker

        self.on_signal = on_signal
        self._once = threading.Lock()
        # multiprocessing starts its resource tracker with the signals blocked, then
        # unblocks them in the calling thread: started now, it leaves our mask alone. Its
        # one output, a warning about the pool's semaphores when the command is killed,
        # goes nowhere.
        stderr = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            resource_tracker.ensure_running()
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
            os.close(devnull)
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        for sig in STOP_SIGNALS:
            # A handler, not the inherited disposition: an ignored signal is discarded
            # even while blocked (a shell starts background jobs with SIGINT ignored), and
            # a thread a library unblocked the signals in would otherwise be killed by it.
            signal.signal(sig, self._handler)
        threading.Thread(target=self._wait, name="zhclean-signals", daemon=True).start()

    def _wait(self) -> None:
        self._stop(signal.sigwait(STOP_SIGNALS))

    def _handler(self, signum: int, _frame: object) -> None:
        self._stop(signum)

    def _stop(self, signum: int) -> None:
        if self._once.acquire(blocking=False):  # the first signal stops; later ones wait
            self.on_signal(signum)


class LocalServer:
    """Prefect's temporary API server as a subprocess that dies with this process."""

    def __init__(self) -> None:
        apply_prefect_defaults()
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.launched_at = 0.0
        self.ready_at: float | None = None
        self._launch()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _launch(self) -> None:
        self.port = _free_port()
        self.launched_at = time.monotonic()
        self.process = subprocess.Popen(
            server_command(self.port),
            env={**os.environ, **SERVER_ENV},
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(os.getpid()),
        )

    def wait_ready(self, timeout: float) -> None:
        """Poll ``/health`` until the API answers (or the server gives up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code == PORT_IN_USE:  # the port was taken in between: another one
                self._launch()
                continue
            if code is not None:
                raise RuntimeError(f"the temporary Prefect API exited with code {code}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        self.ready_at = time.monotonic()
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the temporary Prefect API did not start within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def prefect_api(server: LocalServer | None = None) -> Iterator[str]:
    """Yield the API URL to use: the configured server, or an ephemeral one we own.

    ``server``: one launched earlier (:class:`LocalServer`); it is stopped here either
    way, and not used when a server is configured.
    """
    apply_prefect_defaults()
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOGGING_TO_API_ENABLED,
        get_current_settings,
        temporary_settings,
    )

    configured = get_current_settings().api.url
    if configured:
        if server is not None:
            server.stop()
        yield str(configured)
        return

    if server is None:
        server = LocalServer()
    try:
        server.wait_ready(float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        PHASES.mark("api_ready")
    except BaseException:
        server.stop()
        raise
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # inherited by task-runner processes
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                PHASES.mark("flow_done")
                _drain()
                PHASES.mark("drained")
    finally:
        with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: False}):
            server.stop()
        PHASES.mark("api_stopped")
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


def _drain() -> None:
    """Send buffered logs and events while the API is still up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    EventsWorker.drain_all(timeout=30)


class Phases:
    """Wall-clock marks of the command's start-up and shutdown, from process start.

    ``ZHCLEAN_TIMING=1`` prints them to stderr at the end (the benchmark reads them).
    """

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        since = seconds_since_process_start()
        if since is not None:
            self.marks.append((name, since))

    def report(self) -> None:
        if os.environ.get("ZHCLEAN_TIMING"):
            shown = "  ".join(f"{name} {t:.2f}" for name, t in self.marks)
            print(f"zhclean timing (s since process start): {shown}", file=sys.stderr)


PHASES = Phases()


def seconds_since_process_start() -> float | None:
    """Wall time since this process started, as the user waited for it (Linux /proc)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, in ticks
    return max(0.0, uptime - started)
