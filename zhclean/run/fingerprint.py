"""What a process would make of the input: its zhclean code, rules, dictionaries, models.

A Dask worker that imports another zhclean (an older install, a ``PYTHONPATH`` pointing
at a checkout with a rule disabled) publishes other rows without a word, and incremental
runs keep them until a ``--full-refresh``. So a run carries the fingerprint of the
process that started it, and every task compares it with its own process's before it
touches a document (:func:`check_same`).

The fingerprint covers every ``.py`` file of the installed ``zhclean`` package and every
file under ``zhclean/data/`` (rules, the user dictionary, and any model file added there),
jieba's dictionary (the one both tokenizers use), the versions of the libraries that
shape the text, and the Unicode version of the interpreter (normalization). It is
computed once per process: 15-35 ms on a shared 2-core machine (hashing 0.7 MB of
zhclean and 5 MB of dict.txt), about 4 kB pickled with each task's run.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import socket
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from zhclean.run.errors import UsageError
from zhclean.tokenizers.common import jieba_dict_path

# Libraries whose version can change what a document becomes (rensa: its signatures,
# so which documents are linked as near-duplicates).
TEXT_LIBRARIES = ("jieba", "rjieba", "opencc", "selectolax", "rensa")


class OtherCode(UsageError):
    """A task ran in a process whose code or data differ from the run's."""


@dataclass(frozen=True)
class Fingerprint:
    """``parts``: (name, sha256 prefix or version), sorted; ``digest`` covers them all."""

    digest: str
    parts: tuple[tuple[str, str], ...]

    def differences(self, other: Fingerprint) -> list[str]:
        """The names whose value differs, or that only one side has."""
        mine, theirs = dict(self.parts), dict(other.parts)
        return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]  # 64 bits: tasks carry them


@cache
def code_fingerprint() -> Fingerprint:
    """This process's fingerprint (computed once)."""
    package = Path(__file__).resolve().parent.parent  # the zhclean package
    files = [p for p in package.rglob("*.py") if "__pycache__" not in p.parts]
    files += [p for p in (package / "data").rglob("*") if p.is_file()]
    parts = {f"zhclean/{p.relative_to(package).as_posix()}": _sha256(p) for p in set(files)}
    parts["jieba/dict.txt"] = _sha256(jieba_dict_path())
    for name in TEXT_LIBRARIES:
        try:
            parts[f"{name} (version)"] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            parts[f"{name} (version)"] = "not installed"
    parts["unicode (version)"] = unicodedata.unidata_version
    ordered = tuple(sorted(parts.items()))
    digest = hashlib.sha256(repr(ordered).encode()).hexdigest()
    return Fingerprint(digest, ordered)


def this_process() -> str:
    """Where this runs, as an operator finds it: a Dask worker's address, else the host
    and process id."""
    distributed = sys.modules.get("distributed")  # only ever imported on a cluster
    if distributed is not None:
        with contextlib.suppress(ValueError, AttributeError):
            return f"on worker {distributed.get_worker().address}"
    return f"in process {os.getpid()} on {socket.gethostname()}"


def check_same(expected: Fingerprint | None, where: str | None = None) -> None:
    """Raise :class:`OtherCode` naming where this runs (``where``, or
    :func:`this_process`) and what differs, unless this process has the ``expected``
    fingerprint (None: nothing to compare with)."""
    here = code_fingerprint()
    if expected is None or expected.digest == here.digest:
        return
    where = where or this_process()
    differ = expected.differences(here)
    shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
    raise OtherCode(
        f"{where}: zhclean's code or data differ from the run's ({shown}); every machine "
        "needs the same zhclean: install it from the same checkout with "
        "pip install -c requirements.lock -e '.[cluster]'"
    )
