"""Parquet part files written row group by row group, published by an atomic rename."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"


class ParquetPartWriter:
    """One Parquet file, written incrementally so memory stays bounded.

    Rows go to ``<path>.tmp``; :meth:`close` renames it into place, so a reader (or a
    crash) never sees a half-written file under the final name.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema) -> None:
        self.path = Path(path)
        self.schema = schema
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._writer: pq.ParquetWriter | None = None

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=COMPRESSION)
        self._writer.write_table(table)

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when no row was written."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        with open(self._tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)


def write_empty(path: str | os.PathLike[str], schema: pa.Schema) -> Path:
    """A zero-row file that still carries the schema, so an empty dataset has columns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(schema.empty_table(), tmp, compression=COMPRESSION)
    os.replace(tmp, path)
    return path
