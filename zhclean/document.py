"""The record that flows through the pipeline, from source file to published rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Rejection:
    """Why a document was sent to quarantine instead of being published."""

    stage: str
    check: str
    reason: str
    detail: str = ""
    failure_case: str | None = None


@dataclass(slots=True)
class Line:
    """One line of a document while boilerplate is being stripped.

    ``removed_by`` holds the id of the rule that removed the line; ``None`` means kept.
    """

    text: str
    removed_by: str | None = None
    fields: dict[str, str] | None = None

    @property
    def kept(self) -> bool:
        return self.removed_by is None


@dataclass(slots=True)
class Sentence:
    para_idx: int
    text: str
    tokens: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Document:
    """A source document and everything the stages learn about it.

    Every source read by the pipeline yields exactly one ``Document``; a document that
    fails a stage keeps flowing with ``rejection`` set, so that nothing is lost between
    the reader and the writer.
    """

    source: str
    doc_id: str
    group: str = ""
    raw_bytes: int = 0
    content_sha256: str = ""
    encoding: str = ""
    raw_text: str = ""
    text: str = ""
    script: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    published_at_precision: str | None = None
    source_name: str | None = None
    author: str | None = None
    lines: list[Line] = field(default_factory=list)
    # the article body: first and last line of running text in the kept block
    content_span: tuple[int, int] | None = None
    # How the boilerplate stripper read the page (see zhclean.cleaners.boilerplate):
    # extraction: "main_block" | "short_lines" | "conservative" | "empty"
    extraction: str | None = None
    # removed characters / characters of the non-blank lines (after normalization + t2s)
    removed_share: float | None = None
    # in [0, 1]: how sure the stripper is that the text is the page's article
    confidence: float | None = None
    removed: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    rejection: Rejection | None = None

    @property
    def rejected(self) -> bool:
        return self.rejection is not None

    def reject(
        self, stage: str, check: str, reason: str, detail: str = "", failure_case: str | None = None
    ) -> None:
        """Route this document to quarantine; later stages pass it through untouched."""
        if self.rejection is None:
            self.rejection = Rejection(stage, check, reason, detail, failure_case)
