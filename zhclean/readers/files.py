"""List the input files and read each one into a :class:`Document`."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from time import perf_counter

from zhclean.document import Document
from zhclean.pipeline.base import StepStats
from zhclean.readers.decode import DecodeError, decode_bytes

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One input file: its path, its id relative to the input root, and its size."""

    path: str
    source: str
    size: int

    @property
    def group(self) -> str:
        """The folder the file sits in: the unit for cross-document repeated-line counts."""
        parent = str(PurePosixPath(self.source).parent)
        return "" if parent == "." else parent


def list_sources(input_dir: str | os.PathLike[str]) -> list[SourceRef]:
    """Every non-hidden file under ``input_dir``, sorted, with POSIX ids relative to it.

    Directory symlinks are listed but not followed (they would allow loops and double
    counting); the reader then quarantines them with that reason.
    """
    root = Path(input_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"input directory not found: {root}")
    refs: list[SourceRef] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        entries = list(filenames)
        entries += [d for d in os.listdir(here) if (here / d).is_symlink() and d not in entries]
        for name in sorted(set(entries)):
            if name.startswith("."):
                continue
            path = here / name
            try:
                size = path.stat().st_size if not path.is_dir() else 0
            except OSError:
                size = 0
            rel = path.relative_to(root).as_posix()
            refs.append(SourceRef(str(path), rel, size))
    refs.sort(key=lambda r: r.source)
    return refs


def compute_doc_id(source: str, data: bytes) -> str:
    """Stable id: the same source path with the same bytes gets the same id anywhere."""
    h = hashlib.sha256(source.encode("utf-8") + b"\0")
    h.update(data)
    return h.hexdigest()[:32]


def read_document(ref: SourceRef, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and decode one source; failures become a rejected document, never an exception."""
    try:
        if os.path.isdir(ref.path):
            raise IsADirectoryError(
                f"{ref.source} is a directory (symlinked folders are not followed)"
            )
        size = os.path.getsize(ref.path)
        if size > max_bytes:
            doc = Document(
                source=ref.source, doc_id=compute_doc_id(ref.source, b""), group=ref.group
            )
            doc.raw_bytes = size
            doc.reject(
                "read", "too_large", f"file is {size} bytes, over the {max_bytes}-byte limit"
            )
            return doc
        with open(ref.path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        doc = Document(source=ref.source, doc_id=compute_doc_id(ref.source, b""), group=ref.group)
        reason = err.strerror or str(err)
        doc.reject(
            "read", "unreadable", f"cannot read file: {reason}", f"{type(err).__name__}: {err}"
        )
        return doc

    doc = Document(
        source=ref.source,
        doc_id=compute_doc_id(ref.source, data),
        group=ref.group,
        raw_bytes=len(data),
        content_sha256=hashlib.sha256(data).hexdigest(),
    )
    try:
        decoded = decode_bytes(data)
    except DecodeError as err:
        doc.reject("read", err.check, str(err), data[:64].hex())
        return doc
    doc.raw_text = decoded.text
    doc.encoding = decoded.encoding
    if decoded.invalid_bytes:
        doc.removed.append(
            (
                "read.invalid_utf8",
                f"{decoded.invalid_bytes} invalid byte sequence(s) replaced; first at byte "
                f"{decoded.first_invalid_offset}",
            )
        )
    return doc


class FileReader:
    """The first step: source references in, documents out (rejected ones included)."""

    name = "read"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.stats = StepStats(self.name)

    def __call__(self, refs: Iterable[SourceRef]) -> Iterator[Document]:
        for ref in refs:
            started = perf_counter()
            doc = read_document(ref, self.max_bytes)
            self.stats.seconds += perf_counter() - started
            self.stats.docs_in += 1
            self.stats.counters["bytes_read"] += doc.raw_bytes
            if doc.rejected:
                self.stats.docs_rejected += 1
                self.stats.counters[f"rejected.{doc.rejection.check}"] += 1
            else:
                self.stats.docs_out += 1
                self.stats.counters[f"encoding.{doc.encoding}"] += 1
            yield doc


__all__ = ["FileReader", "SourceRef", "compute_doc_id", "list_sources", "read_document"]
