"""Regenerate the contract's documents from the pandera models: ``python -m zhclean.contract``.

Writes ``docs/contract.md`` (for people) and ``schemas/<dataset>.json`` (for tools);
``tests/test_contract.py`` fails when either is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zhclean.contract.introspect import json_schema, render_markdown
from zhclean.contract.models import MODELS

REPO = Path(__file__).resolve().parents[2]
CONTRACT_DOC = REPO / "docs" / "contract.md"
SCHEMA_DIR = REPO / "schemas"


def generated() -> dict[Path, str]:
    """Every generated file and its content."""
    files = {CONTRACT_DOC: render_markdown()}
    files.update({SCHEMA_DIR / f"{name}.json": json_schema(name) for name in MODELS})
    return files


def main() -> int:
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
