"""Print the stripper's line-by-line decisions for one page (what ``zhclean explain`` does).

python -m evals.explain FILE [--width N] [--alone]

By default the lines repeated across the file's folder are counted, as a run over that
folder would; ``--alone`` reads the page as a group of one, as ``score_inprocess
--classes`` scores the class pages (a class folder holds many sites and their gold).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from zhclean.core.params import RunParams
from zhclean.run.explain import explain_source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--width", type=int, default=60, help="characters of text per line")
    parser.add_argument("--alone", action="store_true", help="the page as a group of one")
    args = parser.parse_args(argv)
    if args.alone:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(args.file, tmp)
            print(explain_source(RunParams(input_dir=tmp), args.file.name, width=args.width))
        return 0
    params = RunParams(input_dir=str(args.file.parent))
    print(explain_source(params, args.file.name, width=args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
