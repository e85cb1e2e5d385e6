"""The record that flows through the pipeline, from source file to published rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from zhclean.core.dom import LineDom

# Ids of the lines the boilerplate stripper marks and the metadata extractor reads: the
# heading (it becomes the title) and copies of it in the body.
TITLE_HEADING = "title.heading"
TITLE_REPEAT = "title.repeat"
# A line the boilerplate stripper's line model removed (page furniture).
MODEL_BOILERPLATE = "model.boilerplate"
# How the stripper found the article (the ``extraction`` column); a document it emptied
# ("empty") is quarantined, never published.
MAIN_BLOCK = "main_block"
SHORT_LINES = "short_lines"
CONSERVATIVE = "conservative"
EMPTY = "empty"
EXTRACTIONS = (MAIN_BLOCK, SHORT_LINES, CONSERVATIVE)
# The ``punctuation`` column: the text's own marks, or 。，、 restored from collapsed dots.
PUNCT_ORIGINAL = "original"
PUNCT_RESTORED = "restored"
PUNCTUATIONS = (PUNCT_ORIGINAL, PUNCT_RESTORED)
# The check of a source deleted between the scan and its reading: it is reported as
# missing, like a source deleted before the run, and its published rows stay.
VANISHED = "vanished"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One input file as listed: where to read it, its id relative to the input root.

    ``sha256`` is the content hash the run's scan saw; the reader checks the bytes it
    reads against it and reuses it when it does not read the file at all (too large).
    """

    path: str
    source: str
    size: int
    sha256: str | None = None

    @property
    def group(self) -> str:
        """The folder the file sits in: the unit for cross-document repeated-line counts."""
        return source_group(self.source)


def source_group(source: str) -> str:
    parent = str(PurePosixPath(source).parent)
    return "" if parent == "." else parent


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

    ``removed_by`` holds the id of what removed the line (a rule, the title, the line
    model); ``None`` means kept. ``rule`` is the id of the rule that matched the line,
    whether it decided or was only evidence for the line model.
    """

    text: str
    removed_by: str | None = None
    fields: dict[str, str] | None = None
    rule: str | None = None

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

    Every listed source becomes exactly one ``Document``, first unread (``ref`` only); a
    document that fails a stage keeps flowing with ``rejection`` set, so that nothing is
    lost between the reader and the writer.
    """

    source: str
    ref: SourceRef | None = None
    doc_id: str = ""
    raw_bytes: int = 0
    content_sha256: str = ""
    encoding: str = ""
    raw_text: str = ""
    # An HTML input's visible text, one block per line (``raw_text`` keeps the markup);
    # None for a text input. See ``input_text``.
    converted_text: str | None = None
    # An HTML input's per-line DOM evidence (row i: line i of ``converted_text``).
    dom: LineDom | None = None
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
    # Lines of ``text`` whose 。，、 were all written as '.', with the offsets of their dots
    # after Han (the normalizer finds them, the punctuation step gives them their marks back); what was done ("original" or
    # "restored"), how many marks, and how sure the model was (None: nothing restored).
    collapsed_lines: dict[int, list[int]] = field(default_factory=dict)
    punctuation: str = PUNCT_ORIGINAL
    punct_restored: int = 0
    punct_confidence: float | None = None
    removed: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    rejection: Rejection | None = None

    @classmethod
    def from_ref(cls, ref: SourceRef) -> Document:
        """An unread document: the reader step fills in its bytes and text."""
        return cls(source=ref.source, ref=ref)

    @classmethod
    def from_text(cls, text: str, source: str = "doc.txt", group: str = "") -> Document:
        """A document that is already decoded (tests, ``explain``): no reader needed."""
        source = f"{group}/{source}" if group else source
        return cls(source=source, raw_text=text, raw_bytes=len(text.encode("utf-8")))

    @property
    def group(self) -> str:
        return source_group(self.source)

    @property
    def input_text(self) -> str:
        """What the cleaning stages start from: ``raw_text``, or for an HTML input the
        text it was converted to."""
        return self.raw_text if self.converted_text is None else self.converted_text

    @property
    def rejected(self) -> bool:
        return self.rejection is not None

    def reject(
        self, stage: str, check: str, reason: str, detail: str = "", failure_case: str | None = None
    ) -> None:
        """Route this document to quarantine; later stages pass it through untouched."""
        if self.rejection is None:
            self.rejection = Rejection(stage, check, reason, detail, failure_case)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one source: published, or quarantined by a check (with its reason).

    The writer records one per document; the run's manifest and accounting are built
    from them, so they stay small (no text).
    """

    source: str
    doc_id: str
    content_sha256: str
    status: str  # "published" | "quarantined" | "missing" (deleted during the run)
    check: str | None = None
    reason: str | None = None
