"""Fingerprint what the cleaning stages make of every document, to prove that a speed-up
changed nothing.

    python bench/front_fingerprint.py OUT.json [CORPUS ...]   # one hash per document
    python bench/front_fingerprint.py --compare BEFORE.json AFTER.json

Runs the front part of the pipeline (read, html, normalize, convert, strip, metadata,
assemble, split; as ``evals.score_inprocess`` does, with the repeated-line scan of each
corpus) and hashes, per document: the text, title, date and its precision, source,
author, extraction, removed share, confidence, the removed list, paragraphs, sentences,
rejection, content span, the converted HTML text and its DOM rows. Run it on the code
before and after a change (``git worktree`` or ``git archive`` of the old commit, with
``PYTHONPATH`` pointing at it) and compare. The default corpora are the seeds, the
committed real pages (``evals/data/zh-html``), the crawler-text pages and the class
pages, and the local evaluation folders when ``ZHCLEAN_EVALDATA`` names them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = ["seeds", "evals/data/zh-html", "evals/data/webtext-dev", "evals/data/classes",
           "tests/data/html"]  # fmt: skip


def _doc_hash(d) -> str:
    dom = None
    if d.dom is not None:
        parts = (d.dom.values, d.dom.block, d.dom.container, d.dom.signature)
        dom = hashlib.sha256(b"".join(a.tobytes() for a in parts)).hexdigest()
    fields = [d.source, d.text, d.title, str(d.published_at), d.published_at_precision,
              d.source_name, d.author, d.extraction, repr(d.removed_share), repr(d.confidence),
              repr(d.removed), repr(d.paragraphs), repr([s.text for s in d.sentences]),
              repr(d.rejection), repr(d.content_span), d.converted_text, d.script, dom]  # fmt: skip
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def fingerprint(roots: list[str]) -> dict[str, dict[str, str]]:
    from zhclean.core.params import RunParams
    from zhclean.core.record import Document
    from zhclean.readers.files import list_sources
    from zhclean.run import build_pipeline, scan_sources

    out = {}
    for root in roots:
        if not Path(root).exists():
            continue
        refs = list_sources(root)
        groups = sorted({r.group for r in refs})
        repeated = scan_sources(refs, root).repeated(groups, 3)
        pipe = build_pipeline(RunParams(input_dir=root), repeated, tokenize=False, validate=False)
        out[root] = {d.source: _doc_hash(d) for d in pipe(Document.from_ref(r) for r in refs)}
    return out


def compare(before: dict, after: dict) -> int:
    changed = 0
    for root, docs in before.items():
        other = after.get(root, {})
        diff = sorted(s for s in docs.keys() | other.keys() if docs.get(s) != other.get(s))
        changed += len(diff)
        print(f"{root}: {len(docs)} documents, {len(diff)} changed {diff[:3]}")
    print("identical" if not changed else f"{changed} documents changed")
    return 1 if changed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="OUT.json [CORPUS ...], or BEFORE AFTER")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.paths[:2])
        return compare(before, after)
    roots = args.paths[1:] or DEFAULT
    if not args.paths[1:] and os.environ.get("ZHCLEAN_EVALDATA"):
        data = Path(os.environ["ZHCLEAN_EVALDATA"])
        roots += [str(p) for p in sorted(data.iterdir()) if p.is_dir()]
    Path(args.paths[0]).write_text(json.dumps(fingerprint(roots), indent=0, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
