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
not referenced (:meth:`Store.cleanup`) and reports the run it interrupted.
"""

from __future__ import annotations

import email.utils
import json
import os
import posixpath
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
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
from zhclean.run.faults import crash_point
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
KEEP_SNAPSHOTS = 3
FORMAT = 2


class OutputLayoutError(UsageError):
    """The output directory holds something zhclean did not create."""


class PreconditionFailed(Exception):
    """A conditional write lost: the object exists (create) or changed since it was read."""


class ConcurrentPublish(RunError):
    """Another run published between this run's start and its commit."""

    status = "failed"


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


def _pointer(manifest: Manifest) -> str:
    """What readers need and nothing else: the version and its files per dataset."""
    return json.dumps(
        {
            "format": FORMAT,
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

    def current_files(self, dataset: str) -> list[str]:
        """The files of ``dataset`` in the current version, as full paths or URIs."""
        manifest = self.current_manifest()
        if manifest is None:
            raise FileNotFoundError(f"nothing has been published under {self.root} yet")
        return [self.path(f) for f in manifest.files[dataset]]

    def check_layout(self) -> None:
        """Refuse an output that was not written by this zhclean (or an older format)."""

    def check_versions(self, full_refresh: bool) -> None:
        """Rows of two schema versions cannot share a dataset: an output published by an
        older contract is rebuilt with ``--full-refresh`` or written elsewhere."""
        manifest = self.current_manifest()
        if manifest is None or full_refresh or manifest.schema_versions == SCHEMA_VERSIONS:
            return
        raise UsageError(
            f"{self.root} was published with schema versions {manifest.schema_versions}; this "
            f"zhclean writes {SCHEMA_VERSIONS}: run once with --full-refresh, or use a new --output"
        )

    # -- housekeeping ---------------------------------------------------------------------

    def _kept(self) -> list[Manifest]:
        """The current manifest and its recent ancestors (readers may still hold them)."""
        kept: list[Manifest] = []
        manifest = self.current_manifest()
        while manifest is not None and len(kept) < KEEP_SNAPSHOTS:
            kept.append(manifest)
            text = (
                self.read_text(f"{SNAPSHOTS}/{manifest.parent}/{MANIFEST}")
                if manifest.parent
                else None
            )
            manifest = Manifest.from_json(text) if text else None
        return kept

    def unfinished_runs(self) -> list[str]:
        """Runs that wrote a snapshot folder but no report: runs that were killed, before
        or after their commit (the caller writes their ``interrupted`` report)."""
        folders = {p.split("/")[1] for p in self.files_under(SNAPSHOTS) if p.count("/") >= 2}
        return sorted(r for r in folders if not self.exists(f"{RUNS}/{r}.json"))

    def cleanup(self) -> list[str]:
        """Delete every snapshot file no kept version refers to; return what was deleted."""
        referenced: set[str] = set()
        for manifest in self._kept():
            referenced.add(f"{SNAPSHOTS}/{manifest.snapshot_id}/{MANIFEST}")
            for names in manifest.files.values():
                referenced.update(names)
        stale = [p for p in self.files_under(SNAPSHOTS) if p not in referenced]
        self.delete(stale)
        return stale

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

    def cleanup(self) -> list[str]:
        removed = super().cleanup()
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

    def current_manifest(self) -> Manifest | None:
        found = self.get(POINTER)
        if found is None:
            return None
        pointer = json.loads(found[0])
        text = self.read_text(pointer["manifest"])
        if text is None:
            raise RuntimeError(f"{self.path(POINTER)} names a manifest that does not exist")
        return Manifest.from_json(text)

    def current_files(self, dataset: str) -> list[str]:
        text = self.read_text(POINTER)  # one request: the pointer lists the files
        if text is None:
            raise FileNotFoundError(f"nothing has been published under {self.root} yet")
        return [self.path(f) for f in json.loads(text)["datasets"][dataset]]

    def _carry(self, rel: str, target: str) -> str:
        return rel  # no copy: the new version refers to the part where it is

    def commit(self, manifest: Manifest, expected: str | None) -> None:
        """Swap the pointer, on condition that it is still the version this run read."""
        crash_point("before-swap")
        body = _pointer(manifest).encode("utf-8")
        try:
            if expected is None:
                self.put_if_absent(POINTER, body)
            else:
                self.put_if_match(POINTER, body, expected)
        except PreconditionFailed as err:
            raise ConcurrentPublish(
                f"another run published to {self.root} after this one started; nothing of "
                "this run was published: run it again"
            ) from err
        crash_point("after-swap")


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
