"""Dask mode of the benchmark: one vs two single-threaded Dask workers, and the cost of a task.

    python bench/dask_bench.py                # 30 MB corpus
    python bench/dask_bench.py --mb 10        # a smaller one

Starts a real ``dask scheduler`` and workers on loopback (the test fixtures' launcher),
runs the zhclean flow against them with ``dask_address`` and a temporary Prefect API,
first with one worker, then with two, on the same corpus (copies of the seeds, five per
folder, as ``bench/run_bench.py`` builds them), and prints for each: wall time, MB/s,
the workers' CPU seconds, the number of shards, and per shard the pickled size of what
travels (the task's arguments, its result) and the overhead of a task (a no-op task's
round trip through Prefect and Dask).
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.run_bench import build_corpus  # noqa: E402
from tests.cluster import dask_cluster, worker_env  # noqa: E402


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def _noop() -> int:
    return os.getpid()


def measure(corpus: Path, n_workers: int, work: Path) -> dict:
    from prefect import flow, task

    from zhclean.flows.etl import etl
    from zhclean.run.store import open_store

    envs = [worker_env(work / f"home{i}") for i in range(n_workers)]
    with dask_cluster(work / "dask", envs) as cluster:
        noop = task(_noop, name="noop")

        @flow(name="zhclean-bench-noop")
        def round_trips(address: str, n: int) -> list[float]:
            from zhclean.flows.cluster import dask_runner

            with dask_runner(address) as runner:
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    runner.submit(noop, parameters={}).result()
                    times.append(time.perf_counter() - started)
                return times

        trips = round_trips(cluster.address, 12)[2:]  # the first ones warm the workers
        pids = [w.pid for w in cluster.workers]
        out = work / "out"
        cpu0 = _cpu_seconds(pids)
        started = time.perf_counter()
        state = etl(input_dir=str(corpus), output_dir=str(out), dask_address=cluster.address,
                    max_quarantine_fraction=1.0, return_state=True)  # fmt: skip
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(pids) - cpu0
    report = state.result()
    return {
        "workers": n_workers,
        "mb": report["counts"]["bytes_processed"] / 1e6,
        "wall_s": wall,
        "mb_per_s": report["counts"]["bytes_processed"] / 1e6 / wall,
        "worker_cpu_s": cpu,
        "shards": len(open_store(out).current_manifest().files["documents"]),
        "task_round_trip_ms": 1000 * statistics.median(trips),
        "status": report["status"],
    }


def travel_sizes(corpus: Path, work: Path) -> dict:
    """Pickled size of one real shard's task arguments and of its result."""
    from zhclean.core.params import RunParams
    from zhclean.run import Run, list_inputs, plan_work, process_shard, scan_sources

    params = RunParams(input_dir=str(corpus), output_dir=str(work / "sizes"), workers=2)
    run = Run("bench-sizes", params, str(corpus), str(work / "sizes"))
    sources, scan_shards = list_inputs(run)
    plan = plan_work(run, sources, [scan_sources(s, str(corpus)) for s in scan_shards])
    shard = plan.shards[0]
    args = (run, 0, shard, plan.repeated_for(shard))
    result = process_shard(*args)
    return {
        "docs_per_shard": len(shard),
        "args_kb": len(pickle.dumps(args)) / 1024,
        "result_kb": len(pickle.dumps(result)) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=30.0, help="corpus size in MB (default 30)")
    args = parser.parse_args()
    from zhclean.flows.runtime import apply_prefect_defaults, prefect_api

    apply_prefect_defaults()
    corpus = build_corpus(args.mb)
    rows = []
    with prefect_api(), tempfile.TemporaryDirectory() as tmp:
        sizes = travel_sizes(corpus, Path(tmp))
        for n in (1, 2):
            rows.append(measure(corpus, n, Path(tmp) / f"w{n}"))
    print(
        f"{'workers':>7} {'MB':>6} {'wall s':>7} {'MB/s':>6} {'worker CPU s':>12} {'shards':>6} {'task trip ms':>12}"
    )
    for r in rows:
        print(f"{r['workers']:>7} {r['mb']:6.1f} {r['wall_s']:7.1f} {r['mb_per_s']:6.2f} "
              f"{r['worker_cpu_s']:12.1f} {r['shards']:>6} {r['task_round_trip_ms']:12.0f}")  # fmt: skip
    print(
        f"two workers vs one: {rows[1]['mb_per_s'] / rows[0]['mb_per_s']:.2f}x  "
        f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"what travels per shard ({sizes['docs_per_shard']} documents): arguments "
        f"{sizes['args_kb']:.1f} kB, result {sizes['result_kb']:.1f} kB (pickled)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
