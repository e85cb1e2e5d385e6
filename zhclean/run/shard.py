"""Process one shard of sources end to end into staged Parquet part files.

This is the unit of work an executor schedules: many documents, one call. It travels as a
small description (the sources' paths, sizes and scanned hashes) and returns only small
accounting records, never the data itself.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from zhclean.cleaners.repetition import RepeatedLines
from zhclean.core.location import join
from zhclean.core.record import Document, Outcome, SourceRef
from zhclean.core.step import StepStats, merge_stats
from zhclean.dedup.step import Signer
from zhclean.readers.files import compute_doc_id
from zhclean.run.context import Run
from zhclean.run.dedup_publish import STAGED as DEDUP_STAGED
from zhclean.run.faults import crash_point
from zhclean.run.guard import (
    CAN_FORK,
    Failure,
    Limits,
    Plan,
    Tracker,
    Watch,
    fault_watcher,
    memory_budget,
    plan_batches,
    supervise,
    watching,
)
from zhclean.run.pipeline import build_pipeline
from zhclean.run.store import SNAPSHOTS
from zhclean.writers.datasets import DatasetWriter
from zhclean.writers.parquet import ParquetPartWriter


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


def _freeze() -> None:
    """Move the objects alive now out of the collector's sight, once per process.

    Before a guarded child is forked, too: a collection in the child would write to every
    object's header, copying each page it shares with its parent.
    """
    global _FROZEN
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN = True


@contextmanager
def _batch_gc() -> Iterator[None]:
    """Fewer garbage collections while a shard runs.

    Tokenizing allocates millions of short-lived strings and lists; with the default
    threshold the collector rescans every live object (the jieba dictionary among them)
    every 700 allocations, which costs about 5% of a run. Long-lived objects are frozen
    once per process, and young collections run every 50,000 allocations.
    """
    _freeze()
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
    guard: bool = True,
) -> ShardResult:
    """Run the whole pipeline over ``refs``; stage documents, sentences and quarantine.

    ``guard`` (where the system can fork): the documents are processed in a supervised
    child process, so that a document that crashes, hangs or exhausts it is quarantined
    and costs nothing else (:mod:`zhclean.run.guard`). Without it, in this process.
    """
    name = part_name(run.run_id, shard_id)
    writer = DatasetWriter(run.staging, name, run.run_id, run.input_root)
    signer = Signer(run.run_id) if run.params.dedup != "off" else None
    if not (guard and CAN_FORK):
        # loads the dictionaries
        pipeline = build_pipeline(run.shard_params, repeated, writer=writer, signer=signer)
        with _batch_gc(), watching(fault_watcher()):
            for batch in pipeline.batches(Document.from_ref(ref) for ref in refs):
                crash_point("staged-row-group")
                del batch  # not alive while the next batch is processed: one batch in memory
        stats = [s.to_dict() for s in pipeline.stats()]
    else:
        try:
            stats = _supervised(run, refs, repeated, writer, signer)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    folder = f"{SNAPSHOTS}/{run.run_id}"  # where the writer staged them, from the root
    files = {ds: f"{folder}/{ds}/{name}" for ds, name in writer.files.items()}
    if signer is not None and _stage_signatures(run, name, signer, writer.outcomes):
        files[DEDUP_STAGED] = f"{folder}/{DEDUP_STAGED}/{name}"
    return ShardResult(shard_id, files, writer.outcomes, stats)


def _stage_signatures(run: Run, name: str, signer: Signer, outcomes: list[Outcome]) -> bool:
    """Stage the index entries of the shard's published documents (the publish step links
    them, :mod:`zhclean.run.dedup_publish`); False: there were none."""
    published = {o.doc_id for o in outcomes if o.status == "published"}
    entries = ParquetPartWriter(join(run.staging, DEDUP_STAGED, name), signer.table().schema)
    entries.write_table(signer.table(published))
    return entries.close() is not None


# A page that takes every stage's path once (HTML, a dateline, prose, a list).
_WARM_UP_PAGE = (
    "<html><head><title>关于做好2024年春季植树工作的通知_新闻中心</title></head><body>"
    "<p>首页 &gt; 新闻中心 &gt; 正文</p><h1>关于做好2024年春季植树工作的通知</h1>"
    "<p>发布时间：2024年3月1日 来源：市林业局 作者：张明</p>"
    "<p>各区县：为深入推进国土绿化行动，现将有关事项通知如下。</p>"
    "<p>一、高度重视。各单位要把植树工作摆在重要位置，认真组织，确保取得实效。</p>"
    "<p>二、加强宣传。通过网站（www.example.gov.cn）发布信息，成活率达到95.5%以上。"
    "“今年的目标能完成吗？”他问。我们说：“一定能！”</p>"
    "<ul><li>相关链接</li><li>上一篇：关于春耕的通知</li></ul></body></html>"
)
_WARM: set[tuple] = set()


def _warm_up(run: Run, steps: list, writer: DatasetWriter) -> None:
    """Run the steps once on a small page in this process before children are forked.

    A stage's first document pays for lazy imports and caches (pandera's schemas, pandas'
    modules, regex compilation). Paid here, every child starts warm; paid in the children,
    it would be paid again by each (about 10% of a 10 MB shard's CPU, measured).
    """
    key = (run.params.tokenizer, run.params.max_sentence_chars, run.params.dedup != "off")
    if key in _WARM:
        return
    docs = [
        Document.from_text(_WARM_UP_PAGE, "warm-up.html"),
        Document.from_text(_WARM_UP_PAGE[200:]),
    ]
    for i, doc in enumerate(docs):
        doc.doc_id, doc.content_sha256 = f"{i:032x}", f"{i:064x}"
    for step in steps:
        step.run(docs)
    writer.prepare(docs)
    for step in steps:  # the children count from zero
        step.stats = StepStats(step.name)
    _WARM.add(key)


def _supervised(
    run: Run,
    refs: list[SourceRef],
    repeated: dict[str, RepeatedLines] | None,
    writer: DatasetWriter,
    signer: Signer | None = None,
) -> list[dict[str, Any]]:
    """Process ``refs`` in guarded child processes; this process writes what they send.

    With a ``signer``, each child signs the documents of its batches and sends their
    signatures with the batch's tables; this process adds them to its ``signer``. So a
    document whose child died has none, and every other document is signed exactly once
    (a new child starts from the first document of the batch that was lost).
    """
    # here: every child starts with it loaded
    pipeline = build_pipeline(run.shard_params, repeated, signer=signer)
    steps = pipeline.steps
    _warm_up(run, steps, writer)
    if signer is not None:
        signer.take()  # the warm-up page's, if it ran: not a document of the shard
    sizes = [ref.size for ref in refs]
    # the steps' stats: zero here (the children run them), then each child's, as of its
    # last batch (they count from zero: each starts as a copy of this process)
    stats: list[list[dict[str, Any]]] = [[s.stats.to_dict() for s in steps]]

    def work(tracker: Tracker, send: Callable[[Any], None], plan: Plan) -> None:
        watch = Watch(tracker)
        if signer is not None:
            signer.take()  # a copy of what the supervisor holds: earlier children's
        with _batch_gc(), watch.installed():
            for items in plan_batches(sizes, plan, pipeline.batch_docs, pipeline.batch_bytes):
                batch = [Document.from_ref(refs[i]) for i in items]
                watch.batch(batch, items)
                for step in steps:
                    step.run(batch)
                watch(writer.name, None)
                prepared = writer.prepare(batch)
                signed = signer.take() if signer is not None else None
                watch("ship", None)
                stats_now = [s.stats.to_dict() for s in steps]
                send(("batch", items[-1] + 1, prepared, stats_now, signed))
                del batch, prepared, signed

    def on_message(message: tuple) -> None:
        if message[0] == "child":
            stats.append([])
            return
        _, _, prepared, child_stats, signed = message
        writer.write_prepared(prepared)
        if signed is not None and signer is not None:
            signer.add(*signed)
        stats[-1] = child_stats
        crash_point("staged-row-group")

    limits = Limits(run.params.stage_timeout, memory_budget(run.params.max_doc_bytes))
    _freeze()
    failures = supervise(work, sizes, limits, on_message)
    merged = merge_stats(stats)
    for failure in failures:
        _quarantine(failure, refs[failure.item], writer)
        # the stages' counts, as if the document had gone through and been rejected there
        names = [s.name for s in merged]
        for step in merged[: names.index(failure.stage) + 1] if failure.stage in names else []:
            step.docs_in += 1
            if step.name == failure.stage:
                step.docs_rejected += 1
                step.counters[f"rejected.{failure.check}"] += 1
            else:
                step.docs_out += 1
    return [s.to_dict() for s in merged] + [writer.stats.to_dict()]


def _quarantine(failure: Failure, ref: SourceRef, writer: DatasetWriter) -> None:
    """The quarantine row of a document that cost its worker process."""
    doc = Document.from_ref(ref)
    doc.doc_id = failure.doc_id or compute_doc_id(ref.source, b"")
    doc.content_sha256 = failure.sha256 or ref.sha256 or ""
    doc.raw_bytes = failure.raw_bytes
    doc.reject(failure.stage, failure.check, failure.reason, failure.detail)
    writer.run([doc])
