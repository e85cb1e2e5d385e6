"""Explain how the stripper read a page, line by line: ``zhclean explain SOURCE``.

A document whose 。，、 had been written as ``.`` also lists each mark the punctuation step
restored, with the model's probabilities for 。，、 and the text around it.

:func:`explain` is pure: text in, report out; :func:`explain_source` reads a source the
way a run does (same checks, same decoding, the repeated lines of its folder). For every line of the page it shows whether
the line is kept (``+``) or removed (``-``), the rule or block decision that removed it,
its context-free class and its class after the context pass, and its weight in the block
search. The header says how the page was extracted and how sure the stripper is.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from zhclean.cleaners.boilerplate import BoilerplateStripper, StripperConfig, article_body
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.params import RunParams
from zhclean.core.record import CONSERVATIVE, Document, SourceRef
from zhclean.core.simplify import to_simplified
from zhclean.extractors.metadata import MetadataExtractor
from zhclean.normalizers.punctuation import (
    CLOSE_MARGIN,
    MARKS,
    Decision,
    punct_confidence,
    restore_text,
)
from zhclean.normalizers.text import normalize_lines
from zhclean.readers.files import FileReader, list_sources
from zhclean.readers.html import HtmlConverter
from zhclean.run.plan import scan_sources


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def explain(
    raw_text: str,
    *,
    rules: RuleSet | None = None,
    config: StripperConfig | None = None,
    repeated: RepeatedLines | None = None,
    width: int = 60,
    now: datetime | None = None,
) -> str:
    """A line-by-line report of the boilerplate decisions for one page's raw text.

    The text goes through the same stages as in ``zhclean run`` up to metadata:
    normalization, conversion to Simplified, the stripper and the metadata extractor.
    ``repeated`` is the page's source group's repeated-line table, if any.
    """
    stripper = BoilerplateStripper(
        rules or RuleSet.load(), {"": repeated} if repeated else None, config
    )
    text, collapsed = normalize_lines(raw_text)
    text, decisions = restore_text(to_simplified(text), collapsed)
    lines, ex = stripper.strip(text, split_lines(raw_text))
    doc = Document(source="", raw_text=raw_text, text=text, lines=lines)
    doc.content_span = article_body(ex.cf, ex.span) if ex.span and ex.mode != CONSERVATIVE else None
    MetadataExtractor(now=now).process(doc)
    kept = [ln.text for ln in lines if ln.kept and ln.text]
    out = [
        f"extraction {ex.mode}   confidence {ex.confidence:.2f}   "
        f"removed share {ex.removed_share:.2f}   kept {len(kept)} of "
        f"{sum(1 for ln in lines if ln.text)} lines, {sum(map(len, kept))} characters",
        f"article block  lines {ex.span[0]}-{ex.span[1]}" if ex.span else "article block  none",
    ]
    if ex.tail is not None:
        out.append(f"tail  from line {ex.tail.start}: {ex.tail.kind} ({ex.tail.detail})")
    for start, end, han in ex.runs:
        out.append(f"short-line run  lines {start}-{end}, {han} Han")
    if ex.meta_restored:
        out.append(f"metadata lines kept as content (inside the article): {ex.meta_restored}")
    out.append(
        f"title {doc.title!r}   published_at {doc.published_at}   "
        f"source {doc.source_name!r}   author {doc.author!r}"
    )
    out.extend(_punctuation_lines(text, decisions, width))
    out.append("")
    out.append("line  keep  decision              class        weight  text")
    for i, line in enumerate(lines):
        if not line.text:
            continue
        mark = "+" if line.kept else "-"
        decision = line.removed_by or ("kept" if ex.span is None else "in block")
        classes = f"{ex.cf[i]}>{ex.final[i]}" if ex.cf[i] != ex.final[i] else ex.cf[i]
        fields = f"  {line.fields}" if line.fields else ""
        out.append(
            f"{i:4d}  {mark}     {decision:<21} {classes:<12} {ex.weights[i]:7.1f}  "
            f"{_clip(line.text, width)}{fields}"
        )
    return "\n".join(out)


def _punctuation_lines(text: str, decisions: list[Decision], width: int) -> list[str]:
    """The punctuation step's part of the report: each restored mark, the model's
    probabilities for 。，、 and the text around it."""
    if not decisions:
        return ["punctuation original"]
    counts = "  ".join(f"{m} {sum(d.mark == m for d in decisions)}" for m in MARKS)
    close = sum(d.close for d in decisions)
    out = [
        f"punctuation restored: {len(decisions)} marks ({counts}) in "
        f"{len({d.line for d in decisions})} lines whose 。，、 were all written as '.'; "
        f"{close} close calls (two marks within {CLOSE_MARGIN:.2f}), confidence "
        f"{punct_confidence(close, len(decisions)):.2f}",
        "",
        "line  offset  mark  p(。)  p(，)  p(、)  close  context",
    ]
    lines = text.split("\n")
    side = max(4, (width - 3) // 4)
    for d in decisions:
        line = lines[d.line]
        context = f"{line[max(0, d.offset - side) : d.offset]}[{d.mark}]{line[d.offset + 1 : d.offset + 1 + side]}"
        p = "  ".join(f"{x:.2f}" for x in d.probs)
        out.append(
            f"{d.line:4d}  {d.offset:6d}  {d.mark}    {p}  {'yes' if d.close else '   '}    {context}"
        )
    out.append("")
    return out


def explain_source(params: RunParams, source: str, width: int = 60) -> str:
    """Explain one source of ``params.input_dir`` (its ``source`` id, or a path to a file).

    The file is read with the run's checks and decoding, and the lines repeated across
    its folder are counted as a run would count them.
    """
    root = Path(params.input_dir)
    refs = list_sources(root) if root.is_dir() else []
    ref = next((r for r in refs if r.source == source), None)
    if ref is None:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no source {source!r} under {root}, and no such file")
        root, ref = path.parent, SourceRef(str(path), path.name, path.stat().st_size)
        refs = [ref]
    group = [r for r in refs if r.group == ref.group]
    scan = scan_sources(group, str(root), params.follow_symlinks, params.max_doc_bytes)
    repeated = scan.repeated([ref.group], StripperConfig.repeat_min_docs).get(ref.group)
    doc = Document.from_ref(ref)
    FileReader(str(root), params.follow_symlinks, params.max_doc_bytes).run([doc])
    HtmlConverter().run([doc])  # an HTML page is explained as the text it converts to
    if doc.rejected:
        return f"{source}: not read: {doc.rejection.reason}"
    return explain(doc.input_text, repeated=repeated, width=width)
