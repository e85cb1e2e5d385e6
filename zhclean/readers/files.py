"""List the input files, and the read step: each unread document gets its bytes and text."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from zhclean.core.record import Document, SourceRef
from zhclean.core.step import Step
from zhclean.readers.decode import DecodeError, decode_bytes

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
INVALID_UTF8 = "read.invalid_utf8"


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


class ReadError(Exception):
    """A source that cannot be read as a whole file; ``check`` names the failure."""

    def __init__(self, check: str, reason: str, detail: str = "", size: int = 0) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.detail = detail
        self.size = size


def read_source(ref: SourceRef, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of one source, or :class:`ReadError` saying why there are none."""
    try:
        if os.path.isdir(ref.path):
            raise IsADirectoryError(
                f"{ref.source} is a directory (symlinked folders are not followed)"
            )
        size = os.path.getsize(ref.path)
        if size > max_bytes:
            raise ReadError(
                "too_large", f"file is {size} bytes, over the {max_bytes}-byte limit", size=size
            )
        with open(ref.path, "rb") as fh:
            return fh.read()
    except OSError as err:
        reason = err.strerror or str(err)
        raise ReadError(
            "unreadable", f"cannot read file: {reason}", f"{type(err).__name__}: {err}"
        ) from err


class FileReader(Step):
    """Read and decode each source; failures become rejections, never exceptions."""

    name = "read"

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def reasons(self) -> dict[str, str]:
        return {
            INVALID_UTF8: "invalid UTF-8 byte sequences were replaced; the entry says how many and where"
        }

    def process(self, doc: Document) -> None:
        ref = doc.ref
        if ref is None:  # already decoded (Document.from_text)
            return
        try:
            data = read_source(ref, self.max_bytes)
        except ReadError as err:
            doc.doc_id = compute_doc_id(ref.source, b"")
            doc.raw_bytes = err.size
            doc.content_sha256 = ref.sha256 or ""
            doc.reject("read", err.check, err.reason, err.detail)
            self.count(f"rejected.{err.check}")
            return
        doc.doc_id = compute_doc_id(ref.source, data)
        doc.raw_bytes = len(data)
        doc.content_sha256 = hashlib.sha256(data).hexdigest()
        self.count("bytes_read", len(data))
        if ref.sha256 is not None and ref.sha256 != doc.content_sha256:
            self.count("changed_since_scan")
        try:
            decoded = decode_bytes(data)
        except DecodeError as err:
            doc.reject("read", err.check, str(err), data[:64].hex())
            self.count(f"rejected.{err.check}")
            return
        doc.raw_text = decoded.text
        doc.encoding = decoded.encoding
        self.count(f"encoding.{decoded.encoding}")
        if decoded.invalid_bytes:
            doc.removed.append(
                (
                    INVALID_UTF8,
                    f"{decoded.invalid_bytes} invalid byte sequence(s) replaced; first at byte "
                    f"{decoded.first_invalid_offset}",
                )
            )


__all__ = ["FileReader", "ReadError", "compute_doc_id", "list_sources", "read_source"]
