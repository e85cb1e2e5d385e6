"""A labelled near-duplicate corpus built from the repository's real text.

Articles: the five seeds (their text as the pipeline cleans it), the 34 dev pages' gold
text and the class pages' gold text, each with the title the pipeline reads from its page.
Site furniture: the lines the pipeline removes above and below the article of each dev
page (menus, breadcrumbs, calendars, related links, comments, copyright lines), so every
"site" is a real site's furniture.

Each article is **reprinted** on three sites (a site is a folder; pages of one site share
its furniture):

- copy ``a``: the article as it is;
- copy ``b``: about 2% of its ideographs replaced by other ideographs, its last sentence
  dropped (its last line, when that is one sentence);
- copy ``c``: about 2% of its ideographs replaced (independently of ``b``), a line added
  (a short sentence of another article, as an editor's note), the whole page in Traditional;
- copy ``d`` (only with ``fourth=True``, for the incremental test; written under
  ``root/later``): a fourth site, the article hard-wrapped at 38 characters, about 2% of
  its ideographs replaced.

and has three **near-misses**, different articles that share 30% of its sentences:

- ``open``: its first 30% of sentences, then another article's sentences;
- ``tmpl``: a template: its first and last 15% of sentences around another article's
  middle;
- ``quote``: another article that quotes 30% of its sentences (a contiguous passage).

Every file has a label: copies of one article share it, every near-miss has its own.
True pairs are the pairs of files with the same label.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from zhclean.core.chars import HAN_RE
from zhclean.core.record import Document
from zhclean.core.simplify import converter
from zhclean.dedup.minhash import canonical
from zhclean.run.pipeline import build_pipeline
from zhclean.splitters.sentences import split_sentences

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "evals" / "data" / "webtext-dev"
CLASSES = REPO / "evals" / "data" / "classes"
SEEDS = REPO / "seeds"
EDIT_SHARE = 0.02
SHARED_SHARE = 0.3
MIN_CHARS = 150  # shorter articles: a few edits decide everything, and reprints are rarer
LABELS = "labels.json"


@dataclass
class Article:
    key: str
    title: str
    paragraphs: list[str]

    def sentences(self) -> list[str]:
        return [s.strip() for p in self.paragraphs for s in split_sentences(p) if s.strip()]


@dataclass
class Site:
    name: str
    header: list[str]
    footer: list[str]


@dataclass
class Corpus:
    """``root/input``: one folder per site; ``root/labels.json``: the labels."""

    root: Path
    labels: dict[str, str] = field(default_factory=dict)  # source -> label
    kinds: dict[str, str] = field(default_factory=dict)  # source -> a, b, c, d, open, ...

    def true_pairs(self, sources: list[str] | None = None) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = {}
        for s in sorted(sources if sources is not None else self.labels):
            groups.setdefault(self.labels[s], []).append(s)
        return {(x, y) for g in groups.values() for i, x in enumerate(g) for y in g[i + 1 :]}

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def later(self) -> Path:
        """The fourth copies (``fourth=True``), kept apart for an incremental run: copy
        this folder's contents into ``input`` to add them."""
        return self.root / "later"

    def save(self) -> None:
        (self.root / LABELS).write_text(
            json.dumps({"labels": self.labels, "kinds": self.kinds}, ensure_ascii=False, indent=0),
            encoding="utf-8",
        )


def _clean(pages: dict[str, str]) -> dict[str, Document]:
    """Each page through the pipeline's front part, alone (as a group of one)."""
    pipeline = build_pipeline(tokenize=False, validate=False)
    docs = {k: Document.from_text(text, source=f"{k}.txt", group=k) for k, text in pages.items()}
    list(pipeline(docs.values()))
    return docs


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def repository_articles() -> list[Article]:
    """Seeds (their cleaned text), dev and class pages (their gold), with titles."""
    pages: dict[str, str] = {}
    gold: dict[str, str] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        pages[f"seed-{path.stem[:3]}"] = path.read_text(encoding="utf-8")
    for path in sorted(DEV.glob("*.gold.txt")):
        key = f"dev-{path.name[:8]}"
        pages[key] = path.with_name(path.name.replace(".gold", "")).read_text(encoding="utf-8")
        gold[key] = path.read_text(encoding="utf-8")
    for path in sorted(CLASSES.rglob("*.gold.txt")):
        key = f"cls-{path.parent.name}-{path.name.removesuffix('.gold.txt')}"
        pages[key] = path.with_name(path.name.replace(".gold", "")).read_text(encoding="utf-8")
        gold[key] = path.read_text(encoding="utf-8")
    docs = _clean(pages)
    out = []
    for key, doc in docs.items():
        text = gold.get(key, doc.text)
        if doc.rejected or len(canonical(text)) < MIN_CHARS:
            continue
        title = converter("t2s").convert(doc.title or "") or text.splitlines()[0][:20]
        out.append(Article(key, title, _paragraphs(converter("t2s").convert(text))))
    return out


def text_articles(path: Path, limit: int | None = None) -> list[Article]:
    """Articles from a file of one document per line (a local corpus, never copied into
    the repository): the title is the document's first clause."""
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if len(canonical(line)) < MIN_CHARS:
            continue
        sentences = [s.strip() for s in split_sentences(line) if s.strip()]
        title = sentences[0][:24].rstrip("，。！？；：")
        # paragraphs of about three sentences, as pages have them
        paragraphs = ["".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3)]
        out.append(Article(f"txt-{i:05d}", title, paragraphs))
        if limit and len(out) >= limit:
            break
    return out


def dev_sites() -> list[Site]:
    """The furniture of each dev page: removed lines above and below its article."""
    pages = {
        p.stem: p.read_text(encoding="utf-8") for p in sorted(DEV.glob("*-*-*-*-*[0-9a-f].txt"))
    }
    sites = []
    for key, doc in _clean(pages).items():
        if doc.rejected or doc.content_span is None:
            continue
        first, last = doc.content_span

        def furniture(lines) -> list[str]:
            return [
                ln.text.strip()
                for ln in lines
                if ln.removed_by is not None
                and not ln.removed_by.startswith(("title.", "meta."))
                and ln.text.strip()
            ][:40]

        header, footer = furniture(doc.lines[:first]), furniture(doc.lines[last + 1 :])
        if len(header) >= 3 and len(footer) >= 3:
            sites.append(Site(f"site-{key[:8]}", header, footer))
    return sites


def _edit(text: str, share: float, rng: random.Random, alphabet: str) -> str:
    """Replace about ``share`` of the ideographs with other ideographs."""
    chars = list(text)
    han = [i for i, c in enumerate(chars) if HAN_RE.match(c)]
    for i in rng.sample(han, round(share * len(han))):
        chars[i] = rng.choice([c for c in rng.sample(alphabet, 3) if c != chars[i]] or ["的"])
    return "".join(chars)


def _page(site: Site, title: str, paragraphs: list[str]) -> str:
    return "\n".join([*site.header, title, *paragraphs, *site.footer]) + "\n"


def _drop_last_sentence(paragraphs: list[str]) -> list[str]:
    """The article without its last sentence (the last line, when it is one sentence)."""
    last = [x for x in split_sentences(paragraphs[-1]) if x.strip()]
    if len(last) > 1:
        return [*paragraphs[:-1], "".join(last[:-1]).strip()]
    return paragraphs[:-1] or paragraphs


def _regroup(sentences: list[str], per: int = 3) -> list[str]:
    return ["".join(sentences[j : j + per]) for j in range(0, len(sentences), per)]


def _wrap(paragraphs: list[str], width: int) -> list[str]:
    return [p[i : i + width] for p in paragraphs for i in range(0, len(p), width)]


class Filler:
    """Sentences of articles that are not reprinted, each handed out once, so that a
    near-miss shares nothing with any other file but the passage it takes on purpose."""

    def __init__(self, articles: list[Article]) -> None:
        self.sentences = [s for a in articles for s in a.sentences()]
        self.titles = [a.title for a in articles]
        self.pos = 0

    def take(self, n: int) -> list[str] | None:
        if self.pos + n > len(self.sentences):
            return None
        self.pos += n
        return self.sentences[self.pos - n : self.pos]

    def title(self) -> str:
        return self.titles[self.pos % len(self.titles)]


def build_corpus(
    root: Path,
    articles: list[Article],
    sites: list[Site],
    filler: list[Article] | None = None,
    seed: int = 0,
    fourth: bool = False,
) -> Corpus:
    """Write the reprints of ``articles`` and, while the ``filler`` articles' sentences
    last, their near-misses under ``root/input`` (one folder per site); return the labels.
    Deterministic for a given ``seed``."""
    rng = random.Random(seed)
    alphabet = sorted({c for a in articles for p in a.paragraphs for c in p if HAN_RE.match(c)})
    s2t = converter("s2t")
    corpus = Corpus(root)
    stream = Filler(filler or [])

    def write(site: Site, name: str, text: str, label: str, kind: str) -> None:
        folder = corpus.later if kind == "d" else corpus.input
        path = folder / site.name / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        source = f"{site.name}/{name}.txt"
        corpus.labels[source] = label
        corpus.kinds[source] = kind

    n = len(articles)
    for i, art in enumerate(articles):
        sent = art.sentences()
        other = articles[(i + 1) % n]
        site = [sites[(4 * i + j) % len(sites)] for j in range(4)]
        write(site[0], f"{art.key}-a", _page(site[0], art.title, art.paragraphs), art.key, "a")
        b = [_edit(p, EDIT_SHARE, rng, alphabet) for p in _drop_last_sentence(art.paragraphs)]
        write(site[1], f"{art.key}-b", _page(site[1], art.title, b), art.key, "b")
        short = [x for x in other.sentences() if 8 <= len(x) <= 40] or [other.title[:30]]
        note = "编者按：" + rng.choice(short)
        c = [note, *(_edit(p, EDIT_SHARE, rng, alphabet) for p in art.paragraphs)]
        write(site[2], f"{art.key}-c", s2t.convert(_page(site[2], art.title, c)), art.key, "c")
        if fourth:
            d = _wrap([_edit(p, EDIT_SHARE, rng, alphabet) for p in art.paragraphs], 38)
            write(site[3], f"{art.key}-d", _page(site[3], art.title, d), art.key, "d")
        if len(sent) < 4:
            continue
        k = max(1, round(SHARED_SHARE * len(sent)))
        rest = len(sent) - k
        h = max(1, k // 2)
        start = (len(sent) - k) // 2
        quote = "“" + "".join(sent[start : start + k]) + "”"
        for kind in ("open", "tmpl", "quote"):
            fill = stream.take(rest)
            if fill is None:
                break
            if kind == "open":
                body = sent[:k] + fill
            elif kind == "tmpl":
                body = sent[:h] + fill + sent[len(sent) - (k - h) :]
            else:
                body = [*fill[: rest // 2], f"正如有文章所说：{quote}", *fill[rest // 2 :]]
            where = site[{"open": 1, "tmpl": 2, "quote": 0}[kind]]
            label = f"{art.key}-{kind}"
            write(where, label, _page(where, stream.title(), _regroup(body)), label, kind)
    corpus.save()
    return corpus
