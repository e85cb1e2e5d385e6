"""zhclean: clean, split and tokenize Chinese text corpora into validated Parquet datasets.

The public names are few: :func:`split_sentences`, :func:`open_dataset` and
:func:`current_files` (the latter two load pyarrow and the storage layer on first use).
"""

from __future__ import annotations

from typing import Any

from zhclean.splitters.sentences import split_sentences

__version__ = "0.1.0"
__all__ = ["__version__", "current_files", "open_dataset", "split_sentences"]


def __getattr__(name: str) -> Any:
    if name in ("open_dataset", "current_files"):
        from zhclean.run import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'zhclean' has no attribute {name!r}")
