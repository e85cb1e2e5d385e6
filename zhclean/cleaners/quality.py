"""Line-quality features: what rules cannot name, the shape of a line can tell.

Article prose is long, mostly Han and punctuated; menus, link lists, tag clouds and
calendars are runs of short unpunctuated lines with separators. These features feed
the main-content block search in :mod:`zhclean.cleaners.boilerplate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhclean.core.chars import HAN_RANGES, count_han

_ALNUM_RUN_RE = re.compile(r"[A-Za-z0-9]+")
_TERMINAL = frozenset("。！？!?….；;")
_CLOSING_QUOTES = "”」』’\"'"
# A trailing parenthetical ("（组图）", "(5451)") does not end a sentence; look before it.
_TRAILING_PAREN_RE = re.compile(r"\s*[(（][^()（）]{0,20}[)）]\s*$")
_SPACED_SEPARATOR_RE = re.compile(r"(?:^|\s)[>·•/\-]\s")
_BULLET_RE = re.compile(r"^(?:[·•●◆◇■□▪▫►▶➤→\-*]|\d{1,2}[.、)]?\s*·|\d{1,2}\.\s|\[\d{1,3}\])\s*")
_TEASER_END_RE = re.compile(r"(?:\.{3}|…{1,2}|。{3})\s*[)）\]】]?$")
# "(5451)" after a title: a view/comment count, the mark of a ranking list.
_COUNTED_RE = re.compile(r"[(（]\d{1,7}[)）]\s*$")
# A timestamp: a date with a time of day ("12-03 09:41", "2019-05-21 22:13:05",
# "2005年3月11日 12:12"). Comment and reply records carry one; table cells rarely do.
STAMP_RE = re.compile(
    r"(?:\d{2,4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/月]\d{1,2}日?)\s*"
    r"(?:[(（]?\s*(?:星期|周)[一二三四五六日天]\s*[)）]?\s*)?(?:上午|下午|晚上|AM|PM)?\s*\d{1,2}:\d{2}"
)
# Function characters of running Chinese text (particles, pronouns, prepositions, copulas).
# Narrative lines are full of them; names, menus and link directories are not
# (the idea of jusText's stopword density, at character level).
FUNCTION_CHARS = (
    "的了是在我你他她它们这那就也都很和与而及其把被让给从对向为以但却又还所如么吗呢吧啊呀着过说有不"
)
_FUNCTION_RE = re.compile(f"[{FUNCTION_CHARS}]")
_DIGIT_RE = re.compile("[0-9]")
# Lines longer than this are never cells, names, verse or records.
SHORT_LINE_CHARS = 80
# How organisation and site names end: a list of them is a directory, not an article.
_ORG_SUFFIX_RE = re.compile(
    r"(?:部|委|局|署|厅|办|院|会|所|馆|站|社|报|台|网|在线|中心|集团|公司|银行|大学|学院|学校|"
    r"学系|系|协会|联会|学会|基金会|研究院|研究所|委员会|政府|门户|医院|频道|论坛|博物馆|图书馆)$"
)
# "时间：", "点击：", "主办：": a field label. Two or more on a line make a record of
# fields (a post header, a footer), not a sentence, however many colons it has.
_LABEL_RE = re.compile(f"[{HAN_RANGES}]{{2,4}}\\s*[:：]")
# Han, a space, Han: where a clause break stands in text written without punctuation.
_SPACED_CLAUSE_RE = re.compile(f"[{HAN_RANGES}]\\s+(?=[{HAN_RANGES}])")
_DATE_ONLY_RE = re.compile(
    r"^[\[(（]?\s*(?:\d{2,4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/月]\d{1,2}日?)"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*[\])）]?$"
)


# Not frozen: a frozen dataclass pays object.__setattr__ per field in __init__ (about 4 µs
# for these 16 fields, 7 times a plain one, on every line of every page). Features are
# still never assigned after construction, and hash and compare as before.
@dataclass(slots=True, unsafe_hash=True)
class LineFeatures:
    n_chars: int
    n_han: int
    n_alnum: int
    n_clause_punct: int
    ends_terminal: bool
    n_separators: int
    bullet: bool
    teaser: bool
    counted: bool
    date_only: bool
    stamp: bool = False
    n_function: int = 0
    n_spaced: int = 0
    org_name: bool = False
    n_digits: int = 0
    n_labels: int = 0

    @property
    def n_content(self) -> int:
        """Han characters plus ASCII letters and digits: what the text is made of."""
        return self.n_han + self.n_alnum

    @property
    def function_density(self) -> float:
        """Share of the line's Han characters that are function characters."""
        return self.n_function / self.n_han if self.n_han else 0.0

    @property
    def is_field_record(self) -> bool:
        """Two or more "label：value" fields and no sentence punctuation."""
        return (
            self.n_labels >= 2 and not self.ends_terminal and self.n_clause_punct <= self.n_labels
        )

    @property
    def is_spaced_prose(self) -> bool:
        """Clauses separated by spaces instead of punctuation (photo blogs, diaries,
        lyrics, often Traditional): long Han segments, not a row of menu words."""
        if self.n_spaced < 1 or self.n_han < 10 or self.n_clause_punct > 1:
            return False
        return self.n_han / (self.n_spaced + 1) >= 5

    @property
    def is_prose(self) -> bool:
        """Plainly article prose: long, punctuated, mostly Han. Rules must not drop it."""
        return (
            self.n_han >= 20
            and self.n_clause_punct >= 2
            and self.n_han >= 0.5 * self.n_chars
            and not self.teaser
        )

    @property
    def is_good(self) -> bool:
        """Looks like a sentence of running text (Chinese or English)."""
        if self.teaser or self.counted or self.n_separators >= 3:
            return False
        if self.n_han >= 10 and (self.ends_terminal or self.n_clause_punct >= 2):
            return True
        if self.n_han >= 40 and self.n_clause_punct >= 1:
            return True
        return self.n_han < 10 and self.n_chars >= 80 and self.n_clause_punct >= 2

    @property
    def is_link_like(self) -> bool:
        """A short unpunctuated line: a menu item, a link title, a tag."""
        if self.is_good:
            return False
        return (
            self.bullet
            or self.teaser
            or self.counted
            or self.date_only
            or (self.n_chars <= 40 and self.n_clause_punct <= 1 and not self.ends_terminal)
        )


# Features read from a line's ends only look at this many characters.
_TAIL = 40
_CLAUSE_CHARS = "，。！？；：、,!?;"
_ENGLISH_STOP_RE = re.compile(r"(?<=[A-Za-z])[.](?=\s|$)")


# Counts of any of several characters, in one C-level pass.
_CLAUSE_RE = re.compile(f"[{re.escape(_CLAUSE_CHARS)}]")
_SEPARATOR_CHARS_RE = re.compile("[|｜»›]")
# What the trailing-parenthesis, teaser and counter patterns can end with: a tail that
# ends otherwise cannot match them, which spares the regexes on most lines.
_PAREN_ENDS = (")", "）")
_TEASER_LAST = frozenset(".…。)）]】")


def line_features(text: str) -> LineFeatures:
    """Compute :class:`LineFeatures` for one stripped line.

    Runs over whole paragraphs for every document, so each feature uses the cheapest
    exact form: C-level counts over the line, regexes only over its ends.
    """
    n = len(text)
    stripped = text.rstrip()
    tail = stripped[-_TAIL:]
    core = tail
    # (the pattern ends in a closing parenthesis and spaces: nothing else can match)
    while core.rstrip().endswith(_PAREN_ENDS):
        shorter = _TRAILING_PAREN_RE.sub("", core)
        if shorter == core:
            break
        core = shorter
    # A closing quote ends a sentence only when a terminator sits inside it (…。” ).
    core = core.rstrip(_CLOSING_QUOTES)
    # ``tail`` is right-stripped, so its last character is what the patterns end with.
    last = tail[-1:]
    teaser = last in _TEASER_LAST and bool(_TEASER_END_RE.search(tail))
    n_separators = len(_SEPARATOR_CHARS_RE.findall(text)) + text.count(">>")
    if " " in text or text[:1] in ">·•/-":
        n_separators += len(_SPACED_SEPARATOR_RE.findall(text))
    return LineFeatures(
        n_chars=n,
        n_han=count_han(text),
        n_alnum=n - len(_ALNUM_RUN_RE.sub("", text)),
        n_clause_punct=len(_CLAUSE_RE.findall(text))
        + (len(_ENGLISH_STOP_RE.findall(text)) if "." in text else 0),
        ends_terminal=bool(core) and core[-1] in _TERMINAL and not teaser,
        n_separators=n_separators,
        bullet=bool(_BULLET_RE.match(text)),
        teaser=teaser,
        counted=last in _PAREN_ENDS and bool(_COUNTED_RE.search(tail)),
        date_only=n <= 40 and bool(_DATE_ONLY_RE.match(stripped)),
        # The page-structure features below only matter on short lines (cells, names,
        # verse, records): long paragraphs skip them.
        stamp=n <= 60 and ":" in text and bool(STAMP_RE.search(text)),
        n_function=n - len(_FUNCTION_RE.sub("", text)) if n <= SHORT_LINE_CHARS else 0,
        n_spaced=len(_SPACED_CLAUSE_RE.findall(text)) if " " in text and n <= 200 else 0,
        org_name=n <= 30 and bool(_ORG_SUFFIX_RE.search(stripped)),
        n_digits=len(_DIGIT_RE.findall(text)) if n <= SHORT_LINE_CHARS else 0,
        n_labels=len(_LABEL_RE.findall(text)) if n <= 120 and ("：" in text or ":" in text) else 0,
    )


def block_weight(f: LineFeatures) -> float:
    """Contribution of a kept line to the main-content block score.

    Prose counts by its size; short link-like lines cost, so that a run of menu items
    or link titles separates the article from whatever lies beyond it.
    """
    if f.n_chars == 0:
        return 0.0
    if f.is_good:
        return float(f.n_content)
    if f.is_link_like:
        return -2.0 - min(f.n_content, 30) / 10
    if f.n_content < 4:
        return -1.0
    # punctuated but short, or long but unpunctuated: neutral-ish evidence
    return 0.2 * f.n_content if f.n_clause_punct else -1.0
