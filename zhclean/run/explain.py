"""Explain how the stripper read a page, line by line: ``zhclean explain SOURCE``.

A document whose 。，、 had been written as ``.`` also lists each mark the punctuation step
restored, with the model's probabilities for 。，、 and the text around it.

:func:`explain` is pure: text in, report out; :func:`explain_source` reads a source the
way a run does (same checks, same decoding, HTML converted with its DOM evidence, the
repeated lines of its folder). For every line it shows whether the line is kept (``+``)
or removed (``-``), what decided (a rule id, ``title.*``, ``line.marks`` or
``model.boilerplate``), the rule that matched it when the model decided, the model's score
(the second pass; the threshold is in the header) and why: the line's own features that
moved the first pass's log-odds most, then the context features (the first pass's scores
of the neighbours, the container, the structure, the page) that moved the second pass
most; each a tree path contribution, ``+`` towards keeping.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from zhclean.cleaners.boilerplate import BoilerplateStripper, StripperConfig
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.dom import LineDom
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


def _top(contrib: np.ndarray, names: tuple[str, ...], n: int) -> str:
    order = np.argsort(-np.abs(contrib), kind="stable")[:n]
    return ", ".join(f"{names[k]} {contrib[k]:+.1f}" for k in order if abs(contrib[k]) >= 0.05)


def explain(
    raw_text: str,
    *,
    rules: RuleSet | None = None,
    config: StripperConfig | None = None,
    repeated: RepeatedLines | None = None,
    dom: LineDom | None = None,
    width: int = 60,
    top: int = 3,
    now: datetime | None = None,
) -> str:
    """A line-by-line report of the boilerplate decisions for one page's text.

    ``raw_text`` is the text the cleaning stages start from (an HTML page's converted
    text, with its ``dom``); it goes through the same stages as in ``zhclean run`` up to
    metadata: normalization, conversion to Simplified, the stripper and the metadata
    extractor. ``repeated`` is the page's source group's repeated-line table, if any.
    """
    stripper = BoilerplateStripper(
        rules or RuleSet.load(), {"": repeated} if repeated else None, config
    )
    text, collapsed = normalize_lines(raw_text)
    text, decisions = restore_text(to_simplified(text), collapsed)
    page = stripper.prepare(text, split_lines(raw_text), "", dom)
    stripper.score([page])
    ex = stripper.decide(page)
    lines = page.lines
    doc = Document(source="", raw_text=raw_text, text=text, lines=lines)
    doc.content_span = ex.span if ex.mode != CONSERVATIVE else None
    MetadataExtractor(now=now).process(doc)
    kept = [ln.text for ln in lines if ln.kept and ln.text]
    model = stripper.model
    out = [
        f"extraction {ex.mode}   confidence {ex.confidence:.2f}   "
        f"removed share {ex.removed_share:.2f}   kept {len(kept)} of "
        f"{sum(1 for ln in lines if ln.text)} lines, {sum(map(len, kept))} characters",
        f"input {'HTML (DOM features on)' if page.has_dom else 'text (no DOM features)'}   "
        f"model threshold {model.threshold:.2f}   body lines "
        + (f"{ex.span[0]}-{ex.span[1]}" if ex.span else "none"),
    ]
    out += [f"bound: {note}" for note in ex.notes]
    if ex.meta_restored:
        out.append(f"metadata lines kept as content (inside the article): {ex.meta_restored}")
    out.append(
        f"title {doc.title!r}   published_at {doc.published_at}   "
        f"source {doc.source_name!r}   author {doc.author!r}"
    )
    out.extend(_punctuation_lines(text, decisions, width))
    out.append("")
    out.append(
        "line  keep  decision           rule              score  text  "
        "[the line's features that moved the first pass most | the neighbours' scores]"
    )
    first, second = model.first, model.second
    n1 = len(first.features)
    for r, i in enumerate(page.rows):
        line = lines[i]
        mark = "+" if line.kept else "-"
        decision = line.removed_by or "kept"
        rule = line.rule if line.rule and line.rule != line.removed_by else ""
        own = first.contributions(page.x[r, :n1])
        around = second.contributions(page.x[r, : len(second.features)])
        around[:n1] = 0.0  # the second pass's view of the neighbours' scores only
        why = _top(own, first.features, top) + " | " + _top(around, second.features, 2)
        fields = f"  {line.fields}" if line.fields else ""
        out.append(
            f"{i:4d}  {mark}     {decision:<18} {rule:<16} {page.p[r]:6.2f}  "
            f"{_clip(line.text, width)}  [{why}]{fields}"
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
    return explain(doc.input_text, repeated=repeated, dom=doc.dom, width=width)
