"""The contract's row checks on Arrow tables, to find the rows pandera must look at.

Validating a batch with pandera converts both tables to pandas (every token becomes a
Python string in a Python list) and runs each check through pandera's machinery: it cost
as much CPU as tokenizing. Nearly every batch passes, so the validator first evaluates
each check of the pandera models here, vectorized on the Arrow tables the writer
publishes, and hands pandera only the documents with a row that may fail. pandera stays
the judge and the source of every quarantine reason; this module never passes a row that
pandera would fail (``tests/test_validation_prefilter.py`` checks that, check by check).

Only what the Arrow schema does not already guarantee is checked: the tables are built
with the contract's Arrow schemas, so column names, order and types hold by
construction; nulls in non-nullable columns do not (Arrow accepts them), nor does any
value check.

Every check of the models must have an implementation below, keyed by the check's name
and parameters. A check added to a model, or a changed parameter, that this module does
not know makes :func:`plan` return ``None``, and the validator then runs pandera on every
batch as before: a new check is never skipped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc

from zhclean.contract import models
from zhclean.contract.arrow import ARROW_SCHEMAS
from zhclean.core.simplify import to_simplified

# Python's \s (str.isspace) as an RE2 class: RE2's own \s is ASCII only.
PY_WHITESPACE = "".join(f"\\x{{{c:x}}}" for c in range(sys.maxunicode + 1) if chr(c).isspace())


def re2_class(python_class: str) -> str:
    """A Python character class of literal ranges (``\\x00``, ``\\u200b``) in RE2 syntax."""
    out = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: f"\\x{{{m.group(1)}}}", python_class)
    return out.replace("\\s", PY_WHITESPACE)


def re2_match(python_pattern: str) -> str:
    """RE2 for Python's ``re.match(python_pattern, s)``: anchored at the start, and
    ``$`` also before a final newline, as in Python."""
    body = re2_class(python_pattern)
    body = body[1:] if body.startswith("^") else body
    body = body[:-1] + r"\n?$" if body.endswith("$") and not body.endswith("\\$") else body
    return f"^(?:{body})"


# A row check on one table: a boolean array, True where the row may fail.
Suspect = Callable[[pa_arrow.Table], pa_arrow.Array]


def _strings(pattern: str, name: str) -> Suspect:
    regex = re2_class(pattern)
    return lambda t: pc.match_substring_regex(t.column(name), regex)


def _suspect_hex(name: str, length: int) -> Suspect:
    # RE2's $ is the end of the text: stricter than Python's, which is what a filter needs
    regex = f"^[0-9a-f]{{{length}}}$"
    return lambda t: pc.and_kleene(
        pc.is_valid(t.column(name)), pc.invert(pc.match_substring_regex(t.column(name), regex))
    )


_HEX = {"^[0-9a-f]{32}$": 32, "^[0-9a-f]{64}$": 64}


def _builtin(name: str, check: str, stats: dict) -> Suspect | None:
    """Arrow versions of pandera's built-in checks (nulls pass: pandera drops them)."""
    if check == "str_matches" and stats["pattern"] in _HEX:
        return _suspect_hex(name, _HEX[stats["pattern"]])
    if check == "str_length" and stats.get("exact_value") is None:
        lo, hi = stats.get("min_value"), stats.get("max_value")

        def length(t: pa_arrow.Table) -> pa_arrow.Array:
            n = pc.utf8_length(t.column(name))
            bad = pc.less(n, lo) if lo is not None else pc.equal(n, -1)
            return pc.or_(bad, pc.greater(n, hi)) if hi is not None else bad

        return length
    if check == "isin":
        allowed = pa_arrow.array(stats["allowed_values"])
        return lambda t: pc.and_kleene(
            pc.is_valid(t.column(name)), pc.invert(pc.is_in(t.column(name), allowed))
        )
    if check == "greater_than_or_equal_to":
        return lambda t: pc.and_kleene(
            pc.is_valid(t.column(name)),
            pc.invert(pc.greater_equal(t.column(name), stats["min_value"])),
        )
    if check == "less_than_or_equal_to":
        return lambda t: pc.and_kleene(
            pc.is_valid(t.column(name)),
            pc.invert(pc.less_equal(t.column(name), stats["max_value"])),
        )
    return None


def _published_at_in_range(t: pa_arrow.Table) -> pa_arrow.Array:
    # the model's bound is "now + 1 day" when pandera runs, a little later than this one
    upper = datetime.now() + timedelta(days=1)
    col = t.column("published_at")
    lower = pa_arrow.scalar(models.MIN_PUBLISHED_AT.to_pydatetime(), col.type)
    ok = pc.and_(pc.greater_equal(col, lower), pc.less_equal(col, pa_arrow.scalar(upper, col.type)))
    return pc.and_kleene(pc.is_valid(col), pc.invert(ok))


def _simplified_only(t: pa_arrow.Table) -> pa_arrow.Array:
    texts = t.column("text").to_pylist()
    return pa_arrow.array([s is not None and to_simplified(s) != s for s in texts])


def _removed_shape(t: pa_arrow.Table) -> pa_arrow.Array:
    # list<struct<rule_id, text>> by the schema: only a null list or a null item can fail
    col = t.column("removed")
    items = pc.list_flatten(col)
    if items.null_count == 0:
        return pc.is_null(col)
    return pa_arrow.array([True] * t.num_rows)


_TOKEN_BAD = f"[{PY_WHITESPACE}]|^$"
_PY_SPACE = re.compile(r"\s")


def _value_bytes(strings: pa_arrow.Array) -> memoryview:
    """The bytes of a string array's values, back to back (its data buffer, sliced)."""
    _validity, offsets, data = strings.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])]


def _tokens_clean(t: pa_arrow.Table) -> pa_arrow.Array:
    col = t.column("tokens")
    items = pc.list_flatten(col)
    suspect = pc.is_null(col)
    if items.null_count == 0 and not pc.any(pc.equal(pc.binary_length(items), 0)).as_py():
        # UTF-8 is self-synchronizing: the tokens' bytes back to back hold a whitespace
        # character only if one token does, so one scan of them clears every token.
        chunks = items.chunks if isinstance(items, pa_arrow.ChunkedArray) else [items]
        data = b"".join(_value_bytes(chunk) for chunk in chunks if len(chunk))
        if not _PY_SPACE.search(data.decode("utf-8")):
            return suspect
    bad_items = pc.or_kleene(pc.is_null(items), pc.match_substring_regex(items, _TOKEN_BAD))
    rows = pc.list_parent_indices(col)
    flags = suspect.to_numpy(zero_copy_only=False).copy()
    flags[pc.filter(rows, pc.fill_null(bad_items, True)).to_numpy()] = True
    return pa_arrow.array(flags)


def _n_chars(t: pa_arrow.Table) -> pa_arrow.Array:
    return pc.invert(pc.equal(pc.utf8_length(t.column("text")), t.column("n_chars")))


def _n_tokens(t: pa_arrow.Table) -> pa_arrow.Array:
    return pc.invert(pc.equal(pc.list_value_length(t.column("tokens")), t.column("n_tokens")))


# Custom checks of the models, by (dataset, column or None for dataframe checks, name).
_CUSTOM: dict[tuple[str, str | None, str], Suspect] = {
    ("documents", "text", "no_control_or_zero_width_chars"): _strings(
        models._FORBIDDEN_DOCUMENT, "text"
    ),
    ("documents", "text", "simplified_only"): _simplified_only,
    ("documents", "published_at", "published_at_in_range"): _published_at_in_range,
    ("documents", "removed", "removed_is_list_of_rule_and_text"): _removed_shape,
    ("documents", None, "n_chars_equals_len_text"): _n_chars,
    ("documents", None, "dup_similarity_with_duplicate_of"): (
        lambda t: pc.not_equal(
            pc.is_null(t.column("duplicate_of")),
            pc.is_null(t.column("dup_similarity"), nan_is_null=True),
        )
    ),
    ("sentences", "text", "no_control_or_zero_width_chars"): _strings(
        models._FORBIDDEN_SENTENCE, "text"
    ),
    ("sentences", "text", "not_only_boilerplate_markers"): (
        lambda t: pc.match_substring_regex(
            t.column("text"), re2_match(models._MARKERS_ONLY.pattern)
        )
    ),
    ("sentences", "tokens", "tokens_are_strings_without_whitespace"): _tokens_clean,
    ("sentences", None, "n_chars_equals_len_text"): _n_chars,
    ("sentences", None, "n_tokens_equals_len_tokens"): _n_tokens,
}


def _not_null(name: str, is_float: bool) -> Suspect:
    if is_float:  # pandas counts NaN as missing
        return lambda t: pc.or_(pc.is_null(t.column(name)), pc.is_nan(t.column(name)))
    return lambda t: pc.is_null(t.column(name))


def _unique(names: list[str]) -> Suspect:
    def duplicates(t: pa_arrow.Table) -> pa_arrow.Array:
        counts = t.select(names).group_by(names).aggregate([([], "count_all")])
        if counts.num_rows == t.num_rows:
            return pa_arrow.array([False] * t.num_rows)
        return pa_arrow.array([True] * t.num_rows)  # rare: pandera sorts it out

    return duplicates


def plan(dataset: str, schema: pa.DataFrameSchema) -> list[tuple[str, Suspect]] | None:
    """One Arrow check per pandera check of ``schema``, or None if one is unknown."""
    arrow = ARROW_SCHEMAS[dataset]
    if list(schema.columns) != arrow.names or not (schema.strict and schema.ordered):
        return None
    checks: list[tuple[str, Suspect]] = []
    for name, column in schema.columns.items():
        is_float = pa_arrow.types.is_floating(arrow.field(name).type)
        if not column.nullable:
            checks.append((f"{name}.not_null", _not_null(name, is_float)))
        # a nullable float's NaN is missing to pandera; the value checks below flag it
        # (NaN compares false), so pandera looks at such rows
        if column.unique:
            checks.append((f"{name}.unique", _unique([name])))
        for check in column.checks:
            fn = _CUSTOM.get((dataset, name, check.name)) or _builtin(
                name, check.name, check.statistics or {}
            )
            if fn is None:
                return None
            checks.append((f"{name}.{check.name}", fn))
    for check in schema.checks:
        fn = _CUSTOM.get((dataset, None, check.name))
        if fn is None:
            return None
        checks.append((check.name, fn))
    if schema.unique:
        checks.append(("unique", _unique(list(schema.unique))))
    return checks


def suspect_rows(table: pa_arrow.Table, checks: list[tuple[str, Suspect]]) -> list[int]:
    """Rows of ``table`` that some check cannot clear (pandera must look at them)."""
    if table.num_rows == 0:
        return []
    if not table.schema.equals(ARROW_SCHEMAS[_dataset(table)], check_metadata=False):
        return list(range(table.num_rows))
    suspect = None
    for _name, fn in checks:
        flags = pc.fill_null(fn(table), True)  # a check that cannot decide: pandera does
        suspect = flags if suspect is None else pc.or_(suspect, flags)
    if suspect is None or not pc.any(suspect).as_py():
        return []
    return pc.indices_nonzero(suspect).to_pylist()


def _dataset(table: pa_arrow.Table) -> str:
    return (table.schema.metadata or {}).get(b"zhclean.dataset", b"").decode()
