"""Snapshots of the published datasets, committed atomically, on a local disk or object storage.

A run writes its parts into its own snapshot folder, ``_snapshots/<run_id>/``, which no
reader looks at until the run commits. The snapshot's manifest lists, per dataset
(documents, sentences and the quarantine log), every file the version consists of, and
the state of every source. Committing is one atomic step that makes that manifest the
current one:

- **local disk**: files of the previous version that stay are hard-linked into the new
  folder, and ``current -> _snapshots/<run_id>`` is swapped with one ``rename``. The
  links ``documents``, ``sentences`` and ``quarantine`` point through ``current``, so
  ``pd.read_parquet("output/documents")`` always reads one whole version.
- **object storage** (``s3://…``): there are no links and no renames, so nothing is
  copied: the manifest refers to unchanged parts where they already are, and the small
  pointer ``_current.json`` (the manifest's file lists) is replaced last, with a
  conditional put on the version the run started from. Readers resolve the pointer
  (``zhclean.open_dataset``), never a prefix listing.

A crash at any point leaves the current version as it was; the next run removes what is
not referenced (:meth:`Store.begin`) and reports the run it interrupted.

**Fencing on object storage.** The lease (``zhclean.run.lock``) keeps runs apart while
they are alive, but a run can stall (stopped, swapped out, cut off) past its lease and
resume after another run took over; nothing on S3 can make two objects change together.
So the pointer, not the lease, decides who may publish:

- a run that starts bumps the pointer's ``generation`` (:meth:`ObjectStore.fence`, a
  conditional put, its content otherwise unchanged) and commits only on the pointer it
  wrote: a stalled run that resumes after a newer run started can no longer commit;
- a run records its generation in its folder (``_snapshots/<run_id>/_run.json``) before
  it writes a part, and cleanup deletes only unreferenced files in folders of older
  generations than the pointer it read first. Every version committed later refers only
  to files that pointer's versions refer to or to folders of its generation or newer, so
  a run that cleans up late (stalled before its cleanup) deletes nothing they need.

Together: whatever the interleaving, the pointer names only files that exist. An output
damaged otherwise (by hand, or by a zhclean before the fence) is named by the next run
(:class:`DamagedOutput`) and rebuilt by ``--full-refresh``.

Both JSON files may gain keys (readers ignore keys they do not know): the fence keeps the
pointer's keys as they are (its version is the same), a commit writes a new pointer.
"""

from __future__ import annotations

import email.utils
import json
import os
import posixpath
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.contract.versions import SCHEMA_VERSIONS
from zhclean.core.location import is_remote, join, remote_fs
from zhclean.core.record import Outcome
from zhclean.run.errors import RunError, UsageError
from zhclean.run.faults import BEFORE_CLEANUP, crash_point
from zhclean.writers.parquet import COMPRESSION, write_empty

DATASETS = ("documents", "sentences", "quarantine", "duplicates")
# rows replaced per source; the quarantine is a log
PUBLISHED = ("documents", "sentences", "duplicates")
# Statuses of a source whose rows are in a published dataset: documents and sentences, or
# (a near-duplicate not published, --dedup drop) the duplicates dataset.
HAS_ROWS = ("published", "duplicate")
SNAPSHOTS = "_snapshots"
RUNS = "_runs"
CURRENT = "current"
POINTER = "_current.json"
MANIFEST = "_manifest.json"
EMPTY_PART = "part-empty.parquet"
RUN_MARKER = "_run.json"  # in a run's folder: its generation (object storage)
KEEP_SNAPSHOTS = 3
FORMAT = 2  # of the manifest
POINTER_FORMAT = 3  # of _current.json: 3 added "generation" and the pointer to nothing


class OutputLayoutError(UsageError):
    """The output directory holds something zhclean did not create."""


class PreconditionFailed(Exception):
    """A conditional write lost: the object exists (create) or changed since it was read."""


class ConcurrentPublish(RunError):
    """Another run started or published between this run's start and its commit."""

    status = "failed"


class DamagedOutput(UsageError):
    """The current version names files that do not exist; ``--full-refresh`` rebuilds it."""


@dataclass
class Published:
    """The published state, read once (the pointer first): see :meth:`Store.begin`."""

    generation: int = 0  # object storage: the pointer's fence generation
    snapshot_id: str | None = None
    current: Manifest | None = None
    referenced: set[str] = field(default_factory=set)  # every file kept versions refer to
    damage: str | None = None  # why the current version cannot be read (None: it can)


@dataclass
class Start:
    """What :meth:`Store.begin` found and did for a run, under the output's lock."""

    version: str | None  # the token the run's commit is conditional on
    removed: list[str]  # leftovers deleted
    interrupted: dict[str, bool]  # unfinished run -> its snapshot is the current one


@dataclass
class SourceEntry:
    """Manifest state of one source: its content hash and where its rows live."""

    sha256: str
    doc_id: str
    status: str  # "published" | "quarantined" | "duplicate" (not published: --dedup drop)
    run_id: str
    file: str | None = None  # the documents (duplicates) part holding its row, from the root
    check: str | None = None


@dataclass
class Manifest:
    """One published version: its files per dataset (relative to the root) and sources."""

    snapshot_id: str
    run_id: str
    parent: str | None
    created_at: str
    schema_versions: dict[str, int]
    files: dict[str, list[str]]
    sources: dict[str, SourceEntry] = field(default_factory=dict)
    format: int = FORMAT
    # near-duplicates: the mode and signature key the version was made with (None: off or
    # older); its index files are files["_dedup"] (zhclean.run.dedup_publish)
    dedup: dict[str, str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        for key in [k for k in data if k not in known]:  # written by a newer zhclean
            del data[key]
        data["sources"] = {k: SourceEntry(**v) for k, v in data["sources"].items()}
        if data.get("format", 1) == 1:  # names inside the snapshot folder, no quarantine
            folder = f"{SNAPSHOTS}/{data['snapshot_id']}"
            data["files"] = {
                ds: [f"{folder}/{ds}/{n}" for n in names] for ds, names in data["files"].items()
            }
            for entry in data["sources"].values():
                if entry.file:
                    entry.file = f"{folder}/documents/{entry.file}"
            data["files"].setdefault("quarantine", [])
            data["format"] = FORMAT
        return cls(**data)


def _pointer(manifest: Manifest, generation: int) -> str:
    """What readers need and nothing else: the version and its files per dataset (and
    the generation of the run that may commit the next one)."""
    return json.dumps(
        {
            "format": POINTER_FORMAT,
            "generation": generation,
            "snapshot": manifest.snapshot_id,
            "manifest": f"{SNAPSHOTS}/{manifest.snapshot_id}/{MANIFEST}",
            "created_at": manifest.created_at,
            "schema_versions": manifest.schema_versions,
            "datasets": manifest.files,
        },
        ensure_ascii=False,
        indent=1,
    )


class Store:
    """The published state of one output location (see the module docstring)."""

    remote = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = str(root).rstrip("/") or "/"

    # -- paths and small files ---------------------------------------------------------

    def path(self, relative: str) -> str:
        return join(self.root, relative)

    def snapshot_dir(self, run_id: str) -> str:
        """Where a run writes its parts: its own snapshot folder."""
        return self.path(f"{SNAPSHOTS}/{run_id}")

    def read_text(self, relative: str) -> str | None:
        raise NotImplementedError

    def write_text(self, relative: str, text: str) -> None:
        raise NotImplementedError

    def exists(self, relative: str) -> bool:
        return self.read_text(relative) is not None

    def files_under(self, relative: str) -> list[str]:
        """Every file below ``relative``, as paths relative to the root."""
        raise NotImplementedError

    def delete(self, relatives: Iterable[str]) -> None:
        raise NotImplementedError

    def filesystem(self) -> Any:
        """The filesystem readers pass to pyarrow (None: the local one)."""
        return None

    # -- the current version -------------------------------------------------------------

    def current_manifest(self) -> Manifest | None:
        raise NotImplementedError

    def current_snapshot_id(self) -> str | None:
        """The current version's id, without reading its manifest."""
        raise NotImplementedError

    def current_files(self, dataset: str) -> list[str]:
        """The files of ``dataset`` in the current version, as full paths or URIs."""
        manifest = self.current_manifest()
        if manifest is None:
            raise FileNotFoundError(f"nothing has been published under {self.root} yet")
        return [self.path(f) for f in manifest.files[dataset]]

    def check_layout(self) -> None:
        """Refuse an output that was not written by this zhclean (or an older format)."""

    def check_versions(self, full_refresh: bool, manifest: Manifest | None = None) -> None:
        """Rows of two schema versions cannot share a dataset: an output published by an
        older contract is rebuilt with ``--full-refresh`` or written elsewhere."""
        if full_refresh:
            return
        manifest = manifest or self.current_manifest()
        if manifest is None or manifest.schema_versions == SCHEMA_VERSIONS:
            return
        raise UsageError(
            f"{self.root} was published with schema versions {manifest.schema_versions}; this "
            f"zhclean writes {SCHEMA_VERSIONS}: run once with --full-refresh, or use a new --output"
        )

    # -- housekeeping ---------------------------------------------------------------------

    def _kept(self, manifest: Manifest | None = None) -> list[Manifest]:
        """The current manifest and its recent ancestors (readers may still hold them)."""
        kept: list[Manifest] = []
        manifest = manifest or self.current_manifest()
        while manifest is not None and len(kept) < KEEP_SNAPSHOTS:
            kept.append(manifest)
            text = (
                self.read_text(f"{SNAPSHOTS}/{manifest.parent}/{MANIFEST}")
                if manifest.parent
                else None
            )
            manifest = Manifest.from_json(text) if text else None
        return kept

    def fence(self) -> tuple[str | None, int]:
        """Make every run that started earlier unable to commit; return the version token
        this run commits on, and its generation. A local output needs nothing: the
        ``flock`` is held until its holder dies, so no earlier run is still alive."""
        return self.version(), 0

    def begin(
        self,
        run_id: str,
        full_refresh: bool,
        check: Callable[[Manifest | None], None] | None = None,
    ) -> Start:
        """Start a run, under the output's lock: fence out earlier runs, check the current
        version (damage, schema versions, and the caller's ``check`` of it, which raises
        to refuse the run), report and remove what interrupted runs left.

        Only ``--full-refresh`` may start from a damaged version: it does not read it.
        """
        version, generation = self.fence()
        crash_point(BEFORE_CLEANUP)
        state = self._published()  # the pointer first, then the listing (see the docstring)
        listing = self.files_under(SNAPSHOTS)
        if state.current is not None and state.damage is None:
            listed = set(listing)
            missing = sorted(
                f for names in state.current.files.values() for f in names if f not in listed
            )
            if missing:
                state.damage = (
                    f"the published version of {self.root} lists {len(missing)} file"
                    f"{'s' if len(missing) > 1 else ''} that do not exist ({missing[0]}"
                    f"{', …' if len(missing) > 1 else ''})"
                )
        if state.damage and not full_refresh:
            raise DamagedOutput(
                f"{state.damage}: the output is damaged; run once with --full-refresh to "
                "rebuild it from the input"
            )
        self.check_versions(full_refresh, state.current)
        if check is not None:
            check(state.current)
        interrupted, removed = self._leftovers(state, listing)
        removed = self._cleanup(removed)
        self._mark(run_id, generation)
        return Start(version, removed, interrupted)

    def _published(self) -> Published:
        current = self.current_manifest()
        return Published(
            snapshot_id=self.current_snapshot_id(),
            current=current,
            referenced=self._referenced(current),
        )

    def _referenced(self, current: Manifest | None) -> set[str]:
        referenced: set[str] = set()
        for manifest in self._kept(current) if current is not None else []:
            referenced.add(f"{SNAPSHOTS}/{manifest.snapshot_id}/{MANIFEST}")
            for names in manifest.files.values():
                referenced.update(names)
        return referenced

    def _stale_folders(self, folders: set[str], generation: int) -> set[str]:
        """The run folders whose runs can no longer commit (local: all of them)."""
        return folders

    def _mark(self, run_id: str, generation: int) -> None:
        """Record the run's generation in its folder, before it writes a part."""

    def _leftovers(self, state: Published, listing: list[str]) -> tuple[dict[str, bool], list[str]]:
        """Runs that wrote a snapshot folder but no report (killed before or after their
        commit: the caller writes their ``interrupted`` report, with whether their
        snapshot is the current one), and the snapshot files that no kept version refers
        to, both only of runs that can no longer commit."""
        reports = {
            posixpath.basename(p)[: -len(".json")]
            for p in self.files_under(RUNS)
            if p.endswith(".json")
        }
        unreferenced = [p for p in listing if p not in state.referenced]
        folders = _folders(listing)
        candidates = {p.split("/")[1] for p in unreferenced} | (folders - reports)
        stale = self._stale_folders(candidates, state.generation)
        interrupted = {r: r == state.snapshot_id for r in sorted(stale - reports)}
        return interrupted, [p for p in unreferenced if p.split("/")[1] in stale]

    def cleanup(self) -> list[str]:
        """Delete every snapshot file no kept version refers to and no live run may still
        need; return what was deleted (:meth:`begin` does it for every run)."""
        _, removed = self._leftovers(self._published(), self.files_under(SNAPSHOTS))
        return self._cleanup(removed)

    def _cleanup(self, removed: list[str]) -> list[str]:
        self.delete(removed)
        return removed

    def discard(self, run_id: str) -> None:
        """Drop a run's snapshot folder (nothing in it was committed)."""
        self.delete(self.files_under(f"{SNAPSHOTS}/{run_id}"))

    # -- building and committing a version --------------------------------------------------

    def build_snapshot(
        self,
        run_id: str,
        staged: dict[str, list[str]],
        outcomes: Iterable[tuple[Outcome, str | None]],
        full_refresh: bool,
        publish: bool = True,
        extra_files: dict[str, list[str]] | None = None,
        dedup: dict[str, str] | None = None,
    ) -> Manifest:
        """The next version, complete in the run's folder (nothing visible changes).

        ``staged`` names the part files this run's shards wrote, per dataset (relative
        to the root); ``outcomes`` pairs each processed source's outcome with the staged
        documents file holding its row. With ``publish`` off (a blocked run), documents,
        sentences and sources stay as they are and only the quarantine grows.
        ``extra_files`` (the near-duplicate index, already in the run's folder) and
        ``dedup`` are recorded as they are.
        """
        base = None if full_refresh else self.current_manifest()
        folder = f"{SNAPSHOTS}/{run_id}"
        files: dict[str, list[str]] = {ds: [] for ds in DATASETS}
        sources: dict[str, SourceEntry] = dict(base.sources) if base else {}
        # Rows of a source processed again go: the documents part named in its entry and
        # the sentences part of the same name hold them.
        drop_by_part: dict[str, set[str]] = {}
        # A source deleted during the run keeps its rows and entry, as if deleted before.
        outcomes = [(o, f) for o, f in outcomes if o.status != "missing"] if publish else []
        for o, _ in outcomes:
            old = sources.get(o.source)
            if old is not None and old.status in HAS_ROWS and old.file:
                drop_by_part.setdefault(posixpath.basename(old.file), set()).add(old.doc_id)
        if base is not None:
            for ds in DATASETS:
                for rel in base.files.get(ds, []):
                    if posixpath.basename(rel) == EMPTY_PART:
                        continue
                    name = posixpath.basename(rel)
                    target = f"{folder}/{ds}/{name}"
                    if ds in PUBLISHED and name in drop_by_part:
                        if self._rewrite_without(rel, target, drop_by_part[name], ds):
                            files[ds].append(target)
                    else:
                        files[ds].append(self._carry(rel, target))
        for ds in DATASETS:
            if ds in PUBLISHED and not publish:
                self.delete(staged.get(ds, []))  # a blocked run's rows are not published
            else:
                files[ds].extend(staged.get(ds, []))
            if not files[ds]:  # every dataset has a file: readers that glob need one
                empty = f"{folder}/{ds}/{EMPTY_PART}"
                write_empty(self.path(empty), ARROW_SCHEMAS[ds])
                files[ds].append(empty)
        for o, file in outcomes:
            sources[o.source] = SourceEntry(
                o.content_sha256, o.doc_id, o.status, run_id, file, o.check
            )
        manifest = Manifest(
            snapshot_id=run_id,
            run_id=run_id,
            parent=None if base is None else base.snapshot_id,
            created_at=datetime.now(UTC).isoformat(),
            schema_versions=dict(SCHEMA_VERSIONS),
            files={ds: sorted(names) for ds, names in {**files, **(extra_files or {})}.items()},
            sources=dict(sorted(sources.items())),
            dedup=dedup,
        )
        self.save_manifest(manifest)
        return manifest

    def save_manifest(self, manifest: Manifest) -> None:
        """Write (or write again, once complete) a version's manifest in its folder."""
        self.write_text(f"{SNAPSHOTS}/{manifest.snapshot_id}/{MANIFEST}", manifest.to_json())

    def _carry(self, rel: str, target: str) -> str:
        """Make an unchanged part of the previous version part of the new one."""
        raise NotImplementedError

    def _rewrite_without(self, rel: str, target: str, doc_ids: set[str], dataset: str) -> int:
        table = pq.read_table(
            self.path(rel), schema=ARROW_SCHEMAS[dataset], filesystem=self.filesystem()
        )
        mask = pc.invert(pc.is_in(table["doc_id"], value_set=pa.array(sorted(doc_ids))))
        kept = table.filter(mask)
        if kept.num_rows:
            pq.write_table(
                kept, self.path(target), compression=COMPRESSION, filesystem=self.filesystem()
            )
        return kept.num_rows

    def version(self) -> str | None:
        """A token for the current version; a run records it when it starts, and commits
        only if it is still the current one (None: nothing published yet)."""
        raise NotImplementedError

    def commit(self, manifest: Manifest, expected: str | None) -> None:
        """Make ``manifest`` the current version, atomically, if ``expected`` still is."""
        raise NotImplementedError

    # -- reports ---------------------------------------------------------------------------

    def write_report(self, run_id: str, report: dict[str, Any]) -> str:
        self.write_text(
            f"{RUNS}/{run_id}.json", json.dumps(report, ensure_ascii=False, indent=1, default=str)
        )
        return self.path(f"{RUNS}/{run_id}.json")

    def read_report(self, run_id: str | None = None) -> dict[str, Any]:
        """The report of ``run_id``, or of the latest run (run ids sort by time)."""
        if run_id is None:
            reports = sorted(p for p in self.files_under(RUNS) if p.endswith(".json"))
            if not reports:
                raise FileNotFoundError(f"no run reports under {self.path(RUNS)}")
            run_id = posixpath.basename(reports[-1])[: -len(".json")]
        text = self.read_text(f"{RUNS}/{run_id}.json")
        if text is None:
            raise FileNotFoundError(f"no report for run {run_id} under {self.path(RUNS)}")
        return json.loads(text)


class LocalStore(Store):
    """An output directory on a local (or mounted) filesystem."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(str(Path(root)))
        self.base = Path(root)

    def read_text(self, relative: str) -> str | None:
        try:
            return (self.base / relative).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_text(self, relative: str, text: str) -> None:
        path = self.base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def files_under(self, relative: str) -> list[str]:
        top = self.base / relative
        if not top.is_dir():
            return []
        return sorted(p.relative_to(self.base).as_posix() for p in top.rglob("*") if p.is_file())

    def delete(self, relatives: Iterable[str]) -> None:
        folders = set()
        for rel in relatives:
            path = self.base / rel
            path.unlink(missing_ok=True)
            folders.update(path.parents)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            if self.base in folder.parents and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # empty snapshot folders go too

    def current_snapshot(self) -> Path | None:
        link = self.base / CURRENT
        if not link.is_symlink():
            return None
        target = link.resolve()
        return target if target.is_dir() else None

    def current_manifest(self) -> Manifest | None:
        snap = self.current_snapshot()
        if snap is None or not (snap / MANIFEST).exists():
            return None
        return Manifest.from_json((snap / MANIFEST).read_text(encoding="utf-8"))

    def current_snapshot_id(self) -> str | None:
        snap = self.current_snapshot()
        return None if snap is None else snap.name

    def check_layout(self) -> None:
        for name in (*PUBLISHED, CURRENT):
            path = self.base / name
            if path.exists() and not path.is_symlink():
                raise OutputLayoutError(
                    f"{path} exists and is not a zhclean-managed link; "
                    "use an empty or zhclean-created --output directory"
                )

    def _carry(self, rel: str, target: str) -> str:
        dst = self.base / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.base / rel, dst)
        except FileExistsError:
            pass  # a retried publish linked it already
        except OSError:
            shutil.copy2(self.base / rel, dst)
        return target

    def _rewrite_without(self, rel: str, target: str, doc_ids: set[str], dataset: str) -> int:
        (self.base / target).parent.mkdir(parents=True, exist_ok=True)
        return super()._rewrite_without(rel, target, doc_ids, dataset)

    def version(self) -> str | None:
        snap = self.current_snapshot()
        return None if snap is None else snap.name

    def _cleanup(self, removed: list[str]) -> list[str]:
        removed = super()._cleanup(removed)
        for pattern in (".*.tmp-*", f"{RUNS}/.*.tmp-*"):  # half-written pointers and reports
            for tmp in self.base.glob(pattern):
                tmp.unlink(missing_ok=True)
                removed.append(str(tmp))
        return removed

    def commit(self, manifest: Manifest, expected: str | None) -> None:
        if self.version() != expected:  # the lock rules this out; a damaged lock would not
            raise ConcurrentPublish(f"{self.root} changed since this run started; run again")
        folder = self.base / SNAPSHOTS / manifest.snapshot_id
        for ds in DATASETS:  # readers list the folders: nothing else may be in them
            (folder / ds).mkdir(parents=True, exist_ok=True)
            listed = {posixpath.basename(f) for f in manifest.files[ds]}
            for path in (folder / ds).iterdir():
                if path.name not in listed:
                    path.unlink()
        for path in folder.rglob("*.parquet"):
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(folder.parent)
        self._migrate_quarantine_folder()
        for ds in DATASETS:  # links through `current` exist before the first swap
            link = self.base / ds
            if not link.is_symlink():
                _swap_symlink(link, f"{CURRENT}/{ds}")
        crash_point("before-swap")
        _swap_symlink(self.base / CURRENT, f"{SNAPSHOTS}/{manifest.snapshot_id}")
        _fsync_dir(self.base)
        crash_point("after-swap")

    def _migrate_quarantine_folder(self) -> None:
        """Outputs of the first format kept the quarantine log in a plain folder; its
        files (an older schema) move aside to ``_quarantine_v1/`` for readers who want
        them, and ``quarantine`` becomes a link like the other datasets."""
        old = self.base / "quarantine"
        if old.is_dir() and not old.is_symlink():
            old.rename(self.base / "_quarantine_v1")


class ObjectStore(Store):
    """An output prefix on object storage (S3 or compatible), through fsspec."""

    remote = True

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.fs = remote_fs(root)

    def filesystem(self) -> Any:
        return self.fs

    def read_text(self, relative: str) -> str | None:
        try:
            return self.fs.cat_file(self.path(relative)).decode("utf-8")
        except FileNotFoundError:
            return None

    def write_text(self, relative: str, text: str) -> None:
        self.fs.pipe_file(self.path(relative), text.encode("utf-8"))

    def files_under(self, relative: str) -> list[str]:
        top = self.path(relative)
        try:
            found = self.fs.find(top)
        except FileNotFoundError:
            return []
        prefix = self.fs._strip_protocol(self.root).rstrip("/") + "/"
        return sorted(p[len(prefix) :] for p in found if p.startswith(prefix))

    def delete(self, relatives: Iterable[str]) -> None:
        paths = [self.path(r) for r in relatives]
        if paths:
            self.fs.rm(paths)

    # -- conditional writes: the commit and the lease are built on them ----------------

    def _bucket_key(self, relative: str) -> tuple[str, str]:
        bucket, _, key = self.fs._strip_protocol(self.path(relative)).partition("/")
        return bucket, key

    def get(self, relative: str) -> tuple[bytes, str] | None:
        """An object's bytes and its ETag, read together."""
        bucket, key = self._bucket_key(relative)
        try:
            response = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return None
        return _read_body(self.fs, response["Body"]), response["ETag"]

    def put_if_absent(self, relative: str, data: bytes) -> str:
        return self._conditional("put_object", relative, Body=data, IfNoneMatch="*")["ETag"]

    def put_if_match(self, relative: str, data: bytes, etag: str) -> str:
        return self._conditional("put_object", relative, Body=data, IfMatch=etag)["ETag"]

    def delete_if_match(self, relative: str, etag: str) -> None:
        self._conditional("delete_object", relative, IfMatch=etag)

    def _conditional(self, operation: str, relative: str, **kwargs: Any) -> dict[str, Any]:
        bucket, key = self._bucket_key(relative)
        try:
            return self.fs.call_s3(operation, Bucket=bucket, Key=key, **kwargs)
        except (FileExistsError, FileNotFoundError) as err:  # s3fs's names for 412/404
            raise PreconditionFailed(str(err)) from err
        except OSError as err:
            if "pre-condition" in str(err) or "PreconditionFailed" in str(err) or "412" in str(err):
                raise PreconditionFailed(str(err)) from err
            raise

    def server_now(self) -> float:
        """The store's clock (the Date header of a response): leases expire by it, so the
        clocks of the machines running zhclean do not matter."""
        bucket, _ = self._bucket_key(POINTER)
        response = self.fs.call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)
        return email.utils.parsedate_to_datetime(
            response["ResponseMetadata"]["HTTPHeaders"]["date"]
        ).timestamp()

    # -- the current version ---------------------------------------------------------------

    def version(self) -> str | None:
        found = self.get(POINTER)
        return None if found is None else found[1]

    def _pointer_data(self) -> dict[str, Any] | None:
        found = self.get(POINTER)
        return None if found is None else json.loads(found[0])

    def current_snapshot_id(self) -> str | None:
        pointer = self._pointer_data()
        return None if pointer is None else pointer.get("snapshot")

    def current_manifest(self) -> Manifest | None:
        manifest, damage = self._read_current(self._pointer_data())
        if damage:
            raise DamagedOutput(f"{damage}; run once with --full-refresh to rebuild it")
        return manifest

    def _read_current(self, pointer: dict[str, Any] | None) -> tuple[Manifest | None, str | None]:
        """The manifest the pointer names, or why it cannot be read."""
        if pointer is None or not pointer.get("snapshot"):
            return None, None  # nothing published yet (a fenced, empty pointer)
        text = self.read_text(pointer["manifest"])
        if text is None:
            return None, (
                f"{self.path(POINTER)} names a manifest that does not exist ({pointer['manifest']})"
            )
        return Manifest.from_json(text), None

    def _published(self) -> Published:
        pointer = self._pointer_data()
        if pointer is None:
            return Published()
        state = Published(
            generation=int(pointer.get("generation", 0)), snapshot_id=pointer.get("snapshot")
        )
        state.current, state.damage = self._read_current(pointer)
        if state.snapshot_id:  # what readers of the pointer are handed, even if damaged
            state.referenced.add(pointer["manifest"])
            for names in (pointer.get("datasets") or {}).values():
                state.referenced.update(names)
        state.referenced |= self._referenced(state.current)
        return state

    def current_files(self, dataset: str) -> list[str]:
        pointer = self._pointer_data()  # one request: the pointer lists the files
        if pointer is None or not pointer.get("snapshot"):
            raise FileNotFoundError(f"nothing has been published under {self.root} yet")
        return [self.path(f) for f in pointer["datasets"][dataset]]

    def _carry(self, rel: str, target: str) -> str:
        return rel  # no copy: the new version refers to the part where it is

    # -- fencing: see the module docstring ---------------------------------------------

    def fence(self) -> tuple[str | None, int]:
        """Bump the pointer's generation (one conditional put; the version it names stays
        the same): a run that started earlier and commits later fails its conditional put.
        Before anything was published, the pointer is created, naming nothing."""
        for _ in range(100):
            found = self.get(POINTER)
            pointer = {"snapshot": None} if found is None else json.loads(found[0])
            generation = int(pointer.get("generation", 0)) + 1
            pointer["generation"] = generation
            pointer["format"] = max(int(pointer.get("format", 0)), POINTER_FORMAT)
            body = json.dumps(pointer, ensure_ascii=False, indent=1).encode("utf-8")
            try:
                if found is None:
                    return self.put_if_absent(POINTER, body), generation
                return self.put_if_match(POINTER, body, found[1]), generation
            except PreconditionFailed:
                continue  # a stalled run committed in between: fence on top of its version
        raise ConcurrentPublish(
            f"{self.path(POINTER)} keeps changing; is another zhclean writing it?"
        )

    def _mark(self, run_id: str, generation: int) -> None:
        self.write_text(
            f"{SNAPSHOTS}/{run_id}/{RUN_MARKER}",
            json.dumps({"run_id": run_id, "generation": generation}),
        )

    def _stale_folders(self, folders: set[str], generation: int) -> set[str]:
        """Folders of older generations than the pointer's (a folder without a record is
        older: left by a killed run, or written before the fence existed)."""
        stale = set()
        for folder in folders:
            text = self.read_text(f"{SNAPSHOTS}/{folder}/{RUN_MARKER}")
            if text is None or int(json.loads(text).get("generation", 0)) < generation:
                stale.add(folder)
        return stale

    def commit(self, manifest: Manifest, expected: str | None) -> None:
        """Swap the pointer, on condition that it is still the one this run wrote when
        it started (:meth:`fence`): no run has started since."""
        crash_point("before-swap")
        found = self.get(POINTER)
        try:
            if expected is None and found is None:  # a caller that did not fence
                self.put_if_absent(POINTER, _pointer(manifest, 0).encode("utf-8"))
            elif found is None or found[1] != expected:
                raise PreconditionFailed(f"{self.path(POINTER)} changed")
            else:
                generation = int(json.loads(found[0]).get("generation", 0))
                self.put_if_match(POINTER, _pointer(manifest, generation).encode("utf-8"), expected)
        except PreconditionFailed as err:
            raise ConcurrentPublish(
                f"the output {self.root} changed after this run started: another run took "
                "over its lease (this one was stopped or cut off for longer than the lease "
                "lasts); nothing of this run was published: run it again"
            ) from err
        crash_point("after-swap")


def _folders(listing: Iterable[str]) -> set[str]:
    """The run folders in a listing of ``_snapshots/``."""
    return {p.split("/")[1] for p in listing if p.count("/") >= 2}


def open_store(root: str | os.PathLike[str]) -> Store:
    """The store of an output location: a local path or an object-store URI."""
    return ObjectStore(str(root)) if is_remote(str(root)) else LocalStore(root)


def _read_body(fs: Any, body: Any) -> bytes:
    """Read a streaming response body on s3fs's event loop."""
    from fsspec.asyn import sync

    async def _read() -> bytes:
        async with body as stream:
            return await stream.read()

    return sync(fs.loop, _read)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_symlink(link: Path, target: str) -> None:
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
