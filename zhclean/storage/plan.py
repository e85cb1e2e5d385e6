"""Which sources a run must process: new and changed ones, by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from zhclean.readers.files import SourceRef
from zhclean.storage.snapshots import Manifest


@dataclass
class RunPlan:
    sources: list[SourceRef]
    to_process: list[SourceRef] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)


def file_sha256(path: str) -> str | None:
    """Hash of a file's bytes, or None if it cannot be read (the reader will say why)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def plan_run(sources: list[SourceRef], manifest: Manifest | None, full_refresh: bool) -> RunPlan:
    """Compare the input with the published manifest.

    A source is unchanged when the manifest holds the same content hash for its path;
    anything else is processed. Sources in the manifest but no longer in the input are
    reported as missing and their rows stay published until a full refresh.
    """
    plan = RunPlan(sources=sources)
    known = {} if (full_refresh or manifest is None) else manifest.sources
    for ref in sources:
        digest = file_sha256(ref.path)
        if digest is not None:
            plan.hashes[ref.source] = digest
        entry = known.get(ref.source)
        if entry is None:
            plan.new.append(ref.source)
            plan.to_process.append(ref)
        elif digest is None or entry.sha256 != digest:
            plan.changed.append(ref.source)
            plan.to_process.append(ref)
        else:
            plan.unchanged.append(ref.source)
    listed = {ref.source for ref in sources}
    plan.missing = sorted(
        s for s, e in known.items() if s not in listed and e.status == "published"
    )
    return plan


def make_shards(
    refs: list[SourceRef], target_bytes: int, max_docs: int = 2000
) -> list[list[SourceRef]]:
    """Group sources into shards of about ``target_bytes`` (and at most ``max_docs``)."""
    shards: list[list[SourceRef]] = []
    current: list[SourceRef] = []
    size = 0
    for ref in refs:
        if current and (size + ref.size > target_bytes or len(current) >= max_docs):
            shards.append(current)
            current, size = [], 0
        current.append(ref)
        size += ref.size
    if current:
        shards.append(current)
    return shards
