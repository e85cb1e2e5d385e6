"""Print the stripper's line-by-line decisions for one page (what ``zhclean explain`` does).

python -m evals.explain FILE [--width N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zhclean.core.params import RunParams
from zhclean.run.explain import explain_source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--width", type=int, default=60, help="characters of text per line")
    args = parser.parse_args(argv)
    params = RunParams(input_dir=str(args.file.parent))
    print(explain_source(params, args.file.name, width=args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
