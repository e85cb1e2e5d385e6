"""Metadata extraction: title, publication time, source and author.

The stripper has already found the lines that carry metadata and the fields their rules
captured (``Line.fields``). This stage ranks those candidates by how reliable their kind
of evidence is and by where they sit relative to the main content, validates them, and
removes a byline that sits alone under the heading.
"""

from __future__ import annotations

import re
from datetime import datetime

from zhclean.core.chars import HAN_RANGES, count_han
from zhclean.core.dates import find_dates, find_year_month, plausible_publication
from zhclean.core.record import MODEL_BOILERPLATE, TITLE_HEADING, TITLE_REPEAT, Document, Line
from zhclean.core.step import Step

AUTHOR_LINE = "meta.author_line"
AUTHOR_LINE_REASON = (
    "a lone name line under the heading is the byline; it becomes the author column"
)
HEADER_FIELDS = "meta.header_fields"
HEADER_FIELDS_REASON = (
    "a record of labelled fields above the article (作者：… | 时间：…) is its byline"
)

# Lines whose dates belong to other pages (link lists, archives, calendars).
_FOREIGN_DATE_RULES = (
    "bp.archive",
    "bp.calendar",
    "bp.related_links",
    "bp.further_reading",
    "bp.recommend",
    "bp.comments",
    "bp.teaser",
    "bp.copyright",
    "bp.icp",
    "bp.shop_terms",
    "bp.author_bio",
    # the records of a thread, a list of dated titles, a directory, an answer's card
    "tail.",
    "record.",
)
_LABELLED_DATE_RULES = ("meta.", "bp.post_footer")

_NAME_LINE_RE = re.compile(
    rf"^(?:[{HAN_RANGES}·]{{2,4}}(?:[、，,\s]+[{HAN_RANGES}·]{{2,4}}){{0,4}}|[A-Za-z][A-Za-z0-9_\-]{{2,24}})$"
)
_NOT_NAMES = frozenset(
    [
        "首页",
        "正文",
        "摘要",
        "前言",
        "导语",
        "引言",
        "编者按",
        "目录",
        "简介",
        "概述",
        "正文",
        "全文",
        "返回",
        "更多",
        "登录",
        "注册",
        "搜索",
        "评论",
        "留言",
        "分享",
        "收藏",
        "打印",
        "关闭",
        "推荐",
        "热点",
        "专题",
        "视频",
        "图片",
        "新闻",
        "要闻",
        "原创",
        "转载",
        "同人连载",
        "连载",
        "Abstract",
        "Introduction",
        "Home",
        "Search",
        "Login",
    ]
)
# A lone line ending like this names a site or an organisation, not a person.
_ORG_SUFFIX_RE = re.compile(
    r"(?:网|报|社|台|刊|站|院|部|局|委|会|厅|处|所|中心|集团|公司|频道|论坛|社区|博客|首页|专栏|新闻|在线)$"
)
_AUTHOR_JUNK_RE = re.compile(r"[=<>\"'{}]|^\d+$|^https?:")
_AUTHOR_CUT_RE = re.compile(
    r"\s*(?:阅读|浏览|点击|评论|来源|发布|发表|时间|日期|编辑|责任编辑|[(（]\d|\d{2,4}[-/.年]).*$"
)
# "作者：教导处 | 时间：2023-05-26 | 阅读：1205": a record of labelled fields in the header.
# A field label at the start of the line or after a space or separator ("正文：" is no "文：").
_HEADER_LABEL_RE = re.compile(
    rf"(?<![{HAN_RANGES}])(?P<label>作者|作\s+者|撰文|撰稿|文|记者|来源|出处|发布时间|发表时间|"
    r"发布日期|更新时间|时间|日期)\s*[:：]\s*"
)


def _header_record(text: str) -> dict[str, str]:
    """The fields of a "label：value" record. A value runs to the next label or separator
    (a date keeps its time of day); a name or an outlet is its first word."""
    found: dict[str, str] = {}
    labels = list(_HEADER_LABEL_RE.finditer(text))
    for k, m in enumerate(labels):
        end = labels[k + 1].start() if k + 1 < len(labels) else len(text)
        value = re.split(r"[|｜]", text[m.end() : end])[0].strip()
        field = _HEADER_LABELS.get(re.sub(r"\s+", "", m.group("label")), "date")
        if field != "date":
            value = value.split()[0] if value else ""
        if value:
            found.setdefault(field, value)
    return found


_HEADER_LABELS = {
    "作者": "author",
    "撰文": "author",
    "撰稿": "author",
    "文": "author",
    "记者": "reporter",
    "来源": "source",
    "出处": "source",
}
_SINGLE_HAN_SPACED_RE = re.compile(rf"^[{HAN_RANGES}](?:\s[{HAN_RANGES}])+$")

# Evidence ranks (lower wins) for author candidates by field name.
_AUTHOR_FIELDS = {"author": 0, "reporter": 1, "editor": 3}


_MENU_ITEM_RE = re.compile(rf"^[{HAN_RANGES}]{{2,6}}$")

# A news story's closing byline, in brackets at the end of its last paragraph:
# "…发展。（记者 胡晓蓉）", "（本报记者 张三 李四）", "…吗？”（姚峰 上海报道）".
_TRAILING_BYLINE_RE = re.compile(r"[（(]([^（）()]{2,30})[）)]$")
_TRAILING_ROLE_RE = re.compile(r"^(?:本报|本刊)?(?:特约|实习)?(?:记者|通讯员)\s*[:：]?\s*")
_TRAILING_REPORT_RE = re.compile(rf"\s+[{HAN_RANGES}]{{0,4}}报道$")
_PERSON_RE = re.compile(rf"[{HAN_RANGES}·]{{2,4}}")


def _menu_item(text: str) -> bool:
    """A short plain line like the items of a menu ("企业新闻", "五言绝句", "加入购物车")."""
    return bool(_MENU_ITEM_RE.match(text))


def _trailing_byline(text: str) -> str | None:
    """The names of a closing byline in brackets (a reporter's role or "… 报道" says it is
    one; "（完）" or "（图片来自网络）" is not)."""
    m = _TRAILING_BYLINE_RE.search(text.rstrip())
    if not m:
        return None
    inner = m.group(1).strip()
    role = _TRAILING_ROLE_RE.match(inner)
    report = _TRAILING_REPORT_RE.search(inner)
    if not (role or report):
        return None
    inner = inner[role.end() if role else 0 : report.start() if report else len(inner)]
    names = [n for n in re.split(r"[\s、，,]+", inner) if n]
    if not names or len(names) > 4 or not all(_PERSON_RE.fullmatch(n) for n in names):
        return None
    if any(n in _NOT_NAMES for n in names):
        return None
    return " ".join(names)


def _clean_name(value: str) -> str | None:
    value = _AUTHOR_CUT_RE.sub("", value.strip(" ：:[]【】"))
    value = value.strip(" ：:[]【】")
    while (
        value
        and value[-1] in ")）"
        and value.count("(") + value.count("（") < value.count(")") + value.count("）")
    ):
        value = value[:-1].rstrip()
    if _SINGLE_HAN_SPACED_RE.match(value):
        value = value.replace(" ", "")
    if not value or len(value) > 40 or _AUTHOR_JUNK_RE.search(value):
        return None
    return value


def _rule_of(line: Line) -> str:
    """What a line is, for dating: its metadata id, else the rule that matched it (the
    line model may have removed it), else what removed it."""
    rid = line.removed_by or ""
    if rid.startswith("meta."):
        return rid
    return line.rule or rid


class MetadataExtractor(Step):
    """Fill ``title``, ``published_at`` (+ precision), ``source_name`` and ``author``."""

    name = "extract_metadata"

    def __init__(self, now: datetime | None = None) -> None:
        super().__init__()
        self.now = now

    def reasons(self) -> dict[str, str]:
        return {AUTHOR_LINE: AUTHOR_LINE_REASON, HEADER_FIELDS: HEADER_FIELDS_REASON}

    def process(self, doc: Document) -> None:
        lines = doc.lines
        now = self.now or datetime.now()
        start, end = doc.content_span or (len(lines), len(lines))
        self._header_fields(lines, start)
        doc.title = self._title(lines)
        self._published_at(doc, lines, start, end, now)
        doc.source_name = self._first_field(lines, "source", end)
        # Without an article block (a conservative extraction) there is no header zone:
        # a lone short line is as likely a poem's title as a byline.
        doc.author = self._author(lines, start, end, bylines=doc.content_span is not None)
        for name in ("title", "published_at", "source_name", "author"):
            if getattr(doc, name) is not None:
                self.count(f"found.{name}")

    @staticmethod
    def _header_fields(lines: list[Line], start: int) -> None:
        """Read a record of labelled fields above the article that no metadata rule read
        ("作者：教导处 | 时间：2023-05-26 | 阅读：1205", often taken for a menu row by its
        bars): two labels or more, of which one names the author or the date."""
        for line in lines[: min(start, len(lines))]:
            if not line.text or line.fields or line.kept or len(line.text) > 120:
                continue
            found = _header_record(line.text)
            if len(found) >= 2 and ("author" in found or "date" in found):
                line.fields = found
                if not (line.removed_by or "").startswith(_LABELLED_DATE_RULES):
                    line.removed_by = HEADER_FIELDS

    @staticmethod
    def _title(lines: list[Line]) -> str | None:
        for line in lines:
            if line.removed_by == TITLE_HEADING:
                return (line.fields or {}).get("title", line.text)
        return None

    def _published_at(
        self, doc: Document, lines: list[Line], start: int, end: int, now: datetime
    ) -> None:
        """Rank date evidence: a dateline or byline above the article, then a labelled
        post footer (发表于 …), then any date above the article, then a year-month."""
        embedded: list[tuple[datetime, str]] = []
        year_month: list[tuple[datetime, str]] = []
        for i, line in enumerate(lines):
            rid = _rule_of(line)
            if not line.text or rid.startswith(_FOREIGN_DATE_RULES):
                continue
            fields = line.fields or {}
            if line.kept and start <= i <= end and "date" not in fields:
                continue  # dates inside the article are events, not its publication time
            labelled = rid.startswith(_LABELLED_DATE_RULES)
            if embedded and not labelled:
                continue  # only a labelled date can still outrank the one found
            text = fields.get("date") or line.text
            if "20" not in text and "19" not in text and "年" not in text:
                continue  # no year (19xx, 20xx, …年): no date or year-month can match
            parsed = [(dt, p) for _, dt, p in find_dates(text) if plausible_publication(dt, now)]
            if parsed:
                if labelled:
                    # The first dateline above the article outranks everything, and a
                    # labelled footer below it everything that is left (no dateline can
                    # follow it): the rest of the page cannot change the answer.
                    doc.published_at, doc.published_at_precision = parsed[0]
                    return
                if i < start:
                    embedded.append(parsed[0])
                continue
            ym = find_year_month(text) if ("date" in fields or i < start or i > end) else None
            if ym and plausible_publication(ym[0], now) and ("date" in fields or "(" in text):
                year_month.append(ym)
        for candidates in (embedded, year_month):
            if candidates:
                doc.published_at, doc.published_at_precision = candidates[0]
                return

    @staticmethod
    def _first_field(lines: list[Line], name: str, end: int) -> str | None:
        for i, line in enumerate(lines):
            value = line.fields.get(name) if line.fields else None
            if value and i <= end + 5:
                value = value.strip(" []【】")
                if value:
                    return value
        return None

    def _author(self, lines: list[Line], start: int, end: int, bylines: bool = True) -> str | None:
        candidates: list[tuple[int, int, str]] = []  # (rank, line index, name)
        for i, line in enumerate(lines):
            if not line.fields:
                continue
            for field_name, rank in _AUTHOR_FIELDS.items():
                value = line.fields.get(field_name)
                name = _clean_name(value) if value else None
                if name:
                    candidates.append((rank, i, name))
        byline = self._name_under_heading(lines, start) if bylines else None
        if byline is not None:
            candidates.append((2, byline, lines[byline].text))
        closing = self._closing_byline(lines, end) if bylines else None
        if closing is not None:
            candidates.append((2, *closing))  # a reporter, above an editor
        if not candidates:
            return None
        candidates.sort()
        rank, first, name = candidates[0]
        names = [name]
        # A byline split over adjacent lines (本报实习生 A / 本报记者 B C) names everyone.
        for r, i, other in candidates[1:]:
            if r == rank and 0 < i - first <= 4 and other not in names:
                names.append(other)
        return " ".join(names)

    @staticmethod
    def _closing_byline(lines: list[Line], end: int) -> tuple[int, str] | None:
        """The bracketed byline that closes the article's last kept line, if any (the
        line stays text: it is the story's own last words)."""
        for i in range(min(end, len(lines) - 1), -1, -1):
            line = lines[i]
            if line.text and line.kept:
                name = _trailing_byline(line.text)
                return (i, name) if name else None
        return None

    @staticmethod
    def _name_under_heading(lines: list[Line], start: int) -> int | None:
        """Index of a lone name line right under a heading, at the top of the article."""
        for i in range(1, min(start, len(lines))):
            line = lines[i]
            if (
                not line.text
                or not _NAME_LINE_RE.match(line.text)
                or line.text in _NOT_NAMES
                or _ORG_SUFFIX_RE.search(line.text)
            ):
                continue
            if line.removed_by not in (None, MODEL_BOILERPLATE):
                continue
            if line.rule and not line.rule.startswith("meta."):
                continue  # a boilerplate rule knows the line (发表评论): no byline
            prev = next((k for k in range(i - 1, -1, -1) if lines[k].text), None)
            if prev is None:
                continue
            p = lines[prev]
            if _menu_item(p.text):
                continue  # the next item of a menu, not a byline under a heading
            # under the in-page heading, or under the page title when the article follows
            after_title = p.removed_by == TITLE_REPEAT or (
                p.removed_by == TITLE_HEADING and start - i <= 6
            )
            heading_like = count_han(p.text) >= 4 and not p.text.endswith("。")
            near_start = 0 < start - i <= 3 and heading_like
            if after_title or near_start:
                line.removed_by = AUTHOR_LINE
                return i
        return None
