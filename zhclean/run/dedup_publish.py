"""Near-duplicates at publish time: the reduce of the signatures the shards staged.

Called by :mod:`zhclean.run.publish` while it builds the next version, so everything
below lands in the same commit as the data:

1. the index of the published version (``files["_dedup"]`` of its manifest: Parquet
   parts of entries, see :mod:`zhclean.run.dedup`) and the entries this run's shards
   staged are linked (:func:`zhclean.run.dedup.update_index`);
2. ``--dedup mark``: the rows whose link is new or changed get ``duplicate_of`` and
   ``dup_similarity``: this run's rows (their parts are in the run's folder), and, after a
   handover, the rows of the other copies, in parts of earlier versions: those parts are
   written again into the new version (a part that stays is a hard link or a reference;
   a part with a changed row costs one read and one write of that part);
3. ``--dedup drop``: this run's copies leave its documents and sentences parts and become
   rows of the ``duplicates`` dataset; their sources are recorded as ``duplicate``. When a
   representative goes, its copies' sources were processed again by this run (the plan
   adds them, :func:`handover_sources`) so the next one can be published;
4. the new index: this run's entries and those whose link changed in one new part; the
   earlier parts carried, or written again without the entries that left or changed.

The version's manifest records the mode and the signature key (``manifest.dedup``); a run
with another mode or key needs ``--full-refresh`` (:func:`check_dedup`).
"""

from __future__ import annotations

import os
import posixpath
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zhclean.contract.arrow import DUPLICATES
from zhclean.core.params import RunParams
from zhclean.core.record import Outcome
from zhclean.dedup.minhash import DEFAULT_CONFIG, MinHashConfig
from zhclean.run.dedup import Entries, Update, update_index
from zhclean.run.errors import UsageError
from zhclean.run.store import HAS_ROWS, SNAPSHOTS, DamagedOutput, Manifest, Store
from zhclean.writers.parquet import COMPRESSION

INDEX = "_dedup"
# Signatures are random numbers: compression saves nothing (770 bytes an entry either way)
# and costs a third of the index's write time.
INDEX_COMPRESSION = "none"
STAGED = "_dedup_staged"


def dedup_meta(params: RunParams, config: MinHashConfig = DEFAULT_CONFIG) -> dict[str, str]:
    return {"mode": params.dedup, "key": "" if params.dedup == "off" else config.key}


def check_dedup(manifest: Manifest | None, params: RunParams) -> None:
    """A version made with another dedup mode or signatures cannot be continued: its rows
    and index would disagree with this run's."""
    if manifest is None or params.full_refresh:
        return
    have = manifest.dedup or {"mode": "off", "key": ""}
    want = dedup_meta(params)
    if have != want:
        raise UsageError(
            f"the published version was made with --dedup {have['mode']}"
            f"{' (' + have['key'] + ')' if have['key'] else ''}; this run asks for "
            f"--dedup {want['mode']}{' (' + want['key'] + ')' if want['key'] else ''}: "
            "run once with --full-refresh"
        )


def load_index(store: Store, manifest: Manifest | None, config: MinHashConfig) -> list[Entries]:
    """The published index, one :class:`Entries` per part (empty when there is none, or it
    was made with other signatures)."""
    if manifest is None or (manifest.dedup or {}).get("key") != config.key:
        return []
    parts = []
    for rel in manifest.files.get(INDEX, []):
        table = pq.read_table(store.path(rel), filesystem=store.filesystem())
        entries = Entries.from_table(table, config)
        entries.part = rel  # type: ignore[attr-defined]
        parts.append(entries)
    return parts


def published_base(store: Store, full_refresh: bool) -> Manifest | None:
    """The published version the reduce starts from. A ``--full-refresh`` rebuilds a
    damaged output too (the pointer names a manifest that is gone): it needs none, so it
    goes on without (every document then counts as first published by this run)."""
    try:
        return store.current_manifest()
    except DamagedOutput:
        if not full_refresh:
            raise
        return None


def handover_sources(
    store: Store, manifest: Manifest | None, changed: list[str], params: RunParams
) -> list[str]:
    """``--dedup drop``: the unchanged sources to process again because the
    representative of their cluster changes in this run (their rows must be publishable
    when one of them takes the role)."""
    if params.dedup != "drop" or manifest is None or params.full_refresh:
        return []
    gone = {
        manifest.sources[s].doc_id
        for s in changed
        if s in manifest.sources and manifest.sources[s].status == "published"
    }
    if not gone:
        return []
    copies: set[str] = set()
    for part in load_index(store, manifest, DEFAULT_CONFIG):
        copies.update(
            d for d, dup in zip(part.doc_id, part.duplicate_of, strict=True) if dup in gone
        )
    return sorted(
        s for s, e in manifest.sources.items() if e.status == "duplicate" and e.doc_id in copies
    )


@dataclass
class DedupOutcome:
    """What the reduce did, for the report; ``dropped``: copies not published (drop)."""

    counts: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    rewritten_parts: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "dropped": self.dropped,
            "rewritten_parts": self.rewritten_parts,
            "seconds": round(self.seconds, 3),
        }


class Reduce:
    """One run's dedup reduce: :meth:`before_snapshot`, then :meth:`after_snapshot`."""

    def __init__(self, store: Store, run_id: str, params: RunParams, base: Manifest | None):
        self.store = store
        self.run_id = run_id
        self.params = params
        self.config = DEFAULT_CONFIG
        self.base = base
        self.folder = f"{SNAPSHOTS}/{run_id}"
        self.outcome = DedupOutcome()
        self.update: Update | None = None
        self.index_parts: list[Entries] = []
        self.index_files: list[str] = []
        self.new_ids: set[str] = set()
        self.rewritten: list[str] = []  # parts of earlier versions written into this one

    # -- before the snapshot: link, drop copies from this run's parts ------------------------

    def before_snapshot(
        self,
        staged: dict[str, list[str]],
        outcomes: list[tuple[Outcome, str | None]],
        entry_files: list[str],
    ) -> tuple[dict[str, list[str]], list[tuple[Outcome, str | None]]]:
        started = time.process_time()
        full = self.params.full_refresh
        try:
            self.index_parts = load_index(self.store, self.base, self.config)
        except FileNotFoundError:
            if not full:
                raise
            # a damaged output rebuilt: the index only lends its order (the runs that
            # first published each document); without it, this run is their first
            self.index_parts = []
        index = Entries.concat(self.index_parts, self.config)
        new = Entries.concat(
            [
                Entries.from_table(
                    pq.read_table(self.store.path(f), filesystem=self.store.filesystem()),
                    self.config,
                )
                for f in entry_files
            ],
            self.config,
        )
        self.new_ids = set(new.doc_id)
        sources = self.base.sources if self.base is not None else {}
        removed = {
            sources[o.source].doc_id
            for o, _ in outcomes
            if o.source in sources and sources[o.source].status in HAS_ROWS
        }
        if self.params.dedup == "drop":
            # copies whose representative goes and that this run did not process again
            # (their source left the input) cannot take the role: they leave the index
            reps_gone = removed & {d for d in index.duplicate_of if d is not None}
            removed |= {
                d
                for d, dup in zip(index.doc_id, index.duplicate_of, strict=True)
                if dup in reps_gone and d not in self.new_ids
            }
        self.update = update_index(index, removed, new, self.config, full_refresh=full)
        self.removed = removed
        self.outcome.counts = self.update.counts()
        if self.params.dedup == "drop":
            staged, outcomes = self._drop(staged, outcomes)
        self.index_files = self._write_index()
        self.outcome.seconds += time.process_time() - started
        return staged, outcomes

    def snapshot_extras(self) -> dict[str, Any]:
        """What the version's manifest records of dedup (see ``Store.build_snapshot``)."""
        return {"extra_files": {INDEX: self.index_files}, "dedup": dedup_meta(self.params)}

    def _drop(
        self, staged: dict[str, list[str]], outcomes: list[tuple[Outcome, str | None]]
    ) -> tuple[dict[str, list[str]], list[tuple[Outcome, str | None]]]:
        assert self.update is not None
        links = dict(zip(self.update.entries.doc_id, self.update.entries.duplicate_of, strict=True))
        sims = dict(zip(self.update.entries.doc_id, self.update.entries.similarity, strict=True))
        dropped = {d for d in self.new_ids if links.get(d) is not None}
        self.outcome.dropped = len(dropped)
        if not dropped:
            return staged, outcomes
        staged = dict(staged)
        for ds in ("documents", "sentences"):
            kept = []
            for rel in staged.get(ds, []):
                if self._rewrite(rel, rel, drop=dropped):
                    kept.append(rel)
            staged[ds] = kept
        dups = f"{self.folder}/duplicates/part-{self.run_id}-duplicates.parquet"
        rows = [o for o, _ in outcomes if o.doc_id in dropped and o.status == "published"]
        now = datetime.now(UTC)
        table = pa.table(
            {
                "doc_id": [o.doc_id for o in rows],
                "source": [o.source for o in rows],
                "duplicate_of": [links[o.doc_id] for o in rows],
                "dup_similarity": [sims[o.doc_id] for o in rows],
                "content_sha256": [o.content_sha256 for o in rows],
                "run_id": [self.run_id] * len(rows),
                "processed_at": pa.array([now] * len(rows), DUPLICATES.field("processed_at").type),
            },
            schema=DUPLICATES,
        )
        self._write(table, dups)
        staged["duplicates"] = [*staged.get("duplicates", []), dups]
        outcomes = [
            (replace(o, status="duplicate"), dups)
            if o.doc_id in dropped and o.status == "published"
            else (o, f)
            for o, f in outcomes
        ]
        return staged, outcomes

    # -- after the snapshot: links in earlier rows, the index, the manifest -------------------

    def after_snapshot(self, manifest: Manifest) -> None:
        """``--dedup mark``: the links into the rows of the version. A part of an earlier
        version that is written again lands in this run's folder; on object storage the
        manifest then names it instead of the old one, and is written again."""
        started = time.process_time()
        if self.params.dedup == "mark":
            before = list(manifest.files["documents"])
            self._mark(manifest)
            if manifest.files["documents"] != before:
                manifest.files["documents"].sort()
                self.store.save_manifest(manifest)
        self.outcome.seconds += time.process_time() - started

    def _mark(self, manifest: Manifest) -> None:
        """Write the changed links into the rows of the new version."""
        assert self.update is not None
        changed = self.update.changed
        if not changed:
            return
        where: dict[str, str] = {}  # doc_id -> basename of the documents part
        for entry in manifest.sources.values():
            if entry.status == "published" and entry.doc_id in changed and entry.file:
                where[entry.doc_id] = posixpath.basename(entry.file)
        by_part: dict[str, dict[str, tuple[str | None, float | None]]] = {}
        for doc_id, link in changed.items():
            if doc_id in where:
                by_part.setdefault(where[doc_id], {})[doc_id] = link
        files = manifest.files["documents"]
        for i, rel in enumerate(files):
            links = by_part.get(posixpath.basename(rel))
            if not links:
                continue
            target = f"{self.folder}/documents/{posixpath.basename(rel)}"
            self._rewrite(rel, target, links=links)
            files[i] = target
            self.rewritten.append(target)
            self.outcome.rewritten_parts += 1

    def abandon(self) -> None:
        """The version will not be published (a dataset check failed): the rows and the
        index written go, so a version that keeps the previous ones links their old parts.
        Only what is in this run's folder: on object storage a carried index part is the
        published version's own object (``Store._carry`` copies nothing there)."""
        mine = [f for f in (*self.rewritten, *self.index_files) if f.startswith(self.folder + "/")]
        self.store.delete(mine)
        self.rewritten, self.index_files = [], []

    def _write_index(self) -> list[str]:
        """This run's part (new and changed entries), and the earlier parts: carried, or
        written again without the entries that left or changed."""
        assert self.update is not None
        entries = self.update.entries
        fresh = self.new_ids | set(self.update.changed)
        out: list[str] = []
        if not self.params.full_refresh:
            leaving = self.removed | fresh
            for part in self.index_parts:
                rel = part.part  # type: ignore[attr-defined]
                name = posixpath.basename(rel)
                if leaving.isdisjoint(part.doc_id):
                    out.append(self.store._carry(rel, f"{self.folder}/{INDEX}/{name}"))
                    continue
                keep = [i for i, d in enumerate(part.doc_id) if d not in leaving]
                if keep:
                    target = f"{self.folder}/{INDEX}/{name}"
                    self._write(part.take(keep).to_table(self.config), target, INDEX_COMPRESSION)
                    out.append(target)
        rows = [i for i, d in enumerate(entries.doc_id) if d in fresh]
        if rows:
            own = f"{self.folder}/{INDEX}/part-{self.run_id}.parquet"
            self._write(entries.take(rows).to_table(self.config), own, INDEX_COMPRESSION)
            out.append(own)
        return sorted(out)

    # -- Parquet parts ----------------------------------------------------------------------

    def _write(self, table: pa.Table, rel: str, compression: str = COMPRESSION) -> None:
        """Write a part under its final name, atomically on a local disk (a hard link of
        the previous version may have that name: it is replaced, never written through)."""
        fs = self.store.filesystem()
        path = self.store.path(rel)
        if fs is not None:
            pq.write_table(table, path, compression=compression, filesystem=fs)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = os.path.join(
            os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp"
        )
        pq.write_table(table, tmp, compression=compression)
        os.replace(tmp, path)

    def _rewrite(
        self,
        rel: str,
        target: str,
        drop: set[str] | None = None,
        links: dict[str, tuple[str | None, float | None]] | None = None,
    ) -> int:
        """``rel`` written to ``target`` without the rows of ``drop`` and with ``links``
        set; returns the rows kept (a part left empty is deleted, not written)."""
        fs = self.store.filesystem()
        table = pq.read_table(self.store.path(rel), filesystem=fs)
        schema = table.schema
        if drop:
            table = table.filter(
                pc.invert(pc.is_in(table["doc_id"], value_set=pa.array(sorted(drop))))
            )
        if links:
            ids = table.column("doc_id").to_pylist()
            dup = table.column("duplicate_of").to_pylist()
            sim = table.column("dup_similarity").to_pylist()
            for i, d in enumerate(ids):
                if d in links:
                    dup[i], sim[i] = links[d]
            table = table.set_column(
                schema.get_field_index("duplicate_of"),
                schema.field("duplicate_of"),
                pa.array(dup, pa.string()),
            ).set_column(
                schema.get_field_index("dup_similarity"),
                schema.field("dup_similarity"),
                pa.array(sim, pa.float64()),
            )
        if table.num_rows == 0:
            self.store.delete([rel])
            return 0
        self._write(table.replace_schema_metadata(schema.metadata), target)
        return table.num_rows


def carry_index(store: Store, base: Manifest | None, manifest: Manifest, params: RunParams) -> None:
    """A version that publishes no documents (a blocked run) keeps the index as it was
    (a blocked first run: none, under this run's mode, so the next run may continue)."""
    if base is None:
        if params.dedup != "off":
            manifest.dedup = dedup_meta(params)
            store.save_manifest(manifest)
        return
    folder = f"{SNAPSHOTS}/{manifest.snapshot_id}"
    manifest.files[INDEX] = sorted(
        store._carry(rel, f"{folder}/{INDEX}/{posixpath.basename(rel)}")
        for rel in base.files.get(INDEX, [])
    )
    manifest.dedup = base.dedup
    store.save_manifest(manifest)
