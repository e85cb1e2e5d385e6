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
    "short_lines": (0.93, 0.88),
    "structured": (0.93, 0.90),
    # round 2: the failure modes of the independent unseen pages
    "list_inside": (0.95, 0.90),
    "related_titles": (0.95, 0.90),
    "qa": (0.95, 0.90),
    # round 3: graceful degradation (see evals/README.md); the floor is "no collapse":
    # one page (a running log cut by a per-post footer rule) is a known miss
    "degrade": (0.90, 0.35),
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
    for name in (
        "photo_blog_hant",
        "poems_hans",
        "lyrics_hant",
        "tang_quatrains_hans",
        "lyrics_title_chorus_hans",
        "photo_diary_filenames_hant",
        "trail_log_times_hans",
    ):
        assert by_name[name].extraction == "short_lines", name
        assert by_name[name].recall >= 0.95, name


def test_dates_and_authors_of_the_class_pages(scores):
    """Every page with a .meta.json: the date and the author it shows, and none where it
    shows none (a date from a comment or an answer, a menu item or a lyric as byline)."""
    wrong = [
        (e.name, what)
        for e in scores.examples
        for what, ok in (("date", e.date_ok), ("author", e.author_ok))
        if ok is False
    ]
    # known misses: a date line with the month in words ("2023 十一月 12 (日)"), a bare
    # name before the date of a byline ("阿柒 2022-07-18 阅读 954")
    assert wrong == [("photo_diary_filenames_hant", "date"), ("photo_walk_markers_hans", "author")]


def _doc(cls: str, name: str):
    (doc,) = run_files([CLASSES_DIR / cls / f"{name}.txt"]).values()
    return doc


def test_a_chorus_that_is_the_title_stays_and_is_no_byline():
    doc = _doc("short_lines", "lyrics_title_chorus_hans")
    assert doc.text.split("\n").count("晚风知道") == 4
    assert doc.text.split("\n").count("有人走远 有人停下") == 2
    assert doc.author is None
    assert "作词" not in doc.text and "下载LRC歌词" not in doc.text


def test_image_file_names_go_without_breaking_the_captions():
    doc = _doc("short_lines", "photo_diary_filenames_hant")
    assert doc.extraction == "short_lines"
    assert ".JPG" not in doc.text and ".jpg" not in doc.text and "[图片]" not in doc.text
    assert "早上七点的区间车 人很少" in doc.text and "去太鲁阁走走" in doc.text


def test_an_announced_list_keeps_its_items_headings_signature_and_date():
    doc = _doc("list_inside", "award_notice_hans")
    for line in (
        "一、2023年度全市科技工作先进个人（20名）",
        "唐振宇 江州市生态环境监测站",
        "二、2023年度全市优秀科技项目（8项）",
        "社区老年人科普服务“一站式”平台建设（江州市科技馆）",
        "江州市科学技术协会",
        "2023年12月18日",
    ):
        assert line in doc.text.split("\n"), line
    assert "表彰名单.pdf" not in doc.text and "上一篇" not in doc.text


def test_sentence_like_related_titles_with_dates_are_a_tail():
    doc = _doc("related_titles", "short_notice_related_hans")
    assert doc.text.endswith("2024年4月2日")
    assert "劳动节" not in doc.text and "相关通知" not in doc.text
    assert any(rule == "tail.records" for rule, _ in doc.removed)


def test_forum_follow_ups_of_one_shape_are_a_tail():
    doc = _doc("thread", "essay_followups_hant")
    assert "有些味道，是要用一辈子去腌的。" in doc.text  # the essay's own last line
    assert "山城旧客" not in doc.text and "跟帖" not in doc.text
    assert doc.author == "老槐树"


def test_every_answer_stays_and_the_cards_go():
    doc = _doc("qa", "qa_many_answers_hant")
    for start in (
        "浴室发霉的根本原因",
        "我之前也是这样",
        "补充一下",
        "天花板的霉",
        "洗完澡用刮水刀",
    ):
        assert start in doc.text, start
    for widget in ("最佳解答", "赞 56", "2023-06-03 08:02", "林小姐", "我要回答", "相关问题"):
        assert widget not in doc.text, widget
    assert any(rule == "record.card" for rule, _ in doc.removed)
    assert not any(rule == "tail.records" for rule, _ in doc.removed)
    assert doc.published_at is not None and doc.published_at.day == 2  # the question's


def test_shop_terms_and_reviews_are_not_the_product():
    for name in ("product_page_hans", "product_page_hant"):
        doc = _doc("structured", name)
        assert "支付宝" not in doc.text and "信用卡" not in doc.text, name
        assert doc.published_at is None, name  # a review's date is not the page's
    doc = _doc("structured", "product_page_hans")
    assert "品牌：山野" in doc.text and "趴着睡不压脸" not in doc.text


# -- round 3: graceful degradation ----------------------------------------------------


def test_verse_one_line_each_is_never_emptied():
    """Classical verse without punctuation or function characters: the block keeps
    nothing, the lines no rule removed hold the poems: a conservative extraction of that
    run, with low confidence, and no poem title taken for a byline."""
    for name in ("quatrains_one_verse_per_line_hant", "song_ci_short_lines_hans"):
        doc = _doc("degrade", name)
        assert not doc.rejected and doc.extraction == "conservative", name
        assert doc.confidence < 0.3, name
        assert doc.author is None, name
    doc = _doc("degrade", "quatrains_one_verse_per_line_hant")
    assert "月落乌啼霜满天" in doc.text and "枫桥夜泊" in doc.text
    assert "诗经" not in doc.text and "版权所有" not in doc.text


def test_one_authors_posts_are_not_a_thread():
    for name in ("teacher_microblog_hans", "notes_one_author_hant"):
        doc = _doc("degrade", name)
        assert not any(rule == "tail.records" for rule, _ in doc.removed), name
    doc = _doc("degrade", "teacher_microblog_hans")
    assert "开学前整理书架" in doc.text and "转发 25" not in doc.text


def test_a_forum_thread_with_quotes_is_still_cut():
    doc = _doc("degrade", "hk_forum_aircon_hant")
    assert "九成" not in doc.text and "大角咀师傅" not in doc.text
    assert "各位师兄师姐好" in doc.text


def test_an_announced_table_keeps_its_barred_rows():
    doc = _doc("degrade", "vegetable_prices_pipes_hant")
    assert doc.text.count("｜") + doc.text.count("|") == 19 * 6  # the header and 18 rows
    assert "品名｜品种" in doc.text and "茄子｜胭脂茄" in doc.text
    assert "行情如下" in doc.text
    assert doc.confidence < 0.7  # a rule was overridden and a table is no prose


def test_a_list_of_other_notices_after_a_short_notice_is_cut():
    for name in ("library_past_notices_hans", "school_notice_other_items_hant"):
        doc = _doc("degrade", name)
        assert any(rule == "tail.records" for rule, _ in doc.removed), name
        assert doc.confidence < 0.5, name  # the cut removed more text than it kept
    doc = _doc("degrade", "library_past_notices_hans")
    assert doc.text.startswith("各位读者：")
    assert "往期通知" not in doc.text and "暑期少儿阅览室" not in doc.text


def test_the_block_starts_under_the_headline():
    for name, first in (
        ("column_teasers_above_hans", "谈论城市的时候"),
        ("comments_above_article_hans", "早上七点"),
    ):
        doc = _doc("degrade", name)
        assert doc.text.startswith(first), name
    doc = _doc("degrade", "column_teasers_above_hans")
    assert doc.author == "周屿"  # not '推荐' from the 编辑推荐 list header
