"""Helpers for tests that run the real flow or the real command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds

REPO = Path(__file__).resolve().parent.parent


def run_flow(input_dir: Path, output_dir: Path, workers: int = 1, **params):
    """Run the ETL flow in-process (under the session harness); returns the final state."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    from zhclean.flows.etl import etl

    runner = (
        ThreadPoolTaskRunner(max_workers=1)
        if workers == 1
        else ProcessPoolTaskRunner(max_workers=workers)
    )
    return etl.with_options(task_runner=runner)(
        input_dir=str(input_dir),
        output_dir=str(output_dir),
        workers=workers,
        return_state=True,
        **params,
    )


def read(output_dir: Path | str, dataset: str):
    """A published dataset as readers see it: the folder locally, the pointer on S3."""
    if isinstance(output_dir, str) and "://" in output_dir:
        import zhclean

        return zhclean.open_dataset(output_dir, dataset).to_table()
    return ds.dataset(Path(output_dir) / dataset, format="parquet", partitioning="hive").to_table()


def published_rows(output_dir: Path | str) -> dict[str, list[str]]:
    """Every published row, sorted, without the run's id and timestamps: two outputs with
    equal values compare equal (for comparing executors and storages)."""
    rows = {}
    for name in ("documents", "sentences"):
        table = read(output_dir, name)
        table = table.drop_columns(
            [c for c in ("run_id", "processed_at") if c in table.column_names]
        )
        rows[name] = sorted(
            json.dumps(r, ensure_ascii=False, sort_keys=True, default=str)
            for r in table.to_pylist()
        )
    return rows


def zhclean_cli(
    *args: str, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run the installed ``zhclean`` command as an operator would."""
    full_env = dict(os.environ)
    full_env.pop("PREFECT_API_URL", None)  # by default each command starts its own API
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("zhclean")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout
    )


def output_fingerprint(output_dir: Path, columns: dict[str, list[str]]) -> dict[str, str]:
    """sha256 per dataset of every row, sorted, restricted to ``columns`` (the run's id and
    timestamps are never among them): equal fingerprints mean the same published values.
    Restricting to recorded columns lets a contract grow without hiding a change in them."""
    fingerprints = {}
    for name, key in (("documents", ("source",)), ("sentences", ("doc_id", "sent_idx"))):
        table = read(output_dir, name).select(columns[name])
        rows = table.to_pylist()
        rows.sort(key=lambda r: tuple(r[k] for k in key))
        text = "\n".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in rows
        )
        fingerprints[name] = hashlib.sha256(text.encode()).hexdigest()
    return fingerprints
