"""Process one shard of sources end to end into staged Parquet part files.

This is the unit of work an executor schedules: many documents, one call. It travels as a
small description (the sources' paths, sizes and scanned hashes) and returns only small
accounting records, never the data itself.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from zhclean.cleaners.repetition import RepeatedLines
from zhclean.core.location import join
from zhclean.core.record import Document, Outcome, SourceRef
from zhclean.dedup.step import Signer
from zhclean.run.context import Run
from zhclean.run.faults import crash_point
from zhclean.run.pipeline import build_pipeline
from zhclean.run.store import SNAPSHOTS
from zhclean.writers.datasets import DatasetWriter
from zhclean.writers.parquet import ParquetPartWriter

# Where a shard stages the index entries (signatures) of its published documents; the
# publish step reads them and writes the index of the new version (zhclean.run.dedup).
DEDUP_STAGED = "_dedup_staged"


@dataclass
class ShardResult:
    shard_id: int
    files: dict[str, str] = field(default_factory=dict)  # dataset -> staged part, from the root
    outcomes: list[Outcome] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        """What the writer wrote: inputs, published, quarantined, sentences, bytes_in, …"""
        write = next((s for s in self.stats if s["name"] == DatasetWriter.name), None)
        return dict(write["counters"]) if write else {}


_FROZEN = False


@contextmanager
def _batch_gc() -> Iterator[None]:
    """Fewer garbage collections while a shard runs.

    Tokenizing allocates millions of short-lived strings and lists; with the default
    threshold the collector rescans every live object (the jieba dictionary among them)
    every 700 allocations, which costs about 5% of a run. Long-lived objects are frozen
    once per process, and young collections run every 50,000 allocations.
    """
    global _FROZEN
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN = True
    previous = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def part_name(run_id: str, shard_id: int) -> str:
    return f"part-{run_id}-{shard_id:05d}.parquet"


def process_shard(
    run: Run,
    shard_id: int,
    refs: list[SourceRef],
    repeated: dict[str, RepeatedLines] | None = None,
) -> ShardResult:
    """Run the whole pipeline over ``refs``; stage documents, sentences and quarantine."""
    name = part_name(run.run_id, shard_id)
    writer = DatasetWriter(run.staging, name, run.run_id, run.input_root)
    signer = Signer(run.run_id) if run.params.dedup != "off" else None
    pipeline = build_pipeline(run.params, repeated, writer=writer, signer=signer)
    with _batch_gc():
        for batch in pipeline.batches(Document.from_ref(ref) for ref in refs):
            crash_point("staged-row-group")
            del batch  # not alive while the next batch is processed: one batch in memory
    folder = f"{SNAPSHOTS}/{run.run_id}"  # where the writer staged them, from the root
    files = {ds: f"{folder}/{ds}/{name}" for ds, name in writer.files.items()}
    if signer is not None:
        published = {o.doc_id for o in writer.outcomes if o.status == "published"}
        entries = ParquetPartWriter(join(run.staging, DEDUP_STAGED, name), signer.table().schema)
        entries.write_table(signer.table(published))
        if entries.close() is not None:
            files[DEDUP_STAGED] = f"{folder}/{DEDUP_STAGED}/{name}"
    return ShardResult(shard_id, files, writer.outcomes, [s.to_dict() for s in pipeline.stats()])
