"""Scale-out with real components on loopback: moto's S3 server and a Dask cluster.

The guarantees of a local run must hold there too: the same published values, incremental
runs, the gate, atomic versions readers can open, and a worker killed mid-shard leaving
no duplicate rows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

from tests.badinput import build_bad_corpus
from tests.cluster import closed_port, create_bucket, dask_cluster, worker_env
from tests.conftest import REPO, SEEDS, copy_tree
from tests.flowutil import published_rows, read, run_flow, zhclean_cli
from zhclean.run.store import LocalStore

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.cluster, pytest.mark.slow]
BUCKET = "zhclean-test"


@pytest.fixture(scope="module")
def s3(s3_server):
    """The session's moto S3 endpoint, with this module's bucket."""
    create_bucket(BUCKET)
    return s3_server


def _upload(local, uri: str) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    for path in sorted(p for p in local.rglob("*") if p.is_file() and not p.is_symlink()):
        key = path.relative_to(local).as_posix()
        if key.isprintable() and key == key.encode("utf-8", "ignore").decode():  # S3 keys are UTF-8
            fs.pipe_file(f"{uri}/{key}", path.read_bytes())


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory, prefect_harness):
    """What a local one-worker run publishes for the seeds."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert run_flow(SEEDS, out).is_completed()
    return published_rows(out)


_README_S3_READERS = """
import json, sys
import duckdb, pandas as pd, polars as pl
import zhclean

root = sys.argv[1]
docs = zhclean.open_dataset(root, "documents")
seen = {
    "pandas": len(docs.to_table().to_pandas()),
    "duckdb": duckdb.sql("select count(*) from docs").fetchall()[0][0],
    "polars": pl.scan_parquet(zhclean.current_files(root, "sentences")).select(pl.len()).collect().item(),
}
print(json.dumps(seen))
"""


def test_s3_input_to_s3_output_incremental_gate_and_readers(s3, tmp_path, local_reference):
    root = f"s3://{BUCKET}/e2e"
    _upload(SEEDS, f"{root}/in")
    first = run_flow(f"{root}/in", f"{root}/out")
    assert first.is_completed(), first.message
    assert published_rows(f"{root}/out") == local_reference  # the same values as on a disk

    # incremental: one object changes, the others are skipped
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    name = next(SEEDS.glob("004_*.txt")).name
    fs.pipe_file(
        f"{root}/in/{name}", (SEEDS / name).read_bytes() + "\n新增的一段说明文字。".encode()
    )
    second = run_flow(f"{root}/in", f"{root}/out").result()
    assert (second["counts"]["changed"], second["counts"]["unchanged_skipped"]) == (1, 4)
    docs = read(f"{root}/out", "documents")
    ids = docs.column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == 5
    before = published_rows(f"{root}/out")

    # blocked by the gate: the published version stays readable and unchanged
    bad = build_bad_corpus(tmp_path / "bad", with_seeds=False)
    _upload(tmp_path / "bad", f"{root}/in/extra")
    blocked = run_flow(f"{root}/in", f"{root}/out")
    assert blocked.is_failed() and "blocked_by_gate" in blocked.message
    assert published_rows(f"{root}/out") == before
    quarantined = read(f"{root}/out", "quarantine").column("source").to_pylist()
    assert (
        len(quarantined) >= sum(v != "published" for v in bad.values()) - 6
    )  # links etc. are not uploaded

    # downstream readers, as the README shows them, in a separate process
    proc = subprocess.run([sys.executable, "-c", _README_S3_READERS, f"{root}/out"],
                          capture_output=True, text=True, check=True, env=os.environ.copy())  # fmt: skip
    seen = json.loads(proc.stdout)
    assert seen["pandas"] == seen["duckdb"] == 5
    assert seen["polars"] == read(f"{root}/out", "sentences").num_rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, prefect_harness):
    """Ten copies of the seeds, one folder each (580 kB: several shards), and what a local
    one-worker run publishes for them."""
    root = tmp_path_factory.mktemp("corpus")
    for i in range(10):
        copy_tree(SEEDS, root / f"site{i:02d}")
    out = tmp_path_factory.mktemp("corpus-reference") / "out"
    assert run_flow(root, out).is_completed()
    return root, published_rows(out)


def test_a_dask_cluster_run_publishes_what_a_local_run_does(tmp_path, corpus, harness_api):
    inp, reference = corpus
    envs = [worker_env(tmp_path / f"home{i}") for i in range(2)]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        out = tmp_path / "out"
        state = run_flow(inp, out, dask_address=cluster.address)
        assert state.is_completed(), state.message
        assert published_rows(out) == reference
        report = state.result()
        assert report["accounting"]["balanced"]
        # every task reported to the flow's API (the workers had no PREFECT_API_URL)
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                )
            )
        names = [r.name for r in runs]
        assert sum(n.startswith("process-shard") for n in names) >= 2
        assert all(
            r.state.is_completed() for r in runs if r.name.startswith(("process-shard", "scan"))
        )
        # and no worker started a Prefect server of its own
        import psutil

        for worker in cluster.workers:
            family = psutil.Process(worker.pid).children(recursive=True)
            assert not [
                p for p in family if "uvicorn" in " ".join(p.cmdline()) or "prefect" in p.name()
            ]


def test_a_relative_input_is_read_where_the_command_runs_not_where_workers_run(
    tmp_path, corpus, monkeypatch
):
    """Dask workers have their own working directory: a relative ``--input`` must name
    the command's folder (it used to be resolved on the worker, where it is another
    folder or none, and every source was quarantined as a link outside the input)."""
    inp, reference = corpus
    envs = [worker_env(tmp_path / f"home{i}") for i in range(2)]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        monkeypatch.chdir(inp.parent)
        out = tmp_path / "out"
        state = run_flow(Path(inp.name), out, dask_address=cluster.address)
        assert state.is_completed(), state.message
        assert published_rows(out) == reference


def test_a_dask_worker_killed_mid_shard_is_replaced_without_duplicates(tmp_path, corpus):
    inp, reference = corpus
    marker = tmp_path / "a-worker-died"
    crash = {"ZHCLEAN_CRASH_AT": "staged-row-group", "ZHCLEAN_CRASH_ONCE": str(marker)}
    envs = [worker_env(tmp_path / f"home{i}", **crash) for i in range(2)]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        out = tmp_path / "out"
        state = run_flow(inp, out, dask_address=cluster.address, batch_docs=2)
    assert marker.exists()  # the first worker to stage a row group was SIGKILLed mid-shard
    assert state.is_completed(), state.message
    report = state.result()
    assert report["accounting"]["balanced"] and report["counts"]["published"] == 50
    ids = read(out, "documents").column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == 50
    assert published_rows(out) == reference


def _checkout_without_rule(root, rule_id: str):
    """A copy of the zhclean package whose rules file lacks one rule, as a checkout on
    a worker's PYTHONPATH would have it."""
    shutil.copytree(REPO / "zhclean", root / "zhclean",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    rules = root / "zhclean" / "data" / "boilerplate_rules.toml"
    blocks = rules.read_text(encoding="utf-8").split("\n[[rule]]\n")
    kept = [b for b in blocks if not b.startswith(f'id = "{rule_id}"')]
    assert len(kept) == len(blocks) - 1
    rules.write_text("\n[[rule]]\n".join(kept), encoding="utf-8")
    return root


def test_a_dask_worker_with_other_rules_fails_the_run_and_is_named(tmp_path):
    """Issue 17 item 5: such a worker published 0 bp.related_links instead of 9, silently."""
    from distributed import Client

    from zhclean.run.fingerprint import OtherCode, check_same, code_fingerprint

    other = _checkout_without_rule(tmp_path / "checkout", "bp.related_links")
    envs = [worker_env(tmp_path / "home", PYTHONPATH=str(other))]
    with dask_cluster(tmp_path / "dask", envs) as cluster:
        with Client(cluster.address, set_as_default=False) as client:
            ((address, imported),) = client.run(lambda: __import__("zhclean").__file__).items()
            assert imported == str(other / "zhclean" / "__init__.py")  # it runs the copy
            # what every task does first, on that worker
            future = client.submit(check_same, code_fingerprint(), pure=False)
            with pytest.raises(OtherCode, match=f"^on worker {address}: .*boilerplate_rules"):
                future.result()
        out = tmp_path / "out"
        state = run_flow(SEEDS, out, dask_address=cluster.address)
    assert state.is_failed()
    (line,) = state.message.splitlines()
    assert line.startswith(f"usage_error: on worker {address}: zhclean's code or data differ")
    assert "(zhclean/data/boilerplate_rules.toml)" in line
    assert not (out / "current").exists()  # nothing was published
    assert LocalStore(out).read_report()["status"] == "usage_error"


def test_a_dask_worker_without_storage_credentials_fails_the_run_and_is_named(s3, tmp_path):
    """Issue 17 item 12: the flow's process has credentials, a worker has none."""
    env = worker_env(tmp_path / "home", AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                     AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    out = f"s3://{BUCKET}/no-credentials-on-a-worker"
    with dask_cluster(tmp_path / "dask", [env]) as cluster:
        state = run_flow(SEEDS, out, dask_address=cluster.address)
    assert state.is_failed()
    (line,) = state.message.splitlines()
    assert line.startswith("usage_error: on worker tcp://127.0.0.1:")
    assert f": cannot use {out}: no credentials (" in line
    with pytest.raises(FileNotFoundError, match="nothing has been published"):
        read(out, "documents")


@pytest.mark.parametrize("scheme", ["tcp", "tls"])
def test_an_unreachable_dask_scheduler_fails_the_preflight_in_one_line(scheme, tmp_path):
    """Issue 17 item 12: it printed a traceback after Prefect had started (and the connect
    timeout, shortened here through Dask's own setting); a TLS address without TLS
    settings also hung 60 s closing the client."""
    address = f"{scheme}://127.0.0.1:{closed_port()}"
    proc = zhclean_cli("run", "--input", str(SEEDS), "--output", str(tmp_path / "out"),
                       "--dask-address", address,
                       env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    expected = (
        f"cannot reach the Dask scheduler at {address}: "
        if scheme == "tcp"
        else f"{address} is a TLS scheduler and this process has no TLS settings: set DASK_"
    )
    assert line.startswith(f"zhclean: {expected}"), line
    assert "Traceback" not in proc.stdout + proc.stderr
