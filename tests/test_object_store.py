"""Publishing on object storage when runs stall, lose their lease, or find a damaged
output; against moto's real S3 server on loopback.

A stall is a real one: the run's process stops itself (SIGSTOP, every thread with it, the
lease heartbeat too) at a named point (``ZHCLEAN_STOP_AT``), its lease runs out (a short
time to live, ``ZHCLEAN_LEASE_TTL``, set for that process only), another run takes over
(it waits for the lease with ``--wait-for-lock``), and the test resumes the first run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import fsspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zhclean
from tests.cluster import closed_port, create_bucket, is_stopped, wait_until
from tests.conftest import SEEDS, copy_tree
from tests.flowutil import REPO, read, run_flow
from zhclean.run.faults import BEFORE_CLEANUP, STOP_ENV
from zhclean.run.lock import LEASE_TTL_ENV

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.cluster, pytest.mark.slow]
BUCKET = "zhclean-store-test"
DATASETS = ("documents", "sentences", "quarantine")


@pytest.fixture(scope="module")
def s3(s3_server):
    """The session's moto S3 endpoint, with this module's bucket."""
    create_bucket(BUCKET)
    return s3_server


def _s3() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("s3", skip_instance_cache=True, use_listings_cache=False)


def _start(*args: str, api: str, **env: str) -> subprocess.Popen:
    """``zhclean run`` in the background, as an operator starts it, against the test API."""
    exe = os.path.join(os.path.dirname(sys.executable), "zhclean")
    full_env = {**os.environ, "PREFECT_API_URL": api, **env}
    return subprocess.Popen(
        [exe, "run", "--workers", "1", *args],
        env=full_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stopped(proc: subprocess.Popen) -> None:
    wait_until(lambda: is_stopped(proc.pid), 300, f"pid {proc.pid} to stop", ((proc, None),))


def _resume(proc: subprocess.Popen) -> tuple[int, str]:
    os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _assert_readable(out: str) -> None:
    """What a reader is handed exists: the pointer's manifest and every file it lists."""
    fs = _s3()
    pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
    assert fs.exists(f"{out}/{pointer['manifest']}"), pointer["manifest"]
    for ds in DATASETS:
        for name in pointer["datasets"][ds]:
            assert fs.exists(f"{out}/{name}"), name
        zhclean.open_dataset(out, ds).to_table()


def _with_bad_file(tmp_path, name: str):
    inp = copy_tree(SEEDS, tmp_path / name)
    (inp / "bad.bin").write_bytes(bytes(range(256)) * 12)  # binary: quarantined
    return inp


@pytest.mark.parametrize("point", ["snapshot-built", "before-swap"])
def test_a_run_that_lost_its_lease_publishes_nothing(point, s3, tmp_path, harness_api):
    """Issue 17 item 2: the stalled run used to commit a version whose parts the run that
    took over had deleted (FileNotFoundError for readers, the quarantine row lost)."""
    out = f"s3://{BUCKET}/stalled-{point}"
    seeds = copy_tree(SEEDS, tmp_path / "seeds")
    assert run_flow(seeds, out).is_completed()
    slow = _with_bad_file(tmp_path, "slow")

    stalled = _start("--input", str(slow), "--output", out, "--max-quarantine-fraction", "1",
                     api=harness_api, **{STOP_ENV: point, LEASE_TTL_ENV: "2"})  # fmt: skip
    _stopped(stalled)  # its quarantine part and manifest are staged
    # Another run waits for the lease to expire, takes it over and cleans up; its input
    # has nothing new, so it commits nothing.
    takeover = run_flow(seeds, out, wait_for_lock=120).result()
    assert takeover["status"] == "nothing_to_do"

    code, err = _resume(stalled)
    assert code == 1, err
    assert "nothing of this run was published" in err.splitlines()[-1]
    _assert_readable(out)
    assert read(out, "quarantine").num_rows == 0

    # the input it could not publish is processed by the next run
    again = run_flow(slow, out, max_quarantine_fraction=1.0).result()
    assert again["status"] == "published"
    assert read(out, "quarantine").column("source").to_pylist() == ["bad.bin"]
    _assert_readable(out)


def test_a_stalled_run_cleaning_up_late_keeps_what_a_newer_run_staged(s3, tmp_path, harness_api):
    """The other way round: the stalled run resumes after a newer run staged its parts,
    and cleans up as it would have; the newer run still publishes a whole version."""
    out = f"s3://{BUCKET}/late-cleanup"
    seeds = copy_tree(SEEDS, tmp_path / "seeds")
    assert run_flow(seeds, out).is_completed()
    grown = copy_tree(SEEDS, tmp_path / "grown")
    name = next(SEEDS.glob("004_*.txt")).name
    (grown / "new.txt").write_text(
        (SEEDS / name).read_text(encoding="utf-8") + "\n新增的一段说明文字。", encoding="utf-8"
    )

    stalled = _start("--input", str(seeds), "--output", out, api=harness_api,
                     **{STOP_ENV: BEFORE_CLEANUP, LEASE_TTL_ENV: "2"})  # fmt: skip
    _stopped(stalled)  # holds the lease, has not cleaned up yet
    newer = _start("--input", str(grown), "--output", out, "--wait-for-lock", "120",
                   api=harness_api, **{STOP_ENV: "before-swap"})  # fmt: skip
    _stopped(newer)  # took the lease over, staged its parts, about to commit

    code, err = _resume(stalled)  # cleans up, finds nothing to do
    assert code == 0, err
    code, err = _resume(newer)
    assert code == 0, err
    _assert_readable(out)
    assert sorted(read(out, "documents").column("source").to_pylist())[-1] == "new.txt"


@pytest.mark.parametrize("damage", ["manifest", "quarantine part"])
def test_a_damaged_output_is_named_and_a_full_refresh_rebuilds_it(damage, s3, tmp_path):
    """Outputs damaged before the commit was fenced: the pointer names a manifest that is
    gone, or a part of the current version is gone. Runs used to fail forever
    (RuntimeError, --full-refresh included) or go on without the lost quarantine row."""
    out = f"s3://{BUCKET}/damaged-{damage.replace(' ', '-')}"
    inp = _with_bad_file(tmp_path, "in")
    assert run_flow(inp, out, max_quarantine_fraction=1.0).is_completed()
    fs = _s3()
    pointer = json.loads(fs.cat_file(f"{out}/_current.json"))
    lost = pointer["manifest"] if damage == "manifest" else pointer["datasets"]["quarantine"][0]
    fs.rm(f"{out}/{lost}")

    normal = run_flow(inp, out, max_quarantine_fraction=1.0)
    assert normal.is_failed()
    assert normal.message.startswith("usage_error: ") and "--full-refresh" in normal.message
    assert lost in normal.message

    full = run_flow(inp, out, max_quarantine_fraction=1.0, full_refresh=True)
    assert full.is_completed(), full.message
    _assert_readable(out)
    assert read(out, "quarantine").column("source").to_pylist() == ["bad.bin"]
    assert read(out, "documents").num_rows == 5
    assert run_flow(inp, out, max_quarantine_fraction=1.0).result()["status"] == "nothing_to_do"


RUN_STEPS = ("fence", "clean", "stage", "build", "commit")


def _check_versions_readable(store) -> None:
    """The current version and the predecessors kept for readers: every file exists."""
    listed = set(store.files_under("_snapshots"))
    manifest = store.current_manifest()
    for kept in store._kept(manifest) if manifest is not None else []:
        for names in kept.files.values():
            assert set(names) <= listed, sorted(set(names) - listed)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations([1] * 5 + [2] * 5 + [3] * 5))
def test_no_interleaving_of_runs_that_lost_their_lease_hands_a_reader_a_missing_file(s3, order):
    """Three runs with no lease between them (each lost it, or stalls at any step) go
    through the store's steps in any interleaving: start (the fence), clean up (at once
    or late), stage a part, build their version, commit. Whatever commits, the pointer
    and the versions kept for readers name only files that exist."""
    from zhclean.contract.arrow import ARROW_SCHEMAS
    from zhclean.run.store import ConcurrentPublish, ObjectStore
    from zhclean.writers.parquet import write_empty

    store = ObjectStore(f"s3://{BUCKET}/interleaved/{uuid.uuid4().hex}")
    runs: dict[int, dict] = {i: {"id": f"2026010{i}T000000000000Z-run{i}"} for i in range(4)}

    def step(i: int, name: str) -> None:
        run = runs[i]
        if name == "fence":
            run["version"], run["generation"] = store.fence()
        elif name == "clean":  # what begin does after the fence, possibly much later
            store.cleanup()
            store._mark(run["id"], run["generation"])
        elif name == "stage":
            run["part"] = f"_snapshots/{run['id']}/quarantine/part-{run['id']}-00000.parquet"
            write_empty(store.path(run["part"]), ARROW_SCHEMAS["quarantine"])
        elif name == "build":
            staged = {"quarantine": [run["part"]]}
            run["manifest"] = store.build_snapshot(run["id"], staged, [], full_refresh=False)
        elif name == "commit":
            with contextlib.suppress(ConcurrentPublish):  # fenced out: publishes nothing
                store.commit(run["manifest"], run["version"])
        if name in ("clean", "commit"):
            _check_versions_readable(store)

    for name in RUN_STEPS:  # a first version, published by a run on its own
        step(0, name)
    steps = {i: iter(RUN_STEPS) for i in (1, 2, 3)}
    for i in order:
        step(i, next(steps[i]))
    _check_versions_readable(store)


@pytest.mark.parametrize("problem", ["missing bucket", "no credentials", "unreachable endpoint"])
def test_storage_problems_fail_the_preflight_in_one_line(problem, s3, tmp_path):
    """Issue 17 item 12: each printed a raw traceback and exited 1."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    out = f"s3://{BUCKET}/preflight/out"
    if problem == "missing bucket":
        out = "s3://no-such-bucket-zhclean/out"
        expected = (
            f"cannot use {out}: the bucket no-such-bucket-zhclean does not exist: create it first"
        )
    elif problem == "no credentials":
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                   AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
        expected = f"cannot use {out}: no credentials (Unable to locate credentials): set AWS_"
    else:
        env["AWS_ENDPOINT_URL"] = endpoint = f"http://127.0.0.1:{closed_port()}"
        expected = f"cannot use {out}: cannot reach {endpoint} (Could not connect to the endpoint"
    exe = os.path.join(os.path.dirname(sys.executable), "zhclean")
    started = time.monotonic()
    proc = subprocess.run([exe, "run", "--input", str(SEEDS), "--output", out],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"zhclean: {expected}"), line
    assert "Traceback" not in proc.stdout + proc.stderr
    assert elapsed < 60, elapsed  # one attempt, short timeouts
