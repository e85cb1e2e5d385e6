"""The failure classes seen on unseen pages, as regression pages with hand-made gold.

``evals/data/classes/<class>/<name>.txt`` are crawler dumps (one block per line) of
varied sites, Simplified and Traditional; ``<name>.gold.txt`` is the hand-cleaned article.
No example may come out empty, none may keep its comment thread or its link directory,
and each class keeps a floor on its F1 (README metric, both sides in Simplified).
"""

from __future__ import annotations

import pytest

from evals.score_inprocess import CLASSES_DIR, run_files, score_classes
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.text import normalize_text

# Mean F1 over the class, and the floor for every example of it.
THRESHOLDS = {
    "thread": (0.95, 0.90),
    "directory": (0.95, 0.90),
    "short_lines": (0.90, 0.85),
    "structured": (0.93, 0.90),
}


@pytest.fixture(scope="module")
def scores():
    return score_classes()


def _pages(cls: str):
    return sorted(p for p in (CLASSES_DIR / cls).glob("*.txt") if not p.name.endswith(".gold.txt"))


def test_every_class_has_varied_examples():
    for cls in THRESHOLDS:
        pages = _pages(cls)
        assert len(pages) >= 3, cls
        assert any(p.stem.endswith("_hant") for p in pages), f"{cls}: no Traditional page"
        assert any(p.stem.endswith("_hans") for p in pages), f"{cls}: no Simplified page"


def test_no_example_comes_out_empty(scores):
    empty = [(e.cls, e.name) for e in scores.examples if e.n_chars == 0]
    assert empty == []
    assert all(e.extraction != "empty" for e in scores.examples)


@pytest.mark.parametrize("cls", sorted(THRESHOLDS))
def test_class_f1(scores, cls):
    mean_min, floor = THRESHOLDS[cls]
    m = scores.by_class()[cls]
    assert m["f1"] >= mean_min, (cls, m)
    low = [(e.name, round(e.f1, 3)) for e in scores.examples if e.cls == cls and e.f1 < floor]
    assert low == [], cls


def _tail_lines(page) -> list[str]:
    """The page's lines after the article's last gold line: the thread or directory."""
    raw = [to_simplified(normalize_text(t)).strip() for t in page.read_text("utf-8").split("\n")]
    gold = {
        to_simplified(t).strip()
        for t in page.with_name(page.stem + ".gold.txt").read_text("utf-8").split("\n")
    }
    last = max(i for i, t in enumerate(raw) if t and t in gold)
    return [t for t in raw[last + 1 :] if t and t not in gold]


@pytest.mark.parametrize("cls", ["thread", "directory"])
def test_no_thread_or_directory_is_kept(cls):
    """Of the lines after the article (replies, names, footers) at most one in ten stays."""
    pages = _pages(cls)
    docs = {p: d for p in pages for d in run_files([p]).values()}
    for page, doc in docs.items():
        tail = _tail_lines(page)
        kept = {t for t in doc.text.split("\n") if t}
        leaked = [t for t in tail if t in kept]
        assert len(tail) >= 8, page.name
        assert len(leaked) <= 0.1 * len(tail), (page.name, leaked)


def test_dates_in_a_table_are_content_not_metadata():
    """A filmography's 40 date rows lie inside the article body: none is taken as the
    page's date, all stay in the text; the page has one publication date at most."""
    page = CLASSES_DIR / "structured" / "encyclopedia_actor_hans.txt"
    (doc,) = run_files([page]).values()
    datelines = [t for rule, t in doc.removed if rule == "meta.dateline"]
    assert len(datelines) <= 1, datelines
    for row in ("2008-07-21", "2016-10-28", "2023-03-10", "2019-06-14"):
        assert row in doc.text
    assert "词条统计" not in doc.text and "浏览次数" not in doc.text


def test_a_list_inside_the_article_stays_a_directory_after_it_goes():
    page = CLASSES_DIR / "directory" / "list_in_article_hans.txt"
    (doc,) = run_files([page]).values()
    assert "江城精密轴承有限公司" in doc.text and "江城云帆软件有限公司" in doc.text
    assert "市纪委监委" not in doc.text and "市医保局" not in doc.text
    assert any(rule == "tail.directory" for rule, _ in doc.removed)


def test_short_line_articles_are_read_as_text(scores):
    by_name = {e.name: e for e in scores.examples}
    for name in ("photo_blog_hant", "poems_hans", "lyrics_hant", "tang_quatrains_hans"):
        assert by_name[name].extraction == "short_lines", name
        assert by_name[name].recall >= 0.95, name
