"""The write step: each batch becomes one row group of the documents, sentences and
quarantine part files of a shard, and every document leaves an :class:`Outcome`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from operator import attrgetter

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

    def process_batch(self, docs: list[Document]) -> None:
        good = [d for d in docs if not d.rejected]
        vanished = [d for d in docs if d.rejected and d.rejection.check == VANISHED]
        bad = [d for d in docs if d.rejected and d.rejection.check != VANISHED]
        self.writers["documents"].write_table(documents_table(good, self.run_id, self.processed_at))
        self.writers["sentences"].write_table(sentences_table(good, self.run_id))
        if bad:
            self.writers["quarantine"].write_table(
                quarantine_table(bad, self.run_id, self.input_root, self.processed_at)
            )
        for doc in docs:
            self.count("inputs")
            self.count("bytes_in", doc.raw_bytes)
        for doc in good:
            self.count("published")
            self.count("sentences", len(doc.sentences))
            self.count("sentence_chars", sum(map(len, map(_TEXT, doc.sentences))))
            self.count("tokens", sum(map(len, map(_TOKENS, doc.sentences))))
            removed = boilerplate_chars(doc)
            self.count("boilerplate_chars", removed)
            if removed > HEAVY_BOILERPLATE_SHARE * (removed + len(doc.text)):
                self.count("docs_heavy_boilerplate")
            self.outcomes.append(Outcome(doc.source, doc.doc_id, doc.content_sha256, "published"))
        for doc in vanished:  # like a source deleted before the run: missing, rows kept
            self.count("vanished")
            self.outcomes.append(Outcome(doc.source, doc.doc_id, "", "missing"))
        for doc in bad:
            rej = doc.rejection
            self.count("quarantined")
            self.outcomes.append(
                Outcome(
                    doc.source,
                    doc.doc_id,
                    doc.content_sha256,
                    "quarantined",
                    f"{rej.stage}.{rej.check}",
                    rej.reason,
                )
            )

    def close(self) -> None:
        for name, writer in self.writers.items():
            if writer.close() is not None:
                self.files[name] = self.part_name

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
