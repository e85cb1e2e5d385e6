"""Q5: the flow's serial pre-pass and shard plan for a corpus (as flows/etl.py does it)."""
import os, pickle, sys, time
sys.path.insert(0, "/work/scratch/issue11/repo")
from zhclean.pipeline.runner import count_group_lines
from zhclean.readers.files import list_sources
from zhclean.storage.plan import make_shards, plan_run
corpus = sys.argv[1]
refs = list_sources(corpus)
total = sum(r.size for r in refs)
t, c = time.perf_counter(), time.process_time()
plan = plan_run(refs, None, True)
t_plan, c_plan = time.perf_counter() - t, time.process_time() - c
t, c = time.perf_counter(), time.process_time()
repeated = {g: cnt.repeated(3) for g, cnt in count_group_lines(refs).items()}
t_rep, c_rep = time.perf_counter() - t, time.process_time() - c
workers = os.cpu_count() or 1
shard_bytes = max(256 * 1024, min(int(8.0 * 1024 * 1024), total // (workers * 2) + 1))
shards = make_shards(plan.to_process, shard_bytes)
sizes = [sum(r.size for r in s) / 1e6 for s in shards]
pick = [len(pickle.dumps({g: repeated[g] for g in {r.group for r in s} if g in repeated})) for s in shards]
print(f"{corpus}: {total/1e6:.1f} MB, {len(refs)} files, {len(repeated)} groups; plan (sha256 all files) wall {t_plan:.2f}s cpu {c_plan:.2f}s; "
      f"count_repeated_lines wall {t_rep:.2f}s cpu {c_rep:.2f}s; shard target {shard_bytes/1e6:.2f} MB -> {len(shards)} shards {['%.2f' % x for x in sizes]} MB; "
      f"pickled `repeated` per task {pick} bytes; whole repeated dict pickled {len(pickle.dumps(repeated))} bytes")
