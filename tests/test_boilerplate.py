"""Boilerplate stripping: each rule family on real lines, the guards, and the seeds."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.conftest import seed_text
from zhclean.cleaners.boilerplate import (
    OUTSIDE_MAIN,
    REPEAT_CORPUS,
    TITLE_HEADING,
    TITLE_REPEAT,
    BoilerplateStripper,
)
from zhclean.cleaners.hardwrap import detect_wrap_width, repair_hard_wraps
from zhclean.cleaners.quality import line_features
from zhclean.cleaners.repetition import GroupLineCounts, document_line_keys
from zhclean.cleaners.rules import RULES_FILE, RuleSet
from zhclean.core.record import Document
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
    assert {"bp.breadcrumb", "bp.related_links", TITLE_HEADING, "meta.byline"} <= removed
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
    assert sum(1 for rule, _ in doc.removed if rule == "bp.further_reading") == 10


def test_seed_004_disclaimer_byline_and_repeated_title_are_gone():
    doc = _run_seed("004")
    assert "不代表本站观点" not in doc.text and "时间：" not in doc.text
    assert "人口计生工作转型提升思考" not in doc.text
    assert dict(doc.removed)[TITLE_REPEAT] == "人口计生工作转型提升思考"
    assert doc.published_at.isoformat() == "2022-10-28T02:45:00"


def test_every_removed_line_names_its_rule():
    reasons = {**RULES.reasons}
    for prefix in ("000", "001", "002", "003", "004"):
        for rule, text in _run_seed(prefix).removed:
            assert text
            assert rule in reasons or rule.startswith(("title.", "quality.", "repeat.", "meta.")), (
                rule
            )


def test_block_stops_at_prose():
    doc = _strip(
        "文章第一段很长，讲了很多事情，也有不少细节需要说明。\n相关链接\n· 另一篇文章的标题\n· 又一篇文章的标题\n这是正文后面的第二段，它不是链接，因此应当保留下来。"
    )
    kept = [ln.text for ln in doc.lines if ln.kept]
    assert kept[-1].startswith("这是正文后面的第二段")
    assert [ln.removed_by for ln in doc.lines[1:4]] == ["bp.related_links"] * 3


def test_tail_rule_cuts_comments_only_after_the_article():
    article = "这是一篇文章的正文，讲述了很多事情，内容充实而且详细，读者可以从中了解很多情况。" * 3
    doc = _strip(
        f"我来说两句\n{article}\n{article}\n网友评论\n这个评论虽然写得很长，也有标点符号，但它属于读者评论区。"
    )
    assert doc.lines[0].removed_by == "bp.comments"  # before the article: that line only
    assert doc.lines[1].kept and doc.lines[2].kept
    assert all(ln.removed_by == "bp.comments" for ln in doc.lines[3:])


def test_main_block_drops_menus_around_the_article():
    menu = "\n".join(["首页", "新闻", "体育", "财经", "汽车", "房产", "女人", "短信"])
    article = "\n".join(["记者从有关部门获悉，今年全省粮食总产量再创新高，农民收入稳步增长。"] * 4)
    doc = _strip(f"{menu}\n{article}\n{menu}")
    assert [ln.kept for ln in doc.lines] == [False] * 8 + [True] * 4 + [False] * 8
    assert {ln.removed_by for ln in doc.lines[:8]} <= {OUTSIDE_MAIN, "bp.site_furniture"}


def test_repeated_lines_across_the_group_are_removed():
    footer = "本网站由某某信息中心主办并负责维护"
    article = "记者从有关部门获悉，今年全省粮食总产量再创新高，农民收入稳步增长。"
    counts = GroupLineCounts()
    for i in range(4):
        counts.add(document_line_keys([f"{article}{i}", footer]))
    doc = _strip(f"{article}\n{footer}\n{article}", {"": counts.repeated(3)})
    assert doc.lines[1].removed_by == REPEAT_CORPUS
    assert doc.lines[0].kept and doc.lines[2].kept


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


# -- page structure: tails, short-line articles, fallback, signals ----------------------

ARTICLE_LINE = (
    "记者从有关部门获悉，今年全省粮食总产量再创新高，农民收入稳步增长，各项工作取得明显成效。"
)


def test_a_thread_without_any_header_is_a_tail():
    """No line of the replies looks like boilerplate: their repeating shape gives them away."""
    replies = []
    for i, reply in enumerate(
        ["说得好。", "我们这里也一样，希望早点解决这个问题，大家都在等。", "顶", "支持"]
    ):
        replies += [f"网友{i}", f"12-0{i + 1} 09:4{i}", reply, "回复"]
    doc = _strip("\n".join([ARTICLE_LINE] * 4 + replies))
    kept = [ln.text for ln in doc.lines if ln.kept]
    assert kept == [ARTICLE_LINE] * 4
    assert {ln.removed_by for ln in doc.lines[4:]} == {"tail.records"}
    assert doc.extraction == "main_block"


def test_dated_rows_inside_an_article_are_not_a_thread():
    """Dates without a time of day (a table, a timeline) anchor no records."""
    rows = [x for year in range(2001, 2009) for x in (f"{year}-03-01", "获得一项奖励")]
    doc = _strip("\n".join([ARTICLE_LINE] * 2 + rows + [ARTICLE_LINE] * 2))
    assert all(ln.kept for ln in doc.lines)


def test_an_announced_list_is_the_article_not_a_directory():
    """A list of names the text announces ("名单如下：") is the article's, even when only
    a line or two follows it; the same list with no announcement after an article is a
    directory."""
    names = ["市人民医院", "市图书馆", "市博物馆", "市供电公司", "市自来水公司", "市公交集团",
             "市税务局", "市气象局", "市档案馆", "市妇幼保健院"]  # fmt: skip
    intro = (
        "经各单位申报、县区和系统推荐、实地考核和综合评定，拟命名以下单位为年度文明单位，名单如下："
    )
    page = "\n".join([ARTICLE_LINE] * 2 + [intro] + names + ["公示期为7天。", "版权所有 某某网"])
    doc = _strip(page)
    assert all(ln.kept for ln in doc.lines[:-1])
    bare = _strip("\n".join([ARTICLE_LINE] * 4 + names + ["版权所有 某某网"]))
    assert {ln.removed_by for ln in bare.lines[4:-1]} == {"tail.directory"}


def test_a_sidebar_of_headlines_never_outweighs_a_prose_article():
    """Headline lists can read like short-line text (function characters, no
    punctuation); the short-line reading is only for pages with little prose."""
    sidebar = [
        "我们的城市又一次登上了全国宜居排行榜",
        "他在山里守了三十年的这片林子",
        "这个夏天你一定要去看看的海边小镇",
        "她把奶奶的老手艺做成了网红生意",
        "为什么年轻人都爱上了逛菜市场",
        "一碗面里藏着的是这座城的记忆",
        "他们在废弃的工厂里办起了美术馆",
        "我在地铁上遇见了二十年前的同桌",
        "那些被我们忽略的街角小店",
        "你还记得小时候的那条河吗",
    ]
    page = "\n".join(["首页", *([ARTICLE_LINE] * 6), "猜你也爱看", *(sidebar * 4)])
    doc = _strip(page)
    assert doc.extraction == "main_block"
    assert [ln.text for ln in doc.lines if ln.kept] == [ARTICLE_LINE] * 6


def test_a_live_blog_is_not_a_thread():
    """Timestamps between paragraphs that name nobody are the article's own entries."""
    entries = []
    for i in range(5):
        entries += [f"2021-08-05 0{i + 8}:15", ARTICLE_LINE]
    doc = _strip("\n".join([ARTICLE_LINE] * 2 + entries))
    assert not any((ln.removed_by or "").startswith("tail.") for ln in doc.lines)
    assert sum(1 for ln in doc.lines if ln.kept and ln.text == ARTICLE_LINE) == 7


def test_dated_diary_falls_back_to_a_conservative_extraction():
    """Nothing here looks like prose or like a short-line article (every line holds
    digits), yet it is a real text: rather than emptying it, keep what no rule removed."""
    lines = [
        "山居日记 - 老周的小站",
        "首页",
        "3月2日 晴 早上去菜场买了两斤青菜 回家熬了一锅白粥",
        "3月3日 阴 院子里的桃树冒出了花苞 小孙女数了半天也没数清",
        "3月4日 小雨 一整天没出门 把去年的旧书重新翻了一遍",
        "3月5日 晴 和老李去河边钓鱼 他钓了三条 我一条也没有",
        "3月6日 多云 修好了漏水的水龙头 自己觉得很有成就感",
        "3月7日 晴 女儿打电话来说五一回家 老伴高兴得睡不着",
        "3月8日 晴 给桃树浇了水 花开了两朵 拍了照片发给女儿",
        "3月9日 阴 下午去村口的小卖部买盐 遇见多年不见的老同学",
        "Copyright © 2009-2012",
    ]
    doc = _strip("\n".join(lines))
    assert doc.extraction == "conservative"
    assert all(ln.kept for ln in doc.lines[2:10])
    assert doc.lines[1].removed_by == "bp.site_furniture"  # the rules still apply
    assert doc.confidence <= 0.3


def test_document_signals():
    menu = "\n".join(["首页", "新闻", "体育", "财经"])
    doc = _strip(f"{menu}\n" + "\n".join([ARTICLE_LINE] * 6) + "\n关于我们")
    assert doc.extraction == "main_block"
    total = sum(len(t) for t in ["首页", "新闻", "体育", "财经", "关于我们"]) + 6 * len(
        ARTICLE_LINE
    )
    assert doc.removed_share == round(12 / total, 4)
    assert 0.9 <= doc.confidence <= 1.0
    empty = _strip("\n".join(["首页", "新闻", "体育"]))
    assert (empty.extraction, empty.removed_share, empty.confidence) == ("empty", 1.0, 0.0)


def test_explain_reports_every_line_with_its_decision():
    from zhclean.run.explain import explain

    report = explain("首页\n" + "\n".join([ARTICLE_LINE] * 3) + "\n版权所有 某某网")
    head, _, table = report.partition("\n\n")
    assert head.startswith("extraction main_block")
    rows = table.splitlines()[1:]
    assert len(rows) == 5
    assert rows[0].split()[1:3] == ["-", "bp.site_furniture"]
    assert rows[1].split()[1:3] == ["+", "in"]
    assert rows[4].split()[1:3] == ["-", "bp.copyright"]


# -- round 2: mechanisms behind the failure modes of unseen pages ---------------------

VERSES = [
    "傍晚的河堤上 没有人说话",
    "我把外套搭在 你的肩膀",
    "路灯一盏一盏 亮到了桥头",
    "我们走得很慢 像怕走到尽头",
    "在嘴边绕了三圈 又咽了回去",
    "有人把再见 说成了明天见",
    "后来我一个人 又走过那座桥",
    "河水还是那样 不急也不慢",
    "卖烤红薯的老人 换成了年轻人",
    "只有风 还是那个方向",
]


def test_a_refrain_that_is_the_title_is_a_line_of_the_song():
    """The copy of the title above the lyrics is the heading; its copies inside the run
    of short lines are the chorus."""
    song = [*VERSES[:3], "晚风知道", *VERSES[3:6], "晚风知道", *VERSES[6:], "晚风知道"]
    doc = _strip("\n".join(["晚风知道 - 某歌手 - 歌词网", "首页", "晚风知道", *song, "复制歌词"]))
    kept = [ln.text for ln in doc.lines if ln.kept]
    assert kept == song  # the last line too: the song repeats it inside; not the button
    assert doc.lines[2].removed_by == TITLE_REPEAT
    assert doc.extraction == "short_lines"


def test_file_names_and_times_do_not_break_a_run_of_short_lines():
    page = []
    for i, verse in enumerate(VERSES):
        page += [f"IMG_40{i:02d}.JPG", f"0{i}:15", verse]
    doc = _strip("\n".join(["首页", *page, "版权所有 某某网"]))
    assert doc.extraction == "short_lines"
    assert [ln.text for ln in doc.lines if ln.kept and ln.text in VERSES] == VERSES
    assert all(ln.removed_by == "bp.media" for ln in doc.lines if ln.text.endswith(".JPG"))


DATED_TITLES = [
    "关于调整周末延时服务时间的通知：自3月起每周六上午正常办理业务。2024-02-28",
    "关于启用新版证书的公告，旧版证书继续有效，无需换发。2024-01-10",
    "关于开展业务培训的通知，请各乡镇派员参加。2023-12-14",
    "关于进一步规范收费的公告，减免政策延续执行。2023-08-30",
]


def test_dated_titles_of_one_shape_after_the_article_are_a_tail():
    doc = _strip("\n".join([ARTICLE_LINE] * 3 + ["相关通知", *DATED_TITLES, "版权所有 某某网"]))
    assert [ln.text for ln in doc.lines if ln.kept] == [ARTICLE_LINE] * 3
    assert {ln.removed_by for ln in doc.lines[3:-1]} == {"tail.records"}


def test_dated_lines_the_article_goes_on_after_are_not_a_tail():
    doc = _strip("\n".join([ARTICLE_LINE] * 3 + DATED_TITLES + [ARTICLE_LINE] * 3))
    assert all(ln.kept for ln in doc.lines)


def test_answer_cards_go_and_every_answer_stays():
    """Two answers or more, each under a card with one date: the cards go, the answers
    (records longer than the question) are no comment thread."""
    question = "请问新买的绿萝叶子发黄，是浇水太多了还是晒到太阳了？"
    answers = [ARTICLE_LINE.replace("今年", f"第{i}年") for i in range(4)]
    page = ["为什么绿萝叶子发黄？", question, "最佳答案"]
    for i, answer in enumerate(answers):
        page += [f"用户{i}", f"2021-05-1{i} 10:4{i}", f"赞同 {10 + i}", answer]
    page += ["赞同 3", "版权所有 某某网"]
    doc = _strip("\n".join(page))
    kept = [ln.text for ln in doc.lines if ln.kept]
    assert kept == [question, *answers]
    assert {ln.removed_by for ln in doc.lines if ln.text.startswith("赞同")} == {"record.card"}
    assert doc.lines[2].removed_by == "bp.qa"


def test_one_dated_card_between_paragraphs_is_not_a_record():
    doc = _strip("\n".join([ARTICLE_LINE, "某某市人民政府", "2022年1月27日", ARTICLE_LINE]))
    assert not any(ln.removed_by == "record.card" for ln in doc.lines)


def test_an_announced_list_is_kept_to_its_signature_and_date():
    intro = "经评审，决定授予以下同志年度先进个人称号，名单如下："
    names = [f"{n} 市第{i}人民医院" for i, n in enumerate(["张晓峰", "李婷婷", "王建国", "陈思远",
             "刘春梅", "赵宏伟", "孙丽娟", "周文斌"], 1)]  # fmt: skip
    closing = ["某某市卫生健康委员会", "2023年12月18日"]
    page = [
        *[ARTICLE_LINE] * 2,
        intro,
        *names,
        *closing,
        "附件下载：",
        "名单.pdf",
        "版权所有 某某网",
    ]
    doc = _strip("\n".join(page))
    kept = [ln.text for ln in doc.lines if ln.kept]
    assert kept == [*[ARTICLE_LINE] * 2, intro, *names, closing[0]]
    # the closing date is the page's date here (no header gave one): metadata, not text
    assert doc.lines[len(page) - 4].removed_by == "meta.dateline"
    assert "名单.pdf" not in kept


def test_contacts_below_the_article_stay_only_in_a_notice_that_closes_with_a_date():
    contacts = ["联系电话：0736-5821306", "联系地址：某某路88号"]
    notice = _strip("\n".join([*[ARTICLE_LINE] * 3, *contacts, "某某局", "2024年8月6日"]))
    assert all(ln.kept for ln in notice.lines[3:6])
    footer = _strip("\n".join([*[ARTICLE_LINE] * 3, *contacts, "版权所有 某某网"]))
    assert not any(ln.kept for ln in footer.lines[3:])


def test_a_field_table_joins_the_text_under_its_heading_only():
    specs = ["品牌：山野", "型号：SY-WS02", "面料：莫代尔针织面料", "产地：浙江嘉兴"]
    doc = _strip("\n".join(["首页", "产品参数", *specs, *[ARTICLE_LINE] * 3, "版权所有 某某网"]))
    assert all(ln.kept for ln in doc.lines[2:6])
    record = ["索引号：11410000-2023-00123", "主题分类：综合政务", "发文字号：某政〔2023〕12号"]
    doc = _strip("\n".join(["关于做好防汛工作的通知", *record, *[ARTICLE_LINE] * 3]))
    # a page's record of fields under its title is not pulled in as a table (its last two
    # lines join the block as near-good lines, as in round 1)
    assert not doc.lines[1].kept


def test_dated_references_at_the_end_of_an_article_stay():
    refs = [
        f"[{i}] 作者{i}. 关于某某问题的研究报告[N]. 某某日报, 2019-05-0{i}." for i in range(1, 5)
    ]
    doc = _strip("\n".join([*[ARTICLE_LINE] * 3, "参考文献", *refs]))
    assert all(ln.kept for ln in doc.lines[4:])
