"""Parquet part files, written row group by row group, never visible half-written.

On a local disk rows go to a hidden temporary file (unique per attempt, so a retried task
and a late zombie attempt cannot interleave) that is renamed into place when complete.
On object storage an upload becomes visible only when it completes, so the part is
written under its final name directly.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhclean.core.location import is_remote, remote_fs

COMPRESSION = "zstd"


class ParquetPartWriter:
    """One Parquet file, written incrementally so memory stays bounded."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema) -> None:
        self.path = str(path)
        self.schema = schema
        self.remote = is_remote(self.path)
        if self.remote:
            self._tmp = self.path
        else:
            local = Path(self.path)
            self._tmp = str(local.with_name(f".{local.name}.{uuid.uuid4().hex[:12]}.tmp"))
        self._file: Any = None
        self._writer: pq.ParquetWriter | None = None

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            if self.remote:
                self._file = remote_fs(self.path).open(self.path, "wb")
            else:
                Path(self._tmp).parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
            self._writer = pq.ParquetWriter(self._file, self.schema, compression=COMPRESSION)
        self._writer.write_table(table)

    def close(self) -> str | None:
        """Finish the file; returns its path, or None when no row was written."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        if not self.remote:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        if not self.remote:
            os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            if self.remote:
                self._file.discard()  # an unfinished upload never becomes an object
            else:
                self._file.close()
            self._file = None
        if not self.remote:
            Path(self._tmp).unlink(missing_ok=True)


def write_empty(path: str, schema: pa.Schema) -> str:
    """A zero-row file that still carries the schema, so an empty dataset has columns."""
    if is_remote(path):
        with remote_fs(path).open(path, "wb") as fh:
            pq.write_table(schema.empty_table(), fh, compression=COMPRESSION)
        return path
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    pq.write_table(schema.empty_table(), tmp, compression=COMPRESSION)
    os.replace(tmp, target)
    return path
