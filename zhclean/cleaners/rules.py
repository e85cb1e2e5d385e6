"""Boilerplate rules loaded from a version-controlled data file.

See ``zhclean/data/boilerplate_rules.toml`` for the format. Every rule has an id and a
one-line reason; the id is written next to each line the rule removes.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from zhclean.core.dates import DATE_PATTERN

KINDS = frozenset({"line", "block", "tail", "meta", "extract"})
SCOPES = frozenset({"any", "edge"})

RULES_FILE = resources.files("zhclean") / "data" / "boilerplate_rules.toml"

_NAMED_GROUP_RE = re.compile(r"\(\?P<\w+>")


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
        # Two C-level passes reject most lines before any rule is tried one by one:
        # anchored patterns are only tried at the start of the line (match), the others
        # anywhere (search).
        anchored = [r for r in rules if _is_anchored(r.pattern.pattern)]
        floating = [r for r in rules if not _is_anchored(r.pattern.pattern)]
        self._anchored = _union(anchored)
        # Floating patterns are bucketed by how long a line they accept, so that long
        # lines are searched only by the few rules that can match them.
        self._floating: list[tuple[int, re.Pattern[str]]] = []
        lower = 0
        for limit in (60, 160, max((r.max_chars for r in floating), default=160)):
            union = _union([r for r in floating if lower < r.max_chars <= limit])
            if union is not None:
                self._floating.append((limit, union))
            lower = limit

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        source = Path(path) if path else RULES_FILE
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        return cls([_compile(entry) for entry in data.get("rule", [])])

    def match(self, text: str, is_prose: bool, kinds: frozenset[str] = KINDS) -> RuleMatch | None:
        """The first rule of one of ``kinds`` matching ``text``, honouring the prose guard."""
        if not text or len(text) > self.max_chars:
            return None
        n = len(text)
        if not (
            (self._anchored is not None and self._anchored.match(text))
            or any(n <= limit and union.search(text) for limit, union in self._floating)
        ):
            return None
        for rule in self.rules:
            if rule.kind not in kinds or (is_prose and not rule.allow_prose):
                continue
            m = rule.search(text)
            if m is not None:
                fields = {k.rstrip("0123456789"): v for k, v in m.groupdict().items() if v}
                return RuleMatch(rule, fields)
        return None


def _union(rules: list[Rule]) -> re.Pattern[str] | None:
    if not rules:
        return None
    return re.compile(
        "|".join(f"(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})" for r in rules)
    )


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
