"""Which sources a run processes, found in one read of the input, and how they are sharded.

The **scan** reads each source once: it hashes the bytes (incremental runs compare the
hash with the published manifest) and counts the source's line keys for the
repeated-line filter (the corpus pass). It is a map over shards whose partial counts
merge by addition, so no process ever holds the corpus. Processing then reads only the
new and changed sources a second time; their shard descriptions carry the scan's hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from zhclean.cleaners.boilerplate import StripperConfig
from zhclean.cleaners.repetition import GroupLineCounts, RepeatedLines, document_line_keys
from zhclean.core.chars import split_lines
from zhclean.core.params import DEFAULTS
from zhclean.core.record import Document, SourceRef
from zhclean.readers.decode import DecodeError, decode_bytes
from zhclean.readers.files import (
    DEFAULT_MAX_BYTES,
    ReadError,
    hash_source,
    list_sources,
    read_source,
)
from zhclean.readers.html import page_text
from zhclean.run.context import Run
from zhclean.run.dedup_publish import handover_sources
from zhclean.run.guard import (
    CAN_FORK,
    Limits,
    Plan,
    Tracker,
    Watch,
    memory_budget,
    plan_batches,
    supervise,
)
from zhclean.run.store import HAS_ROWS, Manifest

# Smallest shard worth a task: below it, task start-up costs more than the work.
MIN_SHARD_BYTES = 256 * 1024
MAX_SHARD_DOCS = 2000


@dataclass
class ScanResult:
    """Content hashes (None: unreadable) and line-key counts per group, for some sources."""

    hashes: dict[str, str | None] = field(default_factory=dict)
    lines: dict[str, GroupLineCounts] = field(default_factory=dict)

    def merge(self, other: ScanResult) -> ScanResult:
        self.hashes.update(other.hashes)
        for group, counts in other.lines.items():
            if group in self.lines:
                self.lines[group].merge(counts)
            else:
                self.lines[group] = counts
        return self

    def repeated(self, groups: Iterable[str], min_docs: int) -> dict[str, RepeatedLines]:
        """The reduce side: lines repeated in at least ``min_docs`` documents, per group."""
        return {g: self.lines[g].repeated(min_docs) for g in groups if g in self.lines}


def scan_sources(
    refs: Iterable[SourceRef],
    root: str | None = None,
    follow_symlinks: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stage_timeout: float = DEFAULTS.stage_timeout,
) -> ScanResult:
    """Hash each source and count its line keys, reading it once (the map of the scan).

    It reads only what the reader step may read (the same checks, see
    :func:`zhclean.readers.files.open_source`); other sources get no hash. An HTML page
    is parsed here too, so the scan runs guarded, as shards do (:mod:`zhclean.run.guard`):
    a source that crashes or stalls the parser gets its hash and no line keys, and the
    html stage quarantines it.
    """
    refs = list(refs)
    if not CAN_FORK:
        result = ScanResult()
        for ref in refs:
            _scan_one(ref, root, follow_symlinks, max_bytes, result)
        return _compacted(result)
    sizes = [ref.size for ref in refs]
    result = ScanResult()

    def work(tracker: Tracker, send: Callable[[Any], None], plan: Plan) -> None:
        watch = Watch(tracker)
        for items in plan_batches(sizes, plan, SCAN_BATCH_DOCS, max_bytes):
            part = ScanResult()
            docs = [Document.from_ref(refs[i]) for i in items]
            watch.batch(docs, items)
            for doc in docs:
                watch(SCAN_STAGE, doc)
                _scan_one(doc.ref, root, follow_symlinks, max_bytes, part, doc, watch)
            send(("batch", items[-1] + 1, _compacted(part)))

    def on_message(message: tuple) -> None:
        if message[0] == "batch":
            result.merge(message[2])

    limits = Limits(stage_timeout, memory_budget(max_bytes))
    for failure in supervise(work, sizes, limits, on_message, what="scan"):
        result.hashes[refs[failure.item].source] = failure.sha256 or None
    return _compacted(result)


SCAN_STAGE = "scan"
SCAN_BATCH_DOCS = 500


def _compacted(result: ScanResult) -> ScanResult:
    for counts in result.lines.values():
        counts.compact()
    return result


def _scan_one(
    ref: SourceRef,
    root: str | None,
    follow_symlinks: bool,
    max_bytes: int,
    result: ScanResult,
    doc: Document | None = None,
    watch: Watch | None = None,
) -> None:
    """One source's hash and line keys into ``result``. With a guard's ``watch``, the hash
    is recorded in ``doc`` and the watch first: a crash after it still knows it."""
    try:
        data = read_source(ref, root, max_bytes, follow_symlinks)
    except ReadError as err:
        too_large = err.check == "too_large"
        result.hashes[ref.source] = hash_source(ref, root, follow_symlinks) if too_large else None
        return
    digest = hashlib.sha256(data).hexdigest()
    result.hashes[ref.source] = digest
    if doc is not None and watch is not None:
        doc.content_sha256 = digest
        watch(SCAN_STAGE, doc)
    try:
        text = decode_bytes(data).text
    except DecodeError:
        return
    if doc is not None and watch is not None and watch.faults:
        doc.raw_text = text
        watch(SCAN_STAGE, doc)  # a test's fault on this text happens here
    try:
        # an HTML page counts the lines the stripper will see: those of its text
        text = page_text(text)
    except Exception:  # too deep, or refused by the parser: the HTML step says why
        return
    counts = result.lines.setdefault(ref.group, GroupLineCounts())
    counts.add(document_line_keys(split_lines(text)))


@dataclass
class RunPlan:
    """The listed sources (with their scanned hashes) and what this run does with each."""

    sources: list[SourceRef]
    to_process: list[SourceRef] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # unchanged sources processed again: near-duplicates whose representative changes
    # (--dedup drop: one of them takes the role and must be published)
    forced: list[str] = field(default_factory=list)

    @property
    def groups_to_process(self) -> set[str]:
        return {ref.group for ref in self.to_process}

    @property
    def bytes_to_process(self) -> int:
        return sum(ref.size for ref in self.to_process)


def plan_run(
    sources: list[SourceRef],
    hashes: dict[str, str | None],
    manifest: Manifest | None,
    full_refresh: bool,
) -> RunPlan:
    """Compare the scanned input with the published manifest.

    A source is unchanged when the manifest holds the same content hash for its path;
    anything else is processed. Sources in the manifest but no longer in the input are
    reported as missing and their rows stay published until a full refresh.
    """
    known = {} if (full_refresh or manifest is None) else manifest.sources
    plan = RunPlan(sources=[replace(ref, sha256=hashes.get(ref.source)) for ref in sources])
    for ref in plan.sources:
        entry = known.get(ref.source)
        if entry is None:
            plan.new.append(ref.source)
            plan.to_process.append(ref)
        elif ref.sha256 is None or entry.sha256 != ref.sha256:
            plan.changed.append(ref.source)
            plan.to_process.append(ref)
        else:
            plan.unchanged.append(ref.source)
    listed = {ref.source for ref in sources}
    plan.missing = sorted(s for s, e in known.items() if s not in listed and e.status in HAS_ROWS)
    return plan


def shard_bytes(total_bytes: int, workers: int, shard_mb: float) -> int:
    """Target shard size: ``shard_mb``, smaller when that would leave workers idle.

    Two shards per worker let a worker that finishes early take another, so one large
    last shard does not keep the others waiting.
    """
    return max(MIN_SHARD_BYTES, min(int(shard_mb * 1024 * 1024), total_bytes // (workers * 2) + 1))


def make_shards(
    refs: list[SourceRef], target_bytes: int, max_docs: int = MAX_SHARD_DOCS
) -> list[list[SourceRef]]:
    """Group sources, in order, into shards of about ``target_bytes`` (at most
    ``max_docs``), all of about the same size: the input is cut into as many equal parts
    as ``target_bytes`` makes, so no small tail shard is left for the end of a run."""
    total = sum(ref.size for ref in refs)
    parts = max(1, -(-total // max(target_bytes, 1)))
    share = total / parts
    shards: list[list[SourceRef]] = []
    current: list[SourceRef] = []
    done = 0  # bytes before ``ref``
    for ref in refs:
        # cut before a source whose middle lies past the current shard's end
        boundary = (len(shards) + 1) * share
        if current and (done + ref.size / 2 > boundary or len(current) >= max_docs):
            shards.append(current)
            current = []
        current.append(ref)
        done += ref.size
    if current:
        shards.append(current)
    return shards


@dataclass
class RunWork:
    """What a run processes: the plan, its shards, and the repeated lines of their groups."""

    plan: RunPlan
    shards: list[list[SourceRef]]
    repeated: dict[str, RepeatedLines]

    def repeated_for(self, shard: list[SourceRef]) -> dict[str, RepeatedLines]:
        """Only the groups a shard needs: that is all a task receives."""
        return {g: self.repeated[g] for g in {r.group for r in shard} if g in self.repeated}


def list_inputs(
    run: Run, slots: int | None = None
) -> tuple[list[SourceRef], list[list[SourceRef]]]:
    """The run's sources, and the shards the scan reads them in. ``slots`` is how many
    tasks run at once (default: ``--workers``; on a cluster, its threads)."""
    sources = list_sources(run.input_root)
    total = sum(ref.size for ref in sources)
    target = shard_bytes(total, slots or run.params.n_workers, run.params.shard_mb)
    return sources, make_shards(sources, target)


def plan_work(
    run: Run, sources: list[SourceRef], scans: Iterable[ScanResult], slots: int | None = None
) -> RunWork:
    """Reduce the scan, compare it with the published manifest, and shard the work."""
    scan = ScanResult()
    for part in scans:
        scan.merge(part)
    full_refresh = run.params.full_refresh  # it reads no manifest (one may be damaged)
    manifest = None if full_refresh else run.store.current_manifest()
    plan = plan_run(sources, scan.hashes, manifest, full_refresh)
    forced = set(handover_sources(run.store, manifest, plan.changed, run.params))
    if forced:
        plan.forced = sorted(forced)
        plan.unchanged = [s for s in plan.unchanged if s not in forced]
        plan.to_process += [ref for ref in plan.sources if ref.source in forced]
    target = shard_bytes(plan.bytes_to_process, slots or run.params.n_workers, run.params.shard_mb)
    repeated = scan.repeated(plan.groups_to_process, StripperConfig.repeat_min_docs)
    return RunWork(plan, make_shards(plan.to_process, target), repeated)
