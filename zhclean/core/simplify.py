"""OpenCC conversion, shared by the convert step and the contract's ``simplified_only`` check."""

from __future__ import annotations

from functools import cache

import opencc

# The scripts a document can be written in, as the ``script`` column records them.
SCRIPTS = ("hans", "hant", "mixed")


@cache
def converter(config: str) -> opencc.OpenCC:
    """One OpenCC converter per configuration and process (``t2s``, ``s2t``)."""
    return opencc.OpenCC(f"{config}.json")


def to_simplified(text: str) -> str:
    """Convert ``text`` to Simplified Chinese (OpenCC ``t2s``)."""
    return converter("t2s").convert(text)
