"""Running flows in-process: an ephemeral local Prefect API, started and stopped cleanly.

Prefect's own ephemeral mode starts a temporary server per process. With a process-pool
task runner that means one server per worker, and its shutdown prints errors. Here the
CLI starts one server, points every process at it through PREFECT_API_URL, flushes logs
and events before stopping it, and stops it with API logging off: no noise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Set before Prefect is imported anywhere: first starts with a fresh PREFECT_HOME run
# database migrations and can exceed Prefect's 20 s default; analytics would try the
# network and log an error on machines without it.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_TELEMETRY_ENABLED": "false",
}


def apply_prefect_defaults() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


@contextmanager
def prefect_api() -> Iterator[str]:
    """Yield the API URL to use: the configured server, or an ephemeral one we own."""
    apply_prefect_defaults()
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOGGING_TO_API_ENABLED,
        get_current_settings,
        temporary_settings,
    )

    configured = get_current_settings().api.url
    if configured:
        yield str(configured)
        return

    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # inherited by task-runner processes
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                _drain()
    finally:
        with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: False}):
            server.stop()
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
