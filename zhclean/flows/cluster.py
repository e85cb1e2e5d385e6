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

Before the first task, :func:`start` checks the cluster: the scheduler answers (within
Dask's connect timeout, ``distributed.comm.timeouts.connect``, 30 s by default), and
every worker connected has the run's code and data (``zhclean.run.fingerprint``) and can
read the input and write the output (``zhclean.run.storage``). A worker that fails says
so in one line that names it, and the run stops before anything is processed. A worker
that joins later is checked by each task it runs (the tasks compare fingerprints too).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # no cluster extra: check_cluster says so in one line
    WorkerPlugin = object  # type: ignore[assignment,misc]

from zhclean.core.location import is_remote
from zhclean.run.errors import UsageError
from zhclean.run.fingerprint import Fingerprint, OtherCode, check_same, code_fingerprint
from zhclean.run.storage import check_location


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


def start(
    runner: Any, api_url: str, fingerprint: Fingerprint | None, input_root: str, output_root: str
) -> Any:
    """Connect, check every worker, register the run's API on them; the Dask client."""
    client = connect(lambda: runner.client, runner.address)
    check_workers(client, fingerprint, input_root, output_root)
    attach(client, api_url)
    return client


def connect(get_client: Any, address: str) -> Any:
    """``get_client()``, with a one-line error if the scheduler does not answer."""
    if address.startswith("tls://"):  # else the client fails, then hangs 60 s closing
        from distributed.security import Security

        if Security().get_connection_args("client")["ssl_context"] is None:
            raise UsageError(
                f"{address} is a TLS scheduler and this process has no TLS settings: set "
                "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT "
                "and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (README, Running on a cluster)"
            )
    try:
        return get_client()
    except (OSError, TimeoutError, TypeError, ValueError) as err:  # refused, timed out, TLS
        text = " ".join(str(err).split())
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {text}") from err


def check_workers(
    client: Any, fingerprint: Fingerprint | None, input_root: str, output_root: str
) -> None:
    """Every connected worker runs the same code and reaches the storage, or
    :class:`UsageError` naming the first one that does not (and how many more)."""
    answers = client.run(_check_on_worker, fingerprint, input_root, output_root, on_error="return")
    problems = []
    for address, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):  # the check itself could not run there
            answer = (
                f"zhclean's worker check failed ({type(answer).__name__}: {answer}); "
                "is the same zhclean installed there?"
            )
        if answer:
            problems.append(f"on worker {address}: {answer}")
    if problems:
        more = len(problems) - 1
        raise UsageError(
            problems[0] + (f" (and {more} more worker{'s' * (more > 1)})" if more else "")
        )


async def _check_on_worker(
    fingerprint: Fingerprint | None, input_root: str, output_root: str
) -> str | None:
    """On a worker (off its event loop: the checks block): what is wrong, or None."""
    return await asyncio.to_thread(_check_here, fingerprint, input_root, output_root)


def _check_here(fingerprint: Fingerprint | None, input_root: str, output_root: str) -> str | None:
    try:
        check_same(fingerprint, where="-")
        check_location(input_root, is_input=True)
        check_location(output_root, is_input=False)
    except OtherCode as err:
        return str(err).removeprefix("-: ")
    except UsageError as err:
        return str(err)
    return None


def check_cluster(address: str, input_dir: str, output_dir: str) -> None:
    """The cluster part of the command's preflight, before Prefect starts: the same
    checks as :func:`start`, through a client of its own."""
    try:
        from distributed import Client
    except ImportError as err:
        raise UsageError(
            f"--dask-address needs the cluster extra ({err}): "
            "pip install -c requirements.lock -e '.[cluster]'"
        ) from err

    def absolute(location: str) -> str:  # workers resolve relative paths elsewhere
        return location if is_remote(location) else str(Path(location).resolve())

    client = connect(lambda: Client(address, set_as_default=False), address)
    try:
        check_workers(client, code_fingerprint(), absolute(input_dir), absolute(output_dir))
    finally:
        client.close()
