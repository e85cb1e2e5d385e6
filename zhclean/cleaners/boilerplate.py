"""Boilerplate stripping: rules, title repeats, repeated lines and the main-content block.

The stripper decides, line by line, what is article and what is page furniture. It
never deletes text silently: every line it removes keeps the id of the rule that
removed it, and metadata lines keep the fields their rule captured for the extractor.

Order of decisions for one document:

1. **Rules** from the data file (line, block, tail, meta, extract). A bare label line
   (``作者：``) is read together with the value on the next line.
2. **Title**: the first kept line, when it is a heading, is the title; copies of it in
   the body go (``title.repeat``).
3. **Repeated lines**: lines that recur in many documents of the group (``repeat.corpus``).
4. **Main block**: the densest contiguous run of prose; lines outside it go
   (``quality.outside_main`` or the id of an edge-scoped rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhclean.cleaners.quality import LineFeatures, block_weight, line_features
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.record import OUTSIDE_MAIN, TITLE_HEADING, TITLE_REPEAT, Document, Line
from zhclean.core.step import Step

REPEAT_CORPUS = "repeat.corpus"

# Rule ids the stripper itself assigns, with their reasons (rules from the data file
# carry their own).
BUILTIN_REASONS = {
    TITLE_HEADING: "the document's heading becomes the title column, not body text",
    TITLE_REPEAT: "a copy of the title inside the body repeats the heading",
    REPEAT_CORPUS: "the line recurs in many documents of the same source group (site template)",
    OUTSIDE_MAIN: "the line lies outside the page's main content block (navigation, footers, sidebars)",
}

_BARE_LABEL_RE = re.compile(
    r"^[\[【(（]?\s*(?:作者|作\s+者|来源|来自|稿源|出处|发布时间|发表时间|发布日期|发表日期|更新时间|"
    r"日期|时间|成文日期|发文机关|发布机构|责任编辑|编辑|记者|本报记者|本报实习生|实习生|通讯员|译者|by)"
    r"\s*[:：]?\s*[\[【(（]?$",
    re.IGNORECASE,
)
_CLOSING_ONLY_RE = re.compile(r"^[\]】)）]$")
_TITLE_SPLIT_RE = re.compile(r"\s+[-–—|｜]\s+|\s*(?:_|--|——|\|)\s*|\s*-\s*(?=[^\s-]{2,12}$)")


@dataclass(frozen=True)
class StripperConfig:
    """Thresholds of the stripper; defaults are tuned on the dev pages, not per site."""

    repeat_min_docs: int = 3
    repeat_min_docs_prose: int = 5
    repeat_min_share_prose: float = 0.1
    tail_min_content_chars: int = 100
    title_max_chars: int = 100
    removed_weight: float = -2.0
    extend_max_chars: int = 20


def _is_heading(f: LineFeatures, text: str) -> bool:
    return (
        4 <= f.n_chars <= 100
        and f.n_han >= 4
        and not text.endswith(("。", "，", "：", ":"))
        and f.n_clause_punct <= 3
        and not f.bullet
        and not f.date_only
    )


_AFFIX_SEPARATORS = frozenset(" -_|｜—–»›>:：")


def _is_affix(head: str, part: str) -> bool:
    """True when ``head`` is ``part`` plus a site name joined by a separator."""
    if head.startswith(part) and len(head) > len(part):
        return head[len(part)] in _AFFIX_SEPARATORS
    if head.endswith(part) and len(head) > len(part):
        return head[-len(part) - 1] in _AFFIX_SEPARATORS
    return False


def _max_subarray(weights: list[float]) -> tuple[int, int] | None:
    best, best_span = 0.0, None
    run, run_start = 0.0, 0
    for i, w in enumerate(weights):
        if run <= 0:
            run, run_start = w, i
        else:
            run += w
        if run > best:
            best, best_span = run, (run_start, i)
    return best_span


class BoilerplateStripper(Step):
    """Mark every boilerplate line of ``doc.text`` as removed, with the rule that removed it."""

    name = "strip_boilerplate"

    def __init__(
        self,
        rules: RuleSet,
        repeated: dict[str, RepeatedLines] | None = None,
        config: StripperConfig | None = None,
    ) -> None:
        super().__init__()
        self.rules = rules
        self.repeated = repeated or {}
        self.config = config or StripperConfig()

    def reasons(self) -> dict[str, str]:
        return {**self.rules.reasons, **BUILTIN_REASONS}

    # -- phase 1: rules ---------------------------------------------------------------

    def _apply_rules(self, lines: list[Line], feats: list[LineFeatures]) -> dict[int, str]:
        """Mark lines matched by rules; return edge-scoped matches (applied later)."""
        edge: dict[int, str] = {}
        good_chars = 0
        n = len(lines)
        i = 0
        while i < n:
            line = lines[i]
            if not line.text or not line.kept:
                i += 1
                continue
            match, span = self._match_labelled(lines, i)
            if match is None:
                match = self.rules.match(line.text, feats[i].is_prose)
            if match is None:
                if feats[i].is_good:
                    good_chars += feats[i].n_han
                i += 1
                continue
            rule = match.rule
            for k in range(i, i + span):
                lines[k].fields = match.fields or lines[k].fields
            if rule.kind == "extract":
                if feats[i].is_good:
                    good_chars += feats[i].n_han
                i += span
                continue
            if rule.scope == "edge":
                edge[i] = rule.id
                i += span
                continue
            if rule.kind == "tail" and good_chars >= self.config.tail_min_content_chars:
                for k in range(i, n):
                    if lines[k].kept:
                        lines[k].removed_by = rule.id
                self.count(f"tail_cut.{rule.id}")
                self._collect_fields(lines, i + span)
                return edge
            for k in range(i, i + span):
                lines[k].removed_by = rule.id
            i += span
            if rule.kind == "block":
                before_article = good_chars < self.config.tail_min_content_chars
                i = self._consume_block(lines, feats, i, rule.id, before_article)
        return edge

    def _match_labelled(self, lines: list[Line], i: int):
        """Match a bare label line (``作者：``) together with the value on the next line(s)."""
        n = len(lines)
        text = lines[i].text
        if not (_BARE_LABEL_RE.match(text) and i + 1 < n and len(lines[i + 1].text) <= 40):
            return None, 1
        joined = f"{text} {lines[i + 1].text}"
        span = 2
        if i + 2 < n and _CLOSING_ONLY_RE.match(lines[i + 2].text):
            joined += lines[i + 2].text
            span = 3
        match = self.rules.match(joined, False, frozenset({"meta", "extract"}))
        return (match, span) if match is not None else (None, 1)

    def _collect_fields(self, lines: list[Line], start: int) -> None:
        """Past a tail cut, still read metadata fields (a byline in a post footer or sidebar)."""
        for line in lines[start:]:
            if line.text and line.fields is None:
                match = self.rules.match(line.text, False, frozenset({"meta", "extract", "tail"}))
                if match is not None and match.fields:
                    line.fields = match.fields

    def _consume_block(
        self,
        lines: list[Line],
        feats: list[LineFeatures],
        i: int,
        rule_id: str,
        before_article: bool,
    ) -> int:
        """Remove the link-title lines that follow a block header; return the next index.

        Above the article, a metadata line inside the block (the page's own date or byline
        under a navigation list) keeps its own rule so that its fields reach the extractor.
        Below the article, dates in a list belong to the linked pages and stay in the block.
        """
        n = len(lines)
        while i < n:
            if not lines[i].text:
                j = i + 1
                while j < n and not lines[j].text:
                    j += 1
                if j >= n or not feats[j].is_link_like:
                    return i
                i = j
                continue
            f = feats[i]
            meta, span = self._match_labelled(lines, i) if before_article else (None, 1)
            if meta is None and before_article:
                meta = self.rules.match(lines[i].text, f.is_prose, frozenset({"meta"}))
            if meta is not None and meta.rule.kind == "meta":
                for k in range(i, i + span):
                    lines[k].removed_by = meta.rule.id
                    lines[k].fields = meta.fields
                i += span
                continue
            if not (f.is_link_like and not f.is_prose):
                return i
            if lines[i].kept:
                lines[i].removed_by = rule_id
            i += 1
        return i

    # -- phase 2: title -----------------------------------------------------------------

    def _mark_title(self, lines: list[Line], feats: list[LineFeatures]) -> None:
        first = next((i for i, ln in enumerate(lines) if ln.text and ln.kept), None)
        if first is None or not _is_heading(feats[first], lines[first].text):
            return
        head = lines[first].text
        title = head
        # The page <title> often carries a site suffix; the in-page heading does not.
        for i in range(first + 1, len(lines)):
            t = lines[i].text
            if t and t != head and len(t) >= 4 and len(t) >= 0.4 * len(head) and _is_affix(head, t):
                title = t
                break
        else:
            parts = [p for p in _TITLE_SPLIT_RE.split(head) if p]
            if len(parts) > 1:
                title = max(parts, key=len)
        lines[first].removed_by = TITLE_HEADING
        lines[first].fields = {**(lines[first].fields or {}), "title": title}
        for i in range(first + 1, len(lines)):
            t = lines[i].text
            if not t or not lines[i].kept or len(t) > len(head) + 10:
                continue
            if t in (head, title) or (
                (t in head or title in t)
                and min(len(t), len(title)) >= 0.8 * max(len(t), len(title))
            ):
                lines[i].removed_by = TITLE_REPEAT

    # -- phase 3: repeated lines ---------------------------------------------------------

    def _mark_repeats(
        self, lines: list[Line], feats: list[LineFeatures], raw_lines: list[str] | None, group: str
    ) -> None:
        repeated = self.repeated.get(group)
        if repeated is None or not repeated.counts or raw_lines is None:
            return
        cfg = self.config
        prose_min = max(cfg.repeat_min_docs_prose, cfg.repeat_min_share_prose * repeated.n_docs)
        for i, line in enumerate(lines):
            if not line.text or not line.kept:
                continue
            count = repeated.count(raw_lines[i])
            if not count:
                continue
            needed = prose_min if feats[i].is_prose else cfg.repeat_min_docs
            if count >= needed:
                line.removed_by = REPEAT_CORPUS

    # -- phase 4: main block -------------------------------------------------------------

    def _mark_outside_main(
        self, lines: list[Line], feats: list[LineFeatures], edge: dict[int, str]
    ) -> tuple[int, int] | None:
        weights = []
        for i, line in enumerate(lines):
            if not line.text:
                weights.append(0.0)
            elif not line.kept or i in edge:
                weights.append(self.config.removed_weight)
            else:
                weights.append(block_weight(feats[i]))
        span = _max_subarray(weights)
        if span is not None:
            span = self._extend(lines, feats, edge, span)
        start, end = span if span else (len(lines), len(lines))
        for i, line in enumerate(lines):
            if line.kept and line.text and not start <= i <= end:
                line.removed_by = edge.get(i, OUTSIDE_MAIN)
        return span

    def _extend(
        self,
        lines: list[Line],
        feats: list[LineFeatures],
        edge: dict[int, str],
        span: tuple[int, int],
    ) -> tuple[int, int]:
        """Grow the block downwards over plain short lines: a table, a signature.

        Growth stops at anything a rule flagged, at link-list shapes (bullets, teasers,
        separators, dates) and at long unpunctuated titles. Only downwards: above an
        article, short plain lines are menus far more often than content.
        """

        def plain(i: int) -> bool | None:
            line, f = lines[i], feats[i]
            if not line.text:
                return None  # blank: look further
            if line.removed_by == REPEAT_CORPUS and f.n_content <= 3:
                return None  # a number repeated across pages ("16"): neither stop nor keep
            if not line.kept or i in edge:
                return False
            if f.is_good:
                return True
            if f.n_content < 2:
                return None  # a stray cell ("7", "、"): look further
            return f.n_chars <= self.config.extend_max_chars and not (
                f.bullet or f.teaser or f.counted or f.date_only or f.n_separators
            )

        start, end = span
        j = end + 1
        while j < len(lines) and (ok := plain(j)) is not False:
            if ok:
                end = j
            j += 1
        return start, end

    def process(self, doc: Document) -> None:
        texts = doc.text.split("\n")
        raw_lines = split_lines(doc.raw_text)
        if len(raw_lines) != len(texts):
            raw_lines = None
        lines = [Line(t.strip()) for t in texts]
        feats = [line_features(ln.text) for ln in lines]
        edge = self._apply_rules(lines, feats)
        self._mark_title(lines, feats)
        self._mark_repeats(lines, feats, raw_lines, doc.group)
        doc.content_span = self._mark_outside_main(lines, feats, edge)
        doc.lines = lines
        for line in lines:
            if line.removed_by and line.removed_by != TITLE_HEADING:
                self.count(f"removed_lines.{line.removed_by}")
                self.count(f"removed_chars.{line.removed_by}", len(line.text))
        kept = sum(1 for ln in lines if ln.kept and ln.text)
        self.count("lines_in", sum(1 for ln in lines if ln.text))
        self.count("lines_kept", kept)
        if not kept:
            removed = len(doc.removed) + sum(1 for ln in lines if ln.removed_by and ln.text)
            doc.reject(
                self.name,
                "empty_after_boilerplate",
                "no content left after boilerplate removal: the file is all navigation, "
                "link lists or metadata",
                f"{removed} lines removed",
            )
