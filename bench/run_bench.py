"""Throughput, memory, stage profile, worker scaling and start-up, in one sitting.

    python bench/run_bench.py                        # 30 MB: pipeline vs bare jieba, stages
    python bench/run_bench.py --sizes 20 200         # peak RSS of one process, 20 vs 200 MB
    python bench/run_bench.py --reference            # also the pipeline with --tokenizer jieba
    python bench/run_bench.py --profile 30           # cProfile: hottest functions, 30 lines
    python bench/run_bench.py --workers 30 5 --rounds 3   # zhclean run --workers 1 vs 2
    python bench/run_bench.py --startup 5            # zhclean run on the seeds, 5 times
    python bench/run_bench.py --sizes --guard 30 --rounds 3   # cost of the poison guard

Corpora are built from the seeds: each copy of the five seeds goes in its own folder, so
the cross-document repeated-line filter (which works per folder) sees five distinct
documents, as it would on real data, instead of erasing the duplicated text.

The machine this runs on is usually shared, so every comparison is made in CPU seconds
(``time.process_time``: what a measurement costs, whatever else runs) next to wall
seconds, the load average is printed before and after each one, and paired
measurements are interleaved, best of ``--rounds``. Every measurement runs in a fresh
Python process so that its peak RSS is its own:

- ``pipeline``: read → … → write Parquet, one process (``process_shard`` without
  Prefect), with the CPU seconds of each stage (the steps' own timers, switched to
  ``process_time``);
- ``jieba``: bare ``jieba.lcut`` over every line of the same decoded text;
- ``--workers``: the ``zhclean`` command with ``--workers 1`` and ``--workers 2``; the
  run's MB/s (from its report: Run start to publish), the wall time since the command
  started, and the CPU seconds of the whole process tree;
- ``--startup``: the ``zhclean`` command on the seeds with a warm ``PREFECT_HOME``
  (one run first warms it), with its start-up phases (``ZHCLEAN_TIMING=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from evals.webtext_eval import zhclean_command  # noqa: E402

SEEDS = REPO / "seeds"
CORPUS = REPO / "bench" / "corpus"


def build_corpus(size_mb: float, parent: Path = CORPUS) -> Path:
    """A folder of about ``size_mb`` MB: copies of the seeds, five per sub-folder."""
    root = parent / f"{size_mb:g}MB"
    target = int(size_mb * 1_000_000)
    seeds = sorted(SEEDS.glob("*.txt"))
    seed_bytes = sum(p.stat().st_size for p in seeds)
    copies = -(-target // seed_bytes)
    if root.exists() and len(list(root.iterdir())) == copies:
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(copies):
        folder = root / f"batch_{i:05d}"
        folder.mkdir(parents=True)
        for seed in seeds:
            shutil.copyfile(seed, folder / seed.name)
    return root


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its children that have ended (the guarded
    worker processes that do a shard's work, zhclean.run.guard)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure_pipeline(
    corpus: Path, tokenizer: str = "fast", profile: int = 0, guard: bool = True
) -> dict:
    import zhclean.core.step as step_module

    step_module.perf_counter = time.process_time  # stage seconds become CPU seconds
    from zhclean.core.params import RunParams
    from zhclean.readers.files import list_sources
    from zhclean.run import Run, process_shard
    from zhclean.tokenizers.step import tokenizer_function

    tokenizer_function(tokenizer)  # dictionary load: a per-process constant, not throughput
    refs = list_sources(corpus)
    total = sum(r.size for r in refs)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as out:
        params = RunParams(input_dir=str(corpus), output_dir=out, tokenizer=tokenizer)
        # a first small shard pays the per-process constants (lazy imports, rules)
        process_shard(Run("warm-up", params, str(corpus), out), 0, refs[:5], guard=guard)
        run = Run("bench", params, str(corpus), out)
        cpu, wall = _cpu_with_children(), time.perf_counter()
        if profiler:
            profiler.enable()
        result = process_shard(run, 0, refs, guard=guard and not profiler)
        if profiler:
            profiler.disable()
        cpu, wall = _cpu_with_children() - cpu, time.perf_counter() - wall
    hot = _hot_functions(profiler, profile) if profiler else []
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"mb": total / 1e6, "seconds": wall, "cpu_seconds": cpu, "mb_per_s": total / 1e6 / wall,
            "mb_per_cpu_s": total / 1e6 / cpu, "peak_rss_mb": _peak_rss_mb(),
            "children_peak_rss_mb": children_rss,
            "stages": {s["name"]: s["seconds"] for s in result.stats}, "hot": hot,
            "published": result.totals.get("published", 0), "quarantined": result.totals.get("quarantined", 0),
            "sentences": result.totals.get("sentences", 0)}  # fmt: skip


def _hot_functions(profiler, n: int) -> list[str]:
    import io
    import pstats

    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(n)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    return [line.replace(str(REPO) + "/", "") for line in lines[start : start + n + 1]]


def measure_jieba(corpus: Path) -> dict:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    paths = sorted(corpus.rglob("*.txt"))
    total = sum(p.stat().st_size for p in paths)
    cpu, wall = time.process_time(), time.perf_counter()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            jieba.lcut(line)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"mb": total / 1e6, "seconds": wall, "cpu_seconds": cpu, "mb_per_s": total / 1e6 / wall,
            "mb_per_cpu_s": total / 1e6 / cpu, "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


MEASURES = {"pipeline": measure_pipeline, "jieba": measure_jieba}


def run_isolated(kind: str, corpus: Path, *extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--corpus", str(corpus), *extra],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_command(corpus: Path, workers: int, home: Path) -> dict:
    """``zhclean run`` as an operator runs it; CPU of the whole process tree."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(home), "ZHCLEAN_TIMING": "1"})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run([zhclean_command(), "run", "--input", str(corpus), "--output", out,
                               "--workers", str(workers), "--max-quarantine-fraction", "1"],
                              capture_output=True, text=True, cwd=REPO, env=env)  # fmt: skip
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        report = json.loads(max(Path(out, "_runs").glob("*.json")).read_text(encoding="utf-8"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing = re.search(r"zhclean timing \(s since process start\): (.*)", proc.stderr)
    phases = dict(re.findall(r"(\w+) ([\d.]+)", timing.group(1))) if timing else {}
    return {"mb": report["counts"]["bytes_processed"] / 1e6, "run_seconds": report["elapsed_seconds"],
            "run_mb_per_s": report["counts"]["mb_per_s"], "wall": wall, "tree_cpu": cpu,
            "phases": {k: float(v) for k, v in phases.items()},
            "workers_used": report["parameters"]["workers"]}  # fmt: skip


def bench_pipeline(sizes: list[float], reference: bool, profile: int) -> None:
    """Bare jieba (slow: ~0.7 MB/s) runs on the first size only; the others measure the
    pipeline's throughput and peak memory."""
    print(f"{'corpus':>8} {'measure':>16} {'MB':>6} {'wall s':>7} {'CPU s':>7} {'MB/s':>6} "
          f"{'MB/CPU-s':>8} {'RSS MB':>7}  load before/after (1/5/15 min)")  # fmt: skip
    for size in sizes:
        corpus = build_corpus(size)
        rows = [("pipeline (fast)", "pipeline", ["--tokenizer", "fast"])]
        if reference and size == sizes[0]:
            rows.append(("pipeline (jieba)", "pipeline", ["--tokenizer", "jieba"]))
        if size == sizes[0]:
            rows.append(("bare jieba.lcut", "jieba", []))
        results = {}
        for name, kind, extra in rows:
            load = _load()
            m = results[name] = run_isolated(kind, corpus, *extra)
            print(f"{size:>6g}MB {name:>16} {m['mb']:6.1f} {m['seconds']:7.1f} {m['cpu_seconds']:7.1f} "
                  f"{m['mb_per_s']:6.2f} {m['mb_per_cpu_s']:8.2f} {m['peak_rss_mb']:7.0f}  {load} -> {_load()}")  # fmt: skip
        bare = results.get("bare jieba.lcut")
        for name, m in results.items():
            if name.startswith("pipeline") and bare:
                print(f"{size:>6g}MB {name} / bare jieba: {m['mb_per_cpu_s'] / bare['mb_per_cpu_s']:.2f}x "
                      f"per CPU second, {m['mb_per_s'] / bare['mb_per_s']:.2f}x per wall second "
                      f"(published {m['published']}, quarantined {m['quarantined']}, {m['sentences']} sentences)")  # fmt: skip
        pipes = {n: m for n, m in results.items() if n.startswith("pipeline")}
        print(f"\n  stage CPU seconds, {size:g} MB (steps' own timers; one process)")
        print("  " + f"{'stage':<20}" + "".join(f"{n:>18}" for n in pipes))
        for stage in next(iter(pipes.values()))["stages"]:
            cells = "".join(
                f"{m['stages'][stage]:>10.2f} ({m['stages'][stage] / m['cpu_seconds']:4.0%})"
                for m in pipes.values()
            )
            print(f"  {stage:<20}{cells}")
        print(
            "  "
            + f"{'all (process_shard)':<20}"
            + "".join(f"{m['cpu_seconds']:>18.2f}" for m in pipes.values())
        )
        print()
    if profile:
        corpus = build_corpus(sizes[0])
        m = run_isolated("pipeline", corpus, "--tokenizer", "fast", "--profile", str(profile))
        print(
            f"cProfile, {sizes[0]:g} MB, hottest {profile} functions by own time (load {_load()}):"
        )
        print("\n".join("  " + line for line in m["hot"]))


def bench_guard(size: float, rounds: int) -> None:
    """process_shard with and without the poison-input guard, interleaved, best of rounds."""
    corpus = build_corpus(size)
    print(f"poison-input guard, {size:g} MB, one shard, interleaved; best of {rounds} by CPU")
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for name, extra in (("guarded", []), ("unguarded", ["--no-guard"])):
            load = _load()
            m = run_isolated("pipeline", corpus, *extra)
            print(f"  {name:>9}: {m['cpu_seconds']:6.2f} CPU-s {m['seconds']:6.2f} s wall "
                  f"{m['mb_per_cpu_s']:5.2f} MB/CPU-s  RSS {m['peak_rss_mb']:.0f} MB "
                  f"(worker {m['children_peak_rss_mb']:.0f} MB)  load {load} -> {_load()}")  # fmt: skip
            if name not in best or m["cpu_seconds"] < best[name]["cpu_seconds"]:
                best[name] = m
    g, u = best["guarded"], best["unguarded"]
    print(f"  guard cost: {g['cpu_seconds'] / u['cpu_seconds'] - 1:+.1%} CPU, "
          f"{g['seconds'] / u['seconds'] - 1:+.1%} wall (best of {rounds} each)")  # fmt: skip
    print("  stage CPU seconds, guarded / unguarded: " + ", ".join(
        f"{k} {g['stages'][k]:.2f}/{u['stages'][k]:.2f}" for k in g["stages"]))  # fmt: skip


def bench_workers(sizes: list[float], rounds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="zhclean-bench-prefect-"))
    run_command(SEEDS, 1, home)  # a warm PREFECT_HOME: migrations once, not in a measurement
    print("zhclean run --workers 1 vs 2, interleaved; best of rounds by the run's MB/s")
    print(f"{'corpus':>8} {'workers':>7} {'used':>4} {'run s':>6} {'run MB/s':>8} {'wall s':>7} "
          f"{'tree CPU s':>10}  load")  # fmt: skip
    for size in sizes:
        corpus = build_corpus(size)
        best: dict[int, dict] = {}
        for _ in range(rounds):
            for workers in (1, 2):
                load = _load()
                m = run_command(corpus, workers, home)
                print(f"{size:>6g}MB {workers:>7} {m['workers_used']:>4} {m['run_seconds']:6.1f} "
                      f"{m['run_mb_per_s']:8.2f} {m['wall']:7.1f} {m['tree_cpu']:10.1f}  {load} -> {_load()}")  # fmt: skip
                if workers not in best or m["run_mb_per_s"] > best[workers]["run_mb_per_s"]:
                    best[workers] = m
        ratio = best[2]["run_mb_per_s"] / best[1]["run_mb_per_s"]
        wall = best[1]["wall"] / best[2]["wall"]
        print(f"{size:>6g}MB --workers 2 / --workers 1: {ratio:.2f}x run MB/s (best of {rounds}), "
              f"{wall:.2f}x by wall time of those runs")  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)


def bench_startup(rounds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="zhclean-bench-prefect-"))
    load = _load()
    first = run_command(SEEDS, 2, home)
    print(f"zhclean run on the seeds, fresh PREFECT_HOME: {first['wall']:.1f} s (load {load})")
    walls = []
    for _ in range(rounds):
        load = _load()
        m = run_command(SEEDS, 2, home)
        walls.append(m["wall"])
        phases = "  ".join(f"{k} {v:.1f}" for k, v in m["phases"].items())
        print(
            f"  warm: {m['wall']:5.1f} s wall, tree CPU {m['tree_cpu']:4.1f} s, load {load}; {phases}"
        )
    print(f"zhclean run on the seeds, warm PREFECT_HOME: median {statistics.median(walls):.1f} s, "
          f"min {min(walls):.1f}, max {max(walls):.1f} ({rounds} runs)")  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=float, nargs="*", default=[30], help="pipeline corpus sizes in MB"
    )
    parser.add_argument(
        "--reference", action="store_true", help="also the pipeline with --tokenizer jieba"
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="print the N hottest functions (cProfile)"
    )
    parser.add_argument(
        "--workers", type=float, nargs="*", default=[], help="corpus sizes for --workers 1 vs 2"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds for --workers")
    parser.add_argument("--startup", type=int, default=0, help="warm runs of zhclean on the seeds")
    parser.add_argument(
        "--guard",
        type=float,
        default=0,
        metavar="MB",
        help="cost of the poison-input guard on a corpus of MB (see --rounds)",
    )
    parser.add_argument("--no-guard", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", default="fast", help=argparse.SUPPRESS)
    args = parser.parse_args()  # fmt: skip
    if args.measure == "pipeline":
        m = measure_pipeline(args.corpus, args.tokenizer, args.profile, guard=not args.no_guard)
        print(json.dumps(m))
        return 0
    if args.measure:
        print(json.dumps(MEASURES[args.measure](args.corpus)))
        return 0
    print(f"{os.cpu_count()} CPUs; load average at start {_load()}\n")
    if args.sizes:
        bench_pipeline(args.sizes, args.reference, args.profile)
    if args.workers:
        bench_workers(args.workers, args.rounds)
    if args.startup:
        bench_startup(args.startup)
    if args.guard:
        bench_guard(args.guard, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
