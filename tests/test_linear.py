"""Every stage is linear in its input (issue 17, item 3).

Assembling paragraphs rebuilt one growing string: 25k, 50k and 100k short lines took 1.5,
6.4 and 36 s. Each input shape below is built at a size and at four times that size (two
doublings), and every stage of the pipeline is timed on both, in CPU seconds of this
process (the machine is shared: wall time would measure the neighbours). Linear work
grows about 4 times, quadratic work 16 times; the bound, 8, leaves room for noise and
for n log n. Stages that take under 50 ms on the larger input are not judged: noise
dominates there, and a quadratic stage that cheap at 4 MB costs under a second at 16 MB.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable

import pytest

from tests.conftest import SEEDS
from zhclean.cleaners.hardwrap import (
    _CONTINUES,
    ParagraphAssembler,
    join_broken_lines,
    repair_hard_wraps,
)
from zhclean.cleaners.quality import line_features
from zhclean.core.params import RunParams
from zhclean.core.record import Document, Line, Sentence
from zhclean.normalizers.text import normalize_text
from zhclean.run.pipeline import build_pipeline

GROWTH_BOUND = 8.0  # for 4x the input: linear 4x, quadratic 16x
MIN_SECONDS = 0.05
BASE_CHARS = 60_000

_PARAGRAPHS = [
    p
    for seed in sorted(SEEDS.glob("*.txt"))
    for p in normalize_text(seed.read_text(encoding="utf-8")).split("\n")
    if line_features(p).is_good
]
_PROSE = "".join(_PARAGRAPHS)
_CLAUSES = [c for c in re.split(r"(?<=[，。；！？])", _PROSE) if c]
# A narrative paragraph of a seed (no metadata, no disclaimer): repeated, every line of it
# stays in the article. Without ASCII, each character is one display width.
_NARRATIVE = next(p for p in _PARAGRAPHS if p.startswith("刚刚过去的一年"))
_HAN_PROSE = re.sub(r"[\x00-\x7f]", "", _NARRATIVE)


def _take(items: list[str], chars: int, sep: str = "") -> str:
    out, total, i = [], 0, 0
    while total < chars:
        item = items[i % len(items)]
        out.append(item)
        total += len(item) + len(sep)
        i += 1
    return sep.join(out)


def _wrapped(chars: int) -> str:
    """Prose hard-wrapped at 18 characters, no short line: one paragraph to reassemble."""
    text = (_HAN_PROSE * (chars // len(_HAN_PROSE) + 1))[:chars]
    return "\n".join(text[i : i + 18] for i in range(0, len(text), 18))


SHAPES: dict[str, Callable[[int], str]] = {
    # the shape of the issue: many short lines of one paragraph, wrapped at a fixed width
    "wrapped_lines": _wrapped,
    "clause_per_line": lambda n: _take(_CLAUSES, n, "\n"),
    "blank_line_paragraphs": lambda n: _take(_PARAGRAPHS, n, "\n\n"),
    # "。这意味着…": a crawler broke the lines before punctuation, all of them rejoin
    "lines_broken_before_punctuation": lambda n: "\n".join(
        re.split(r"(?=[，。；！？])", _take([_NARRATIVE], n))
    ),
    "one_long_line": lambda n: _take(_CLAUSES, n).replace("。", "。 http://a.cn/x.html 3.14 ", 50),
    "menu_lines": lambda n: _take(["首页", "新闻中心", "体育", "关于我们", "2024-03-01"], n, "\n"),
    "html_page": lambda n: (
        "<html><head><title>标题</title></head><body>"
        + _take(
            [f"<p>{c}</p>" for c in _CLAUSES[:40]]
            + [
                "<pre>" + "\n".join(_CLAUSES[40:50]) + "</pre>",
                "<table><tr><td>1</td><td>二</td></tr></table>",
            ]
            + [f"{c}<br>" for c in _CLAUSES[50:60]],
            n,
        )
        + "</body></html>"
    ),
}


def _stage_seconds(text: str) -> dict[str, float]:
    """CPU seconds of each stage over one document holding ``text``."""
    pipeline = build_pipeline(RunParams(max_doc_mb=64))
    doc = Document.from_text(text)
    doc.doc_id = "0" * 32
    seconds = {}
    # The collector's full passes cost what the whole test session holds alive, not what
    # the stage does: time the stages' own work (production runs with few collections
    # too, zhclean.run.shard._batch_gc).
    gc.collect()
    gc.disable()
    try:
        for step in pipeline.steps:
            started = time.process_time()
            step.run([doc])
            seconds[step.name] = time.process_time() - started
    finally:
        gc.enable()
    return seconds


def _best_of(runs: int, text: str) -> dict[str, float]:
    results = [_stage_seconds(text) for _ in range(runs)]
    return {name: min(r[name] for r in results) for name in results[0]}


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_stage_grows_linearly(shape):
    make = SHAPES[shape]
    small, large = _best_of(2, make(BASE_CHARS)), _best_of(2, make(4 * BASE_CHARS))
    judged = {n for n, s in large.items() if s >= MIN_SECONDS}
    growth = {n: large[n] / max(small[n], 1e-4) for n in judged}
    shown = {n: f"{small[n]:.3f} -> {large[n]:.3f} s ({growth[n]:.1f}x)" for n in judged}
    assert all(g <= GROWTH_BOUND for g in growth.values()), shown


def _doc(**fields) -> Document:
    return Document(source="x.txt", doc_id="0" * 32, **fields)


# Inputs that only a stage after the boilerplate stripper sees whole (the stripper removes
# such lines from a page): built in the stage's own input form.
STAGE_INPUTS: dict[str, tuple[str, Callable[[int], Document]]] = {
    "assemble: hard-wrapped lines": (
        "assemble",
        lambda n: _doc(lines=[Line(_HAN_PROSE[i % 50 : i % 50 + 18]) for i in range(n // 18)]),
    ),
    "assemble: lines starting with punctuation": (
        "assemble",
        lambda n: _doc(lines=[Line("，" + _HAN_PROSE[i % 50 : i % 50 + 8]) for i in range(n // 9)]),
    ),
    # a sentence followed by punctuation-only pieces, which join it one by one
    "split: punctuation pieces": ("split", lambda n: _doc(paragraphs=["好" + "。□" * (n // 2)])),
    "split: quotations": ("split", lambda n: _doc(paragraphs=["“好。”他说。" * (n // 7)])),
    "split: brackets": ("split", lambda n: _doc(paragraphs=["（好。）" * (n // 4)])),
    "tokenize: one long sentence": (
        "tokenize",
        lambda n: _doc(sentences=[Sentence(0, (_HAN_PROSE * (n // len(_HAN_PROSE) + 1))[:n])]),
    ),
    "tokenize: mixed runs": (
        "tokenize",
        lambda n: _doc(sentences=[Sentence(0, "中a-b.c_d 3.5%" * (n // 13))]),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(STAGE_INPUTS))
def test_stages_after_the_stripper_grow_linearly(case):
    stage, make = STAGE_INPUTS[case]
    step = build_pipeline(RunParams(max_doc_mb=64)).step(stage)

    def seconds(n: int) -> float:
        best = float("inf")
        for _ in range(2):
            doc = make(n)
            gc.collect()
            started = time.process_time()
            step.run([doc])
            best = min(best, time.process_time() - started)
        return best

    small, large = seconds(BASE_CHARS), seconds(4 * BASE_CHARS)
    assert large < max(GROWTH_BOUND * small, MIN_SECONDS), (small, large)


def test_assembling_many_short_lines_is_linear():
    """The issue's case on the assemble stage alone, fast enough for every test run."""

    def seconds(n: int) -> float:
        doc = Document.from_text("")
        doc.lines = [Line(_HAN_PROSE[i % 50 : i % 50 + 18]) for i in range(n)]
        started = time.process_time()
        ParagraphAssembler().process(doc)
        assert len(doc.paragraphs) == 1
        return time.process_time() - started

    small = min(seconds(20_000) for _ in range(2))
    large = min(seconds(80_000) for _ in range(2))
    # quadratic: 0.7 s -> 11 s here; linear: about 0.02 -> 0.08 s
    assert large < max(GROWTH_BOUND * small, MIN_SECONDS), (small, large)


def _old_join_broken_lines(run: list[str]) -> list[str]:
    """The quadratic version, as the reference for what the output must be."""
    out: list[str] = []
    for line in run:
        if out and line[:1] in _CONTINUES:
            out[-1] += line
        else:
            out.append(line)
    return out


def _old_repair_hard_wraps(run: list[str], width: int | None) -> list[str]:
    from zhclean.cleaners.hardwrap import WIDTH_TOLERANCE, display_width

    def join(left: str, right: str) -> str:
        if (
            left[-1:].isascii()
            and left[-1:].isalnum()
            and right[:1].isascii()
            and right[:1].isalnum()
        ):
            return f"{left} {right}"
        return left + right

    if width is None or len(run) < 2:
        return list(run)
    paragraphs, current = [], run[0]
    full = display_width(run[0]) >= width - WIDTH_TOLERANCE
    for line in run[1:]:
        if full:
            current = join(current, line)
        else:
            paragraphs.append(current)
            current = line
        full = display_width(line) >= width - WIDTH_TOLERANCE
    paragraphs.append(current)
    return paragraphs


def test_the_linear_assembly_gives_the_same_paragraphs():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    piece = st.sampled_from(["", "a", "9", "中", "。", ")", " ", "x1", "，好", "bc", "长长长长长"])
    lines = st.lists(st.lists(piece, max_size=6).map("".join), max_size=30)

    @settings(max_examples=500, deadline=None)
    @given(lines, st.sampled_from([None, 1, 2, 4, 6, 10]))
    def same(run, width):
        assert join_broken_lines(run) == _old_join_broken_lines(run)
        assert repair_hard_wraps(run, width) == _old_repair_hard_wraps(run, width)

    same()
