"""Score the cleaner on real pages with hand-made gold, in HTML and in text mode, beside
peer extractors.

    python -m evals.real_pages                      # evals/data/zh-html, both modes
    python -m evals.real_pages --pages              # ... and one row per page
    python -m evals.real_pages --split holdout      # only the site-disjoint held-out pages
    python -m evals.real_pages --peers              # also trafilatura, readability-lxml,
                                                    # resiliparse (the `eval` extra)
    python -m evals.real_pages --root DIR ...       # other page folders of the same layout

A page folder holds ``page.html`` (the raw bytes), ``gold.txt`` (the main content by
hand: see ``evals/data/zh-html/README.md`` for the conventions) and ``meta.json``
(``kind``: article / thread / other, title, date, author). ``other`` pages (no main
content) are not scored. HTML mode feeds the raw page to the pipeline; text mode feeds
the page's visible text one block per line (``page.txt``, what a crawler's text dump
holds), so the two modes see the same page. All pages of a run are one input folder, as
a crawl would be. The metric is :mod:`evals.metric` (the webtext-dev README's).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evals.metric import content_prf
from evals.score_inprocess import run_files
from zhclean.readers.decode import DecodeError, decode_bytes
from zhclean.readers.html import html_to_text

DATA = Path(__file__).resolve().parent / "data" / "zh-html"
PEERS = ("trafilatura", "readability", "resiliparse")


@dataclass
class Page:
    pid: str
    folder: Path
    kind: str
    site: str
    split: str
    gold: str

    @property
    def html_bytes(self) -> bytes:
        return (self.folder / "page.html").read_bytes()


@dataclass
class Scores:
    rows: dict[str, dict[str, tuple[float, float, float]]] = field(default_factory=dict)

    def add(self, system: str, pid: str, prf: tuple[float, float, float]) -> None:
        self.rows.setdefault(system, {})[pid] = prf

    def macro(self, system: str, pids: list[str]) -> dict[str, float]:
        got = [self.rows[system][p] for p in pids if p in self.rows.get(system, {})]
        n = len(got)
        if not n:
            return {"pages": 0}
        return {
            "pages": n,
            "precision": sum(g[0] for g in got) / n,
            "recall": sum(g[1] for g in got) / n,
            "f1": sum(g[2] for g in got) / n,
            "below_0.5": sum(1 for g in got if g[2] < 0.5),
        }


def load_pages(roots: list[Path]) -> list[Page]:
    """Every scored page folder (kind article or thread) under ``roots``."""
    pages = []
    for root in roots:
        manifest = root / "MANIFEST.tsv"
        info = {}
        if manifest.exists():
            with manifest.open(encoding="utf-8") as f:
                info = {r["pid"]: r for r in csv.DictReader(f, delimiter="\t")}
        for folder in sorted(p for p in root.iterdir() if (p / "gold.txt").exists()):
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("kind") not in ("article", "thread"):
                continue
            row = info.get(folder.name, {})
            site = row.get("site") or folder.name.split("__")[0]
            pages.append(
                Page(
                    folder.name,
                    folder,
                    meta["kind"],
                    site,
                    row.get("split", "dev"),
                    (folder / "gold.txt").read_text(encoding="utf-8"),
                )
            )
    return pages


def visible_text(raw: bytes) -> str:
    """The page as a crawler's text dump: decoded, one block per line ("" if undecodable)."""
    try:
        return html_to_text(decode_bytes(raw).text).text
    except DecodeError:
        return ""


def run_zhclean(pages: list[Page], mode: str) -> dict[str, str]:
    """The pipeline's text for each page, all pages as one input folder."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for page in pages:
            if mode == "html":
                path = Path(tmp) / f"{page.pid}.html"
                path.write_bytes(page.html_bytes)
            else:
                path = Path(tmp) / f"{page.pid}.txt"
                path.write_text(visible_text(page.html_bytes), encoding="utf-8")
            paths.append(path)
        docs = run_files(paths)
    return {p.stem: ("" if d.rejected else d.text) for p, d in docs.items()}


def peer_extractors() -> dict[str, Callable[[str], str]]:
    """The peers that are installed (``pip install -e '.[eval]'``); none is a dependency."""
    out: dict[str, Callable[[str], str]] = {}
    try:
        import trafilatura

        out["trafilatura"] = lambda h: trafilatura.extract(h, include_tables=True) or ""
    except ImportError:
        pass
    try:
        import lxml.html
        from readability import Document as Readable

        def readability(h: str) -> str:
            tree = lxml.html.fromstring(Readable(h).summary(html_partial=True))
            return tree.text_content()

        out["readability"] = readability
    except ImportError:
        pass
    try:
        from resiliparse.extract.html2text import extract_plain_text

        out["resiliparse"] = lambda h: extract_plain_text(h, main_content=True)
    except ImportError:
        pass
    return out


def run_peers(pages: list[Page], cache: Path | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    peers = peer_extractors()
    for page in pages:
        try:
            html = decode_bytes(page.html_bytes).text
        except DecodeError:
            html = page.html_bytes.decode("utf-8", "replace")
        for name in PEERS:
            cached = cache / page.pid / f"{name}.txt" if cache else None
            if cached is not None and cached.exists():
                text = cached.read_text(encoding="utf-8")
            elif name not in peers:
                continue
            else:
                fn = peers[name]
                try:
                    text = fn(html)
                except Exception:  # a peer that fails on a page scores 0 there
                    text = ""
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_text(text, encoding="utf-8")
            out.setdefault(name, {})[page.pid] = text
    return out


def evaluate(pages: list[Page], modes: list[str], peers: bool, cache: Path | None) -> Scores:
    scores = Scores()
    outputs: dict[str, dict[str, str]] = {}
    for mode in modes:
        outputs[f"zhclean-{mode}"] = run_zhclean(pages, mode)
    if peers:
        outputs.update(run_peers(pages, cache))
    for system, texts in outputs.items():
        for page in pages:
            scores.add(system, page.pid, content_prf(texts.get(page.pid, ""), page.gold))
    return scores


def render(pages: list[Page], scores: Scores, per_page: bool) -> str:
    systems = list(scores.rows)
    lines = []
    if per_page:
        lines.append("| page | kind | site | split | " + " | ".join(systems) + " |")
        lines.append("|---|---|---|---|" + "---|" * len(systems))
        for p in pages:
            cells = [f"{scores.rows[s][p.pid][2]:.3f}" for s in systems]
            lines.append(
                f"| {p.pid} | {p.kind} | {p.site} | {p.split} | " + " | ".join(cells) + " |"
            )
        lines.append("")
    lines.append("| system | pages | P | R | F1 | F1 articles | F1 threads | pages < 0.5 |")
    lines.append("|---|---|---|---|---|---|---|---|")
    pids = [p.pid for p in pages]
    arts = [p.pid for p in pages if p.kind == "article"]
    threads = [p.pid for p in pages if p.kind == "thread"]
    for s in systems:
        m, a, t = scores.macro(s, pids), scores.macro(s, arts), scores.macro(s, threads)
        if not m["pages"]:
            continue
        lines.append(
            f"| {s} | {m['pages']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
            f"{a.get('f1', 0):.3f} | {t.get('f1', 0):.3f} | {m['below_0.5']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, action="append", help="page folders (repeatable)")
    parser.add_argument("--mode", choices=["html", "text", "both"], default="both")
    parser.add_argument("--split", choices=["dev", "holdout", "all"], default="all")
    parser.add_argument("--peers", action="store_true", help="score the installed peers too")
    parser.add_argument("--peer-cache", type=Path, help="reuse/keep peer outputs here")
    parser.add_argument("--pages", action="store_true", help="one row per page")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pages = load_pages(args.root or [DATA])
    if args.split != "all":
        pages = [p for p in pages if p.split == args.split]
    modes = ["html", "text"] if args.mode == "both" else [args.mode]
    scores = evaluate(pages, modes, args.peers, args.peer_cache)
    if args.json:
        pids = [p.pid for p in pages]
        print(json.dumps({s: scores.macro(s, pids) for s in scores.rows}, indent=1))
    else:
        print(render(pages, scores, args.pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
