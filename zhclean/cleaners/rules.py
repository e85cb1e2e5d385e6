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

from zhclean.extractors.dates import DATE_PATTERN

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
        # One C-level search rejects most lines before any rule is tried one by one.
        self._prefilter = re.compile(
            "|".join(f"(?:{_NAMED_GROUP_RE.sub('(?:', r.pattern.pattern)})" for r in rules)
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        source = Path(path) if path else RULES_FILE
        data = tomllib.loads(source.read_text(encoding="utf-8"))
        return cls([_compile(entry) for entry in data.get("rule", [])])

    def match(self, text: str, is_prose: bool, kinds: frozenset[str] = KINDS) -> RuleMatch | None:
        """The first rule of one of ``kinds`` matching ``text``, honouring the prose guard."""
        if not text or len(text) > self.max_chars or not self._prefilter.search(text):
            return None
        for rule in self.rules:
            if rule.kind not in kinds or (is_prose and not rule.allow_prose):
                continue
            m = rule.search(text)
            if m is not None:
                fields = {k.rstrip("0123456789"): v for k, v in m.groupdict().items() if v}
                return RuleMatch(rule, fields)
        return None

    def describe(self) -> list[dict[str, Any]]:
        """Rule ids, kinds and reasons, for documentation and reports."""
        seen: dict[str, dict[str, Any]] = {}
        for r in self.rules:
            seen.setdefault(
                r.id, {"id": r.id, "kind": r.kind, "scope": r.scope, "reason": r.reason}
            )
        return list(seen.values())


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
