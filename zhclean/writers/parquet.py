"""Parquet part files written row group by row group, published by an atomic rename."""

from __future__ import annotations

import os
from itertools import accumulate, chain
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"


def frame_to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Arrow table for ``frame``; list<string> columns are built flat (much faster)."""
    lists = [
        f.name for f in schema if pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type)
    ]
    if not lists:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    rest = pa.schema([f for f in schema if f.name not in lists], metadata=schema.metadata)
    table = pa.Table.from_pandas(frame.drop(columns=lists), schema=rest, preserve_index=False)
    for name in lists:
        values = frame[name].tolist()
        offsets = pa.array([0, *accumulate(map(len, values))], pa.int32())
        flat = pa.array(list(chain.from_iterable(values)), pa.string())
        column = pa.ListArray.from_arrays(offsets, flat, type=schema.field(name).type)
        table = table.add_column(schema.get_field_index(name), schema.field(name), column)
    return table.replace_schema_metadata(schema.metadata)


class ParquetPartWriter:
    """One Parquet file, written incrementally so memory stays bounded.

    Rows go to ``<path>.tmp``; :meth:`close` renames it into place, so a reader (or a
    crash) never sees a half-written file under the final name.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema) -> None:
        self.path = Path(path)
        self.schema = schema
        self.rows = 0
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._writer: pq.ParquetWriter | None = None

    def write_frame(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        self.write_table(frame_to_table(frame, self.schema))

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=COMPRESSION)
        self._writer.write_table(table)
        self.rows += table.num_rows

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
