"""Boilerplate stripping: which lines of a page are its article.

The stripper decides, line by line, what is article and what is page furniture. It
never deletes text silently: every line it removes keeps the id of what removed it, and
metadata lines keep the fields their rule captured for the extractor.

How one page is cleaned (:meth:`BoilerplateStripper.strip`):

1. **Rules** of ``zhclean/data/boilerplate_rules.toml`` are read on every line. A
   metadata rule (``meta``: byline, dateline, source) removes its line and hands its
   fields to the metadata extractor; an ``extract`` rule only reads fields; a ``line``
   rule (a share widget, a copyright line, a disclaimer) removes its own line and nothing
   else. Block and tail rules (related-link and comment headers) are **evidence**, not
   verdicts: they once swallowed whole articles; the model sees which kind of rule
   matched, whether a line lies under a block header or after a tail rule, and decides. A bare label line (``作者：``) is read together
   with the value on the next line. A line of only marks (``------``, ``====``) goes
   (``line.marks``): it is never text.
2. **Title**: the first line, when it is a heading, is the title (``title.heading``);
   copies of it further down go (``title.repeat``).
3. **The line model** (:mod:`zhclean.cleaners.model`, features in
   :mod:`zhclean.cleaners.features`) scores every other line: the probability that it is
   the page's main content, from its shape, the rules that matched it, its neighbours,
   its place in the page and, for an HTML page, its place in the DOM. A second pass sees
   the first pass's scores around the line (its neighbours, its DOM container or run of
   text, the page). Lines under the threshold go (``model.boilerplate``); a short gap
   between kept lines stays where its lines score above a lower threshold (both ship
   with the model).
4. **Bounds** on how wrong a page can go (:meth:`BoilerplateStripper._bounds`): the page's
   longest run of narrative prose is never dropped for a shorter kept block, and no cut
   removes more narrative text than it keeps unless the removed text carries structural
   evidence (a rule, a timestamp record, repeated lines of the site, and in HTML a link
   list, a ``nav``/``aside``/``footer`` element or a comment/sidebar class); otherwise
   those lines are kept (``extraction`` ``conservative``). A page that would come out
   empty keeps its sentence-like lines (a poem, a short note).
5. **Metadata zones**: a metadata line strictly inside the kept body is content when the
   model scores it so or the lines around it are kept (a date in a timeline or a table, a
   source in a quotation); a header table kept as text still gives its fields.

The document records how it was extracted and how sure the stripper is
(:attr:`Document.extraction`, :attr:`Document.removed_share`, :attr:`Document.confidence`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from zhclean.cleaners.features import (
    FEATURES_2,
    INDEX,
    RULE_KINDS,
    LineTable,
    Pages,
    context_columns,
    matrix,
    runs,
    shape_rows,
)
from zhclean.cleaners.model import LineModel
from zhclean.cleaners.quality import LineFeatures, line_features
from zhclean.cleaners.repetition import RepeatedLines
from zhclean.cleaners.rules import Rule, RuleSet
from zhclean.core.chars import split_lines
from zhclean.core.dom import LineDom
from zhclean.core.record import (
    CONSERVATIVE,
    EMPTY,
    MAIN_BLOCK,
    MODEL_BOILERPLATE,
    TITLE_HEADING,
    TITLE_REPEAT,
    Document,
    Line,
)
from zhclean.core.step import Step

LINE_MARKS = "line.marks"

BUILTIN_REASONS = {
    TITLE_HEADING: "the document's heading becomes the title column, not body text",
    TITLE_REPEAT: "a copy of the title inside the body repeats the heading",
    MODEL_BOILERPLATE: "the line model scores the line as page furniture (navigation, "
    "link lists, related items, comments, footers), from its shape, the rules it matched, "
    "its neighbours and its place on the page; `zhclean explain` shows why",
    LINE_MARKS: "a line of only marks (------, ====, ***) carries no text",
}

_BARE_LABEL_RE = re.compile(
    r"^[\[【(（]?\s*(?:作者|作\s+者|来源|来自|稿源|出处|发布时间|发表时间|发布日期|发表日期|更新时间|"
    r"日期|时间|成文日期|发文机关|发布机构|责任编辑|编辑|记者|本报记者|本报实习生|实习生|通讯员|译者|by)"
    r"\s*[:：]?\s*[\[【(（]?$",
    re.IGNORECASE,
)
_CLOSING_ONLY_RE = re.compile(r"^[\]】)）]$")
_TITLE_SPLIT_RE = re.compile(r"\s+[-–—|｜]\s+|\s*(?:_|--|——|\|)\s*|\s*-\s*(?=[^\s-]{2,12}$)")
_WORD_RE = re.compile(r"[^\W_]")
_AFFIX_SEPARATORS = frozenset(" -_|｜—–»›>:：")
# DOM evidence that a line is page furniture: link text, navigation, sidebar and footer
# elements, and class names of furniture nearer than any class name of content.
_FURNITURE_TAGS = [INDEX[f"dom_{c}"] for c in ("in_nav", "in_aside", "in_footer")]
_FURNITURE_CLASSES = [
    INDEX[f"dom_cls_{c}"] for c in ("nav", "footer", "side", "related", "comment", "share", "ad")
]
_CONTENT_CLASSES = [INDEX["dom_cls_content"], INDEX["dom_cls_post"]]
_KIND = {kind: k + 1 for k, kind in enumerate(RULE_KINDS)}
_TITLE_IDS = (TITLE_HEADING, TITLE_REPEAT)


@dataclass(frozen=True)
class StripperConfig:
    """Thresholds of the stripper; the model's own threshold ships with the model."""

    repeat_min_docs: int = 3
    # a tail rule's header (网友评论) is evidence once this much text came before it
    tail_min_content_chars: int = 60
    # below this much text, a block header's list is above the article: its dates are
    # the page's own (a byline under a menu), further down they belong to linked pages
    block_after_text_chars: int = 100
    # narrative prose: a line of running text with this many Han at least
    narrative_min_han: int = 20
    # a page that would come out empty keeps its sentence-like lines
    sentence_min_share: float = 0.5


def _is_heading(f: LineFeatures, text: str) -> bool:
    return (
        4 <= f.n_chars <= 100
        and f.n_han >= 4
        and not text.endswith(("。", "，", "：", ":"))
        and f.n_clause_punct <= 3
        and not f.bullet
        and not f.date_only
    )


def _is_affix(head: str, part: str) -> bool:
    """True when ``head`` is ``part`` plus a site name joined by a separator."""
    if head.startswith(part) and len(head) > len(part):
        return head[len(part)] in _AFFIX_SEPARATORS
    if head.endswith(part) and len(head) > len(part):
        return head[-len(part) - 1] in _AFFIX_SEPARATORS
    return False


def is_meta(line: Line) -> bool:
    return (line.removed_by or "").startswith("meta.")


_BLANK = line_features("")  # shared by every blank line: features are never modified


@dataclass
class Page:
    """One page while it is being decided: its lines and what the model sees of them."""

    lines: list[Line]
    feats: list[LineFeatures]
    rows: np.ndarray  # indices of the non-blank lines: row r of ``x`` is line rows[r]
    table: LineTable  # what the features are computed from
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES_2))))
    evidence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    groups: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    p1: np.ndarray = field(default_factory=lambda: np.zeros(0))
    p: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def han(self) -> np.ndarray:
        return self.table.han

    @property
    def chars(self) -> np.ndarray:
        return self.table.chars

    @property
    def has_dom(self) -> bool:
        return self.table.dom is not None


@dataclass
class Extraction:
    """How the stripper read one page."""

    mode: str
    page: Page
    span: tuple[int, int] | None = None  # first and last kept line of running text
    removed_share: float = 0.0
    confidence: float = 0.0
    restored: int = 0  # lines the bounds gave back
    meta_restored: int = 0
    notes: list[str] = field(default_factory=list)


class BoilerplateStripper(Step):
    """Mark every boilerplate line of ``doc.text`` as removed, with what removed it."""

    name = "strip_boilerplate"

    def __init__(
        self,
        rules: RuleSet,
        repeated: dict[str, RepeatedLines] | None = None,
        config: StripperConfig | None = None,
        model: LineModel | None = None,
    ) -> None:
        super().__init__()
        self.rules = rules
        self.repeated = repeated or {}
        self.config = config or StripperConfig()
        self._model = model

    @property
    def model(self) -> LineModel:
        """The shipped model unless one was given (loaded on first use)."""
        if self._model is None:
            self._model = LineModel.load()
        return self._model

    def reasons(self) -> dict[str, str]:
        return {**self.rules.reasons, **BUILTIN_REASONS}

    # -- 1. rules ------------------------------------------------------------------------

    def _apply_rules(
        self, lines: list[Line], feats: list[LineFeatures]
    ) -> tuple[dict[int, Rule], int, list[int]]:
        """Metadata rules decide; the others are recorded as evidence for the model.

        Returns the rule that matched each line that one matched, the first line after a
        tail rule that followed some text (``len(lines)`` if none), and the lines of the
        link lists under block headers.
        """
        n = len(lines)
        hits: dict[int, Rule] = {}
        in_block: list[int] = []
        good_han = 0
        tail_from = n
        block_open: Rule | None = None
        i = 0
        while i < n:
            line, f = lines[i], feats[i]
            if not line.text:
                i += 1
                continue
            if not _WORD_RE.search(line.text):
                line.removed_by = LINE_MARKS
                i += 1
                continue
            match, span = self._match_labelled(lines, i)
            if match is None:
                match = self.rules.match(line.text, f.is_prose)
            if (
                match is not None
                and match.rule.kind == "meta"
                and block_open is not None
                and good_han >= self.config.block_after_text_chars
            ):
                # below the article, a date in a list of links belongs to a linked page
                in_block.append(i)
                hits[i] = block_open
                line.rule = block_open.id
                i += 1
                continue
            if match is None:
                if block_open is not None and f.is_link_like and not f.is_prose:
                    in_block.append(i)
                else:
                    block_open = None
                if f.is_good:
                    good_han += f.n_han
                i += 1
                continue
            rule = match.rule
            for k in range(i, min(i + span, n)):
                hits[k] = rule
                lines[k].rule = rule.id
                if match.fields:
                    lines[k].fields = match.fields
                if rule.kind == "meta" or (rule.kind == "line" and rule.scope != "edge"):
                    lines[k].removed_by = rule.id
            i += span
            if rule.kind == "tail" and good_han >= self.config.tail_min_content_chars:
                tail_from = min(tail_from, i)
            block_open = rule if rule.kind == "block" else None
        return hits, tail_from, in_block

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

    # -- 2. title -------------------------------------------------------------------------

    @staticmethod
    def _mark_title(lines: list[Line], feats: list[LineFeatures]) -> None:
        """The first line, when it is a heading, is the title; copies of it go.

        The page ``<title>`` often carries a site suffix; the in-page heading does not. The
        site's name stands alone near the top too (its logo), so of the lines that are a
        part of the ``<title>``, the one nearest the article (the last one above its first
        line of text) is the heading.
        """
        first = next((i for i, ln in enumerate(lines) if ln.text and ln.kept and not ln.rule), None)
        if first is None or not _is_heading(feats[first], lines[first].text):
            return
        head = lines[first].text
        title = head
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

    # -- 3. features ------------------------------------------------------------------------

    def prepare(
        self,
        text: str,
        raw_lines: list[str] | None = None,
        group: str = "",
        dom: LineDom | None = None,
    ) -> Page:
        """Rules, title and what the features of one page are made of (nothing decided by
        the model yet)."""
        texts = text.split("\n")
        if raw_lines is not None and len(raw_lines) != len(texts):
            raw_lines = None
        if dom is not None and len(dom) != len(texts):
            dom = None  # the lines no longer match the page's (never for the pipeline's text)
        lines = [Line(t.strip()) for t in texts]
        # a blank line's features are always the same (one in five lines of a text page)
        feats = [line_features(ln.text) if ln.text else _BLANK for ln in lines]
        hits, tail_from, in_block = self._apply_rules(lines, feats)
        self._mark_title(lines, feats)
        pick = [i for i, ln in enumerate(lines) if ln.text]
        rows = np.asarray(pick, dtype=np.int64)
        m = len(pick)
        row_of = np.full(len(lines) + 1, m, dtype=np.int64)  # (m: a spare row, dropped)
        row_of[rows] = np.arange(m)
        kind = np.zeros(m + 1, dtype=np.int64)
        edge = np.zeros(m + 1, dtype=bool)
        if hits:
            at = row_of[list(hits)]
            kind[at] = [_KIND[r.kind] for r in hits.values()]
            edge[at] = [r.scope == "edge" for r in hits.values()]
        blocks = np.zeros(m + 1, dtype=bool)
        blocks[row_of[in_block]] = True
        title = np.zeros(m + 1, dtype=bool)
        title[row_of[[i for i in pick if lines[i].removed_by in _TITLE_IDS]]] = True
        repeated = self.repeated.get(group)
        counts = np.zeros(m)
        if repeated is not None and repeated.counts and raw_lines is not None:
            counts[:] = [repeated.count(raw_lines[i]) for i in pick]
        texts_ = [lines[i].text for i in pick]
        seen = Counter(texts_)
        table = LineTable(
            shape_rows(texts_, [feats[i] for i in pick]),
            kind[:m],
            edge[:m],
            title[:m],
            rows > tail_from - 1 if tail_from < len(lines) else np.zeros(m, dtype=bool),
            blocks[:m],
            counts,
            repeated.n_docs if repeated is not None else 0,
            np.asarray([seen[t] for t in texts_], dtype=np.float64),
            None
            if dom is None
            else LineDom(
                dom.values[rows], dom.block[rows], dom.container[rows], dom.signature[rows]
            ),
        )
        return Page(lines, feats, rows, table)

    def featurize(self, pages: list[Page]) -> tuple[np.ndarray, Pages]:
        """The feature rows of a batch of pages, with their structural evidence and groups;
        returns the batch's rows (each page's ``x`` is a view of them) and their pages."""
        x, spans = matrix([page.table for page in pages])
        good = x[:, INDEX["is_good"]] > 0
        evidence = (
            (x[:, INDEX["rule_line"]] + x[:, INDEX["rule_block"]] + x[:, INDEX["rule_tail"]] > 0)
            | (x[:, INDEX["after_tail"]] > 0)
            | (x[:, INDEX["in_block"]] > 0)
            | (x[:, INDEX["stamp_3"]] > 0)
            | (x[:, INDEX["repeat_log"]] >= np.log1p(self.config.repeat_min_docs))
            | (x[:, INDEX["dom_link_share"]] >= 0.5)
            | (x[:, _FURNITURE_TAGS] > 0).any(axis=1)
        )
        named = np.where(x[:, _FURNITURE_CLASSES] > 0, x[:, _FURNITURE_CLASSES], np.inf)
        wanted = np.where(x[:, _CONTENT_CLASSES] > 0, x[:, _CONTENT_CLASSES], np.inf)
        evidence |= named.min(axis=1) < wanted.min(axis=1)
        run = runs(good, spans)
        at = 0
        for page in pages:
            k = len(page.rows)
            page.x = x[at : at + k]
            page.evidence = evidence[at : at + k]
            table = page.table
            if table.dom is not None:
                page.groups = np.stack(
                    [table.dom.container.astype(np.int64), table.dom.signature], axis=1
                )
            else:
                page.groups = np.stack([run[at : at + k]] * 2, axis=1)
            at += k
        return x, spans

    def score(self, pages: list[Page]) -> None:
        """Features and both passes of the model over a batch of pages at once."""
        if not pages:
            return
        x, spans = self.featurize(pages)
        n1 = len(self.model.first.features)
        p1 = self.model.first.proba(x[:, :n1])
        groups = np.concatenate([page.groups for page in pages])
        han = np.concatenate([page.han for page in pages])
        context_columns(x, p1, spans, han, groups)
        p = self.model.second.proba(x)
        at = 0
        for page in pages:
            k = len(page.rows)
            page.p1, page.p = p1[at : at + k], p[at : at + k]
            at += k

    # -- 4. decisions ------------------------------------------------------------------------

    def decide(self, page: Page) -> Extraction:
        """Keep or remove every line from the model's scores, within the bounds."""
        lines, rows = page.lines, page.rows
        model = self.model
        keep = page.p >= model.threshold
        # a short gap between kept lines (a subheading, a caption) stays where the model
        # is unsure about it
        if model.gap and keep.any():
            up, down = _gaps(keep)
            keep |= (up + down - 1 <= model.gap) & (page.p >= model.fill)
        row_list = rows.tolist()
        decided = np.fromiter((lines[i].kept for i in row_list), dtype=bool, count=len(row_list))
        keep &= decided
        ex = Extraction(MAIN_BLOCK, page)
        self._bounds(page, keep, decided, ex)
        for i in rows[decided & ~keep].tolist():
            lines[i].removed_by = MODEL_BOILERPLATE
        ex.meta_restored = self._resolve_meta_zones(page, keep)
        good = page.x[:, INDEX["is_good"]] > 0
        kept_good = np.flatnonzero(keep & good)
        kept_any = np.flatnonzero(keep)
        body = kept_good if len(kept_good) else kept_any
        if len(body):
            ex.span = (int(rows[body[0]]), int(rows[body[-1]]))
        total = sum(len(ln.text) for ln in lines)
        kept_chars = sum(len(ln.text) for ln in lines if ln.kept)
        if not kept_chars:
            ex.mode = EMPTY
        ex.removed_share = 1.0 - kept_chars / total if total else 0.0
        ex.confidence = confidence(page, keep, ex.mode)
        return ex

    def _bounds(self, page: Page, keep: np.ndarray, decided: np.ndarray, ex: Extraction) -> None:
        """Give lines back where the model's cut goes beyond what the page shows.

        Narrative lines are lines of running text with ``narrative_min_han`` Han or more;
        a narrative line is *free* when it carries no structural evidence of furniture
        (:attr:`Page.evidence`).

        - The longest run of free narrative lines is never dropped for a shorter block:
          when less than half of it is kept and the kept narrative text is smaller than
          it, the run comes back.
        - No cut removes more free narrative Han than it keeps: when it does, the free
          narrative lines come back.
        - Never empty: a page with nothing kept keeps its sentence-like lines; and never
          a page of menu words: kept lines without a sentence and with fewer than
          ``narrative_min_han`` Han together are no text.
        """
        cfg = self.config
        x, han = page.x, page.han
        narrative = (x[:, INDEX["is_good"]] > 0) & (han >= cfg.narrative_min_han) & decided
        free = narrative & ~page.evidence
        run = runs(free)
        if (run >= 0).any():
            free_han = np.where(free, han, 0.0)
            run_han = np.bincount(run[run >= 0], weights=free_han[run >= 0])
            best = int(np.argmax(run_han))
            members = (run == best) & free
            if (
                han[members & keep].sum() < 0.5 * run_han[best]
                and han[narrative & keep].sum() < run_han[best]
            ):
                keep |= members
                ex.mode = CONSERVATIVE
                ex.notes.append("the longest run of prose was given back")
        lost = free & ~keep
        if han[lost].sum() > han[keep & narrative].sum():
            keep |= lost
            ex.mode = CONSERVATIVE
            ex.notes.append("narrative lines without evidence were given back")
        content = x[:, INDEX["no_content"]] == 0
        sentence = (
            (x[:, INDEX["clause_punct"]] > 0) | (x[:, INDEX["ends_terminal"]] > 0)
        ) & content
        if keep.any() and not (keep & sentence).any() and han[keep].sum() < cfg.narrative_min_han:
            # a few menu words and no sentence: the page holds no article
            keep[:] = False
            ex.notes.append("only a few words without a sentence were kept: none is text")
        if not keep.any():
            weight = page.chars
            if (
                decided.any()
                and weight[sentence & decided].sum()
                >= cfg.sentence_min_share * weight[decided & content].sum()
            ):
                keep |= sentence & decided
                ex.mode = CONSERVATIVE
                ex.notes.append("nothing kept: the sentence-like lines were given back")
        ex.restored = len(ex.notes)

    @staticmethod
    def _resolve_meta_zones(page: Page, keep: np.ndarray) -> int:
        """A metadata line strictly inside the kept body (between its first and last kept
        lines of running text) is content when the model scores it so, or when the lines
        around it (past other metadata lines) are kept: a date in a timeline or a table, a
        source line in a quotation. A date between two dropped comments stays metadata.
        Above the body's first line of prose the line is the page's header (a table of
        labelled fields kept as text): its fields still name the author, source and date.
        """
        rows, lines = page.rows, page.lines
        body = np.flatnonzero(keep & (page.x[:, INDEX["is_good"]] > 0))
        if not len(body):
            return 0
        row_list = rows.tolist()
        meta_list = [is_meta(lines[i]) for i in row_list]
        meta = np.asarray(meta_list, dtype=bool).reshape(len(row_list))
        keep_list = keep.tolist()
        kept_before = [False] * len(row_list)  # nearest non-metadata row above kept
        kept_after = [False] * len(row_list)
        last = False
        for r, m in enumerate(meta_list):
            kept_before[r] = last
            if not m:
                last = keep_list[r]
        last = False
        for r in range(len(row_list) - 1, -1, -1):
            kept_after[r] = last
            if not meta_list[r]:
                last = keep_list[r]
        prose = np.flatnonzero(keep & (page.x[:, INDEX["is_prose"]] > 0))
        header_end = rows[prose[0]] if len(prose) else rows[body[0]]
        first, last_row = rows[body[0]], rows[body[-1]]
        restored = 0
        for r in np.flatnonzero(meta & (rows > first) & (rows < last_row)):
            if page.p[r] < 0.5 and not (kept_before[r] and kept_after[r]):
                continue
            line = lines[rows[r]]
            line.removed_by = None
            if rows[r] > header_end:
                line.fields = None
            restored += 1
        return restored

    # -- the step ------------------------------------------------------------------------------

    def strip(
        self,
        text: str,
        raw_lines: list[str] | None = None,
        group: str = "",
        dom: LineDom | None = None,
    ) -> tuple[list[Line], Extraction]:
        """Decide every line of ``text``; return the lines and how the page was read."""
        page = self.prepare(text, raw_lines, group, dom)
        self.score([page])
        ex = self.decide(page)
        return page.lines, ex

    def process_batch(self, docs: list[Document]) -> None:
        live = [d for d in docs if not d.rejected]
        pages = [self.prepare(d.text, split_lines(d.input_text), d.group, d.dom) for d in live]
        self.score(pages)
        for doc, page in zip(live, pages, strict=True):
            self._finish(doc, self.decide(page))

    def _finish(self, doc: Document, ex: Extraction) -> None:
        lines = ex.page.lines
        doc.lines = lines
        # The metadata extractor reads the header above the body and the footer below it.
        doc.content_span = ex.span if ex.mode != CONSERVATIVE else None
        doc.extraction = ex.mode
        doc.removed_share = round(ex.removed_share, 4)
        doc.confidence = round(ex.confidence, 3)
        doc.dom = None  # read; the rest of the pipeline does not need it
        self.count(f"extraction.{ex.mode}")
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


def _gaps(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every row, the rows to the nearest kept row above and below (a large number
    where there is none): a dropped row lies in a gap of ``up + down - 1`` rows."""
    idx = np.arange(len(keep))
    far = 1 << 30
    above = np.maximum.accumulate(np.where(keep, idx, -far))
    below = np.minimum.accumulate(np.where(keep, idx, far)[::-1])[::-1]
    return idx - above, below - idx


def confidence(page: Page, keep: np.ndarray, mode: str) -> float:
    """How sure the stripper is that the kept text is the page's article, in [0, 1].

    The product of three factors:

    - **sure kept**: the Han-weighted mean score of the kept lines (lines kept though the
      model doubted them lower it);
    - **sure removed**: 1 - the Han-weighted mean score of the removed lines of running
      text (prose the model removed with doubt lowers it);
    - **size**: min(1, kept Han / 200): a few dozen characters are easy to get wrong;

    capped at 0.3 for a conservative extraction (a bound overrode the model) and 0 for an
    empty one.
    """
    if mode == EMPTY or not keep.any():
        return 0.0
    han = np.maximum(page.han, 1.0)
    sure_kept = float(np.average(page.p[keep], weights=han[keep]))
    prose = ~keep & (page.x[:, INDEX["is_good"]] > 0)
    sure_removed = (
        1.0 - float(np.average(page.p[prose], weights=han[prose])) if prose.any() else 1.0
    )
    size = min(1.0, float(han[keep].sum()) / 200)
    value = sure_kept * sure_removed * size
    return min(value, 0.3) if mode == CONSERVATIVE else value


__all__ = [
    "BUILTIN_REASONS",
    "LINE_MARKS",
    "MODEL_BOILERPLATE",
    "BoilerplateStripper",
    "Extraction",
    "Page",
    "StripperConfig",
    "confidence",
    "is_meta",
]
