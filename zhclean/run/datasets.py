"""Reading what was published: the current version of a dataset, local or on object storage.

Readers must go through the current version, never a listing of the output: on object
storage the prefix also holds parts of older versions and of runs that never committed.

The quarantine is a log: one row per rejection, every run appending its own. Its
*current view* answers "what is in quarantine now": the latest row per source, without
the sources published since and those the latest run no longer found in its input.
"""

from __future__ import annotations

import json
import os
import posixpath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.run.store import RUNS, Store, open_store

# The run report's list of quarantined sources its input no longer held.
GONE = "quarantine_gone"


def current_files(root: str | os.PathLike[str], name: str) -> list[str]:
    """The Parquet files of ``name`` ("documents", "sentences", "quarantine") in the
    current version under ``root``, as paths or URIs (for polars, Spark, DuckDB lists)."""
    if name not in ARROW_SCHEMAS:
        raise ValueError(f"no dataset {name!r}: choose one of {', '.join(ARROW_SCHEMAS)}")
    return open_store(root).current_files(name)


def open_dataset(root: str | os.PathLike[str], name: str, current: bool = False) -> ds.Dataset:
    """The current published version of ``name`` under ``root`` (a local path or an
    ``s3://`` URI; credentials the standard way) as a ``pyarrow.dataset.Dataset``.

    ``zhclean.open_dataset("s3://bucket/zh", "documents").to_table().to_pandas()``

    ``current=True`` (quarantine only): what is in quarantine now, one row per source
    (see :func:`current_quarantine`), instead of the whole log.
    """
    if current:
        if name != "quarantine":
            raise ValueError("current=True is the quarantine's current view; other datasets "
                             "hold only current rows already")  # fmt: skip
        return ds.dataset(current_quarantine(root))
    files = current_files(root, name)
    fs = open_store(root).filesystem()
    if fs is not None:
        files = [fs._strip_protocol(f) for f in files]
    return ds.dataset(files, schema=ARROW_SCHEMAS[name], filesystem=fs, format="parquet")


def current_quarantine(root: str | os.PathLike[str]) -> pa.Table:
    """What is in quarantine now: the latest quarantine row of each source (by run id,
    which sorts by time), except sources published by a later run and sources the
    latest run that listed its input did not find there (deleted or moved: the
    quarantine holds no copy of them, so there is nothing left to look at). Sorted by
    source; the quarantine's columns."""
    log = open_dataset(root, "quarantine").to_table()
    if log.num_rows:
        log = _latest_per_source(log)
        log = _without_later_documents(log, open_dataset(root, "documents"))
        gone = last_gone(open_store(root))
        if gone:
            log = log.filter(pc.invert(pc.is_in(log["source"], value_set=pa.array(gone))))
    return log.sort_by("source").select(ARROW_SCHEMAS["quarantine"].names)


def _latest_per_source(log: pa.Table) -> pa.Table:
    order = [("source", "ascending"), ("run_id", "descending"), ("quarantined_at", "descending")]
    log = log.sort_by(order)
    sources = log["source"].combine_chunks()
    first = pc.not_equal(sources[1:], sources[:-1])  # a source's first row: its latest
    return log.filter(pa.concat_arrays([pa.array([True]), first]))


def _without_later_documents(log: pa.Table, documents: ds.Dataset) -> pa.Table:
    """Drop sources whose published document comes from a later run than the row."""
    docs = documents.to_table(columns=["source", "run_id"])
    docs = docs.group_by("source").aggregate([("run_id", "max")])
    joined = log.join(docs.rename_columns(["source", "published_by"]), "source")
    later = pc.fill_null(pc.greater(joined["published_by"], joined["run_id"]), False)
    return joined.filter(pc.invert(later)).drop_columns(["published_by"])


def quarantined_sources(store: Store) -> set[str]:
    """Every source the quarantine log of the current version names (empty when
    nothing has been committed yet)."""
    try:
        files = store.current_files("quarantine")
    except FileNotFoundError:
        return set()
    fs = store.filesystem()
    paths = [fs._strip_protocol(f) for f in files] if fs is not None else files
    table = ds.dataset(paths, schema=ARROW_SCHEMAS["quarantine"], filesystem=fs,
                       format="parquet").to_table(columns=["source"])  # fmt: skip
    return set(pc.unique(table["source"]).to_pylist())


def last_gone(store: Store) -> list[str] | None:
    """The quarantined sources that the latest run which listed its input did not find,
    from its report (None: no run has recorded it, e.g. an output of an older zhclean)."""
    for path in sorted(store.files_under(RUNS), reverse=True):
        if not path.endswith(".json") or posixpath.basename(path).startswith("."):
            continue
        text = store.read_text(path)
        report = json.loads(text) if text else {}
        if GONE in report:
            return report[GONE]
    return None
