"""Write docs/contract.md from the pandera models: ``python -m schemas.docs``."""

from __future__ import annotations

import sys
from pathlib import Path

from schemas.contract import render_markdown

CONTRACT_DOC = Path(__file__).resolve().parent.parent / "docs" / "contract.md"


def main() -> int:
    CONTRACT_DOC.parent.mkdir(parents=True, exist_ok=True)
    CONTRACT_DOC.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {CONTRACT_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
