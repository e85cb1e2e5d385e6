"""Running a run's tasks on a Dask cluster (``--dask-address``), through prefect-dask.

prefect-dask sends the flow's settings, the API URL among them, with every task, so task
runs on the workers report to the run's API whatever the workers' own environment says.
Two things it does not do, both found by running it:

- Prefect's per-process event worker (task-run states travel as events) keeps the API
  it was first created with; on a worker that outlives a run, the next run's task runs
  are sent to the previous, stopped API and lost. :class:`PrefectApiPlugin` points each
  worker at this run's API and resets those services when the run starts;
  :func:`drain_workers` flushes them before the API stops.
- a finished task whose worker dies later is recomputed unless its Dask future is
  released once its result is read (the flow does it as it gathers results).
"""

from __future__ import annotations

import os
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


def _drain_prefect_services(timeout: float = 30) -> int:
    """On a worker: send buffered events and logs, then stop those services."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout)
    EventsWorker.drain_all(timeout=timeout)
    return os.getpid()


class PrefectApiPlugin(WorkerPlugin):
    """Registered by each run on every worker: this run's API, fresh Prefect services."""

    name = "zhclean-prefect-api"  # registering it again replaces the previous run's

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def setup(self, worker: Any) -> None:
        os.environ["PREFECT_API_URL"] = self.api_url
        os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"  # never a private server
        _drain_prefect_services(timeout=5)


def attach(client: Any, api_url: str) -> None:
    client.register_plugin(PrefectApiPlugin(api_url))


def drain_workers(client: Any, timeout: float = 30) -> None:
    """Flush every worker's events and logs; call before the run's API stops."""
    client.run(_drain_prefect_services, timeout)


def dask_runner(address: str) -> Any:
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)
