"""Atomic, incremental publishing of the documents and sentences datasets.

Layout of an output directory::

    output/
      documents -> current/documents      (symlinks created once)
      sentences -> current/sentences
      current   -> _snapshots/<run_id>    (swapped atomically by each successful run)
      _snapshots/<run_id>/{documents,sentences}/part-*.parquet, _manifest.json
      quarantine/part-<run_id>.parquet    (append-only log, one file per run)
      _runs/<run_id>.json                 (run reports)
      _staging/<run_id>/                  (work in progress; removed on the next run)

A run builds a complete new snapshot beside the current one (unchanged part files are
hard-linked, files holding replaced documents are rewritten without them), checks it,
then swaps ``current`` with one ``rename``. A reader resolving ``output/documents`` sees
the old snapshot or the new one, never a mix; a crash at any point leaves ``current``
as it was, and the next run removes the leftovers.
"""

from __future__ import annotations

import json
import os
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
from zhclean.core.record import Outcome
from zhclean.run.errors import UsageError
from zhclean.run.faults import crash_point
from zhclean.writers.parquet import COMPRESSION, write_empty

PUBLISHED = ("documents", "sentences")
SNAPSHOTS = "_snapshots"
STAGING = "_staging"
RUNS = "_runs"
CURRENT = "current"
QUARANTINE = "quarantine"
MANIFEST = "_manifest.json"
EMPTY_PART = "part-empty.parquet"
KEEP_SNAPSHOTS = 3


class OutputLayoutError(UsageError):
    """The output directory holds something zhclean did not create."""


@dataclass
class SourceEntry:
    """Manifest state of one source: its content hash and where its rows live."""

    sha256: str
    doc_id: str
    status: str  # "published" | "quarantined"
    run_id: str
    file: str | None = None
    check: str | None = None


@dataclass
class Manifest:
    snapshot_id: str
    run_id: str
    parent: str | None
    created_at: str
    schema_versions: dict[str, int]
    files: dict[str, list[str]]
    sources: dict[str, SourceEntry] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["sources"] = {k: SourceEntry(**v) for k, v in data["sources"].items()}
        return cls(**data)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class OutputStore:
    """The published state of one output directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.snapshots = self.root / SNAPSHOTS
        self.runs = self.root / RUNS

    # -- reading ---------------------------------------------------------------------

    def current_snapshot(self) -> Path | None:
        link = self.root / CURRENT
        if not link.is_symlink():
            return None
        target = link.resolve()
        return target if target.is_dir() else None

    def current_manifest(self) -> Manifest | None:
        snap = self.current_snapshot()
        if snap is None or not (snap / MANIFEST).exists():
            return None
        return Manifest.from_json((snap / MANIFEST).read_text(encoding="utf-8"))

    # -- housekeeping ----------------------------------------------------------------

    def check_layout(self) -> None:
        """Refuse to write into an output directory whose dataset paths are not ours."""
        for name in (*PUBLISHED, CURRENT):
            path = self.root / name
            if path.exists() and not path.is_symlink():
                raise OutputLayoutError(
                    f"{path} exists and is not a zhclean-managed link; "
                    "use an empty or zhclean-created --output directory"
                )

    def unreported_staging(self) -> list[str]:
        """Run ids with staged work but no report: runs that were killed."""
        staging = self.root / STAGING
        if not staging.exists():
            return []
        return sorted(
            entry.name
            for entry in staging.iterdir()
            if not (self.runs / f"{entry.name}.json").exists()
        )

    def cleanup(self) -> list[str]:
        """Remove what interrupted runs left behind; return what was removed."""
        removed = []
        staging = self.root / STAGING
        if staging.exists():
            for entry in staging.iterdir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(str(entry))
        if self.snapshots.exists():
            keep = self._kept_snapshots()
            for entry in self.snapshots.iterdir():
                if entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(str(entry))
        for tmp in self.root.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
            removed.append(str(tmp))
        quarantine = self.root / QUARANTINE
        if quarantine.exists():
            for tmp in quarantine.glob("*.tmp"):
                tmp.unlink(missing_ok=True)
                removed.append(str(tmp))
        return removed

    def _kept_snapshots(self) -> set[str]:
        """The current snapshot and its recent ancestors (readers may still hold them)."""
        keep: set[str] = set()
        snap = self.current_snapshot()
        while snap is not None and len(keep) < KEEP_SNAPSHOTS:
            keep.add(snap.name)
            manifest_path = snap / MANIFEST
            if not manifest_path.exists():
                break
            parent = json.loads(manifest_path.read_text(encoding="utf-8")).get("parent")
            snap = (
                self.snapshots / parent if parent and (self.snapshots / parent).is_dir() else None
            )
        return keep

    def staging_dir(self, run_id: str) -> Path:
        path = self.root / STAGING / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- building and publishing -------------------------------------------------------

    def build_snapshot(
        self,
        run_id: str,
        staging: Path,
        outcomes: Iterable[tuple[Outcome, str | None]],
        full_refresh: bool,
    ) -> tuple[Path, Manifest]:
        """Assemble the next snapshot in a temporary directory (nothing visible changes).

        ``outcomes`` pairs each processed source's outcome with the staged documents file
        that holds its row (None when quarantined).
        """
        base = None if full_refresh else self.current_manifest()
        base_dir = None if full_refresh else self.current_snapshot()
        tmp = self.snapshots / f"{run_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for ds in PUBLISHED:
            (tmp / ds).mkdir(parents=True)

        # A source deleted during the run keeps its published rows and manifest entry,
        # as if it had been deleted before the run.
        outcomes = [(o, file) for o, file in outcomes if o.status != "missing"]
        sources: dict[str, SourceEntry] = dict(base.sources) if base else {}
        # Old rows of every source processed now are dropped: its new version (or its
        # quarantine record) replaces them.
        drop_by_file: dict[str, set[str]] = {}
        for o, _ in outcomes:
            old = sources.get(o.source)
            if old is not None and old.status == "published" and old.file:
                drop_by_file.setdefault(old.file, set()).add(old.doc_id)
        files: dict[str, list[str]] = {ds: [] for ds in PUBLISHED}
        if base and base_dir:
            for ds in PUBLISHED:
                for name in base.files.get(ds, []):
                    if name == EMPTY_PART:
                        continue
                    src = base_dir / ds / name
                    drop = drop_by_file.get(name)
                    if drop:
                        kept = self._rewrite_without(src, tmp / ds / name, drop, ds)
                        if kept:
                            files[ds].append(name)
                    else:
                        _link_or_copy(src, tmp / ds / name)
                        files[ds].append(name)
        for ds in PUBLISHED:
            staged_dir = staging / ds
            if staged_dir.exists():
                # Linked, not moved: a retried publish finds its staged parts again.
                for part in sorted(staged_dir.glob("*.parquet")):
                    _link_or_copy(part, tmp / ds / part.name)
                    files[ds].append(part.name)
            if not files[ds]:
                write_empty(tmp / ds / EMPTY_PART, ARROW_SCHEMAS[ds])
                files[ds].append(EMPTY_PART)
        for o, file in outcomes:
            sources[o.source] = SourceEntry(
                o.content_sha256, o.doc_id, o.status, run_id, file, o.check
            )
        manifest = Manifest(
            snapshot_id=run_id,
            run_id=run_id,
            parent=None if full_refresh or base is None else base.snapshot_id,
            created_at=datetime.now(UTC).isoformat(),
            schema_versions=dict(SCHEMA_VERSIONS),
            files={ds: sorted(names) for ds, names in files.items()},
            sources=dict(sorted(sources.items())),
        )
        _atomic_write_text(tmp / MANIFEST, manifest.to_json())
        return tmp, manifest

    @staticmethod
    def _rewrite_without(src: Path, dst: Path, doc_ids: set[str], dataset: str) -> int:
        table = pq.read_table(src, schema=ARROW_SCHEMAS[dataset])
        mask = pc.invert(pc.is_in(table["doc_id"], value_set=pa.array(sorted(doc_ids))))
        kept = table.filter(mask)
        if kept.num_rows:
            pq.write_table(kept, dst, compression=COMPRESSION)
        return kept.num_rows

    def publish(self, tmp: Path, manifest: Manifest) -> Path:
        """Make the built snapshot current with one atomic rename, then tidy up."""
        final = self.snapshots / manifest.snapshot_id
        for path in tmp.rglob("*.parquet"):
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.snapshots)
        crash_point("before-swap")
        _swap_symlink(self.root / CURRENT, f"{SNAPSHOTS}/{manifest.snapshot_id}")
        crash_point("after-swap")
        for ds in PUBLISHED:
            link = self.root / ds
            if not link.is_symlink():
                _swap_symlink(link, f"{CURRENT}/{ds}")
        _fsync_dir(self.root)
        keep = self._kept_snapshots()
        for entry in self.snapshots.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
        return final

    def discard(self, tmp: Path) -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    # -- quarantine and reports ----------------------------------------------------------

    def append_quarantine(self, run_id: str, staging: Path) -> Path | None:
        """Merge this run's staged quarantine parts into one file of the quarantine log.

        The log always exists: with no rejection yet it holds one empty file that carries
        the schema, so readers get columns rather than an error.
        """
        target_dir = self.root / QUARANTINE
        target_dir.mkdir(parents=True, exist_ok=True)
        staged = staging / QUARANTINE
        parts = sorted(staged.glob("*.parquet")) if staged.exists() else []
        if not parts:
            if not any(target_dir.glob("*.parquet")):
                write_empty(target_dir / EMPTY_PART, ARROW_SCHEMAS[QUARANTINE])
            return None
        target = target_dir / f"part-{run_id}.parquet"
        tmp = target.with_name(target.name + ".tmp")
        schema = ARROW_SCHEMAS[QUARANTINE]
        with pq.ParquetWriter(tmp, schema, compression=COMPRESSION) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=schema))
        os.replace(tmp, target)
        return target

    def write_report(self, run_id: str, report: dict[str, Any]) -> Path:
        self.runs.mkdir(parents=True, exist_ok=True)
        path = self.runs / f"{run_id}.json"
        _atomic_write_text(path, json.dumps(report, ensure_ascii=False, indent=1, default=str))
        return path

    def read_report(self, run_id: str | None = None) -> dict[str, Any]:
        """The report of ``run_id``, or of the latest run (run ids sort by time)."""
        if run_id is None:
            reports = sorted(self.runs.glob("*.json")) if self.runs.exists() else []
            if not reports:
                raise FileNotFoundError(f"no run reports under {self.runs}")
            path = reports[-1]
        else:
            path = self.runs / f"{run_id}.json"
            if not path.exists():
                raise FileNotFoundError(f"no report for run {run_id} under {self.runs}")
        return json.loads(path.read_text(encoding="utf-8"))
