"""One run's identity and resources: its id, resolved paths, the output lock, leftovers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from zhclean.core.location import is_remote
from zhclean.core.params import RunParams
from zhclean.run.dedup_publish import check_dedup
from zhclean.run.errors import UsageError
from zhclean.run.fingerprint import Fingerprint, code_fingerprint
from zhclean.run.lock import output_lock
from zhclean.run.storage import check_remote
from zhclean.run.store import Store, open_store


def make_run_id(suffix: str | None = None) -> str:
    """Sortable by time; the suffix ties it to the orchestrator's run (or this process)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{suffix or os.getpid()}"


@dataclass(frozen=True)
class Run:
    """What every task of a run needs to know; small and picklable (tasks receive it)."""

    run_id: str
    params: RunParams
    input_root: str
    output_root: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    leftovers_removed: int = 0
    base_version: str | None = None  # the published version the run started from
    fingerprint: Fingerprint | None = None  # of the code and data it runs with (tasks check it)

    @property
    def store(self) -> Store:
        return open_store(self.output_root)

    @property
    def staging(self) -> str:
        """Where the run's shards write their parts: the run's own snapshot folder."""
        return self.store.snapshot_dir(self.run_id)

    @property
    def shard_params(self) -> RunParams:
        """The parameters with the input as an absolute path: a shard may run on a Dask
        worker whose working directory is not the command's."""
        return replace(self.params, input_dir=self.input_root)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def preflight(params: RunParams) -> None:
    """Everything that can be checked before work starts, so that a wrong path fails in
    a second with one line (:class:`UsageError`) instead of after minutes of processing."""
    problems = params.problems()
    if problems:
        raise UsageError(problems[0])
    check_no_overlap(params.input_dir, params.output_dir)
    for location, is_input in ((params.input_dir, True), (params.output_dir, False)):
        if is_remote(location):  # the bucket, credentials, endpoint: one line each
            check_remote(location, must_exist=is_input, writable=not is_input)
    if is_remote(params.input_dir) and is_remote(params.output_dir):
        return
    inp, out = Path(params.input_dir), Path(params.output_dir)
    try:
        _check_paths(
            inp,
            out,
            check_input=not is_remote(params.input_dir),
            check_output=not is_remote(params.output_dir),
        )
    except OSError as err:  # a parent folder that may not be entered, a dead mount, ...
        raise UsageError(f"cannot use {err.filename or inp}: {err.strerror or err}") from err


def check_no_overlap(input_dir: str, output_dir: str) -> None:
    """Refuse an output inside the input, the input inside the output, or one folder
    for both: a run would read back its own ``_runs/`` and ``_snapshots/`` as inputs
    (Parquet files quarantined as binary, reports published as documents), and every
    run after the first would be blocked by the gate. Symbolic links, ``..`` and a
    folder reached by two paths (a bind mount) count as the same folder; object-store
    roots compare by scheme, bucket and prefix."""
    if is_remote(input_dir) != is_remote(output_dir):
        return
    if is_remote(input_dir):
        inp, out = input_dir.rstrip("/"), output_dir.rstrip("/")
        overlap = _nested(_remote_key(inp), _remote_key(out), lambda p: p)
    else:
        try:
            inp, out = Path(input_dir).resolve(), Path(output_dir).resolve()
            overlap = _nested(inp, out, _identity)
        except (OSError, RuntimeError):  # a loop, a folder that may not be entered: the
            return  # path checks that follow say what is wrong with it
    if overlap is None:
        return
    problem = {
        "same": f"the output is the input folder ({out})",
        "output_inside": f"the output {out} is inside the input {inp}",
        "input_inside": f"the input {inp} is inside the output {out}",
    }[overlap]
    raise UsageError(f"{problem}: use separate folders for --input and --output")


def _remote_key(location: str) -> PurePosixPath:
    """``scheme/bucket/prefix`` of an object-store URI."""
    scheme, _, rest = location.partition("://")
    return PurePosixPath(scheme, *(part for part in rest.split("/") if part))


def _nested(inp: PurePath, out: PurePath, key: Callable[[Any], Any]) -> str | None:
    """Whether one of two folders is the other or inside it, by path and by ``key`` of
    each folder and its ancestors (the identity of an existing folder)."""

    def chain(path: PurePath) -> list[Any]:
        return [k for k in map(key, (path, *path.parents)) if k is not None]

    inp_key, out_key = key(inp), key(out)
    if inp == out or (inp_key is not None and inp_key == out_key):
        return "same"
    if inp in out.parents or (inp_key is not None and inp_key in chain(out)):
        return "output_inside"
    if out in inp.parents or (out_key is not None and out_key in chain(inp)):
        return "input_inside"
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    """Device and inode of an existing folder (None: not there yet)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _check_paths(inp: Path, out: Path, check_input: bool, check_output: bool) -> None:
    if check_input:
        if not inp.exists():
            raise UsageError(f"input directory not found: {inp}")
        if not inp.is_dir():
            raise UsageError(f"input is not a directory: {inp}")
        if not os.access(inp, os.R_OK | os.X_OK):
            raise UsageError(f"input directory is not readable: {inp}")
    if not check_output:
        return
    if out.exists() and not out.is_dir():
        raise UsageError(f"output is not a directory: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create output directory {out}: {err.strerror or err}") from err
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"output directory is not writable: {out}")
    open_store(out).check_layout()


@contextmanager
def open_run(params: RunParams, run_id: str | None = None) -> Iterator[Run]:
    """Check the paths, hold the output's lock for the run, and clear what interrupted
    runs left behind (each of them gets an ``interrupted`` report)."""
    preflight(params)
    input_root = _absolute(params.input_dir)
    output_root = _absolute(params.output_dir)
    run_id = run_id or make_run_id()
    store = open_store(output_root)
    with output_lock(output_root, run_id, params.wait_for_lock):
        # a version made with another --dedup mode is refused as one of another schema is
        start = store.begin(
            run_id, params.full_refresh, check=lambda current: check_dedup(current, params)
        )
        run = Run(
            run_id,
            params,
            input_root,
            output_root,
            leftovers_removed=len(start.removed),
            base_version=start.version,
            fingerprint=code_fingerprint(),
        )
        for old, published in start.interrupted.items():
            store.write_report(old, interrupted_report(run, old, published))
        yield run


def _absolute(location: str) -> str:
    return location.rstrip("/") if is_remote(location) else str(Path(location).resolve())


def interrupted_report(run: Run, old_run_id: str, published: bool) -> dict:
    """The report of a run that stopped without writing one (killed, machine down);
    ``published``: its snapshot is the current one."""
    return {
        "run_id": old_run_id,
        "status": "interrupted",
        "message": (
            f"the run stopped before it finished (killed or the machine went down); "
            f"{'its snapshot had been published' if published else 'nothing of it was published'}"
            f"; run {run.run_id} removed what it left"
        ),
        "input_dir": run.input_root,
        "output_dir": run.output_root,
        "finished_at": None,
    }
