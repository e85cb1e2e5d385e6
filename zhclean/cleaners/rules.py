"""Boilerplate rules loaded from a version-controlled data file.

See ``zhclean/data/boilerplate_rules.toml`` for the format. Every rule has an id and a
one-line reason; the id is written next to each line the rule removes.
"""

from __future__ import annotations

import re
import re._constants as _sre
import tomllib
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from re._parser import parse as _sre_parse
from typing import Any

from zhclean.core.dates import DATE_PATTERN

KINDS = frozenset({"line", "block", "tail", "meta", "extract"})
SCOPES = frozenset({"any", "edge"})

RULES_FILE = resources.files("zhclean") / "data" / "boilerplate_rules.toml"

_NAMED_GROUP_RE = re.compile(r"\(\?P<\w+>")
# Upper bounds of the line-length classes of the prefilter (the last is the longest
# max_chars): few classes, because each costs two union compiles (~10-40 ms).
LENGTH_CLASSES = (60, 160)

# candidate rules in file order, union of the anchored ones, union of the others
_Filter = tuple[list["Rule"], "re.Pattern[str] | None", "re.Pattern[str] | None"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    pattern: re.Pattern[str]
    reason: str
    scope: str = "any"
    max_chars: int = 120
    allow_prose: bool = False

    def search(self, text: str) -> re.Match[str] | None:
        if len(text) > self.max_chars:
            return None
        return self.pattern.search(text)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule: Rule
    fields: dict[str, str]


class RuleSet:
    """An ordered list of rules; the first rule that matches a line wins."""

    def __init__(self, rules: list[Rule]) -> None:
        ids_reasons: dict[str, str] = {}
        for rule in rules:
            if rule.kind not in KINDS:
                raise ValueError(f"rule {rule.id}: unknown kind {rule.kind!r}")
            if rule.scope not in SCOPES:
                raise ValueError(f"rule {rule.id}: unknown scope {rule.scope!r}")
            ids_reasons.setdefault(rule.id, rule.reason)
        self.rules = rules
        self.reasons = ids_reasons
        self.max_chars = max((r.max_chars for r in rules), default=0)
        # Two C-level passes reject most lines before any rule is tried one by one: the
        # unions of the rules that could match the line, anchored patterns tried at the
        # start of the line only (match), the others anywhere (search). A line is tried
        # only against rules whose max_chars its length class reaches and, when it is
        # prose, only against rules that allow prose (4 of 53: long prose lines are most
        # of a page's text). Unions are built on first use, per (length class, prose).
        self._anchored = [_is_anchored(r.pattern.pattern) for r in rules]
        self._limits = sorted(
            {*LENGTH_CLASSES, self.max_chars} - {m for m in LENGTH_CLASSES if m > self.max_chars}
        )
        self._filters: dict[tuple[int, bool], _Filter] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        source = Path(path) if path else RULES_FILE
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        return cls([_compile(entry) for entry in data.get("rule", [])])

    def match(self, text: str, is_prose: bool, kinds: frozenset[str] = KINDS) -> RuleMatch | None:
        """The first rule of one of ``kinds`` matching ``text``, honouring the prose guard."""
        if not text or len(text) > self.max_chars:
            return None
        key = (bisect_left(self._limits, len(text)), is_prose)
        filt = self._filters.get(key)
        if filt is None:
            filt = self._filters[key] = self._filter(*key)
        candidates, anchored, floating = filt
        if not (
            (anchored is not None and anchored.match(text))
            or (floating is not None and floating.search(text))
        ):
            return None
        # Some candidate matches: the first one in file order wins.
        for rule in candidates:
            if rule.kind not in kinds:
                continue
            m = rule.search(text)
            if m is not None:
                fields = {k.rstrip("0123456789"): v for k, v in m.groupdict().items() if v}
                return RuleMatch(rule, fields)
        return None

    def _filter(self, limit: int, is_prose: bool) -> _Filter:
        """The rules that may match a line of length class ``limit`` (longer than the
        class below: rules with a smaller max_chars never accept it), in file order, with
        their unions; a superset, so the rule loop still checks max_chars and kind."""
        shortest = self._limits[limit - 1] + 1 if limit else 0
        candidates = [
            (rule, anchored)
            for rule, anchored in zip(self.rules, self._anchored, strict=True)
            if (rule.allow_prose or not is_prose) and rule.max_chars >= shortest
        ]
        return (
            [rule for rule, _ in candidates],
            _union([rule for rule, anchored in candidates if anchored]),
            _union([rule for rule, anchored in candidates if not anchored], floating=True),
        )


def _union(rules: list[Rule], floating: bool = False) -> re.Pattern[str] | None:
    if not rules:
        return None
    union = "|".join(f"(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})" for r in rules)
    first = [_first_chars(r.pattern.pattern) for r in rules]
    if not floating:
        # Matched at the start of the line only: each alternative whose first characters
        # are known looks at the line's first character before it tries its pattern
        # (the union only says whether some rule may match: the same answer, ~2x faster).
        return re.compile(
            "|".join(
                f"(?=[{f}])(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})"
                if f is not None
                else f"(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})"
                for r, f in zip(rules, first, strict=True)
            )
        )
    if any(f is None for f in first):
        return re.compile(union)
    # Searched, a union is tried at every position of the line. When every match must
    # start with one of a few characters, lead with that class: re then skips in C to
    # the positions holding one, and the lookbehind tries the union right there (it
    # steps back over the character and asserts the union from it). ~4x faster.
    return re.compile(f"[{''.join(first)}](?<=(?=(?:{union}))[\\s\\S])")


_CATEGORIES = {
    _sre.CATEGORY_DIGIT: r"\d",
    _sre.CATEGORY_NOT_DIGIT: r"\D",
    _sre.CATEGORY_SPACE: r"\s",
    _sre.CATEGORY_NOT_SPACE: r"\S",
    _sre.CATEGORY_WORD: r"\w",
    _sre.CATEGORY_NOT_WORD: r"\W",
}


@cache  # parsed in Python; a process builds its RuleSet's unions once per pipeline
def _first_chars(pattern: str) -> str | None:
    """The characters a match of ``pattern`` can start with, as the inside of a character
    class, or None when that is not known (anything, case-insensitive, empty match)."""
    try:
        parsed = _sre_parse(pattern)
        if parsed.state.flags & (re.I | re.M | re.S | re.X | re.A):
            return None
        found = _first_of_sequence(parsed.data)
    except Exception:  # private parser API: without it, no prefix
        return None
    if found is None or found[1] or not found[0]:
        return None
    return "".join(found[0])


def _first_of_sequence(items: list[Any]) -> tuple[list[str], bool] | None:
    """(first characters, can match empty) of a sequence of parsed items, or None."""
    out: list[str] = []
    for op, av in items:
        found = _first_of_item(op, av)
        if found is None:
            return None
        out += found[0]
        if not found[1]:
            return out, False
    return out, True


def _first_of_item(op: Any, av: Any) -> tuple[list[str], bool] | None:
    if op is _sre.LITERAL:
        return [f"\\U{av:08x}"], False
    if op is _sre.IN:
        parts = []
        for o, a in av:
            if o is _sre.LITERAL:
                parts.append(f"\\U{a:08x}")
            elif o is _sre.RANGE:
                parts.append(f"\\U{a[0]:08x}-\\U{a[1]:08x}")
            elif o is _sre.CATEGORY and a in _CATEGORIES:
                parts.append(_CATEGORIES[a])
            else:  # a negated class or an unusual category: could start with anything
                return None
        return parts, False
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):  # zero width: look past them
        return [], True
    if op is _sre.SUBPATTERN:
        _, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _first_of_sequence(sub.data)
    if op is _sre.BRANCH:
        out: list[str] = []
        empty = False
        for branch in av[1]:
            found = _first_of_sequence(branch.data)
            if found is None:
                return None
            out += found[0]
            empty = empty or found[1]
        return out, empty
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _, sub = av
        found = _first_of_sequence(sub.data)
        return None if found is None else (found[0], found[1] or low == 0)
    return None


@cache  # a scan in Python over long patterns; RuleSet.load runs once per pipeline
def _is_anchored(pattern: str) -> bool:
    """True when every top-level alternative of ``pattern`` starts with ``^``."""
    branches, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    return all(b.startswith("^") for b in branches)


def _compile(entry: dict[str, Any]) -> Rule:
    for key in ("id", "kind", "pattern", "reason"):
        if key not in entry:
            raise ValueError(f"rule {entry.get('id', '?')}: missing {key!r}")
    pattern = entry["pattern"].replace("{DATE}", DATE_PATTERN)
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise ValueError(f"rule {entry['id']}: bad pattern: {err}") from err
    return Rule(
        id=entry["id"],
        kind=entry["kind"],
        pattern=compiled,
        reason=entry["reason"],
        scope=entry.get("scope", "any"),
        max_chars=int(entry.get("max_chars", 120)),
        allow_prose=bool(entry.get("allow_prose", False)),
    )
