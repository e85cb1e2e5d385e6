"""Run parameters: every one defined once, with its default and its help text.

The ``zhclean run`` options are generated from :class:`RunParams`; the flow's signature
and ``prefect.yaml`` are checked against it by ``tests/test_params.py``, which iterates
these fields, so a parameter added here and forgotten there fails the tests.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

# The --tokenizer choices: jieba-rs giving the reference's tokens, and the reference.
TOKENIZERS = ("fast", "jieba")


def _param(default: Any, help: str, flag: str | None = None, flow: bool = True) -> Any:
    """A run parameter: ``flag`` overrides the CLI option name; ``flow=False`` keeps it
    out of the flow (options that only shape the local process, like the task runner)."""
    return field(default=default, metadata={"help": help, "flag": flag, "flow": flow})


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
    )
    full_refresh: bool = _param(
        False,
        "rebuild everything from the input instead of processing only new and changed sources",
    )
    workers: int | None = _param(
        None, "worker processes; shards are sized to keep them all busy (default: CPU count)"
    )
    shard_mb: float = _param(8.0, "largest shard of input, in MB: one task processes one shard")
    max_sentence_chars: int = _param(1000, "a longer sentence fails validation as a failed split")
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
        0.0, "seconds to wait when another run holds the output (default: fail at once)"
    )
    batch_docs: int = _param(
        500, "most documents validated and written together (one Parquet row group)"
    )
    max_doc_mb: float = _param(
        8.0,
        "largest input file, in MB: a larger one is quarantined unread (read.too_large); "
        "a batch holds at most this much input, which bounds a worker's memory",
    )
    tokenizer: str = _param(
        "fast",
        "fast: jieba-rs with the reference's tokens (see the README); jieba: the reference, "
        "Python jieba itself (default: fast)",
    )
    stage_timeout: float = _param(
        60.0,
        "seconds one stage may spend on one document, plus as many per MB of it: a document "
        "over it is quarantined (<stage>.timeout) and the rest of its shard goes on",
    )

    def problems(self) -> list[str]:
        """Every parameter value that cannot work, as one-line messages."""
        out = []
        if not 0.0 <= self.max_quarantine_fraction <= 1.0:
            out.append("--max-quarantine-fraction must be between 0 and 1")
        if self.workers is not None and self.workers < 1:
            out.append("--workers must be at least 1")
        if self.shard_mb <= 0:
            out.append("--shard-mb must be positive")
        if self.max_sentence_chars < 1:
            out.append("--max-sentence-chars must be at least 1")
        if self.batch_docs < 1:
            out.append("--batch-docs must be at least 1")
        if self.max_doc_mb <= 0:
            out.append("--max-doc-mb must be positive")
        if self.wait_for_lock < 0:
            out.append("--wait-for-lock must not be negative")
        if self.dask_address is not None and "://" not in self.dask_address:
            out.append("--dask-address must be a scheduler address such as tcp://host:8786")
        if self.tokenizer not in TOKENIZERS:
            out.append(f"--tokenizer must be one of {', '.join(TOKENIZERS)}")
        if self.stage_timeout <= 0:
            out.append("--stage-timeout must be positive")
        return out

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
    """How one parameter is presented: its CLI option, type, default and help."""

    name: str
    type: type
    default: Any
    help: str
    flag: str
    flow: bool

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
        return cls(f.name, kind, default, f.metadata["help"], flag, f.metadata["flow"])


DEFAULTS = RunParams()
MAX_SENTENCE_CHARS = DEFAULTS.max_sentence_chars
