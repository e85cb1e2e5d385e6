"""Run parameters: every one defined once, with its default and its help text.

The ``zhclean run`` options are generated from :class:`RunParams`; the flow's signature
and ``prefect.yaml`` are checked against it by ``tests/test_params.py``, which iterates
these fields, so a parameter added here and forgotten there fails the tests.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

# The --tokenizer choices: jieba-rs giving the reference's tokens, and the reference.
TOKENIZERS = ("fast", "jieba")
# The --dedup choices: near-duplicates marked (published, duplicate_of set), dropped
# (not published, listed in the duplicates dataset), or not looked for.
DEDUP_MODES = ("mark", "drop", "off")


class ParamError(ValueError):
    """A parameter value that cannot work; ``str()`` is one line naming the option."""


@dataclass(frozen=True)
class Bounds:
    """The values a number may take: finite, ``low`` to ``high`` (``low`` itself
    excluded when ``above`` is set). A bound is part of the parameter's definition."""

    low: float
    high: float
    above: bool = False  # strictly greater than ``low``

    def holds(self, value: float) -> bool:
        if (isinstance(value, float) and not math.isfinite(value)) or value > self.high:
            return False
        return value > self.low if self.above else value >= self.low

    def describe(self) -> str:
        low, high = _number(self.low), _number(self.high)
        return f"above {low} and at most {high}" if self.above else f"from {low} to {high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _param(
    default: Any,
    help: str,
    flag: str | None = None,
    flow: bool = True,
    bounds: Bounds | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A run parameter: ``flag`` overrides the CLI option name; ``flow=False`` keeps it
    out of the flow (options that only shape the local process, like the task runner);
    ``bounds`` and ``choices`` are the values it may take."""
    return field(
        default=default,
        metadata={"help": help, "flag": flag, "flow": flow, "bounds": bounds, "choices": choices},
    )


@dataclass(frozen=True)
class RunParams:
    """Everything an operator can set for one run."""

    input_dir: str = _param(
        "seeds",
        "input directory: every non-hidden regular file under it is an input",
        flag="--input",
    )
    output_dir: str = _param(
        "output", "output directory: where the datasets are published", flag="--output"
    )
    max_quarantine_fraction: float = _param(
        0.05,
        "quality gate: above this share of quarantined inputs the run fails and publishes nothing",
        bounds=Bounds(0.0, 1.0),
    )
    full_refresh: bool = _param(
        False,
        "rebuild everything from the input instead of processing only new and changed sources",
    )
    # Upper bounds catch typing slips (an extra zero or two), not real needs: a worker
    # takes about 600 MB, a document about 60 MB of memory per MB.
    workers: int | None = _param(
        None,
        "worker processes; shards are sized to keep them all busy (default: CPU count)",
        bounds=Bounds(1, 1024),
    )
    shard_mb: float = _param(
        8.0,
        "largest shard of input, in MB: one task processes one shard",
        bounds=Bounds(0, 65536, above=True),
    )
    max_sentence_chars: int = _param(
        1000,
        "a longer sentence fails validation as a failed split",
        bounds=Bounds(1, 1_000_000),
    )
    follow_symlinks: bool = _param(
        False,
        "read files that symbolic links point to outside the input folder (default: quarantine them)",
    )
    dask_address: str | None = _param(
        None,
        "run the scan and the shards on this Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: worker processes on this machine)",
    )
    wait_for_lock: float = _param(
        0.0,
        "seconds to wait when another run holds the output (default: fail at once)",
        bounds=Bounds(0, 7 * 24 * 3600),
    )
    batch_docs: int = _param(
        500,
        "most documents validated and written together (one Parquet row group)",
        bounds=Bounds(1, 1_000_000),
    )
    max_doc_mb: float = _param(
        8.0,
        "largest input file, in MB: a larger one is quarantined unread (read.too_large); "
        "a batch holds at most this much input, which bounds a worker's memory",
        bounds=Bounds(0, 1024, above=True),
    )
    tokenizer: str = _param(
        "fast",
        "fast: jieba-rs with the reference's tokens (see the README); jieba: the reference, "
        "Python jieba itself (default: fast)",
        choices=TOKENIZERS,
    )
    stage_timeout: float = _param(
        60.0,
        "seconds one stage may spend on one document, plus as many per MB of it: a document "
        "over it is quarantined (<stage>.timeout) and the rest of its shard goes on",
        bounds=Bounds(0, 24 * 3600, above=True),
    )
    dedup: str = _param(
        "mark",
        "near-duplicate documents: mark (publish every copy, duplicate_of names its "
        "representative), drop (publish only representatives; copies go to the duplicates "
        "dataset) or off; changing it needs --full-refresh (default: mark)",
        choices=DEDUP_MODES,
    )

    def problems(self) -> list[str]:
        """Every parameter value that cannot work, as one-line messages (one per
        parameter). The command and the flow both check through here."""
        out = [p for spec in self.specs() if (p := spec.problem(getattr(self, spec.name)))]
        if self.dask_address and "://" not in str(self.dask_address):
            out.append("--dask-address must be a scheduler address such as tcp://host:8786")
        return out

    def check(self) -> RunParams:
        """``self``, or :class:`ParamError` with the first problem."""
        problems = self.problems()
        if problems:
            raise ParamError(problems[0])
        return self

    @classmethod
    def from_text(cls, values: dict[str, Any]) -> RunParams:
        """Parameters from the command line's strings (other values as given), checked:
        :class:`ParamError` names the first option that cannot work."""
        by_name = {spec.name: spec for spec in cls.specs()}
        converted = {
            name: by_name[name].convert(value) if isinstance(value, str) else value
            for name, value in values.items()
        }
        return cls(**converted).check()

    @property
    def max_doc_bytes(self) -> int:
        return int(self.max_doc_mb * 1024 * 1024)

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @classmethod
    def specs(cls) -> list[ParamSpec]:
        return [ParamSpec.of(f) for f in fields(cls)]

    def flow_kwargs(self) -> dict[str, Any]:
        """The values the flow takes, by name."""
        return {s.name: getattr(self, s.name) for s in self.specs() if s.flow}


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter is presented and checked: its CLI option, type, default, help,
    and the values it may take."""

    name: str
    type: type
    default: Any
    help: str
    flag: str
    flow: bool
    bounds: Bounds | None = None
    choices: tuple[str, ...] | None = None

    def convert(self, text: str) -> Any:
        """A command-line string as this parameter's type (:class:`ParamError` if not)."""
        if self.type is int:
            try:
                return int(text.strip())
            except ValueError:
                raise ParamError(f"{self.flag} must be a whole number, not {text!r}") from None
        if self.type is float:
            try:
                return float(text)
            except ValueError:
                raise ParamError(f"{self.flag} must be a number, not {text!r}") from None
        return text

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot work for this parameter, in one line (None: it can)."""
        if value is None and self.default is None:
            return None  # "not set": the parameter's own fallback applies
        if self.type in (int, float):
            whole = self.type is int
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                kind = "a whole number" if whole else "a number"
                return f"{self.flag} must be {kind}, not {value!r}"
            if self.bounds is not None and not self.bounds.holds(value):
                kind = "a whole number" if whole else "a finite number"
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                shown = shown if len(shown) <= 24 else shown[:20] + "…"
                return f"{self.flag} must be {kind} {self.bounds.describe()}, not {shown}"
            return None
        if self.type is str:
            if not isinstance(value, str) or not value.strip():
                return f"{self.flag} must not be empty"
            if self.choices is not None and value not in self.choices:
                return f"{self.flag} must be one of {', '.join(self.choices)}, not {value!r}"
        return None

    @classmethod
    def of(cls, f: Any) -> ParamSpec:
        kind = {
            "str": str,
            "str | None": str,
            "float": float,
            "bool": bool,
            "int | None": int,
            "int": int,
        }[str(f.type)]
        default = f.default if f.default is not MISSING else None
        flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
        meta = f.metadata
        return cls(
            f.name, kind, default, meta["help"], flag, meta["flow"], meta["bounds"], meta["choices"]
        )


DEFAULTS = RunParams()
MAX_SENTENCE_CHARS = DEFAULTS.max_sentence_chars
