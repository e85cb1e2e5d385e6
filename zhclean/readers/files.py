"""List the input files, and the read step: each unread document gets its bytes and text."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from zhclean.core.location import is_remote, remote_fs
from zhclean.core.params import DEFAULTS
from zhclean.core.record import VANISHED, Document, SourceRef
from zhclean.core.step import Step
from zhclean.readers.decode import DecodeError, decode_bytes

# The per-document cap (--max-doc-mb): a larger file is quarantined unread.
DEFAULT_MAX_BYTES = DEFAULTS.max_doc_bytes
INVALID_UTF8 = "read.invalid_utf8"


def source_id(relative: str) -> str:
    """The ``source`` of a file: its path relative to the input root, valid UTF-8.

    A name that is not UTF-8 (``os.fsdecode`` gives it surrogates) keeps its valid parts
    and shows each invalid byte as ``\\xNN`` (Python's ``backslashreplace``), and a
    backslash in a name is written ``\\\\``: otherwise a file literally named
    ``\\xff.txt`` and one named with the byte 0xff would get the same id (issue 17).
    So every id is stable across runs, names exactly one file, and gives back the
    original bytes (:func:`source_name_bytes`).
    """
    if "\\" not in relative:
        try:
            relative.encode("utf-8")
            return relative
        except UnicodeEncodeError:
            pass
    return os.fsencode(relative).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


_ESCAPE_RE = re.compile(r"\\(?:\\|x([0-9a-f]{2}))")


def source_name_bytes(source: str) -> bytes:
    """The bytes of the relative path that :func:`source_id` made ``source`` from."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE_RE.finditer(source):
        out += source[pos : m.start()].encode("utf-8")
        out += b"\\" if m.group(1) is None else bytes([int(m.group(1), 16)])
        pos = m.end()
    out += source[pos:].encode("utf-8")
    return bytes(out)


def list_sources(input_dir: str | os.PathLike[str]) -> list[SourceRef]:
    """Every non-hidden entry under ``input_dir``, sorted, with POSIX ids relative to it.

    Nothing is opened here. Symbolic links (to files or folders), FIFOs and devices are
    listed like files, so that each becomes a document or a quarantine row; the reader
    decides what may be read. Symlinked folders are never walked into.
    """
    if is_remote(str(input_dir)):
        return _list_remote(str(input_dir))
    root = Path(input_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"input directory not found: {root}")
    refs: list[SourceRef] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        names = {n for n in filenames if not n.startswith(".")}
        names |= {d for d in dirnames if not d.startswith(".") and (here / d).is_symlink()}
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in names)
        for name in names:
            path = here / name
            try:
                size = path.stat().st_size if path.is_file() else 0
            except OSError:
                size = 0
            refs.append(SourceRef(str(path), source_id(path.relative_to(root).as_posix()), size))
    refs.sort(key=lambda r: r.source)  # ids are unique: source_id is one to one
    return refs


def _list_remote(root: str) -> list[SourceRef]:
    """The objects under an object-store prefix (no links, FIFOs or devices there)."""
    fs = remote_fs(root)
    base = fs._strip_protocol(root).rstrip("/") + "/"
    scheme = root.partition("://")[0]
    refs = []
    for path, info in fs.find(root, detail=True).items():
        relative = path[len(base) :] if path.startswith(base) else path
        if not relative or any(part.startswith(".") for part in relative.split("/")):
            continue
        if info.get("type", "file") != "file":
            continue
        refs.append(
            SourceRef(f"{scheme}://{path}", source_id(relative), int(info.get("size") or 0))
        )
    refs.sort(key=lambda r: r.source)
    return refs


def compute_doc_id(source: str, data: bytes) -> str:
    """Stable id: the same source path with the same bytes gets the same id anywhere."""
    h = hashlib.sha256(source.encode("utf-8") + b"\0")
    h.update(data)
    return h.hexdigest()[:32]


class ReadError(Exception):
    """A source that cannot be read as a whole file; ``check`` names the failure."""

    def __init__(self, check: str, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.detail = detail


_KINDS = (
    (stat.S_ISDIR, "a folder (linked folders are not walked into)"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _within(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


@contextmanager
def open_source(
    ref: SourceRef, root: str | None = None, follow_symlinks: bool = False
) -> Iterator[tuple[BinaryIO, int]]:
    """Open one regular file for reading: ``(file, size)``, or :class:`ReadError`.

    Nothing outside ``root`` is opened unless ``follow_symlinks``: a link is resolved and
    checked first. The file is opened without blocking and without following a last
    link, and its type is checked on the open descriptor, so a FIFO, a device or a link
    swapped in after the check is refused instead of hanging the run.
    """
    with _read_errors(ref):
        if is_remote(ref.path):
            yield from _open_remote(ref)
            return
        real = os.path.realpath(ref.path)
        if root is not None and not follow_symlinks and not _within(real, os.path.realpath(root)):
            raise ReadError(
                "outside_input_root",
                f"{ref.source} is a link to something outside the input folder; not read "
                "(--follow-symlinks allows it)",
            )
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ReadError(
                "not_a_regular_file", f"{ref.source} is {_kind(info.st_mode)}, not a regular file"
            )
        with os.fdopen(fd, "rb") as fh:
            yield fh, info.st_size


def _open_remote(ref: SourceRef) -> Iterator[tuple[BinaryIO, int]]:
    fs = remote_fs(ref.path)
    size = int(fs.info(ref.path).get("size") or 0)
    with fs.open(ref.path, "rb") as fh:
        yield fh, size


@contextmanager
def _read_errors(ref: SourceRef) -> Iterator[None]:
    """The operating system's errors as the rejections they mean."""
    try:
        yield
    except FileNotFoundError as err:
        if not is_remote(ref.path) and os.path.islink(ref.path):  # the link is there
            raise ReadError(
                "dangling_symlink",
                f"{ref.source} is a symbolic link to {_link_target(ref.path)}, which does not exist",
                f"{type(err).__name__}: {err}",
            ) from err
        # listed, then gone: reported as missing, not quarantined
        raise ReadError(
            VANISHED, f"{ref.source} was deleted during the run", f"{type(err).__name__}: {err}"
        ) from err
    except OSError as err:
        raise ReadError(
            "unreadable", f"cannot read file: {err.strerror or err}", f"{type(err).__name__}: {err}"
        ) from err


def _link_target(path: str) -> str:
    try:
        return repr(os.readlink(path))
    except OSError:
        return "a path"


def read_source(
    ref: SourceRef,
    root: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    follow_symlinks: bool = False,
) -> bytes:
    """The bytes of one source (see :func:`open_source`), up to ``max_bytes``."""
    with open_source(ref, root, follow_symlinks) as (fh, size):
        if size > max_bytes:
            raise ReadError(
                "too_large",
                f"file is {size:,} bytes, over the {max_bytes / 2**20:g} MB per-document limit "
                "(--max-doc-mb) that bounds a worker's memory; not read",
            )
        data = fh.read(max_bytes + 1)  # a file that grows after the check stays bounded
        if len(data) > max_bytes:
            raise ReadError("too_large", f"file grew over {max_bytes:,} bytes while being read")
        return data


def hash_source(ref: SourceRef, root: str | None = None, follow_symlinks: bool = False) -> str:
    """sha256 of a source read in chunks: for files too large to hold in memory."""
    h = hashlib.sha256()
    with open_source(ref, root, follow_symlinks) as (fh, _):
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class FileReader(Step):
    """Read and decode each source; failures become rejections, never exceptions."""

    name = "read"

    def __init__(
        self,
        root: str | None = None,
        follow_symlinks: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__()
        self.root = root
        self.follow_symlinks = follow_symlinks
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
            data = read_source(ref, self.root, self.max_bytes, self.follow_symlinks)
        except ReadError as err:
            doc.doc_id = compute_doc_id(ref.source, b"")
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


__all__ = [
    "FileReader",
    "ReadError",
    "compute_doc_id",
    "hash_source",
    "list_sources",
    "read_source",
]
