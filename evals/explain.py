"""Print the stripper's line-by-line decisions for one page.

    python -m evals.explain FILE [--width N]

The main engineer wires :func:`zhclean.cleaners.explain.explain` into the CLI as
``zhclean explain SOURCE``; this entry point is for working on the cleaner.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zhclean.cleaners.explain import explain
from zhclean.readers.files import SourceRef, read_document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--width", type=int, default=60, help="characters of text per line")
    args = parser.parse_args(argv)
    doc = read_document(SourceRef(str(args.file), args.file.name, args.file.stat().st_size))
    if doc.rejected:
        print(f"cannot read {args.file}: {doc.rejection.reason}", file=sys.stderr)
        return 1
    print(explain(doc.raw_text, width=args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
