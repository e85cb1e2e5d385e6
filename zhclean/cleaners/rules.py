"""Boilerplate rules loaded from a version-controlled data file.

See ``zhclean/data/boilerplate_rules.toml`` for the format. Every rule has an id and a
one-line reason; the id is written next to each line the rule removes.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
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
            _union([rule for rule, anchored in candidates if not anchored]),
        )


def _union(rules: list[Rule]) -> re.Pattern[str] | None:
    if not rules:
        return None
    return re.compile(
        "|".join(f"(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})" for r in rules)
    )


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
