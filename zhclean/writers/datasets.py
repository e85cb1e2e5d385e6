"""The write step: each batch becomes one row group of the documents, sentences and
quarantine part files of a shard, and every document leaves an :class:`Outcome`."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from time import perf_counter

import pyarrow as pa

from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.contract.rows import documents_table, quarantine_table, sentences_table
from zhclean.core.location import join
from zhclean.core.record import VANISHED, Document, Outcome
from zhclean.core.step import Step
from zhclean.writers.parquet import ParquetPartWriter

# Removals that are not boilerplate: the heading moves to `title`, bylines to metadata;
# read.*, html.* and normalize.* entries record how the input was read, not a removed line.
NOT_BOILERPLATE_PREFIXES = ("title.heading", "meta.", "read.", "html.", "normalize.")
# A document that loses more than this share of its characters is "heavy boilerplate".
HEAVY_BOILERPLATE_SHARE = 0.8
# Sentence fields for the per-document counts (map over them: no generator frame).
_TEXT, _TOKENS = attrgetter("text"), attrgetter("tokens")


def boilerplate_chars(doc: Document) -> int:
    return sum(len(t) for rule, t in doc.removed if not rule.startswith(NOT_BOILERPLATE_PREFIXES))


@dataclass
class PreparedBatch:
    """A batch's rows and accounting, built without writing anything.

    It is small to send between processes (Arrow tables, no Python objects per token): a
    guarded worker prepares batches and the process that owns the part files writes them
    (zhclean.run.guard), so a worker that dies loses only the batch it was on.
    """

    tables: dict[str, pa.Table]
    outcomes: list[Outcome]
    counters: Counter
    docs: int
    rejected: int


def prepare_batch(
    docs: list[Document], run_id: str, input_root: str, processed_at: datetime
) -> PreparedBatch:
    """The rows of ``docs`` for each dataset, their outcomes and the writer's counts."""
    good = [d for d in docs if not d.rejected]
    vanished = [d for d in docs if d.rejected and d.rejection.check == VANISHED]
    bad = [d for d in docs if d.rejected and d.rejection.check != VANISHED]
    tables = {
        "documents": documents_table(good, run_id, processed_at),
        "sentences": sentences_table(good, run_id),
    }
    if bad:
        tables["quarantine"] = quarantine_table(bad, run_id, input_root, processed_at)
    counters: Counter = Counter()
    outcomes: list[Outcome] = []
    counters["inputs"] += len(docs)
    counters["bytes_in"] += sum(doc.raw_bytes for doc in docs)
    for doc in good:
        counters["published"] += 1
        counters["sentences"] += len(doc.sentences)
        counters["sentence_chars"] += sum(map(len, map(_TEXT, doc.sentences)))
        counters["tokens"] += sum(map(len, map(_TOKENS, doc.sentences)))
        removed = boilerplate_chars(doc)
        counters["boilerplate_chars"] += removed
        if removed > HEAVY_BOILERPLATE_SHARE * (removed + len(doc.text)):
            counters["docs_heavy_boilerplate"] += 1
        outcomes.append(Outcome(doc.source, doc.doc_id, doc.content_sha256, "published"))
    for doc in vanished:  # like a source deleted before the run: missing, rows kept
        counters["vanished"] += 1
        outcomes.append(Outcome(doc.source, doc.doc_id, "", "missing"))
    for doc in bad:
        rej = doc.rejection
        counters["quarantined"] += 1
        outcomes.append(
            Outcome(
                doc.source,
                doc.doc_id,
                doc.content_sha256,
                "quarantined",
                f"{rej.stage}.{rej.check}",
                rej.reason,
            )
        )
    return PreparedBatch(tables, outcomes, counters, len(docs), len(vanished) + len(bad))


class DatasetWriter(Step):
    """Write published rows and quarantine rows; count what was written.

    Files are staged as ``<staging>/<dataset>/<part_name>`` and renamed into place on
    :meth:`close`, so a retried shard overwrites its own files and never duplicates rows.
    I/O errors are not a document's fault: they propagate (the task is retried).
    """

    name = "write"
    handles_rejected = True
    isolate_errors = False

    def __init__(
        self,
        staging_dir: str | os.PathLike[str],
        part_name: str,
        run_id: str,
        input_root: str,
        processed_at: datetime | None = None,
    ) -> None:
        super().__init__()
        self.part_name = part_name
        self.run_id = run_id
        self.input_root = input_root
        self.processed_at = processed_at or datetime.now(UTC)
        self.writers = {
            name: ParquetPartWriter(join(str(staging_dir), name, part_name), schema)
            for name, schema in ARROW_SCHEMAS.items()
        }
        self.outcomes: list[Outcome] = []
        self.files: dict[str, str] = {}

    def prepare(self, docs: list[Document]) -> PreparedBatch:
        return prepare_batch(docs, self.run_id, self.input_root, self.processed_at)

    def process_batch(self, docs: list[Document]) -> None:
        self._write(self.prepare(docs))

    def _write(self, batch: PreparedBatch) -> None:
        for name, table in batch.tables.items():
            self.writers[name].write_table(table)
        self.outcomes.extend(batch.outcomes)
        self.stats.counters.update(batch.counters)

    def write_prepared(self, batch: PreparedBatch) -> None:
        """Write a batch another process prepared, counted as :meth:`Step.run` counts."""
        started = perf_counter()
        self._write(batch)
        self.stats.seconds += perf_counter() - started
        self.stats.docs_in += batch.docs
        self.stats.docs_out += batch.docs - batch.rejected

    def close(self) -> None:
        for name, writer in self.writers.items():
            if writer.close() is not None:
                self.files[name] = self.part_name

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
