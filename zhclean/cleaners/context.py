"""Page structure: line classes in context, tails after the article, short-line articles.

A line's own shape says little on its own: a table cell, a menu item and one line of a
poem all look alike. What they are depends on their neighbours and on where they sit on
the page. This module gives every line of a page a class in four steps:

1. **Context-free class** (:func:`context_free_classes`): ``good`` (running text),
   ``near`` (punctuated but not a sentence, or clauses separated by spaces), ``short`` (plain
   short lines: cells, headings, names, dates) and ``bad`` (removed by a rule, or a link
   shape: teaser, counter, separators, timestamp).
2. **Tails** (:func:`find_tail`): once the article has started, a repeating record
   structure (comment or reply records anchored by a timestamp, or dated lines of one
   shape: :func:`_shape_tail`) or a long directory of names that no article text
   follows ends the article; nothing after it is content. Record cards between the
   posts of a discussion go (:func:`record_cards`), and a list the text announces is
   the article's (:func:`announced_lists`).
3. **Short-line articles** (:func:`narrative_runs`): a long run of short Han lines
   written like sentences (poems, lyrics, photo captions, diaries) is text, when the
   page has no larger block of punctuated prose.
4. **Context** (:func:`smooth`): jusText's context-sensitive pass. ``short`` lines take
   the class of the nearest non-short lines around them (good on both sides: good, bad on
   both sides: bad, otherwise good only next to a near-good line); ``near`` lines are good
   unless bad lines surround them; a heading right above text is good.

All thresholds live in :class:`zhclean.cleaners.boilerplate.StripperConfig`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from zhclean.cleaners.quality import SHORT_LINE_CHARS, STAMP_RE, LineFeatures
from zhclean.core.record import Line

GOOD = "good"
NEAR = "near"
SHORT = "short"
BAD = "bad"

# A short line ending like a statement (or introducing what follows) is near-good; one
# ending in "？" or "！" is as often a link title ("…怎么办？") as a sentence.
_STATEMENT_END = frozenset("。；;：:")
_CLOSING = "”」』’\"')）)"
_CONTINUES = frozenset("，、。；：！？…）」』”’,;:")
# Running text shorter than this is only short or near-good: it needs good neighbours.
MIN_GOOD_CONTENT = 20


def is_meta(line: Line) -> bool:
    return (line.removed_by or "").startswith("meta.")


def context_free_classes(
    lines: Sequence[Line], feats: Sequence[LineFeatures], edge: dict[int, str]
) -> list[str]:
    """The class of each line from its own shape and the rules ('' for blank lines).

    Metadata lines and edge-scoped rule matches are ``short``: whether a date or a
    contact line is metadata or content depends on where it sits, decided later.
    """
    out = []
    for i, (line, f) in enumerate(zip(lines, feats, strict=True)):
        if not line.text:
            out.append("")
        elif is_meta(line) or i in edge:
            out.append(SHORT)
        elif (
            not line.kept
            or f.teaser
            or f.counted
            or f.n_separators >= 2
            or (f.stamp and not f.ends_terminal)
        ):
            out.append(BAD)
        elif f.is_field_record:
            out.append(SHORT)  # "主办：… 承办：…": fields, not a sentence
        elif f.is_good and f.n_content >= MIN_GOOD_CONTENT:
            out.append(GOOD)
        elif f.is_good and line.text.rstrip(_CLOSING)[-1:] in _STATEMENT_END:
            out.append(NEAR)  # a short sentence: a line of a poem, a salutation
        elif f.is_good:
            out.append(SHORT)  # a headline with a question or exclamation mark, a field line
        elif f.n_han >= 6 and (f.n_clause_punct >= 1 or f.ends_terminal or f.is_spaced_prose):
            out.append(NEAR)
        else:
            out.append(SHORT)
    # A crawler breaks a sentence around an inline link: "…看到" / "老冒的文章" / "，文章…".
    # The piece right before a line that opens with a continuing mark is part of it.
    nxt = None
    for i in range(len(out) - 1, -1, -1):
        if not out[i]:
            continue
        if (
            nxt is not None
            and out[i] in (SHORT, NEAR)
            and lines[i].kept
            and out[nxt] in (GOOD, NEAR)
            and lines[nxt].text[:1] in _CONTINUES
        ):
            out[i] = out[nxt]
        nxt = i
    return out


def is_heading(f: LineFeatures) -> bool:
    """A short plain line that could head a section ("早年经历", "三、时间安排")."""
    return (
        f.n_content >= 2
        and f.n_chars <= 30
        and not f.ends_terminal
        and f.n_clause_punct <= 1
        and not (f.teaser or f.counted or f.stamp or f.n_separators)
    )


def _nearest(classes: list[str], skip: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """For every line, the class of the nearest line before and after it whose class is
    not in ``skip``; the page's edges count as boilerplate. Linear time."""
    n = len(classes)
    before, after = [BAD] * n, [BAD] * n
    last = BAD
    for i in range(n):
        before[i] = last
        if classes[i] not in skip:
            last = classes[i]
    last = BAD
    for i in range(n - 1, -1, -1):
        after[i] = last
        if classes[i] not in skip:
            last = classes[i]
    return before, after


def smooth(cf: list[str], feats: Sequence[LineFeatures], lines: Sequence[Line]) -> list[str]:
    """jusText's context-sensitive revision of the context-free classes (linear time)."""
    cls = list(cf)
    n = len(cls)
    next_text = [False] * n  # the next non-blank line is text by its own shape
    seen = False
    for i in range(n - 1, -1, -1):
        next_text[i] = seen
        if lines[i].text:
            seen = cf[i] in (GOOD, NEAR)

    # A "heading" is only a guess from its shape without HTML tags, so it must stand
    # right above the text it heads (and a heading above a heading does not count).
    for i in range(n):
        if cls[i] == SHORT and next_text[i] and is_heading(feats[i]):
            cls[i] = NEAR
    prev_far, next_far = _nearest(cls, (SHORT, "", NEAR))
    prev_near, next_near = _nearest(cls, (SHORT, ""))
    revised = {}
    for i in range(n):
        if cls[i] != SHORT:
            continue
        prev, nxt = prev_far[i], next_far[i]
        if prev == GOOD and nxt == GOOD:
            revised[i] = GOOD
        elif prev == BAD and nxt == BAD:
            revised[i] = BAD
        elif (prev == BAD and prev_near[i] == NEAR) or (nxt == BAD and next_near[i] == NEAR):
            revised[i] = GOOD
        else:
            revised[i] = BAD
    for i, c in revised.items():
        cls[i] = c
    # Near-good lines are good unless bad lines surround them. As in jusText the pass
    # runs in place: a near-good line already decided counts for the ones after it.
    _, next_far = _nearest(cls, ("", NEAR))
    last = BAD
    for i in range(n):
        if cls[i] == NEAR:
            cls[i] = BAD if (last, next_far[i]) == (BAD, BAD) else GOOD
        if cls[i] not in ("", NEAR):
            last = cls[i]
    for i in range(n):
        if cls[i] == BAD and cf[i] == SHORT and next_text[i] and is_heading(feats[i]):
            cls[i] = GOOD
    return cls


# -- tails ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tail:
    start: int  # first line of the tail
    kind: str  # "records" or "directory"
    detail: str


def _good_han_before(cf: list[str], feats: Sequence[LineFeatures]) -> list[int]:
    """Han characters of good lines strictly before each index."""
    acc, out = 0, []
    for c, f in zip(cf, feats, strict=True):
        out.append(acc)
        if c == GOOD:
            acc += f.n_han
    return out


def _record_tail(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    before: list[int],
    min_content: int,
    min_records: int,
    max_gap: int,
    notes: list[str] | None = None,
) -> Tail | None:
    """A run of records anchored by timestamp lines, after the article has started.

    A comment thread repeats one shape: a name, a timestamp, maybe a counter, a reply.
    The timestamp (a date with a time of day) is the anchor; anchors at most ``max_gap``
    non-blank lines apart form a run. The tail starts at the first anchor that follows
    at least ``min_content`` Han characters of good text (in a forum, the first post is
    the article and carries an anchor too), if ``min_records`` anchors follow from it.
    Most records of the run must name their author next to the anchor (see
    :func:`_has_record_header`), which a live blog's timestamps do not. Comments are
    shorter than what they comment on: when one record's text is as long as all the
    text above the anchor, the records are the content (answers, a discussion). The short lines
    just above that anchor (its name, a floor number, the previous post's reply and
    quote buttons; up to six) go with it.
    """
    anchors = [i for i, f in enumerate(feats) if f.stamp and lines[i].text]
    if len(anchors) < min_records:
        return None
    nonblank = [0] * (len(lines) + 1)
    for i, line in enumerate(lines):
        nonblank[i + 1] = nonblank[i] + (1 if line.text else 0)
    runs: list[list[int]] = [[anchors[0]]]
    for a in anchors[1:]:
        if nonblank[a] - nonblank[runs[-1][-1] + 1] <= max_gap:
            runs[-1].append(a)
        else:
            runs.append([a])
    good_at = [0] * (len(lines) + 1)  # good Han before each index, blank-insensitive
    for i, (c, f) in enumerate(zip(cf, feats, strict=True)):
        good_at[i + 1] = good_at[i] + (f.n_han if c == GOOD else 0)
    for run in runs:
        ends = [*run[1:], len(lines)]
        bodies = [good_at[e] - good_at[b] for b, e in zip(run, ends, strict=True)]
        for k, a in enumerate(run):
            if (
                before[a] >= min_content
                and len(run) - k >= min_records
                and sum(_has_record_header(lines, feats, cf, b) for b in run[k:])
                >= 0.6 * (len(run) - k)
            ):
                if max(bodies[k:]) >= before[a]:
                    break  # a post longer than the article: a discussion, not comments
                if not _thread_evidence(lines, feats, cf, run, k, sum(bodies[k:]), before[a]):
                    if notes is not None:
                        notes.append("records kept: one author, or no evidence of a thread")
                    break  # one author's own posts (a microblog, a diary): the content
                start = a
                steps = 0
                while start > 0 and steps < 6:
                    j = start - 1
                    while j > 0 and not lines[j].text:
                        j -= 1
                    f = feats[j]
                    if cf[j] == GOOD or f.n_chars > 20 or f.n_clause_punct > 1:
                        break
                    start, steps = j, steps + 1
                return Tail(start, "records", f"{len(run) - k} timestamped records")
    return None


# Marks of a reply to someone else: a quote, a reply button or label, a floor number.
_REPLY_RE = re.compile(r"引用|回复|回覆|^#\d{1,4}$|^\d{1,4}\s*楼$|^@|\s@\S|^(?:RE|Re|re)\s*[:：]")


def _record_name(lines: Sequence[Line], feats: Sequence[LineFeatures], a: int) -> str | None:
    """The name a record gives next to its timestamp ``a``: the nearest short line above
    it (or, failing that, below it) without digits that is not text ("小熊爱吃鱼")."""
    for step in (-1, 1):
        j, seen = a + step, 0
        while 0 <= j < len(lines) and seen < 2:
            line, f = lines[j], feats[j]
            if line.text:
                seen += 1
                if (
                    f.n_chars <= 20
                    and not f.n_digits
                    and not f.stamp
                    and not f.is_good
                    and not _REPLY_RE.search(line.text)
                    and f.n_content >= 2
                ):
                    return line.text
            j += step
    return None


def _thread_evidence(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    run: list[int],
    k: int,
    removed: int,
    kept: int,
) -> bool:
    """Whether the records ``run[k:]`` are a discussion, not one author's own posts.

    A thread has several authors who answer each other. When every record of the run
    (the article's own record above it included) names one and the same author, the
    records are that author's posts: a microblog, a diary, a blog's stream, which are
    the content. And a cut that would remove more text than the article it leaves needs
    positive evidence: at least two names, or a reply mark (引用, 回复, #2, @name).
    """
    names = {_record_name(lines, feats, a) for a in run}
    names.discard(None)
    if len(names) == 1:
        return False
    if removed <= kept:
        return True
    if len(names) >= 2:
        return True
    start, end = run[k], run[-1]
    return any(
        lines[j].text and feats[j].n_chars <= 40 and _REPLY_RE.search(lines[j].text)
        for j in range(max(0, start - 6), min(len(lines), end + 12))
    )


def _has_record_header(
    lines: Sequence[Line], feats: Sequence[LineFeatures], cf: list[str], a: int
) -> bool:
    """A record names its author: on the timestamp line ("作者：X 回复日期：…") or on a
    short line right above or below it ("小熊爱吃鱼", "#2", "58字 [1033/6]"). A live
    blog's timestamps stand between paragraphs and name nobody: not a thread."""
    if count_han_outside_stamp(lines[a].text) >= 2:
        return True
    for step in (-1, 1):
        j = a + step
        while 0 <= j < len(lines) and not lines[j].text:
            j += step
        if (
            0 <= j < len(lines)
            and feats[j].n_chars <= 20
            and not feats[j].stamp
            and cf[j] in (SHORT, BAD)
        ):
            return True
    return False


def count_han_outside_stamp(text: str) -> int:
    rest = STAMP_RE.sub("", text)
    return sum(1 for ch in rest if "\u3400" <= ch <= "\u9fff")


def _is_directory(run: list[int], feats: Sequence[LineFeatures], min_lines: int) -> bool:
    """Many short names without digits or function words: organisations, sites, links."""
    if len(run) < min_lines:
        return False
    fs = [feats[i] for i in run]
    n_han = sum(f.n_han for f in fs)
    if not n_han:
        return False
    with_digits = sum(1 for f in fs if f.n_digits) / len(fs)
    function = sum(f.n_function for f in fs) / n_han
    orgs = sum(1 for f in fs if f.org_name) / len(fs)
    mean_han = n_han / len(fs)
    return with_digits <= 0.2 and mean_han <= 16 and (orgs >= 0.3 or function <= 0.03)


CLOSING_DATE_RE = re.compile(
    r"\d{1,4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$|^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$"
)


def announces(text: str) -> bool:
    """The line announces what follows: "名单如下：", "现将获奖名单公布如下。"."""
    return text.endswith(("：", ":")) or "如下" in text[-6:]


# Rules that remove a line by its shape alone (items between bars): under a line that
# announces a table, such lines are its rows.
TABLE_ROW_RULES = frozenset({"bp.menu_row"})
_BARS = "|｜"


def _bars(text: str) -> int:
    return sum(text.count(c) for c in _BARS)


def _announcer(lines: Sequence[Line], cf: list[str], a: int) -> bool:
    """Line ``a`` is text that announces a list: a sentence or clause ending in "：" or
    "如下", or a short line saying so ("名单如下：", "详见以下表格") right under text."""
    line = lines[a]
    if not line.kept or not announces(line.text):
        return False
    if cf[a] in (GOOD, NEAR):
        return True
    if cf[a] != SHORT or not ("如下" in line.text or "以下" in line.text):
        return False
    j = a - 1
    while j >= 0 and not lines[j].text:
        j -= 1
    return j >= 0 and cf[j] in (GOOD, NEAR)


def announced_lists(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    edge: dict[int, str],
    *,
    max_chars: int = SHORT_LINE_CHARS,
) -> list[tuple[int, int]]:
    """Lists the article announces: (announcing line, last line) of each.

    A line of text that announces what follows ("名单如下：", "现将名单公布如下。", or a
    short "名单如下：" right under text) makes the short lines under it part of the
    article: names and workplaces, section headings ("二、优秀科技项目（8项）"), the rows
    of a table, the signature under them. The list runs over short and near-good lines
    and ends at the first line of running text (the article goes on by itself), at a
    line a rule or metadata removed, at a link or record shape, at a record of fields
    ("主办：… 地址：…") and at a label that announces something else ("附件下载："). Two
    items at least.

    The rows of a table whose cells are separated by bars ("品名｜上价｜下价") look like a
    menu bar to the rules; under an announcing line, lines a shape rule removed
    (:data:`TABLE_ROW_RULES`) with as many bars as the first row are its rows (the
    caller gives them back).
    """
    out = []
    n = len(lines)
    for a in range(n):
        if not _announcer(lines, cf, a):
            continue
        last, items, bars = a, 0, 0
        for j in range(a + 1, n):
            line, f = lines[j], feats[j]
            if not line.text:
                continue
            row = (
                line.removed_by in TABLE_ROW_RULES
                and _bars(line.text) >= 2
                and (bars == 0 or _bars(line.text) == bars)
                and f.n_chars <= 2 * max_chars
            )
            if row:
                bars = _bars(line.text)
                last, items = j, items + 1
                continue
            if (
                not line.kept
                or j in edge
                or cf[j] not in (SHORT, NEAR)
                or f.n_chars > max_chars
                or f.is_field_record
                or announces(line.text)
            ):
                break
            last, items = j, items + 1
            if CLOSING_DATE_RE.search(line.text) and f.n_chars <= 24:
                break  # the closing date under the signature ends the notice
        if items >= 2:
            out.append((a, last))
    return out


def _introduced(lines: Sequence[Line], cf: list[str], i: int) -> bool:
    """The text right above line ``i`` announces a list ("名单如下：")."""
    j = i - 1
    while j >= 0 and not lines[j].text:
        j -= 1
    return j >= 0 and cf[j] in (GOOD, NEAR) and lines[j].text.endswith(("：", ":"))


def _directory_tail(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    before: list[int],
    min_content: int,
    min_lines: int,
) -> Tail | None:
    """A directory after the article: a long run of short names that no article text follows.

    Inside an article a list of names (the companies on a list, the villages of a town)
    is followed by more text; a directory of ministries or partner sites is followed by
    the footer. So a directory-shaped run is a tail only when fewer than ``min_content``
    Han characters of good text follow it, and when no text right above it announces it
    ("拟命名以下单位……名单如下：").
    """
    n = len(lines)
    after = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        after[i] = after[i + 1] + (feats[i].n_han if cf[i] == GOOD else 0)
    i = 0
    while i < n:
        if cf[i] != SHORT or not lines[i].kept or before[i] < min_content:
            i += 1
            continue
        run, j = [], i
        while j < n and (not lines[j].text or (cf[j] == SHORT and lines[j].kept)):
            if lines[j].text:
                run.append(j)
            j += 1
        if (
            run
            and _is_directory(run, feats, min_lines)
            and after[j] < min_content
            and not _introduced(lines, cf, run[0])
        ):
            return Tail(run[0], "directory", f"{len(run)} short names")
        i = max(j, i + 1)
    return None


def record_cards(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    limit: int,
    *,
    max_lines: int = 10,
    max_chars: int = 40,
) -> list[int]:
    """The lines of the record headers between posts whose text is the content.

    On a Q&A page or a discussion, each answer is introduced by a card: a name, a
    timestamp, a level, votes and buttons ("匿名用户", "2021-05-18 10:42", "采纳率：92%",
    "赞同 128"). Such a card is a group of two to ``max_lines`` short lines between two
    lines of running text that holds exactly one date; a page has several of them, a
    table or a signature does not repeat that way. Two cards or more: their lines, and
    the lines elsewhere (above ``limit``) that have the shape of one of their lines
    with digits or marks in it ("赞同 12" after the last answer), are not text.
    """
    goods = [i for i in range(limit) if cf[i] == GOOD and lines[i].text]
    cards: list[list[int]] = []
    for g1, g2 in itertools.pairwise(goods):
        gap = [k for k in range(g1 + 1, g2) if lines[k].text]
        if not 2 <= len(gap) <= max_lines or any(feats[k].n_chars > max_chars for k in gap):
            continue
        dated = sum(
            1
            for k in gap
            if feats[k].stamp or feats[k].date_only or _DATE_TOKEN_RE.search(lines[k].text)
        )
        if dated == 1:
            cards.append(gap)
    if len(cards) < 2:
        return []
    out = {k for card in cards for k in card}
    shapes = set()
    for k in out:
        tokens = tuple(shape(lines[k].text))
        if any(t not in ("H", " ", "a") for t in tokens):
            shapes.add(tokens)
    for i in range(limit):
        if (
            lines[i].text
            and (lines[i].kept or is_meta(lines[i]))
            and cf[i] != GOOD
            and feats[i].n_chars <= max_chars
            and tuple(shape(lines[i].text)) in shapes
        ):
            out.add(i)
    return sorted(k for k in out if lines[k].kept or is_meta(lines[k]))


# A full date anywhere in a line: 2024-04-26, 2023.11.25, 12/03/22, 2023年9月15日.
_DATE_TOKEN_RE = re.compile(
    r"(?<!\d)(?:\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{4}年\d{1,2}月\d{1,2}日)(?!\d)"
)
_SHAPE_EDGE = 5  # tokens compared at each end of a line
# a number with thousands separators or a decimal point; not a date ("2022.11.25")
_NUMBER_RE = re.compile(r"(?<![\d.,])(?:\d+(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\d.,])")
# A month and day at either end of a line ("[03-14] 标题", "标题 05/02"), as lists show them.
_EDGE_DATE_RE = re.compile(
    r"^[\[【(（]?\d{1,2}[-/.月]\d{1,2}日?[\]】)）]?\s|\s[\[【(（]?\d{1,2}[-/.]\d{1,2}[\]】)）]?$"
)


def _dated(text: str) -> bool:
    return bool(_DATE_TOKEN_RE.search(text) or _EDGE_DATE_RE.search(text))


def shape(text: str) -> list[str]:
    """A line's shape: Han runs as "H", digit runs as "9", Latin runs as "a", space runs
    as " ", every other character as itself ("● H，H - H 9/9/9 (9) 9H [9/9]")."""
    tokens: list[str] = []
    text = _NUMBER_RE.sub("9", text)  # "1,032", "4.3", "2.1k" are one number
    for ch in text:
        if "\u3400" <= ch <= "\u9fff":
            c = "H"
        elif ch.isdigit():
            c = "9"
        elif ch.isascii() and ch.isalpha():
            c = "a"
        elif ch.isspace():
            c = " "
        else:
            c = ch
        if tokens and c == tokens[-1] and c in "H9a ":
            continue
        tokens.append(c)
    return tokens


def _shape_runs(
    lines: Sequence[Line], feats: Sequence[LineFeatures], limit: int, min_records: int
) -> list[list[int]]:
    """Runs of consecutive dated lines (blank lines aside) that share the shape of their
    first or of their last tokens: a list of records, one per line."""
    keys: list[tuple[int, tuple, tuple] | None] = []
    for i in range(limit):
        line, f = lines[i], feats[i]
        if not line.text:
            continue
        if line.kept and f.n_han >= 4 and f.n_chars <= 200 and _dated(line.text):
            tokens = shape(line.text)
            keys.append((i, tuple(tokens[:_SHAPE_EDGE]), tuple(tokens[-_SHAPE_EDGE:])))
        else:
            keys.append(None)
    runs: list[list[int]] = []
    for side in (1, 2):
        run: list[int] = []
        last = None
        for key in [*keys, None]:
            if key is not None and last is not None and key[side] == last[side]:
                run.append(key[0])
            else:
                if len(run) >= min_records:
                    runs.append(run)
                run = [key[0]] if key is not None else []
            last = key
    return runs


def kept_record_runs(lines: Sequence[Line], feats: Sequence[LineFeatures]) -> list[list[int]]:
    """Runs of kept lines that look like the records of a list (see :func:`_shape_runs`)."""
    return _shape_runs(lines, feats, len(lines), 3)


_REFERENCE_RE = re.compile(r"^\s*[\[［]\d{1,3}[\]］]")


def _shape_tail(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    before: list[int],
    min_content: int,
    min_records: int,
    limit: int,
) -> Tail | None:
    """A list of dated records after the article: related notices, other news, forum
    follow-ups, one per line.

    Each line of such a list is a title with its date ("关于……的通知，……。2024-04-26",
    "2024-05-02　本校……", "[03-14] 标题", "● 标题 - 用户 12/03/22 (156) 156字 [2210/35]"): three or more
    lines in a row that carry a date and share the shape of their beginning or of their
    end. A title may be a whole sentence, so the shape, not the punctuation, gives the
    list away. It is a tail when the article has started before it and fewer than
    ``min_content`` Han of running text follow it (up to ``limit``, where a thread tail
    begins); a heading right above it ("相关通知", "跟帖") goes with it.
    """
    after = [0] * (limit + 1)
    for i in range(limit - 1, -1, -1):
        after[i] = after[i + 1] + (feats[i].n_han if cf[i] == GOOD else 0)
    for run in sorted(_shape_runs(lines, feats, limit, min_records)):
        if before[run[0]] < min_content or after[run[-1] + 1] >= min_content:
            continue
        if sum(1 for i in run if _REFERENCE_RE.match(lines[i].text)) > len(run) / 2:
            continue  # the article's references ("[1] 作者. 题名[N]. 报纸, 2019-05-01.")
        start = run[0]
        j = start - 1
        while j > 0 and not lines[j].text:
            j -= 1
        if j > 0 and lines[j].kept and cf[j] != GOOD and is_heading(feats[j]):
            start = j
        return Tail(start, "records", f"{len(run)} dated records of one shape")
    return None


# A section heading of the article itself is numbered ("二、", "（三）", "3.", "第四章").
_NUMBERED_RE = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+\s*[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d{1,2}\s*[、.．]|第[一二三四五六七八九十百\d]+)"
)
# An item that opens like this goes on from what precedes it: a paragraph, not a unit.
_CONTINUES_RE = re.compile(
    r"^(?:但|而|所以|因此|因而|于是|同时|此外|另外|然后|接着|最后|其次|首先|再|并且|并|又|也|还|"
    r"他|她|它|我们|他们|她们|这|那|其|该|此|对此|随后|之后|后来|如果|虽然|不过|然而|可是)"
)
_ITEM_MAX_CHARS = 150


def _after_text(
    lines: Sequence[Line], feats: Sequence[LineFeatures], cf: list[str], h: int, max_short: int = 2
) -> bool:
    """Line ``h`` stands where the article's text has just ended: at most ``max_short``
    short lines (a signature and its date) lie between it and a line of text. The last of
    a run of names (the companies of a list) or of a timeline is an item of that run."""
    j, short = h - 1, 0
    while j >= 0:
        if lines[j].text:
            if cf[j] in (GOOD, NEAR):
                return True
            short += 1
            if short > max_short:
                return False
        j -= 1
    return False


def _item_tail(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    before: list[int],
    min_content: int,
    min_items: int,
) -> Tail | None:
    """A heading after the article followed by a list of independent items.

    "往期通知", "本周精选": a short heading, then ``min_items`` or more one-paragraph
    items of similar size (the longest at most twice the shortest, each at most
    ``_ITEM_MAX_CHARS``), each a unit of its own (none opens with a word that goes on
    from the line before it, none is numbered like a section of the article), and no
    article text after them. Each item may be a whole sentence, so it is the structure
    that gives the list away: the article's own sections are numbered, vary in size and
    go on from each other. The list must outweigh the text above the heading (a few
    similar paragraphs after a long article cost little if kept), and that text must
    be there (at least half of ``min_content``) and end right above the heading (see
    :func:`_after_text`): a short notice followed by a list of past notices is the case
    this exists for.
    """
    n = len(lines)
    after = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        after[i] = after[i + 1] + (feats[i].n_han if cf[i] == GOOD else 0)
    for h in range(n):
        if (
            not lines[h].text
            or before[h] < min_content // 2
            or not _after_text(lines, feats, cf, h)
        ):
            continue
        items, j = items_under(lines, feats, cf, h, min_items)
        if items and after[j] < min_content and sum(feats[k].n_han for k in items) >= before[h]:
            return Tail(h, "records", f"{len(items)} independent items under a heading")
    return None


def items_under(
    lines: Sequence[Line], feats: Sequence[LineFeatures], cf: list[str], h: int, min_items: int
) -> tuple[list[int], int]:
    """The independent items under line ``h`` when ``h`` heads a list of them (see
    :func:`_item_tail`), and the index after them; no items when it does not."""
    line, f = lines[h], feats[h]
    if (
        not line.kept
        or cf[h] != SHORT
        or not is_heading(f)
        or announces(line.text)
        or _NUMBERED_RE.match(line.text)
    ):
        return [], h + 1
    items: list[int] = []
    j, n = h + 1, len(lines)
    while j < n:
        if lines[j].text:
            if cf[j] != GOOD or not lines[j].kept or feats[j].n_chars > _ITEM_MAX_CHARS:
                break
            items.append(j)
        j += 1
    if len(items) < min_items:
        return [], j
    sizes = [feats[k].n_han for k in items]
    if max(sizes) > 2 * min(sizes) or any(
        _CONTINUES_RE.match(lines[k].text) or _NUMBERED_RE.match(lines[k].text) for k in items
    ):
        return [], j
    return items, j


# The marks a comment record carries on a line of its own: a reaction count ("赞 128",
# "讚 96", "32 人说赞", "点赞 5") or a relative time ("2天前", "5小时前", "刚刚", "昨天 21:14").
_REACTION_RE = re.compile(
    r"^(?:[赞讚顶頂]|点赞|點讚|like|likes)\s*[:：]?\s*\d[\d,.]*\s*[kK万萬]?$"
    r"|^\d[\d,.]*\s*[kK万萬]?\s*(?:人|个|個)?\s*(?:说赞|說讚|赞|讚|点赞|點讚|likes?)$",
    re.IGNORECASE,
)
_RELATIVE_TIME_RE = re.compile(
    r"^(?:\d{1,3}\s*(?:秒|分钟|分鐘|小时|小時|天|日|周|週|星期|个月|個月|年)前|刚刚|剛剛|"
    r"(?:昨天|前天|今天)(?:\s*\d{1,2}:\d{2})?)$"
)
_CARD_MAX_LINES = 5


def _record_mark(line: Line, f: LineFeatures) -> str:
    """'strong' for a reaction count or a relative time on a line of its own, 'date' for a
    timestamp or a bare date, '' otherwise."""
    if not line.text or f.n_chars > 20:
        return ""
    if _REACTION_RE.match(line.text) or _RELATIVE_TIME_RE.match(line.text):
        return "strong"
    if f.stamp or (f.date_only and _DATE_TOKEN_RE.search(line.text)):
        return "date"  # a date with its year, or with a time of day; not "1/8", "3-14"
    return ""


def _card_name(f: LineFeatures, mark: str) -> bool:
    """A line of a card that may name a comment's author: no mark, digits or field label."""
    return not mark and not f.n_digits and not f.n_labels and f.n_content >= 2


def _comment_card(
    lines: Sequence[Line], feats: Sequence[LineFeatures], gap: list[int]
) -> tuple[str, ...] | None:
    """The short lines between two comments: a name, a reaction count, a relative time.

    One to :data:`_CARD_MAX_LINES` lines of 20 characters or fewer with a reaction count
    or a relative time, or with a full date or timestamp and a name (a bare date between
    paragraphs is a timeline's, a "1/8" a photo's number, not a comment's). Returns the card's shape (the mark of each line,
    see :func:`_record_mark`), or None when the gap is no card."""
    if not 1 <= len(gap) <= _CARD_MAX_LINES or any(feats[k].n_chars > 20 for k in gap):
        return None
    marks = tuple(_record_mark(lines[k], feats[k]) for k in gap)
    if "strong" in marks:
        return marks
    named = any(_card_name(feats[k], m) for k, m in zip(gap, marks, strict=True))
    return marks if "date" in marks and named else None


def comment_runs(
    lines: Sequence[Line], feats: Sequence[LineFeatures], cf: list[str], min_records: int
) -> list[tuple[int, int]]:
    """Runs (first, last line) of comments: ``min_records`` or more lines of text in a row,
    each separated from the next by a comment card of one shape (:func:`_comment_card`:
    a name, a reaction count, a relative time), with the marks under the last one.

    Readers' comments are sentences as well written as the article's, so their text
    does not give them away; the cards between them do. A site prints every card the
    same way: a gap of another shape (the last comment's card, a button, the article's
    heading and byline) ends the run. Cards that all name one and the same author are
    that author's posts (a diary, a microblog), not comments. Text lines are kept lines
    that are text by their own shape (good or near-good). Linear time.
    """
    texts = [i for i, line in enumerate(lines) if line.text and line.kept and cf[i] in (GOOD, NEAR)]
    out: list[tuple[int, int]] = []
    run: list[int] = []
    card: tuple[str, ...] | None = None
    names: set[str] = set()

    def gap(a: int, b: int) -> list[int]:
        return [k for k in range(a + 1, b) if lines[k].text]

    def close() -> None:
        if len(run) < min_records or len(names) == 1:
            return  # too few, or one author's own posts (a diary, a microblog)
        # the last comment's own marks: the lines under it, as far as a card places marks
        last, end = run[-1], run[-1]
        reach = max((p for p, m in enumerate(card or ()) if m), default=-1)
        below = itertools.islice(
            (k for k in range(last + 1, len(lines)) if lines[k].text), reach + 1
        )
        for p, k in enumerate(below):
            if not card or _record_mark(lines[k], feats[k]) != card[p]:
                break
            if card[p]:
                end = k
        out.append((run[0], end))

    for a, b in itertools.pairwise([*texts, None]):
        if not run:
            run, card, names = [a], None, set()
        between = gap(a, b) if b is not None else []
        shape = _comment_card(lines, feats, between) if b is not None else None
        if shape is not None and card in (None, shape):
            run.append(b)
            card = shape
            names |= {
                lines[k].text
                for k, m in zip(between, shape, strict=True)
                if _card_name(feats[k], m)
            }
            continue
        close()
        run = []
    return out


def demote_comments(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    *,
    min_content: int,
    min_records: int,
) -> list[tuple[int, int]]:
    """The comment runs (:func:`comment_runs`) that an article follows.

    A page may show its readers' comments first ("热门留言" above the article, or around
    it). When a run of text that is no comment, of ``min_content`` Han or more (up to two
    short lines between its lines: a heading, a byline), follows a comment run, that text
    is the article and the comments are not: their lines are not text. Comments that no
    article follows are left alone (answers, a discussion, one author's posts: the
    records may be the content)."""
    runs = comment_runs(lines, feats, cf, min_records)
    if not runs:
        return []
    inside = [False] * len(lines)
    for first, last in runs:
        for k in range(first, last + 1):
            inside[k] = True
    # the largest run of text outside comments that starts at or after each index
    best_after = [0] * (len(lines) + 1)
    acc = shorts = 0
    for i in range(len(lines) - 1, -1, -1):
        best_after[i] = best_after[i + 1]
        if not lines[i].text:
            continue
        if cf[i] in (GOOD, NEAR) and lines[i].kept and not inside[i]:
            acc, shorts = acc + feats[i].n_han, 0
        elif cf[i] == SHORT and shorts < 2 and not inside[i]:
            shorts += 1
        else:
            acc = shorts = 0
        best_after[i] = max(best_after[i], acc)
    return [(first, last) for first, last in runs if best_after[last + 1] >= min_content]


def find_tail(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    cf: list[str],
    *,
    min_content: int,
    min_records: int,
    max_gap: int,
    directory_min_lines: int,
    notes: list[str] | None = None,
) -> Tail | None:
    """The earliest tail after the article (records or directory), if any.

    On a question-and-answer page (a line removed by one of :data:`ANSWER_RULES`) the
    timestamped records are the answers, not a thread: they are no tail (their cards
    go, see :func:`record_cards`). Decisions that kept records a tail test looked at
    are appended to ``notes``."""
    before = _good_han_before(cf, feats)
    answers = any(line.removed_by in ANSWER_RULES for line in lines)
    records = (
        None
        if answers
        else _record_tail(lines, feats, cf, before, min_content, min_records, max_gap, notes)
    )
    limit = records.start if records is not None else len(lines)
    found = [
        t
        for t in (
            records,
            _directory_tail(lines, feats, cf, before, min_content, directory_min_lines),
            _shape_tail(lines, feats, cf, before, min_content, min_records, limit),
            _item_tail(lines, feats, cf, before, min_content, min_records),
        )
        if t is not None
    ]
    return min(found, key=lambda t: t.start) if found else None


# -- short-line articles --------------------------------------------------------------


# Rules whose lines mark a question-and-answer page: its answers are the content, so
# their records are no comment thread.
ANSWER_RULES = frozenset({"bp.qa"})

# Rules whose lines carry no text of their own (an image file name, a "[图片]" marker):
# inside a run of short lines they are skipped, not a break.
INERT_RULES = frozenset({"bp.media"})
# At most this many inert lines in a row inside a run.
_MAX_INERT = 3
# This many weak lines in a row (labels, bare names, buttons) end a run.
MAX_WEAK = 3
# Han per line a short-line run needs on average (lists of names and menu items have
# fewer), and a run of verse whose lines are mostly clauses (see :func:`narrative_runs`).
_MIN_MEAN_HAN = 5
_MIN_MEAN_HAN_VERSE = 3


def _member_kinds(
    lines: Sequence[Line], feats: Sequence[LineFeatures], passable: frozenset[int]
) -> list[str]:
    """For :func:`narrative_runs`, per line: 'skip', 'text' or '' (breaks a run).

    'skip': a line in ``passable``, or inert: a line without text of its own between the
    lines of a short-line article: an image file name or marker (removed by a media
    rule), a time of day ("06:10"), a number. 'text': a kept short line with Han and no
    link or record shape. One pass per call, tests inlined: this runs over every line
    several times per page.
    """
    out = []
    for i, line in enumerate(lines):
        f = feats[i]
        removed_by = line.removed_by
        kept = removed_by is None
        if (
            i in passable
            or removed_by in INERT_RULES
            or (kept and f.n_han == 0 and 0 < f.n_chars <= 40 and not (f.date_only or f.stamp))
        ):
            out.append("skip")
        elif (
            kept
            and f.n_han >= 1
            and f.n_chars <= 80
            and not (f.teaser or f.counted or f.stamp or f.date_only or f.n_separators >= 2)
        ):
            out.append("text")
        else:
            out.append("")
    return out


def _narrative_line(f: LineFeatures) -> bool:
    """A line that reads like a clause: five Han or more with function characters or
    clauses separated by spaces, and no field label."""
    return f.n_han >= 5 and not f.n_labels and (f.n_function >= 1 or f.is_spaced_prose)


def _weak(f: LineFeatures) -> bool:
    """A line that adds nothing to a run of short lines by itself: a field ("作词：林间",
    "点击次数：28615"), or four Han or fewer without function characters ("复制歌词",
    a singer's name)."""
    if f.n_labels:
        return True
    return f.n_han <= 4 and not f.n_function and not f.is_spaced_prose


def _trim(
    run: list[int],
    feats: Sequence[LineFeatures],
    keep: frozenset[int] = frozenset(),
    lines: Sequence[Line] = (),
) -> list[int]:
    """Cut the header of a run and the weak lines at its end (buttons, counters).

    The header is everything up to the last field line ("作词：", "作曲：", a byline) above
    the second line that reads like a clause (the first may be the page's title), then
    the weak lines that hold digits (a date and view counter). Bare weak lines at the
    head (a poem's title and poet, or the last items of a menu) stay only when the run
    has weak lines of that kind inside it too: a page of poems repeats title and poet
    between the verses, a menu does not.
    """
    last_label = -1
    clauses = 0
    for k, i in enumerate(run):
        if _narrative_line(feats[i]):
            clauses += 1
            if clauses == 2:  # the first may be the page's title ("某某的诗（三首）")
                break
        if feats[i].n_labels:
            last_label = k
    run = run[last_label + 1 :]
    while run and _weak(feats[run[0]]) and feats[run[0]].n_digits:
        run = run[1:]

    def refrain(i: int) -> bool:  # the line repeats one inside the run: a chorus
        return bool(lines) and any(lines[k].text == lines[i].text for k in run if k < i - 1)

    while run and _weak(feats[run[-1]]) and run[-1] not in keep and not refrain(run[-1]):
        run = run[:-1]
    head = 0
    while head < len(run) and _weak(feats[run[head]]):
        head += 1
    if head and not any(
        _weak(feats[i]) and not (feats[i].n_digits or feats[i].n_labels) for i in run[head:]
    ):
        run = run[head:]
    return run


def narrative_runs(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    *,
    min_lines: int,
    min_han: int,
    min_function: float,
    passable: frozenset[int] = frozenset(),
    keep: frozenset[int] = frozenset(),
    max_weak: int = MAX_WEAK,
) -> list[tuple[int, int, int]]:
    """Runs (start, end, Han) of short lines that read like sentences, not like lists.

    Poems, lyrics, photo captions and diaries put one clause per line, often without
    punctuation. A run counts when it has at least ``min_lines`` lines, ``min_han`` Han
    characters, at least 5 Han per line on average (3 for free verse: function
    characters on half its lines or more, and twice ``min_function``), function
    characters (的了是在我…) in at least ``min_function`` of its Han or clauses
    separated by spaces on half its lines of five Han or more (classical verse has few
    function characters, and its titles and poets' names sit between the verses), few
    organisation names and few digits: menus, directories and link lists fail those tests.

    Lines without text of their own (image file names, "[图片]" markers, times of day:
    :func:`_member_kinds`) and the lines in ``passable`` (copies of the title, which a chorus
    repeats) neither count nor break a run. ``max_weak`` (three) weak lines in a row
    (fields, buttons, bare names: :func:`_weak`) end it, and a run is trimmed of its
    header and of the weak lines at its end (:func:`_trim`), so that a song's credits
    and the buttons
    under it stay out. Lines in ``keep`` (a chorus given back) are never weak.
    """
    out = []
    n = len(lines)
    # What each line is to a run: 'text', 'skip' (inert or passable) or '' (breaks the
    # run); decided once per line (the scan below asks again about lines it revisits).
    kinds = _member_kinds(lines, feats, passable)
    member = kinds.__getitem__

    def close(run: list[int]) -> None:
        run = _trim(run, feats, keep, lines)
        if not run:
            return
        fs = [feats[k] for k in run]
        n_han = sum(f.n_han for f in fs)
        # Free verse breaks its sentences into lines of two to nine Han ("在数", "她说"):
        # when most lines hold function characters, and twice as many as required, the
        # lines are clauses, not menu items or names, however short.
        verse = (
            sum(1 for f in fs if f.n_function) >= 0.5 * len(run)
            and sum(f.n_function for f in fs) >= 2 * min_function * n_han
        )
        if (
            len(run) >= min_lines
            and n_han >= min_han
            and n_han / len(run) >= (_MIN_MEAN_HAN_VERSE if verse else _MIN_MEAN_HAN)
            and (
                sum(f.n_function for f in fs) >= min_function * n_han
                or sum(1 for f in fs if f.is_spaced_prose)
                >= 0.5 * sum(1 for f in fs if f.n_han >= 5)
            )
            and sum(1 for f in fs if f.org_name) <= 0.2 * len(run)
            and sum(1 for f in fs if f.n_digits) <= 0.3 * len(run)
        ):
            out.append((run[0], run[-1], n_han))

    i = 0
    while i < n:
        if not (lines[i].text and member(i) == "text"):
            i += 1
            continue
        run: list[int] = []
        skipped = weak = 0
        j = i
        while j < n:
            if not lines[j].text:
                j += 1
                continue
            kind = member(j)
            if kind == "skip":
                skipped += 1
                if skipped > _MAX_INERT:
                    break
            elif kind == "text":
                skipped = 0
                weak = weak + 1 if _weak(feats[j]) and j not in keep else 0
                if weak >= max_weak:
                    # The run ends before the weak lines; the next one may start on the
                    # last two of them (a title and a poet's name above the verses).
                    seq = [*run[len(run) - (weak - 1) :], j]
                    run = run[: len(run) - (weak - 1)]
                    texts = {lines[k].text for k in run}
                    for k in seq:  # a chorus line right before the buttons stays
                        if lines[k].text not in texts:
                            break
                        run.append(k)
                    j += 1
                    while j < n and (
                        not lines[j].text
                        or member(j) == "skip"
                        or (member(j) == "text" and _weak(feats[j]))
                    ):
                        if lines[j].text and member(j) == "text":
                            seq.append(j)
                        j += 1
                    j = seq[-2]
                    break
                run.append(j)
            else:
                break
            j += 1
        close(run)
        i = j if j > i else i + 1
    return out


def text_runs(lines: Sequence[Line], feats: Sequence[LineFeatures], cf: list[str]) -> int:
    """Han characters of text-shaped lines (good or near-good: sentences, punctuated
    lines, spaced clauses) in the largest run of them. Blank lines and up to two short
    lines in a row (a title, a name, a date) do not break a run, and count when text
    follows them; anything else breaks it."""
    best = acc = shorts = pending = 0
    for line, f, c in zip(lines, feats, cf, strict=True):
        if not line.text:
            continue
        if c in (GOOD, NEAR):
            acc, shorts, pending = acc + pending + f.n_han, 0, 0
        elif c == SHORT and shorts < 2:
            shorts, pending = shorts + 1, pending + f.n_han
        else:
            acc, shorts, pending = 0, 0, 0
        best = max(best, acc)
    return best


def surviving_run(
    lines: Sequence[Line],
    feats: Sequence[LineFeatures],
    structural: frozenset[str],
    *,
    min_han: int = 5,
    max_short: int = 2,
) -> tuple[int, int, int]:
    """(Han, first, last) of the largest run of lines that no rule removed and that hold
    text, whatever their class: what the page has left once its known furniture is gone.

    A line counts when it is kept or only the page structure removed it (``structural``:
    the block cut, tails, cards), holds ``min_han`` Han or more and has no link shape
    (teaser, counter, separators, timestamp, bare date). Up to ``max_short`` shorter
    lines in a row (a poem's title and poet, a signature) and metadata lines do not
    break a run and count when a member follows them; a line a rule removed breaks it.
    Verse written one line each without punctuation (few function characters, no
    sentence shape) is such a run, which the narrative tests do not see. Linear time.
    """
    best = (0, -1, -1)
    acc, first, pending = 0, -1, 0
    streak: list[int] = []  # the short lines since the last member
    for i, (line, f) in enumerate(zip(lines, feats, strict=True)):
        if not line.text:
            continue
        surviving = line.kept or line.removed_by in structural
        member = (
            surviving
            and f.n_han >= min_han
            and not (f.teaser or f.counted or f.n_separators >= 2 or f.stamp or f.date_only)
        )
        if member:
            if first < 0:  # a run opens with the title and poet right above its first line
                heads = [k for k in streak if lines[k].kept or lines[k].removed_by in structural]
                first = heads[0] if heads and len(heads) == len(streak) else i
            acc, streak, pending = acc + pending + f.n_han, [], 0
            if acc > best[0]:
                best = (acc, first, i)
        elif (is_meta(line) or (surviving and f.n_chars <= 20)) and len(streak) < max_short:
            streak.append(i)
            pending += f.n_han if surviving else 0
        else:
            acc, first, pending = 0, -1, 0
            streak = [i] if surviving and f.n_chars <= 20 else []
    return best
