"""Hard-wrap repair and paragraph assembly.

Some pages were typeset at a fixed width: every line of a paragraph is cut at the same
display width, mid-sentence. Those breaks are not sentence boundaries, so they are joined
before splitting; a line clearly shorter than the width ends its paragraph.

OpenCC converts by phrases, and a phrase cut by a line break is converted as two pieces
(``长藉`` / ``以来``: 藉 stays, while ``藉以`` in one line becomes ``借以``). A paragraph
made by joining lines is therefore converted again, so the published text is what the
conversion gives for the unbroken text, and the contract's ``simplified_only`` check
(conversion leaves the text unchanged) holds for it.
"""

from __future__ import annotations

import re
from collections import Counter

from zhclean.core.chars import WIDE_RE
from zhclean.core.record import Document
from zhclean.core.simplify import to_simplified
from zhclean.core.step import Step

MIN_WRAP_WIDTH = 16
# A wrapped line may fall short of the width by a wide character or a word that did not fit.
WIDTH_TOLERANCE = 4
MIN_WRAPPED_LINES = 5
MIN_WRAPPED_SHARE = 0.5


# Runs of wide characters: removing them counts the wide characters without building a
# list of one-character matches (display_width's findall), ~3x faster on Chinese text.
_WIDE_RUN_RE = re.compile(f"(?:{WIDE_RE.pattern})+")


def display_width(text: str) -> int:
    """Terminal columns (as :func:`zhclean.core.chars.display_width`): wide and full-width
    characters count two."""
    return 2 * len(text) - len(_WIDE_RUN_RE.sub("", text))


# No page is typeset wider than this: longer lines are never wrapped lines.
MAX_WRAP_WIDTH = 200


def detect_wrap_width(lines: list[str]) -> int | None:
    """The fixed width the lines were wrapped at, or None if they were not hard-wrapped."""
    widths = [
        display_width(line) if len(line) <= MAX_WRAP_WIDTH else MAX_WRAP_WIDTH * 2
        for line in lines
        if line
    ]
    long = [w for w in widths if w >= MIN_WRAP_WIDTH]
    if len(long) < MIN_WRAPPED_LINES:
        return None
    counts = Counter(long)
    # The width whose window [w - tolerance, w] holds the most lines; ties go to the wider.
    best_width, best_size = None, 0
    for w in counts:
        size = sum(counts.get(v, 0) for v in range(w - WIDTH_TOLERANCE, w + 1))
        if size > best_size or (size == best_size and best_width is not None and w > best_width):
            best_width, best_size = w, size
    if best_size < max(MIN_WRAPPED_LINES, MIN_WRAPPED_SHARE * len(widths)):
        return None
    # Lines wider than the wrap width would mean the text was not wrapped at all.
    if sum(1 for w in widths if w > best_width + 2) > 0.1 * len(widths):
        return None
    return best_width


# A line starting with one of these continues the line before it: crawlers break lines
# around inline elements (a link, a bold word), leaving "。这意味着…" on its own line.
_CONTINUES = frozenset("。，、；：！？…）」』”’》〕】)]%％,.;:!?")


def join_broken_lines(run: list[str]) -> list[str]:
    """Join lines of ``run`` that begin with closing or sentence-final punctuation.

    The pieces of a joined line are collected and joined once: appending to a growing
    string copies it each time, quadratic in a run of many such lines (issue 17).
    """
    out: list[str] = []
    pieces: list[str] = []  # the pieces of out[-1], when it is being joined
    for line in run:
        if out and line[:1] in _CONTINUES:
            if not pieces:
                pieces.append(out[-1])
            pieces.append(line)
            continue
        if pieces:
            out[-1] = "".join(pieces)
            pieces = []
        out.append(line)
    if pieces:
        out[-1] = "".join(pieces)
    return out


def _needs_space(left_char: str, right: str) -> bool:
    """Two ASCII words (or numbers) broken apart at a line end need their space back."""
    return (
        left_char.isascii() and left_char.isalnum() and right[:1].isascii() and right[:1].isalnum()
    )


def repair_hard_wraps(run: list[str], width: int | None) -> list[str]:
    """Join the lines of ``run`` (consecutive lines, no gaps) that were broken at ``width``.

    Linear in the run: a paragraph's lines are collected and joined once (a paragraph
    rebuilt line by line took 36 s for 100,000 short lines: issue 17).
    """
    if width is None or len(run) < 2:
        return list(run)
    paragraphs: list[str] = []
    parts = [run[0]]
    last = run[0][-1:]  # the paragraph's last character so far
    full = display_width(run[0]) >= width - WIDTH_TOLERANCE
    for line in run[1:]:
        if full:
            if _needs_space(last, line):
                parts.append(" ")
            parts.append(line)
        else:
            paragraphs.append("".join(parts))
            parts = [line]
        last = line[-1:] or last
        full = display_width(line) >= width - WIDTH_TOLERANCE
    paragraphs.append("".join(parts))
    return paragraphs


class ParagraphAssembler(Step):
    """Join the kept lines into paragraphs, repair hard wraps, and record the removals."""

    name = "assemble"

    def process(self, doc: Document) -> None:
        runs: list[list[str]] = [[]]
        for line in doc.lines:
            if line.kept and line.text:
                runs[-1].append(line.text)
            elif runs[-1]:
                runs.append([])
        lines_in = sum(len(run) for run in runs)
        single = {text for run in runs for text in run}
        runs = [join_broken_lines(run) for run in runs]
        self.count("lines_joined_at_punctuation", lines_in - sum(len(run) for run in runs))
        width = detect_wrap_width([t for run in runs for t in run])
        paragraphs = [p for run in runs for p in repair_hard_wraps(run, width)]
        if width is not None:
            self.count("docs_hard_wrapped")
            self.count("lines_joined", sum(len(r) for r in runs) - len(paragraphs))
        for i, para in enumerate(paragraphs):
            if para not in single:  # joined from lines: a phrase may now span a break
                converted = to_simplified(para)
                if converted != para:
                    paragraphs[i] = converted
                    self.count("joined_paragraphs_converted_again")
        doc.paragraphs = paragraphs
        doc.text = "\n".join(paragraphs)
        doc.removed.extend(
            (ln.removed_by, ln.text) for ln in doc.lines if ln.removed_by and ln.text
        )
        if not doc.text:  # the stripper kept lines, but the extractor took them as metadata
            doc.reject(
                self.name,
                "empty_after_metadata",
                "no content left: every line the stripper kept was metadata (a byline)",
                f"{len(doc.removed)} lines removed",
            )
