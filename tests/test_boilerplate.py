"""Boilerplate stripping: each rule family on real lines, the guards, and the seeds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import seed_text
from zhclean.cleaners.boilerplate import BoilerplateStripper
from zhclean.cleaners.hardwrap import detect_wrap_width, repair_hard_wraps
from zhclean.cleaners.quality import line_features
from zhclean.cleaners.rules import RULES_FILE, RuleSet
from zhclean.core.record import MODEL_BOILERPLATE, TITLE_HEADING, TITLE_REPEAT, Document
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.text import normalize_text
from zhclean.run.pipeline import build_pipeline

RULES = RuleSet.load()

# (rule id, a real line from the seeds or the dev pages, after normalization + t2s)
REAL_LINES = [
    ("bp.breadcrumb", "当前位置： 首页>> 工作动态>> 部门信息"),
    ("bp.breadcrumb", "世艺网>艺术教育"),
    ("bp.breadcrumb", "您的位置：首页 > 新闻中心 > 正文"),
    ("bp.separator", "|"),
    ("bp.separator", "】【"),
    ("bp.menu_row", "领导活动 人事任免 网上直播 在线访谈 政务要闻 执法监管"),
    ("bp.share", "【打印本页】"),
    ("bp.share", "页面功能 【"),
    ("bp.share", "扫一扫在手机打开当前页"),
    ("bp.login", "登录"),
    ("bp.prev_next", "上一篇：关于做好春节期间安全工作的通知"),
    ("bp.prev_next", "Previous"),
    ("bp.more", "更多>>"),
    ("bp.more", "展开全文"),
    ("bp.counter", "阅读：8169"),
    ("bp.counter", "你是第 你是第 344522 位访问者 位访问者"),
    (
        "bp.teaser",
        "[在全市党的基层组织建设工作会议上的讲话]今天，我们在这里召开全市党的基层组织建设工作会议，研究部署全市党的基层组织建设工作。刚才，文珠同志回顾了前一个时期我市党的基层组织建设的基本情况，对今后一个时期加强党的...+阅读",
    ),
    ("bp.calendar", "2006年12月"),
    ("bp.archive", "2005年7月 (114)"),
    ("bp.archive", "12/01/2004 - 01/01/2005"),
    ("bp.related_links", "相关链结"),
    ("bp.related_links", "相关报道"),
    ("bp.further_reading", "延伸阅读："),
    ("bp.further_reading", "猜你喜欢"),
    ("bp.recommend", "热点推荐"),
    ("bp.recommend", "图片图表"),
    ("bp.recommend", "栏目推荐"),
    ("bp.recommend", "友情链接"),
    ("bp.tags", "标签："),
    ("bp.comments", "发表评论"),
    ("bp.comments", "共 11 篇评论"),
    ("bp.comments", "《播客热潮迅速蔓延 挑逗传统传媒业》已有1件评论"),
    ("bp.post_footer", "发表于：2005-07-31 12:30"),
    ("bp.post_footer", "由海姑娘张贴 @"),
    ("bp.post_footer", "〓 网易娱乐 明星话题 发布时间 2005/03/15 22:36:13 by"),
    ("bp.legal_notice", "反侵权公告："),
    ("bp.copyright", "Copyright © 2014 www.tywbw.com All rights reserved."),
    ("bp.icp", "苏ICP备13020714号"),
    ("bp.icp", "晋公网安备 14010702070049号"),
    (
        "bp.disclaimer",
        "导语：人口计生工作转型提升思考一文来源于网友上传，不代表本站观点，若需要原创文章可咨询客服老师，欢迎参考。",
    ),
    ("bp.disclaimer", "未经大河网书面特别授权，请勿转载或建立镜像"),
    ("bp.contact", "地址：南京市建邺区江东中路369号新华报业传媒广场"),
    ("bp.site_furniture", "设为首页"),
    ("meta.dateline", "时间：2022-10-28 02:45:00"),
    ("meta.dateline", "2022-02-13 09:57"),
    ("meta.byline", "中央政府门户网站 www.gov.cn 2010年10月22日 来源：国家民委网站"),
    ("meta.byline", "AUTO.SOHU.COM 2003年11月12日16:36 金羊网—新快报"),
    ("meta.byline", "发布时间：2022-02-13 04:22:18 来源："),
    ("meta.source", "来源：巴彦淖尔日报 编辑：苏亮"),
    ("meta.author", "作者：宋怡 杨志华"),
    ("meta.author", "作者：zboygirl 阅读（1660）"),
    ("meta.editor", "责任编辑：孙重远"),
    ("meta.editor", "（松花江网编辑 孙桂芳）"),
    ("meta.reporter", "新京报记者 彭冲 山东冠县报道"),
    ("meta.reporter", "光明日报记者 王建宏 张文攀"),
    ("meta.reporter", "（总台记者 张倩）"),
    ("meta.print_source", "——《北京之春》1996年6月号"),
    ("meta.print_source", "《光明日报》（ 2022年02月13日 02版）"),
    (
        "extract.photo_credit",
        "拿出10万元来做房产投资，一来以钱生钱，二来为今后养老留条后路 蔡雪婧/摄",
    ),
    ("extract.blog_author", "作者[太小心]自己发表的最新评论"),
]


@pytest.mark.parametrize(
    ("rule_id", "line"), REAL_LINES, ids=[f"{r}:{line[:12]}" for r, line in REAL_LINES]
)
def test_rule_family_matches_real_line(rule_id, line):
    match = RULES.match(line, line_features(line).is_prose)
    assert match is not None, line
    assert match.rule.id == rule_id


PROSE_WITH_KEYWORDS = [
    "本报讯 （实习记者 樊亮 张明超 记者惠禾）13岁，正是花季的年龄，可13岁的李某却成了妈妈。",
    "在第一阶段的转段动员大会上，组织了较高质量的专题汇报会，得到省委学习实践活动领导小组的高度评价，相关链接将在会后公布。",
    "一是在计生理论政策上广宣传、深动员，实现群众理解支持的新突破，把党的各项政策宣传到每家每户，确保宣传到位，不留死角。",
    "记者来到这家医院，看到13岁的李某虚弱地躺在床上，和两个表姐聊天，她说自己很喜欢看新闻和评论。",
]


@pytest.mark.parametrize("line", PROSE_WITH_KEYWORDS)
def test_prose_is_never_removed_by_a_keyword_rule(line):
    assert line_features(line).is_prose
    match = RULES.match(line, True)
    assert match is None or match.rule.allow_prose is False or match.rule.kind == "extract"


def test_rule_file_is_well_formed():
    data = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
    ids = set()
    for entry in data["rule"]:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", entry["id"]), entry["id"]
        assert len(entry["reason"]) >= 20, entry["id"]
        ids.add(entry["id"])
    assert len(ids) >= 25
    # rules must generalise: no site, column or person names in patterns
    text = RULES_FILE.read_text(encoding="utf-8")
    for name in (
        "搜狐",
        "新浪",
        "网易",
        "sohu",
        "sina",
        "163.com",
        "天极",
        "大河网",
        "松花江网",
        "文学城",
        "光明日报",
    ):
        assert name not in text, name


def _strip(text: str, repeated=None) -> Document:
    doc = Document(
        source="x.txt", doc_id="0" * 32, raw_text=text, text=to_simplified(normalize_text(text))
    )
    stripper = BoilerplateStripper(RULES, repeated)
    stripper.run([doc])
    return doc


def _run_seed(prefix: str) -> Document:
    doc = Document(source=f"{prefix}.txt", doc_id="0" * 32, raw_text=seed_text(prefix))
    (out,) = list(build_pipeline(tokenize=False, validate=False)([doc]))
    return out


def test_seed_001_boilerplate_is_gone():
    doc = _run_seed("001")
    for gone in (
        "当前位置",
        "相关链结",
        "图片图表",
        "栏目推荐",
        "领导活动 人事任免",
        "最新文件 法律法规",
        "古译文献宝典",
    ):
        assert gone not in doc.text
    removed = {rule for rule, _ in doc.removed}
    assert {MODEL_BOILERPLATE, TITLE_HEADING, "meta.byline"} <= removed
    assert doc.title == "国家民委召开深入开展创先争优活动情况汇报会"
    assert doc.text.startswith("国家民委直属机关深入开展创先争优活动情况汇报会10月20日召开。")


def test_seed_002_teaser_and_further_reading_are_gone():
    doc = _run_seed("002")
    assert (
        "+阅读" not in doc.text
        and "延伸阅读" not in doc.text
        and "企业人才培训工作会讲话" not in doc.text
    )
    assert doc.text.endswith("把全县人口与计划生育工作不断推向新的阶段。")
    # the block rule's header is evidence the model used: it and the titles under it go
    header = next(i for i, ln in enumerate(doc.lines) if ln.rule == "bp.further_reading")
    titles = [ln for ln in doc.lines[header + 1 :] if ln.text]
    assert not doc.lines[header].kept and len(titles) >= 9
    assert all(ln.removed_by == MODEL_BOILERPLATE for ln in titles)


def test_seed_004_disclaimer_byline_and_repeated_title_are_gone():
    doc = _run_seed("004")
    assert "不代表本站观点" not in doc.text and "时间：" not in doc.text
    assert "人口计生工作转型提升思考" not in doc.text
    assert dict(doc.removed)[TITLE_REPEAT] == "人口计生工作转型提升思考"
    assert doc.published_at.isoformat() == "2022-10-28T02:45:00"


def test_every_removed_line_names_its_rule():
    reasons = BoilerplateStripper(RULES).reasons()
    for prefix in ("000", "001", "002", "003", "004"):
        for rule, text in _run_seed(prefix).removed:
            assert text
            assert rule in reasons or rule.startswith("meta."), rule


def test_hard_wrapped_lines_are_joined_and_paragraphs_kept():
    # real lines of a page typeset at a fixed width (2 columns per Han character)
    lines = [
        "张家界会议之后我路过长沙，听说有学生和市民游",
        "行示威，但我没有亲眼见到。二十四日早上去乘火",
        "车时，看到长沙街头有玻璃散落狼藉状况。",
        "当时我回到邵阳，继续过我教书、带孩子的平静生",
        "活。五月十三日北京学生绝食，每天听到广播报导",
        "学生绝食多少多少天，我的心就一阵阵揪紧。当时",
        "，湖南邵阳师专的学生也上街游行。",
    ]
    width = detect_wrap_width(lines)
    assert width == 44
    assert repair_hard_wraps(lines, width) == ["".join(lines[:3]), "".join(lines[3:])]


def test_unwrapped_text_is_left_alone():
    lines = [ln for ln in seed_text("002").splitlines() if ln]
    assert detect_wrap_width(lines) is None


def test_lines_broken_before_punctuation_are_rejoined():
    from zhclean.cleaners.hardwrap import join_broken_lines

    run = [
        "你不可能使用高级语言写出高效的代码",
        "。这意味这你不会有机会写编译器。",
        "图1",
        ". C2C产业链结构图",
    ]
    assert join_broken_lines(run) == [
        "你不可能使用高级语言写出高效的代码。这意味这你不会有机会写编译器。",
        "图1. C2C产业链结构图",
    ]


def test_punctuation_only_pieces_join_a_sentence():
    from zhclean.core.record import Document
    from zhclean.splitters.step import SentenceSplitter

    doc = Document(
        source="x",
        doc_id="0" * 32,
        paragraphs=["我希望能有更多的朋友关心这一个有意义的课题。□", "。开头的标点"],
    )
    SentenceSplitter().run([doc])
    assert [(s.para_idx, s.text) for s in doc.sentences] == [
        (0, "我希望能有更多的朋友关心这一个有意义的课题。□"),
        (1, "。开头的标点"),
    ]


# -- the line model on real pages -------------------------------------------------------

WEBTEXT = Path(__file__).resolve().parent.parent / "evals" / "data" / "webtext-dev"


def test_document_signals():
    doc = _run_seed("001")
    assert doc.extraction == "main_block"
    kept = sum(len(ln.text) for ln in doc.lines if ln.kept)
    total = sum(len(ln.text) for ln in doc.lines)
    assert doc.removed_share == round(1 - kept / total, 4)
    assert 0.5 <= doc.confidence <= 1.0
    empty = _strip("\n".join(["首页", "新闻", "体育", "财经", "关于我们"]))
    assert (empty.extraction, empty.removed_share, empty.confidence) == ("empty", 1.0, 0.0)
    assert empty.rejected and empty.rejection.check == "empty_after_boilerplate"


def test_explain_reports_every_line_with_its_score_and_reasons():
    from zhclean.run.explain import explain

    raw = seed_text("001")
    report = explain(raw)
    head, _, table = report.partition("\n\n")
    assert head.startswith("extraction main_block")
    assert "model threshold" in head and "text (no DOM features)" in head
    rows = table.splitlines()[1:]
    assert len(rows) == sum(1 for line in raw.splitlines() if line.strip())
    first_text = next(r for r in rows if "国家民委直属机关深入开展" in r)
    assert first_text.split()[1:3] == ["+", "kept"]
    score = float(first_text.split()[3])
    assert score >= 0.5
    menu = next(r for r in rows if "领导活动 人事任免" in r)
    assert menu.split()[1:3] == ["-", "bp.menu_row"]  # a line rule removes its line
    related = next(r for r in rows if "相关链结" in r)
    assert related.split()[1:4] == ["-", MODEL_BOILERPLATE, "bp.related_links"]  # evidence
    assert "[" in related and "|" in related.rsplit("[", 1)[1]  # the features that moved it


MENU = ["首页", "归档", "分类", "标签", "友链", "关于"]
RECENT = ["用 Rust 写一个命令行工具", "Git 分支管理的几个习惯", "一次内存泄漏的排查记录"]


def test_code_blocks_of_an_article_stay():
    """A tech blog whose prose alternates with code kept 3% of its text."""
    prose = [
        ln
        for ln in (WEBTEXT / "0ef8393b-0415-494c-b608-1d45bb33c6fb.gold.txt")
        .read_text(encoding="utf-8")
        .splitlines()
        if len(ln) > 40
    ][:4]
    code = "def load(path):\n    with open(path) as f:\n        return json.load(f)\n"
    html = (
        "<html><head><title>读取配置 - 某某技术博客</title></head><body>"
        "<header><nav><ul>"
        + "".join(f'<li><a href="/{i}">{w}</a></li>' for i, w in enumerate(MENU))
        + '</ul></nav></header><main><article class="post-content">'
        + "".join(f"<p>{p}</p><pre><code>{code}</code></pre>" for p in prose)
        + '</article><aside class="sidebar"><h3>最新文章</h3><ul>'
        + "".join(f'<li><a href="/p/{i}">{t}</a></li>' for i, t in enumerate(RECENT))
        + "</ul></aside></main><footer>Copyright © 2024 某某技术博客</footer></body></html>"
    )
    doc = Document(source="blog.html", doc_id="0" * 32, raw_text=html)
    (out,) = list(build_pipeline(tokenize=False, validate=False)([doc]))
    assert "return json.load(f)" in out.text and "def load(path):" in out.text
    for p in prose:
        assert to_simplified(normalize_text(p))[:20] in out.text
    assert "归档" not in out.text and "Copyright" not in out.text
    assert not any(t in out.text for t in RECENT)


def test_a_paragraph_joined_across_a_break_is_converted_as_one_text():
    """OpenCC converts by phrases: ``长藉`` / ``以来`` on two lines leave 藉 alone, while the
    joined ``长藉以来`` converts to ``长借以来``. Published text must be what conversion
    gives the joined paragraph, or the contract's ``simplified_only`` check quarantines a
    good document (a reprint with one edited character did, in tests/test_dedup_runs.py)."""
    from zhclean.cleaners.hardwrap import ParagraphAssembler
    from zhclean.core.record import Line

    # real lines of a page typeset at a fixed width, one character edited (期 -> 藉)
    lines = [
        "张家界的春天，美得让人眩目。长期过著从硕门到校门的机械生活，一下子置身于翠绿",
        "欲滴的森林，看不完的奇山异峰，山涧涓流，名花异草，－－我简直要玩剥了。傍晚，",
        "当我山花插满头，的里抱著一大把青青竹笋，乐不思蜀地回到招待所时，一位同事告诉",
        "我胡耀邦去世的消息，像突然被泼了一瓢冷水，我顿时醒过来。",
        "像我这样自小就跟随父母下乡回老家，在闭塞农村长大的人，对遥远京城的政治，长藉",
        "以来，持一种不甚关心的态度。但胡耀邦先生其人罗事，我还是有所耳闻的。他突然辞",
        "去总书记职务又突然去世的命运，除了令我感到悲男之外，更使我对中国的前景产生了",
        "一种黯淡之感。",
    ]
    assert all(to_simplified(line) == line for line in lines)  # each line is converted
    doc = Document(source="a.txt", raw_text="\n".join(lines), lines=[Line(t) for t in lines])
    ParagraphAssembler().run([doc])
    assert len(doc.paragraphs) == 2
    assert "长借以来" in doc.text and to_simplified(doc.text) == doc.text
