"""Reading what was published: the current version of a dataset, local or on object storage.

Readers must go through the current version, never a listing of the output: on object
storage the prefix also holds parts of older versions and of runs that never committed.
"""

from __future__ import annotations

import os

import pyarrow.dataset as ds

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.run.store import open_store


def current_files(root: str | os.PathLike[str], name: str) -> list[str]:
    """The Parquet files of ``name`` ("documents", "sentences", "quarantine") in the
    current version under ``root``, as paths or URIs (for polars, Spark, DuckDB lists)."""
    if name not in ARROW_SCHEMAS:
        raise ValueError(f"no dataset {name!r}: choose one of {', '.join(ARROW_SCHEMAS)}")
    return open_store(root).current_files(name)


def open_dataset(root: str | os.PathLike[str], name: str) -> ds.Dataset:
    """The current published version of ``name`` under ``root`` (a local path or an
    ``s3://`` URI; credentials the standard way) as a ``pyarrow.dataset.Dataset``.

    ``zhclean.open_dataset("s3://bucket/zh", "documents").to_table().to_pandas()``
    """
    files = current_files(root, name)
    fs = open_store(root).filesystem()
    if fs is not None:
        files = [fs._strip_protocol(f) for f in files]
    return ds.dataset(files, schema=ARROW_SCHEMAS[name], filesystem=fs, format="parquet")
