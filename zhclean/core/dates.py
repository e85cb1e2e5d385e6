"""Date and time expressions as they appear on Chinese web pages, with their precision.

``DATE_PATTERN`` is embedded in boilerplate rules (``{DATE}``); ``parse_date`` turns a
match into a ``datetime`` plus the precision the page gave (year … second), so that a
page that only says 1996年6月 is not reported as 1996-06-01 00:00:00.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# No page in a Chinese web corpus was published before this; earlier dates are events.
EARLIEST_PUBLICATION = datetime(1949, 1, 1)

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_CN_DIGITS = "〇零一二三四五六七八九"
_CN_VALUE = {c: (0 if c in "〇零" else "一二三四五六七八九".index(c) + 1) for c in _CN_DIGITS}
_TIME = r"\d{1,2}[:：]\d{2}(?:[:：]\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?"

# Alternatives with named groups for parsing; DATE_PATTERN is the same without names.
_ALTERNATIVES = [
    # 2005年3月11日 12:12, 2005年03月31日03:18
    rf"(?P<y1>(?:19|20)\d{{2}})\s*年\s*(?P<m1>\d{{1,2}})\s*月\s*(?P<d1>\d{{1,2}})\s*[日号]"
    rf"(?:\s*(?P<t1>{_TIME}))?",
    # 2022-02-13 09:57, 2005/03/15 22:36:13, 2003.7.24
    rf"(?P<y2>(?:19|20)\d{{2}})(?P<sep2>[-/.])(?P<m2>\d{{1,2}})(?P=sep2)(?P<d2>\d{{1,2}})(?!\d)"
    rf"(?:\s*[T ]?\s*(?P<t2>{_TIME}))?",
    # 06/02/2022 - 13:48, 9/17/2004 5:54:13 AM (day-first unless impossible)
    rf"(?<![\d/])(?P<a3>\d{{1,2}})/(?P<b3>\d{{1,2}})/(?P<y3>(?:19|20)\d{{2}})(?![\d/])"
    rf"(?:\s*-?\s*(?P<t3>{_TIME}))?",
    # 二〇〇八年九月二十三日, 二00八年九月二十三日
    rf"(?P<y4>[{_CN_DIGITS}0-9]{{4}})年(?P<m4>[一二三四五六七八九十]{{1,3}})月"
    rf"(?P<d4>[一二三四五六七八九十]{{1,3}})日",
    # Saturday, September 10th, 2005 10:56 am
    rf"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?(?P<mon5>{_MONTH_NAMES})\.?\s+"
    rf"(?P<d5>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y5>(?:19|20)\d{{2}})(?:\s+(?:at\s+)?(?P<t5>{_TIME}))?",
]
# Every match starts with a digit (Arabic or Chinese) or a letter (a weekday or month
# name; under IGNORECASE the class takes the same case-folded letters as those names):
# the lookahead only turns away, cheaply, the positions where none of the five
# alternatives could start, so the matches are the same, found 6 times faster.
_PARSE_RE = re.compile(
    f"(?=[\\d{_CN_DIGITS}A-Za-z])(?:" + "|".join(f"(?:{a})" for a in _ALTERNATIVES) + ")",
    re.IGNORECASE,
)

DATE_PATTERN = re.sub(r"\(\?P<\w+>", "(?:", "|".join(f"(?:{a})" for a in _ALTERNATIVES))
DATE_PATTERN = re.sub(r"\(\?P=sep2\)", "[-/.]", DATE_PATTERN)
DATE_PATTERN = "(?i:" + DATE_PATTERN + ")"

# Year-month only: 1996年6月号, (May 2018). Weaker evidence, used as a fallback.
_YEAR_MONTH_RE = re.compile(
    rf"(?P<y>(?:19|20)\d{{2}})\s*年\s*(?P<m>\d{{1,2}})\s*月(?!\s*\d)(?!日)"
    rf"|\(\s*(?P<mon>{_MONTH_NAMES})\.?\s+(?P<y2>(?:19|20)\d{{2}})\s*\)",
    re.IGNORECASE,
)


def _cn_number(text: str) -> int:
    """Chinese numerals up to 99 (九, 十二, 二十三) and digit-by-digit years (二〇〇八)."""
    if len(text) == 4 and "十" not in text:
        return int("".join(str(_CN_VALUE.get(c, c)) for c in text))
    if "十" in text:
        tens, _, units = text.partition("十")
        return (_CN_VALUE[tens] if tens else 1) * 10 + (_CN_VALUE[units] if units else 0)
    return _CN_VALUE[text]


def _parse_time(text: str | None) -> tuple[int, int, int, str]:
    if not text:
        return 0, 0, 0, "day"
    t = text.replace("：", ":").replace(".", "").lower()
    pm = "pm" in t
    am = "am" in t
    parts = re.findall(r"\d+", t)
    hour, minute = int(parts[0]), int(parts[1])
    second = int(parts[2]) if len(parts) > 2 else None
    if pm and hour < 12:
        hour += 12
    if am and hour == 12:
        hour = 0
    return hour, minute, second or 0, "second" if second is not None else "minute"


def _build(year: int, month: int, day: int, time: str | None) -> tuple[datetime, str] | None:
    hour, minute, second, precision = _parse_time(time)
    try:
        return datetime(year, month, day, hour, minute, second), precision
    except ValueError:
        return None


def _from_match(m: re.Match[str]) -> tuple[datetime, str] | None:
    g = m.groupdict()
    if g["y1"]:
        return _build(int(g["y1"]), int(g["m1"]), int(g["d1"]), g["t1"])
    if g["y2"]:
        return _build(int(g["y2"]), int(g["m2"]), int(g["d2"]), g["t2"])
    if g["y3"]:
        a, b = int(g["a3"]), int(g["b3"])
        # Day-first (06/02/2022 = 6 Feb), the convention of the Chinese-language pages
        # that write slashed dates at all; month-first only when day-first is impossible.
        day, month = (a, b) if b <= 12 else (b, a)
        return _build(int(g["y3"]), month, day, g["t3"])
    if g["y4"]:
        try:
            return _build(_cn_number(g["y4"]), _cn_number(g["m4"]), _cn_number(g["d4"]), None)
        except ValueError:
            return None
    if g["y5"]:
        return _build(int(g["y5"]), _MONTHS[g["mon5"].lower()], int(g["d5"]), g["t5"])
    return None


def find_dates(text: str) -> list[tuple[int, datetime, str]]:
    """All full dates in ``text`` as (offset, datetime, precision), in order."""
    found = []
    for m in _PARSE_RE.finditer(text):
        parsed = _from_match(m)
        if parsed is not None:
            found.append((m.start(), *parsed))
    return found


def parse_date(text: str) -> tuple[datetime, str] | None:
    """The first full date in ``text``, or None."""
    dates = find_dates(text)
    return (dates[0][1], dates[0][2]) if dates else None


def find_year_month(text: str) -> tuple[datetime, str] | None:
    """A year-month expression (1996年6月, (May 2018)) as a month-precision date."""
    m = _YEAR_MONTH_RE.search(text)
    if not m:
        return None
    if m.group("y"):
        year, month = int(m.group("y")), int(m.group("m"))
    else:
        year, month = int(m.group("y2")), _MONTHS[m.group("mon").lower()]
    if not 1 <= month <= 12:
        return None
    return datetime(year, month, 1), "month"


def plausible_publication(dt: datetime, now: datetime) -> bool:
    """A publication time can lie between 1949 and tomorrow (clocks and zones differ)."""
    return EARLIEST_PUBLICATION <= dt <= now + timedelta(days=1)
