"""Boilerplate stripping: rules, title repeats, repeated lines and the main-content block.

The stripper decides, line by line, what is article and what is page furniture. It
never deletes text silently: every line it removes keeps the id of the rule that
removed it, and metadata lines keep the fields their rule captured for the extractor.

Order of decisions for one document:

1. **Rules** from the data file (line, block, tail, meta, extract). A bare label line
   (``作者：``) is read together with the value on the next line.
2. **Title**: the first kept line, when it is a heading, is the title; copies of it in
   the body go (``title.repeat``), except the copies a run of short lines repeats (a
   chorus that is the song's title: :meth:`BoilerplateStripper._restore_refrains`).
3. **Repeated lines**: lines that recur in many documents of the group (``repeat.corpus``).
4. **Page structure** (:mod:`zhclean.cleaners.context`): every line gets a class from its
   own shape, then
   - a page whose text is written in short unpunctuated lines (poems, lyrics, photo
     blogs, diaries) has that run treated as text when the page has little prose
     (under ``narrative_max_prose`` Han) and the run is at least twice as large: link
     lists in sidebars pass the run test too, so a real prose article always wins.
     Image file names, ``[图片]`` markers and times of day do not break a run; its
     credits and the buttons under it are trimmed;
   - after the article, a repeating record structure (``tail.records``: timestamped
     records, or three or more dated lines of one shape, however sentence-like) or a
     directory of names that no article text follows (``tail.directory``) ends it; on a
     question-and-answer page the answers are the content, not a thread;
   - record cards (name, timestamp, votes) repeated between posts go (``record.card``);
   - short lines take the class of their neighbours (jusText's context pass), so a
     table, a list or a heading between two parts of an article joins them, and a list
     the text announces ("名单如下：") is the article's to its end.
5. **Article block**: the best-scoring contiguous run of lines under those classes, grown
   downwards over a few plain short lines (a signature, a closing table; contact lines
   only up to a closing date, and never past it) and upwards over cheap lines context
   made good and over a headed table of fields; lines outside it go
   (``quality.outside_main`` or the id of an edge-scoped rule).
6. **Metadata zones**: a metadata line inside the article body (between its first and
   last lines of text) is content; below the body, so is one whose fields an earlier
   metadata line already gave: a page has one date.
7. **Fallback**: when that would leave almost nothing of a page with a substantial run
   of narrative Han text, the page is extracted conservatively: rules only, no block cut.
   Whatever the lines' class, when the block keeps almost nothing of the largest run of
   lines no rule removed (:func:`~zhclean.cleaners.context.surviving_run`: verse one
   line each, with few function characters), that run is extracted conservatively.

Round 3 bounds how wrong the stripper can be on a page it does not understand:

- **never empty**: the fallback above; an empty page is the worst outcome, so with
  nothing kept a smaller run suffices;
- **no precision collapse**: the block starts under the in-page headline when it runs
  across it with text above (:meth:`BoilerplateStripper._anchor_to_headline`), and a
  heading right where the text ends over a list of independent items that outweighs the
  text is a tail (``context._item_tail``);
- **no recall collapse**: timestamped records of one author are the content, and a
  records cut that removes more text than it leaves needs evidence of a discussion
  (``context._thread_evidence``); under a line announcing a table, rows a shape rule
  took for menu bars are its rows (:func:`~zhclean.cleaners.context.announced_lists`);
- **honest confidence**: see :func:`confidence` (coverage, residue, rescued, seams).

The document records how it was extracted and how sure the stripper is
(:attr:`Document.extraction`, :attr:`Document.removed_share`, :attr:`Document.confidence`;
see :func:`confidence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from zhclean.cleaners.context import (
    ANSWER_RULES,
    BAD,
    CLOSING_DATE_RE,
    GOOD,
    MAX_WEAK,
    SHORT,
    TABLE_ROW_RULES,
    Tail,
    announced_lists,
    comment_runs,
    context_free_classes,
    demote_comments,
    find_tail,
    is_heading,
    is_meta,
    items_under,
    kept_record_runs,
    narrative_runs,
    record_cards,
    smooth,
    surviving_run,
    text_runs,
)
from zhclean.cleaners.quality import LineFeatures, block_weight, line_features
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.record import (
    CONSERVATIVE,
    EMPTY,
    MAIN_BLOCK,
    OUTSIDE_MAIN,
    SHORT_LINES,
    TITLE_HEADING,
    TITLE_REPEAT,
    Document,
    Line,
)
from zhclean.core.step import Step

REPEAT_CORPUS = "repeat.corpus"
TAIL_RECORDS = "tail.records"
TAIL_DIRECTORY = "tail.directory"
RECORD_CARD = "record.card"
# What the page structure removed, as opposed to a rule of the data file.
STRUCTURAL = frozenset({OUTSIDE_MAIN, TAIL_RECORDS, TAIL_DIRECTORY, RECORD_CARD})


# Rule ids the stripper itself assigns, with their reasons (rules from the data file
# carry their own).
BUILTIN_REASONS = {
    TITLE_HEADING: "the document's heading becomes the title column, not body text",
    TITLE_REPEAT: "a copy of the title inside the body repeats the heading",
    REPEAT_CORPUS: "the line recurs in many documents of the same source group (site template)",
    OUTSIDE_MAIN: "the line lies outside the page's main content block (navigation, footers, sidebars)",
    TAIL_RECORDS: "a repeating record structure after the article (name, timestamp, reply) is a comment thread",
    TAIL_DIRECTORY: "a long run of short names that no article text follows is a link directory, not content",
    RECORD_CARD: "a name, timestamp and vote card between the posts of a discussion introduces a post; it is not text",
}

_BARE_LABEL_RE = re.compile(
    r"^[\[【(（]?\s*(?:作者|作\s+者|来源|来自|稿源|出处|发布时间|发表时间|发布日期|发表日期|更新时间|"
    r"日期|时间|成文日期|发文机关|发布机构|责任编辑|编辑|记者|本报记者|本报实习生|实习生|通讯员|译者|by)"
    r"\s*[:：]?\s*[\[【(（]?$",
    re.IGNORECASE,
)
_ROWS_NOTE = "table rows a shape rule removed given back under an announcing line"
_CLOSING_ONLY_RE = re.compile(r"^[\]】)）]$")
_TITLE_SPLIT_RE = re.compile(r"\s+[-–—|｜]\s+|\s*(?:_|--|——|\|)\s*|\s*-\s*(?=[^\s-]{2,12}$)")


@dataclass(frozen=True)
class StripperConfig:
    """Thresholds of the stripper; defaults are tuned on the dev pages, not per site."""

    repeat_min_docs: int = 3
    repeat_min_docs_prose: int = 5
    repeat_min_share_prose: float = 0.1
    tail_min_content_chars: int = 100
    # a tail rule's header (网友评论, 付款方式) ends the article after one paragraph of it
    rule_tail_min_chars: int = 60
    title_max_chars: int = 100
    removed_weight: float = -2.0
    extend_max_chars: int = 20
    extend_max_list: int = 6
    list_item_weight: float = 0.5
    extend_max_held: int = 4
    # tails after the article
    tail_min_records: int = 3
    record_max_gap: int = 12
    directory_min_lines: int = 8
    # short-line articles
    narrative_min_lines: int = 8
    narrative_min_han: int = 100
    narrative_min_function: float = 0.1
    narrative_over_prose: float = 2.0
    narrative_max_prose: int = 200
    # conservative fallback
    fallback_min_han: int = 150
    fallback_keep_share: float = 0.25
    # with nothing kept, one sentence of running text this long is kept rather than an
    # empty page (a short page: one sentence and a code block, issue 17)
    lone_sentence_min_han: int = 15


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


def article_body(cf: list[str], span: tuple[int, int]) -> tuple[int, int]:
    """First and last line of running text (context-free good) in the block ``span``."""
    start, end = span
    goods = [i for i in range(start, end + 1) if cf[i] == GOOD]
    return (goods[0], goods[-1]) if goods else (start, end)


def _field_line(f: LineFeatures, text: str) -> bool:
    """One "label：value" pair with a value ("品牌：山野"), short: a row of a table of fields."""
    if f.n_labels != 1 or f.n_chars > 40 or f.ends_terminal:
        return False
    _, _, value = text.replace(":", "：").partition("：")
    return bool(value.strip())


def _salutation(f: LineFeatures, text: str) -> bool:
    """A short address ending in a colon right above the text ("各位读者：", "亲爱的同学们："):
    the text's first line, though a cell by its shape."""
    return text.endswith(("：", ":")) and 2 <= f.n_han <= 12 and not f.n_digits and f.n_chars <= 16


def _question_title(f: LineFeatures, text: str) -> bool:
    """A one-clause title ending in a question or exclamation mark: under a related-links
    header ("相关问题") it is a link, however sentence-like ("…哪个效率高？")."""
    return f.n_chars <= 40 and f.n_clause_punct <= 1 and text.endswith(("？", "?", "！", "!"))


def _cell_like(f: LineFeatures) -> bool:
    """A table cell: very short, a date, or mostly digits."""
    if f.n_separators or f.bullet or f.teaser or f.counted:
        return False
    return f.n_chars <= 12 or f.date_only or (f.n_chars <= 30 and f.n_digits >= 0.3 * f.n_chars)


def _next_is(cls: list[str], lines: list[Line], i: int, n: int, wanted: str) -> bool:
    j = i + 1
    while j < n and not lines[j].text:
        j += 1
    return j < n and cls[j] == wanted


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

    def _apply_rules(
        self, lines: list[Line], feats: list[LineFeatures], protected: frozenset[int] = frozenset()
    ) -> dict[int, str]:
        """Mark lines matched by rules; return edge-scoped matches (applied later).

        ``protected`` lines (a short-line article) are never swallowed by a link block.
        Once a line has shown that the page is a question-and-answer page (an answer
        widget), a tail rule only removes its line: a comment counter under an answer
        counts that answer's comments, the answers after it are the content.
        """
        edge: dict[int, str] = {}
        good_chars = 0
        answers = False
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
            if rule.id in ANSWER_RULES:
                answers = True
            if (
                rule.kind == "tail"
                and good_chars >= self.config.rule_tail_min_chars
                and not answers  # on a Q&A page a comment counter belongs to one answer
            ):
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
                i = self._consume_block(lines, feats, i, rule.id, before_article, protected)
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
        protected: frozenset[int] = frozenset(),
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
            if not ((f.is_link_like and not f.is_prose) or _question_title(f, lines[i].text)):
                return i
            if i in protected:
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
        # The page <title> often carries a site suffix; the in-page heading does not. The
        # site's name stands alone near the top too (its logo), so of the lines that are
        # a part of the <title>, the one nearest the article (the last one above its first
        # line of text) is the heading.
        affixes = [
            i
            for i in range(first + 1, len(lines))
            if (t := lines[i].text) and t != head and len(t) >= 4 and _is_affix(head, t)
        ]
        text_start = next(
            (i for i in range(first + 1, len(lines)) if feats[i].is_good and i not in affixes),
            None,
        )
        above = [i for i in affixes if text_start is None or i < text_start]
        if affixes:
            title = lines[(above or affixes)[-1]].text
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

    def _restore_refrains(self, lines: list[Line], feats: list[LineFeatures]) -> frozenset[int]:
        """Give back the copies of the title that a run of short lines repeats.

        A song's chorus is often its title, and a poem's refrain too: a copy of the title
        that stands inside a run of short narrative lines (after its first line) is a line
        of the text, not a repeated heading, and so is the copy right after such a run
        when the run repeats it inside. The copy above the run (the in-page heading)
        stays removed. Returns the lines given back.
        """
        copies = frozenset(i for i, ln in enumerate(lines) if ln.removed_by == TITLE_REPEAT)
        if not copies:
            return frozenset()
        restored: set[int] = set()
        for start, end, _ in self._narrative_runs(
            lines,
            feats,
            passable=copies,
        ):
            inside = {i for i in copies if start < i < end}
            if not inside:
                continue
            after = next((k for k in range(end + 1, len(lines)) if lines[k].text), None)
            if after in copies:
                inside.add(after)
            for i in inside:
                lines[i].removed_by = None
            restored |= inside
        return frozenset(restored)

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

    # -- phase 4: page structure and the article block ---------------------------------

    def _weights(
        self,
        lines: list[Line],
        feats: list[LineFeatures],
        edge: dict[int, str],
        cf: list[str] | None = None,
        final: list[str] | None = None,
    ) -> list[float]:
        """Line weights for the block search.

        Prose counts by its size; link-like lines and lines a rule removed cost. With
        classes (after the context pass), a short line that context puts inside the
        article costs almost nothing when it is shaped like a table cell or a section
        heading, so that a table or a heading joins two parts of an article; a line
        shaped like a headline keeps its cost even there, so that a list of related
        headlines still separates the article from whatever follows it.
        """
        weights = []
        n = len(lines)
        for i, line in enumerate(lines):
            f = feats[i]
            if not line.text:
                weights.append(0.0)
            elif cf is not None and cf[i] == GOOD:
                weights.append(float(f.n_content))
            elif final is not None and cf is not None and final[i] == GOOD:
                if (
                    _cell_like(f)
                    or f.is_field_record
                    or (is_heading(f) and _next_is(cf, lines, i, n, GOOD))
                ):
                    weights.append(-0.2)
                else:
                    weights.append(block_weight(f))
            elif not line.kept or i in edge:
                weights.append(self.config.removed_weight)
            elif cf is not None and cf[i] == BAD:
                weights.append(-2.0 - min(f.n_content, 30) / 10)  # a link or record shape
            elif final is not None:
                weights.append(min(block_weight(f), -1.0))  # context says: not the article
            else:
                weights.append(block_weight(f))
        return weights

    def _narrative_runs(
        self, lines: list[Line], feats: list[LineFeatures], **options: Any
    ) -> list[tuple[int, int, int]]:
        """:func:`narrative_runs` with the configured thresholds for a run of text."""
        cfg = self.config
        return narrative_runs(
            lines,
            feats,
            min_lines=cfg.narrative_min_lines,
            min_han=cfg.narrative_min_han,
            min_function=cfg.narrative_min_function,
            **options,
        )

    def _short_line_article(self, lines: list[Line], feats: list[LineFeatures]) -> frozenset[int]:
        """Lines of short-line runs that outweigh the page's prose (before any rule)."""
        cfg = self.config
        runs = self._narrative_runs(
            lines,
            feats,
        )
        if not runs:
            return frozenset()
        weights = [block_weight(f) for f in feats]
        first = _max_subarray(weights)
        prose_han = (
            sum(f.n_han for f in feats[first[0] : first[1] + 1] if f.is_good) if first else 0
        )
        if prose_han >= cfg.narrative_max_prose:
            return frozenset()
        return frozenset(
            k
            for start, end, han in runs
            if han >= cfg.narrative_over_prose * prose_han
            for k in range(start, end + 1)
        )

    def _locate(
        self,
        lines: list[Line],
        feats: list[LineFeatures],
        edge: dict[int, str],
        refrains: frozenset[int] = frozenset(),
    ) -> Extraction:
        """Classes, tails, short-line mode and the article block; marks nothing yet."""
        cfg = self.config
        n = len(lines)
        cf = context_free_classes(lines, feats, edge)
        mode = MAIN_BLOCK
        first = _max_subarray(self._weights(lines, feats, edge))
        prose_han = (
            sum(feats[i].n_han for i in range(first[0], first[1] + 1) if cf[i] == GOOD)
            if first
            else 0
        )
        runs = self._narrative_runs(
            lines,
            feats,
            keep=refrains,
        )
        for start, end, han in runs:
            if han >= cfg.narrative_over_prose * prose_han and prose_han < cfg.narrative_max_prose:
                mode = SHORT_LINES
                for k in range(start, end + 1):
                    if lines[k].text and lines[k].kept:
                        cf[k] = GOOD
        # Readers' comments shown above the article are not its text (nor the text
        # that a list of the article's paragraphs would be a tail of).
        comments = demote_comments(
            lines,
            feats,
            cf,
            min_content=cfg.tail_min_content_chars,
            min_records=cfg.tail_min_records,
        )
        for first, last in comments:
            self.count("comment_runs_demoted")
            for k in range(first, last + 1):
                if lines[k].text:
                    cf[k] = BAD
        notes: list[str] = []
        tail = find_tail(
            lines,
            feats,
            cf,
            min_content=cfg.tail_min_content_chars,
            min_records=cfg.tail_min_records,
            max_gap=cfg.record_max_gap,
            directory_min_lines=cfg.directory_min_lines,
            notes=notes,
        )
        if tail is not None:
            for k in range(tail.start, n):
                if lines[k].text:
                    cf[k] = BAD
        cards = record_cards(lines, feats, cf, tail.start if tail is not None else n)
        for k in cards:
            lines[k].removed_by = RECORD_CARD
            lines[k].fields = None  # an answer's date is not the page's
            cf[k] = BAD
        final = smooth(cf, feats, lines)
        weights = self._weights(lines, feats, edge, cf, final)
        # A list the text announces is the article's: its lines cost nothing, so the
        # block runs to its end (a list of names alone after "名单如下：" included).
        lists = announced_lists(lines, feats, cf, edge)
        for start, end in lists:
            for k in range(start, end + 1):
                if tail is not None and k >= tail.start:
                    break
                if lines[k].removed_by in TABLE_ROW_RULES:
                    lines[k].removed_by = None  # a row of the announced table
                    cf[k] = SHORT
                    if not notes or notes[-1] != _ROWS_NOTE:
                        notes.append(_ROWS_NOTE)
                if lines[k].text and lines[k].kept:
                    final[k] = GOOD
                    weights[k] = max(weights[k], cfg.list_item_weight)
        if tail is not None:
            for k in range(tail.start, n):
                weights[k] = min(weights[k], cfg.removed_weight) if lines[k].text else 0.0
        return Extraction(
            mode,
            cf,
            final,
            weights,
            tail,
            runs,
            prose_han,
            lists=lists,
            rescued=len(notes),
            comments=comments,
        )

    def _mark_outside_main(
        self, lines: list[Line], feats: list[LineFeatures], edge: dict[int, str], ex: Extraction
    ) -> tuple[int, int] | None:
        n = len(lines)
        if ex.tail is not None:
            rule = TAIL_RECORDS if ex.tail.kind == "records" else TAIL_DIRECTORY
            for k in range(ex.tail.start, n):
                if lines[k].text and (lines[k].kept or k in edge):
                    lines[k].removed_by = rule
        span = _max_subarray(ex.weights)
        if span is not None:
            # A short-line run was trimmed of the buttons under it on purpose.
            if not (ex.mode == SHORT_LINES and any(end == span[1] for _, end, _ in ex.runs)):
                span = self._extend(lines, feats, edge, span)
            span = self._extend_up(lines, feats, edge, ex, span)
            span = self._anchor_to_headline(lines, feats, ex, span)
        start, end = span if span else (n, n)
        for i, line in enumerate(lines):
            if line.kept and line.text and not start <= i <= end:
                line.removed_by = edge.get(i, OUTSIDE_MAIN)
        return span

    def _anchor_to_headline(
        self, lines: list[Line], feats: list[LineFeatures], ex: Extraction, span: tuple[int, int]
    ) -> tuple[int, int]:
        """Start the block under the page's in-page headline when the block runs across it.

        The article is the text attached to its headline (trafilatura's preference): a
        copy of the title inside the block, with text above it and an article's worth
        of running text (``tail_min_content_chars`` Han) below it, means that what lies
        above is something else (teasers of other articles, readers' comments shown
        first, a "this week's picks" box), however prose-like. The block then starts on
        the first line under the headline and its byline lines (metadata), which stay
        metadata.
        """
        start, end = span
        good_before = 0
        after = [0] * (end + 2)
        for i in range(end, start - 1, -1):
            after[i] = after[i + 1] + (feats[i].n_han if ex.cf[i] == GOOD else 0)
        for i in range(start, end + 1):
            line = lines[i]
            if (
                line.removed_by == TITLE_REPEAT
                and good_before
                and (after[i] >= self.config.tail_min_content_chars)
            ):
                j = i + 1
                while j <= end and (
                    not lines[j].text or is_meta(lines[j]) or lines[j].removed_by == TITLE_REPEAT
                ):
                    j += 1
                self.count("block_anchored_to_headline")
                return (j, end) if j <= end else span
            if ex.cf[i] == GOOD and line.kept:
                good_before += feats[i].n_han
        return span

    @staticmethod
    def _extend_up(
        lines: list[Line],
        feats: list[LineFeatures],
        edge: dict[int, str],
        ex: Extraction,
        span: tuple[int, int],
        min_fields: int = 3,
    ) -> tuple[int, int]:
        """Grow the block upwards over lines context made good that cost almost nothing
        (the first lines of a poem and the heading under them): the block search cannot
        start on a line with a cost, however small. The new first line must be text by
        its own shape (near-good), never a lone heading or cell: above an article, short
        plain lines are menus far more often than content.

        Then over a table of fields right above the text ("品牌：山野", "尺寸：32×26×12厘米",
        at least ``min_fields`` lines "label：value" in a row) under a heading of its own
        ("产品参数"): a product's specification or an entry's facts, which menus are not
        shaped like."""
        start, end = span
        j, top = start - 1, start
        above = next((k for k in range(start - 1, -1, -1) if lines[k].text), -1)
        while j >= 0:
            if not lines[j].text:
                j -= 1
                continue
            if ex.final[j] != GOOD or ex.weights[j] < -1.0:
                break
            if ex.cf[j] != SHORT or (
                j == above and lines[j].kept and _salutation(feats[j], lines[j].text)
            ):
                top = j  # the block may start on a line of text, not on a heading or cell
            j -= 1
        fields: list[int] = []
        j = top - 1
        while j >= 0:
            line = lines[j]
            if not line.text:
                j -= 1
                continue
            if not (line.kept and j not in edge and _field_line(feats[j], line.text)):
                break
            fields.append(j)
            j -= 1
        # The table must be headed ("产品参数", "商品描述"): a page's own record of fields
        # (索引号, 主题分类, 发文字号 under the title) is not, and is not the article.
        headed = j >= 0 and lines[j].kept and is_heading(feats[j])
        if not headed:
            fields = []
        inside = 0  # field lines the block already starts with
        for k in range(top, end + 1):
            if lines[k].text:
                if not _field_line(feats[k], lines[k].text):
                    break
                inside += 1
        if fields and len(fields) + inside >= min_fields:
            top = fields[-1]
        return top, end

    def _extend(
        self,
        lines: list[Line],
        feats: list[LineFeatures],
        edge: dict[int, str],
        span: tuple[int, int],
    ) -> tuple[int, int]:
        """Grow the block downwards over plain short lines: a table, a signature.

        Growth passes over metadata lines (the metadata zones decide about them). It
        stops at anything else a rule flagged (a tail included), at link-list shapes
        (bullets, teasers, separators, dates) and at long unpunctuated titles. Only
        downwards: above an article, short plain lines are menus far more often than
        content. A run of ``extend_max_list`` or more short lines with hardly any digits is
        a list of names or titles (tables hold numbers): the block does not grow over it,
        unless its last line announces the list ("名单如下：").

        A notice closes with contact lines, a signature and a date. Contact lines (an
        edge-scoped rule) and records of fields ("地址：… 电话：…") are page footers as
        often: growth passes over them only when a closing date follows, and it ends at
        that date.
        """

        def plain(i: int) -> str:
            """'skip', 'date' (a closing date), 'plain', 'held' (contact, fields) or 'stop'."""
            line, f = lines[i], feats[i]
            if not line.text:
                return "skip"
            if line.removed_by == REPEAT_CORPUS and f.n_content <= 3:
                return "skip"  # a number repeated across pages ("16"): neither stop nor keep
            if is_meta(line):
                # a closing date ends the notice; a byline: the metadata zones decide
                return "date" if "date" in (line.fields or {}) else "skip"
            if i in edge and line.kept:
                return "held"
            if not line.kept:
                return "stop"
            if f.is_field_record:
                return "held"
            if f.is_good:
                return "plain"
            if f.n_content < 2:
                return "skip"  # a stray cell ("7", "、"): look further
            ok = f.n_chars <= self.config.extend_max_chars and not (
                f.bullet or f.teaser or f.counted or f.date_only or f.n_separators
            )
            return "plain" if ok else "stop"

        start, end = span
        if CLOSING_DATE_RE.search(lines[end].text) and feats[end].n_chars <= 24:
            return span  # the notice's closing date: nothing after it is the notice's
        j = end + 1
        grown: list[int] = []
        held: list[int] = []
        while j < len(lines):
            kind = plain(j)
            if kind == "stop":
                break
            if kind == "date":
                grown += [*held, j]
                break
            if kind == "held" or (kind == "plain" and held):
                held.append(j)
                if len(held) > self.config.extend_max_held:
                    break
            elif kind == "plain":
                grown.append(j)
            j += 1
        short = [k for k in grown if not feats[k].is_good and not is_meta(lines[k])]
        if (
            len(short) >= self.config.extend_max_list
            and sum(1 for k in short if feats[k].n_digits) < 0.2 * len(short)
            and not lines[end].text.endswith(("：", ":"))
        ):
            return start, end  # a list of names or titles, not a table: not the article's
        return start, (grown[-1] if grown else end)

    # -- phase 5: metadata zones ---------------------------------------------------------

    @staticmethod
    def _resolve_meta_zones(lines: list[Line], cf: list[str], span: tuple[int, int]) -> int:
        """Give metadata lines inside the article back to the text; return how many.

        The article's body runs from its first to its last line of running text
        (context-free good). A metadata line strictly inside it is content (a date in a
        table, a source line in a quotation). Above the body (the header zone) metadata
        lines stay metadata: a byline may take several lines. Below it (the footer zone)
        a line is metadata only if it gives a field no earlier metadata line gave: a page
        has one date, so a notice's closing date is text when the header gave the date.
        """
        first_good, last_good = article_body(cf, span)
        restored = 0
        taken: set[str] = set()
        for i, line in enumerate(lines):
            if not is_meta(line):
                continue
            keys = set(line.fields or {}) or {line.removed_by or ""}
            in_body = first_good < i < last_good
            in_footer = last_good < i <= span[1]
            if in_body or (in_footer and keys <= taken):
                line.removed_by = None
                line.fields = None
                restored += 1
            else:
                taken |= keys
        return restored

    # -- phase 6: fallback -----------------------------------------------------------------

    def _narrative_han(self, lines: list[Line], feats: list[LineFeatures], ex: Extraction) -> int:
        """Han characters in the page's largest run of narrative text: the prose block,
        a run of text-shaped lines, or a run of short lines with function characters."""
        loose = narrative_runs(
            lines,
            feats,
            min_lines=4,
            min_han=self.config.fallback_min_han,
            min_function=0.5 * self.config.narrative_min_function,
        )
        return max(
            [ex.prose_han, text_runs(lines, feats, ex.cf)] + [han for _, _, han in loose + ex.runs]
        )

    def _has_sentence(
        self, lines: list[Line], feats: list[LineFeatures], first: int, last: int
    ) -> bool:
        """A line of running text (a sentence, not a link or a label) in ``first..last``."""
        return any(
            f.is_good and f.n_han >= self.config.lone_sentence_min_han
            for line, f in zip(lines[first : last + 1], feats[first : last + 1], strict=True)
            if line.text
        )

    @staticmethod
    def _conservative(lines: list[Line], span: tuple[int, int] | None = None) -> None:
        """Rules only, no block cut: undo every structural removal (inside ``span`` only,
        when given: the run of text the rules left, see :func:`surviving_run`)."""
        first, last = span if span is not None else (0, len(lines) - 1)
        for line in lines[first : last + 1]:
            if line.removed_by in STRUCTURAL:
                line.removed_by = None

    # -- the step --------------------------------------------------------------------------

    def strip(
        self, text: str, raw_lines: list[str] | None = None, group: str = ""
    ) -> tuple[list[Line], Extraction]:
        """Decide every line of ``text``; return the lines and how the page was read."""
        texts = text.split("\n")
        if raw_lines is not None and len(raw_lines) != len(texts):
            raw_lines = None
        lines = [Line(t.strip()) for t in texts]
        feats = [line_features(ln.text) for ln in lines]
        edge = self._apply_rules(lines, feats, self._short_line_article(lines, feats))
        self._mark_title(lines, feats)
        self._mark_repeats(lines, feats, raw_lines, group)
        refrains = self._restore_refrains(lines, feats)
        ex = self._locate(lines, feats, edge, refrains)
        cfg = self.config
        # For the never-empty fallback: verse whose stanzas hold more weak lines in a row
        # ("月光" / "石阶" / "像一只") than a run of lyrics or captions may.
        verse = self._narrative_runs(
            lines,
            feats,
            keep=refrains,
            max_weak=2 * MAX_WEAK,
        )
        ex.refrains = len(refrains)
        ex.span = self._mark_outside_main(lines, feats, edge, ex)
        if ex.span is not None:
            ex.meta_restored = self._resolve_meta_zones(lines, ex.cf, ex.span)
        if ex.mode == SHORT_LINES and not any(
            ex.span and start <= ex.span[1] and end >= ex.span[0] for start, end, _ in ex.runs
        ):
            ex.mode = MAIN_BLOCK  # the short-line run is not what the block kept
        kept_han = sum(f.n_han for ln, f in zip(lines, feats, strict=True) if ln.kept and ln.text)
        narrative = self._narrative_han(lines, feats, ex)
        if narrative >= cfg.fallback_min_han and kept_han < cfg.fallback_keep_share * narrative:
            self._conservative(lines)
            ex.mode = CONSERVATIVE
        else:
            han, first, last = surviving_run(lines, feats, STRUCTURAL)
            if not kept_han:  # nothing kept: a run of verse read more loosely will do
                for start, end, run_han in verse:
                    if run_han > han:
                        han, first, last = run_han, start, end
            # an empty page is the worst outcome: a smaller run of text then suffices, and
            # one real sentence is enough
            floor = cfg.fallback_min_han if kept_han else cfg.narrative_min_han
            if not kept_han and han and self._has_sentence(lines, feats, first, last):
                floor = 0
            if (
                han >= floor
                and kept_han < cfg.fallback_keep_share * han
                and kept_han < cfg.tail_min_content_chars
            ):
                # Almost nothing kept, yet the lines no rule removed hold text: keep that
                # text (and whatever the block kept) rather than empty the page.
                self._conservative(lines, (first, last))
                ex.mode = CONSERVATIVE
        total = sum(len(ln.text) for ln in lines)
        kept = sum(len(ln.text) for ln in lines if ln.kept)
        if not kept:
            ex.mode = EMPTY
        ex.removed_share = 1.0 - kept / total if total else 0.0
        ex.confidence = confidence(lines, feats, ex)
        return lines, ex

    def process(self, doc: Document) -> None:
        lines, ex = self.strip(doc.text, split_lines(doc.input_text), doc.group)
        doc.lines = lines
        # The metadata extractor reads the header above the body and the footer below it.
        doc.content_span = (
            article_body(ex.cf, ex.span)
            if ex.span is not None and ex.mode != CONSERVATIVE
            else None
        )
        doc.extraction = ex.mode
        doc.removed_share = round(ex.removed_share, 4)
        doc.confidence = round(ex.confidence, 3)
        self.count(f"extraction.{ex.mode}")
        if ex.tail is not None:
            self.count(f"tail.{ex.tail.kind}")
        if ex.meta_restored:
            self.count("meta_lines_kept_as_content", ex.meta_restored)
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


@dataclass
class Extraction:
    """How the stripper read one page: classes, tail, mode, block and its signals."""

    mode: str
    cf: list[str]  # context-free class per line ("" for blank lines)
    final: list[str]  # class after the context pass
    weights: list[float]
    tail: Tail | None
    runs: list[tuple[int, int, int]]  # short-line runs (start, end, Han)
    prose_han: int  # Han of good lines in the best context-free prose block
    lists: list[tuple[int, int]] = field(default_factory=list)  # announced lists
    span: tuple[int, int] | None = None
    meta_restored: int = 0
    refrains: int = 0
    removed_share: float = 0.0
    confidence: float = 0.0
    rescued: int = 0  # decisions that overrode a rule or a tail (see :func:`confidence`)
    comments: list[tuple[int, int]] = field(default_factory=list)  # comment runs demoted


def confidence(lines: list[Line], feats: list[LineFeatures], ex: Extraction) -> float:
    """How sure the stripper is that the kept text is the page's article, in [0, 1].

    The product of ten factors, each in [0, 1]:

    - **mode**: 1.0 for ``main_block``, 0.8 for ``short_lines`` (the text has no
      punctuation to confirm it), 0.3 for ``conservative`` (no block was cut, so the
      page furniture the rules do not know is still in: a fallback), 0 for ``empty``;
    - **prose**: the share of the kept characters that lie on lines of running text
      (context-free good), mapped to 0.5 + 0.5 * share: a table or a list of short lines
      is less certain than paragraphs;
    - **margin**: 1 - 0.5 * r, where r (capped at 1) is the score of the best block left
      outside the kept one divided by the kept block's score: a second candidate almost
      as strong as the chosen one means the choice could have gone the other way;
    - **size**: min(1, kept Han / 200): a few dozen characters are easy to get wrong;
    - **records**: 1 - 0.5 * the share of the kept characters on lines that look like
      records of a list (three or more dated lines in a row of one shape): a page whose
      kept text is list-like may have kept a list of other pages;
    - **coverage**: (kept / (kept + out)) ** 0.75 over the page's text lines (running
      text of 20 Han or more, and rows of a table a shape rule removed: lines between
      bars that hold digits), where "out" is what the page structure (block, tails,
      cards) or such a shape rule removed: a cut that removes as much text as it keeps
      is a guess about what the page is (a thread, a list of other pieces, a table the
      rules took for a menu), however right it may be;
    - **residue**: 1 - the share of the kept lines that have a link or record shape
      (timestamps, counters, separators, teasers), capped at 0.5: record headers left in
      the text mean the thread or the list was not recognised as one;
    - **rescued**: 0.85 for each decision that overrode a rule or a tail (an announced
      table's rows given back, records of one author kept), at most two;
    - **seams**: for each place inside the kept block where another unit may begin
      (:func:`block_seams`: a headline copy or a heading over a list of independent items
      with kept text above it; at most two), 0.9 - 0.5 * the share of the kept running
      text that hangs on it: a block that may hold another unit, the more so the larger;
    - **comments**: 1 - 0.5 * the share of the kept characters in a run of comments
      (:func:`~zhclean.cleaners.context.comment_runs`: text separated by cards of a name,
      a reaction count, a relative time): a block of readers' comments may have won over
      the article, or the page holds no article but its comments (not on a question and
      answer page, whose answers are the content).

    Checked on the dev and class pages, and on the round-3 class pages with the
    round-2 cleaner's decisions (see ``evals/README.md``).
    """
    mode = {MAIN_BLOCK: 1.0, SHORT_LINES: 0.8, CONSERVATIVE: 0.3}.get(ex.mode, 0.0)
    if not mode:
        return 0.0
    kept = [(ln, f, c) for ln, f, c in zip(lines, feats, ex.cf, strict=True) if ln.kept and ln.text]
    kept_chars = sum(len(ln.text) for ln, _, _ in kept)
    if not kept_chars:
        return 0.0
    prose = 0.5 + 0.5 * sum(len(ln.text) for ln, _, c in kept if c == GOOD) / kept_chars
    margin = 1.0
    if ex.span is not None and ex.mode != CONSERVATIVE:
        start, end = ex.span
        inside = sum(ex.weights[start : end + 1])
        outside = [w if not start <= i <= end else -1e9 for i, w in enumerate(ex.weights)]
        other = _max_subarray(outside)
        if other is not None and inside > 0:
            rival = sum(ex.weights[other[0] : other[1] + 1])
            margin = 1.0 - 0.5 * min(1.0, max(0.0, rival) / inside)
    size = min(1.0, sum(f.n_han for _, f, _ in kept) / 200)
    in_records = {i for run in kept_record_runs(lines, feats) for i in run}
    records = 1.0 - 0.5 * sum(len(lines[i].text) for i in in_records) / kept_chars
    text_kept = text_out = 0
    for ln, f in zip(lines, feats, strict=True):
        if not ln.text:
            continue
        if f.is_good and f.n_han >= 20:
            if ln.kept:
                text_kept += f.n_han
            elif ln.removed_by in STRUCTURAL:
                text_out += f.n_han
        elif ln.removed_by in TABLE_ROW_RULES and f.n_digits:
            text_out += f.n_content
    total = text_kept + text_out
    coverage = (text_kept / total) ** 0.75 if total and text_kept else (0.5 if total else 1.0)
    shaped = sum(1 for _, f, c in kept if c == BAD)
    residue = 1.0 - min(0.5, shaped / len(kept))
    rescued = 0.85 ** min(2, ex.rescued)
    good_kept = sum(f.n_han for _, f, c in kept if c == GOOD) or 1
    seams = 1.0
    for _, stake in block_seams(lines, feats, ex):
        seams *= 0.9 - 0.5 * min(1.0, stake / good_kept)
    answers = any(ln.removed_by in ANSWER_RULES for ln in lines)  # answers are the content
    commented = sum(
        len(lines[k].text)
        for first, last in ([] if answers else comment_runs(lines, feats, ex.cf, 3))
        for k in range(first, last + 1)
        if lines[k].kept
    )
    comments = 1.0 - 0.5 * commented / kept_chars
    return mode * prose * margin * size * records * coverage * residue * rescued * seams * comments


def block_seams(
    lines: list[Line], feats: list[LineFeatures], ex: Extraction
) -> list[tuple[int, int]]:
    """Places inside the kept block where another unit may begin, with the running text
    (Han) that hangs on each: a copy of the page's headline with kept text above it (the
    block may have started on teasers or comments: the text above is at stake), or a
    heading over a list of independent items (:func:`items_under`: the block may run on
    into a list of other pieces; the items are at stake). Linear time."""
    if ex.span is None or ex.mode == CONSERVATIVE:
        return []
    start, end = ex.span
    out: list[tuple[int, int]] = []
    above = 0
    for i in range(start, end + 1):
        line = lines[i]
        if not line.text:
            continue
        if above and line.removed_by == TITLE_REPEAT:
            out.append((i, above))
        elif above and line.kept:
            items, _ = items_under(lines, feats, ex.cf, i, 3)
            if items:
                out.append((i, sum(feats[k].n_han for k in items)))
        if line.kept and ex.cf[i] == GOOD:
            above += feats[i].n_han
    return out[:2]
