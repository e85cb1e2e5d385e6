"""HTML saved as text: found, converted with a real parser, cleaned as usual, and never
published with its markup."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests.badinput import PROSE, html_inputs, html_page
from tests.conftest import SEEDS, WEBTEXT_DEV, seed_text
from zhclean.cleaners.boilerplate import StripperConfig
from zhclean.core.markup import find_markup
from zhclean.core.params import RunParams
from zhclean.core.record import Document
from zhclean.readers.files import list_sources
from zhclean.readers.html import HtmlRefused, html_to_text, looks_like_html, page_shape
from zhclean.run import run_local
from zhclean.run.pipeline import build_pipeline, rule_reasons
from zhclean.run.plan import scan_sources

CLASSES = WEBTEXT_DEV.parent / "classes"
# What must never reach text, sentences or tokens: tags, entities, script and style bodies,
# comments, template and noscript content, form controls.
LEAKS = ["<", "&gt", "&lt", "&nbsp", "&amp", "&ldquo", "&#", "function(", "function (",
         "document.", "window.", "var ", "font-family", "text-indent", "{", "}", "_hmt",
         "广告", "注释里的段落", "模板内容", "不支持JavaScript", "请输入回复内容", "请输入关键词",
         "搜索", "发表回复", "href", "class=", "jquery", "TRS_Editor", "doZoom", "color: red"]  # fmt: skip


def _real_texts() -> dict[str, str]:
    files = [*SEEDS.glob("*.txt"), *WEBTEXT_DEV.glob("*.txt"), *CLASSES.rglob("*.txt")]
    return {str(p): p.read_text(encoding="utf-8") for p in sorted(files)}


def test_detector_is_silent_on_real_text():
    texts = _real_texts()
    assert len(texts) >= 5 + 68 + 40  # seeds, dev pages and their gold, class pages
    assert [name for name, text in texts.items() if looks_like_html(text)] == []
    # text that mentions tags, or uses angle brackets as punctuation
    dev = next(t for t in texts.values() if '<a href="" title="">' in t)
    assert not looks_like_html(dev)  # "评论中可使用以下tags: <a href=""> <abbr> …"
    for text in ("《三体》又写作<<三体>>，<一个馒头的血案>也是。\n" + PROSE,
                 "<< 返回上一页\n" + PROSE + "\n发表评论 >>>", "若 a<b 且 b>c，则……\n" + PROSE,
                 PROSE + "用<b>标签可以加粗文字，用</b>结束。" + PROSE):  # fmt: skip
        assert not looks_like_html(text), text[:40]


def test_detector_finds_pages_and_fragments():
    for name in ("news.html", "forum.html", "entities.html", "gb18030.html"):
        assert looks_like_html(html_page(name)), name
    assert looks_like_html("<p>第一段。</p>\n<p>第二段。</p>")
    assert looks_like_html("<div>" * 3 + "正文" + "</div>" * 3 + "<br>")
    assert looks_like_html("第一行<br>第二行<br>第三行<br />第四行<BR>")


def test_conversion_is_one_block_per_line():
    page = html_to_text(html_page("news.html"))
    lines = page.text.split("\n")
    assert lines[0] == "我市启动2024年春季义务植树活动_新闻中心_某某网"  # <title> first
    assert "当前位置：首页 > 新闻中心 > 正文" in lines  # entities decoded, inline joined
    assert "一位参加活动的志愿者说：“每年春天都来，看着自己种的树一年年长大，很有成就感。”" in lines
    assert "图为植树活动现场。" in lines  # a block inside a block: its own line
    assert page.scripts == 5 and page.tags > 100
    assert not [leak for leak in LEAKS if leak in page.text and leak not in ("搜索",)]
    cells = html_to_text(
        "<table><tr><td>日</td><td>一</td></tr><tr><td>1</td><td>2</td></tr></table>"
    )
    assert cells.text == "日\n一\n1\n2"  # every cell on its own line, as crawler dumps have it
    assert html_to_text("<p>A&amp;nbsp;B &amp;gt; C</p>").text == "A\xa0B > C"  # escaped twice


# The page of issue 17: a <pre> block made Lexbor (through selectolax) segfault, killing
# `zhclean run` with exit 139. Each line of code must stay a line.
PRE_PAGE = (
    "<html><body><p>这是一个测试页面，用来检查解析器是否稳定。</p>"
    "<pre>def f(x):\n    return x + 1\n</pre></body></html>"
)
PRE_PAGES = [
    PRE_PAGE,
    "<pre>a\nb</pre>",
    "<div><pre><code>x = 1\ny = 2</code>\n<b>z</b>\n</pre><pre>one\ntwo</pre></div>",
]


def test_pre_blocks_convert_without_crashing_the_process():
    """In a subprocess, so that the segfault of the old code fails this test and not the
    session."""
    code = (
        "import json, sys\n"
        "from zhclean.readers.html import html_to_text\n"
        "print(json.dumps([html_to_text(p).text for p in json.load(sys.stdin)]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(PRE_PAGES), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    texts = json.loads(proc.stdout)
    assert texts[0].split("\n") == [
        "这是一个测试页面，用来检查解析器是否稳定。", "def f(x):", "return x + 1"
    ]  # fmt: skip
    assert texts[1] == "a\nb"
    assert texts[2].split("\n") == ["x = 1", "y = 2", "z", "one", "two"]


def _strings(cell) -> list[str]:
    if isinstance(cell, str):
        return [cell]
    if isinstance(cell, dict):
        return [s for v in cell.values() for s in _strings(v)]
    if isinstance(cell, list | tuple):
        return [s for v in cell for s in _strings(v)]
    return []


def _run(inp: Path, out: Path) -> tuple[dict, list[dict], list[dict], list[dict]]:
    report = run_local(
        RunParams(input_dir=str(inp), output_dir=str(out), max_quarantine_fraction=1.0)
    )
    tables = [
        ds.dataset(out / name, format="parquet", partitioning="hive").to_table().to_pylist()
        for name in ("documents", "sentences", "quarantine")
    ]
    return report, *tables


def test_html_pages_are_published_as_their_article_text(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    expected = {}
    for name, (data, outcome) in html_inputs().items():
        (inp / name).write_bytes(data)
        expected[name] = outcome
    (inp / "seed.txt").write_text(seed_text("004"), encoding="utf-8")
    report, documents, sentences, quarantine = _run(inp, tmp_path / "out")
    assert report["status"] == "published", report["message"]
    outcomes = {d["source"]: "published" for d in documents}
    outcomes.update({q["source"]: f"{q['stage']}.{q['check']}" for q in quarantine})
    assert outcomes == {**expected, "seed.txt": "published"}
    docs = {d["source"]: d for d in documents}

    # no markup, script, style or entity in anything published from the pages: every
    # column but raw_text (the decoded input, by contract), every sentence, every token
    html_ids = {d["doc_id"] for d in documents if d["source"].startswith("html_")}
    rows = [d for d in documents if d["doc_id"] in html_ids]
    rows += [s for s in sentences if s["doc_id"] in html_ids]
    published = [v for row in rows for c, cell in row.items() if c not in ("raw_text", "removed")
                 for v in _strings(cell)]  # fmt: skip
    assert len(published) > 100
    assert [(leak, v) for v in published for leak in LEAKS if leak in v] == []
    # removed lines are the page's text too (a pager's "<< 上一页" may stay in them)
    removed = [v for row in rows for v in _strings(row.get("removed"))]
    assert [v for v in removed if find_markup(v)] == []
    assert [(leak, v) for v in removed for leak in LEAKS[1:] if leak in v] == []
    tokens = {t for s in sentences if s["doc_id"] in html_ids for t in s["tokens"]}
    assert not tokens & {"<", ">", "div", "script", "nbsp", "gt", "href", "function", "var"}

    # the article text does reach documents and sentences
    news = docs["html_news.txt"]
    assert news["title"] == "我市启动2024年春季义务植树活动"
    assert str(news["published_at"]).startswith("2024-03-12 09:30")
    assert news["text"].startswith(
        "3月12日上午，我市2024年春季义务植树活动在城北生态公园正式启动。"
    )
    assert "让城市更绿、环境更美、生活更好。" in news["text"]
    assert "相关链接" not in news["text"] and "京ICP备" not in news["text"]
    assert "我家是九十年代的老房子" in docs["html_forum.txt"]["text"]
    assert "“人民至上、生命至上”，切实把防汛工作摆在突出位置……" in docs["html_entities.txt"]["text"]
    assert "汛期雨量≥50毫米时" in docs["html_entities.txt"]["text"]
    gb = docs["html_gb18030.txt"]
    assert gb["encoding"] == "gb18030" and gb["title"] == "关于做好2024年高温天气防暑降温工作的通知"
    assert "日最高气温达到四十摄氏度以上时，应当停止当日室外露天作业" in gb["text"]
    assert any("防暑降温" in s["text"] for s in sentences if s["doc_id"] == gb["doc_id"])

    # the conversion is recorded on the document, and raw_text stays the decoded input
    first = news["removed"][0]
    assert first["rule_id"] == "html.converted"
    assert (
        first["text"].startswith("converted from HTML: ")
        and "5 scripts/styles removed" in first["text"]
    )
    assert "html.converted" in rule_reasons()
    html_stage = next(st for st in report["stages"] if st["name"] == "html")
    assert html_stage["counters"]["converted"] == 4 and html_stage["counters"]["detected"] == 6
    assert news["raw_text"] == html_page("news.html") and "<script" in news["raw_text"]
    assert "html.converted" not in {r["rule_id"] for r in docs["seed.txt"]["removed"]}
    # the quarantine says why, for the page nested to stall the parser
    nested = next(q for q in quarantine if q["source"] == "html_nested.txt")
    assert "deep" in nested["reason"] and "not parsed" in nested["reason"]


def test_the_scan_counts_the_lines_of_a_page_as_the_stripper_sees_them(tmp_path):
    """Lines repeated across a folder are counted on an HTML page's converted text, the
    lines the stripper looks up (not the page's markup lines)."""
    notice = "本网站所刊登的各种新闻、信息和各种专题专栏资料，均为本网站版权所有。"
    paragraphs = [p for p in seed_text("004").split("\n") if len(p) > 60][:6]
    for i, para in enumerate(paragraphs):
        page = f"<html><head><title>第{i}篇</title></head><body><p>{para}</p><p>{notice}</p></body></html>"
        (tmp_path / f"p{i}.txt").write_text(page, encoding="utf-8")
    scan = scan_sources(list_sources(tmp_path), str(tmp_path))
    repeated = scan.repeated([""], StripperConfig.repeat_min_docs)[""]
    assert repeated.count(notice) == len(paragraphs)
    doc = Document.from_text(f"<html><body><p>{paragraphs[0]}</p><p>{notice}</p></body></html>")
    (out,) = build_pipeline(repeated={"": repeated}, tokenize=False, validate=False)([doc])
    assert notice not in out.text and notice in [t for _, t in out.removed]


HOSTILE = {
    "nested divs": "<div>" * 100_000 + "正文",
    "self-closed divs": "<div/>" * 100_000,
    "spans, then blocks": "<span>" * 50_000 + "<div></div>" * 50_000,
    "spans, then stray end tags": "<span></x>" * 100_000,
    "unclosed formatting, then blocks": "<b>x" * 50_000 + "<div>y</div>" * 50_000,
    "attributes holding <": '<div title="<">' * 100_000,
    "nested svg": "<svg>" + "<g>" * 100_000,
    "unclosed tables": "<table><tr><td>" * 40_000,
    "too many tags": "<p>x" * 600_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_pages_are_refused_before_parsing(name):
    html = "<html><body>" + HOSTILE[name]
    started = time.perf_counter()
    with pytest.raises(HtmlRefused) as err:
        html_to_text(html)
    assert time.perf_counter() - started < 5  # Lexbor alone takes minutes on some of these
    assert err.value.check in ("too_deep", "too_many_tags")


@pytest.mark.parametrize(
    "html",
    ["<select>" + "<option>城市</option>" * 100_000 + "</select><p>正文。</p>",
     "<a href=x>链接" * 100_000, "<ul>" + "<li>项目" * 100_000, "<script " * 100_000,
     "<!--" * 100_000, "<" * 500_000, '<a "\'' * 100_000],
    ids=["options", "unclosed links", "unclosed items", "unclosed scripts", "comments",
         "angle brackets", "quotes"],
)  # fmt: skip
def test_pathological_but_shallow_pages_convert_quickly(html):
    started = time.perf_counter()
    html_to_text("<html><body>" + html)  # select options are cut out: Lexbor is quadratic in them
    assert time.perf_counter() - started < 5


def test_shape_estimate_follows_the_browser():
    assert page_shape("<div><div><p>a<p>b</div></div>").depth == 2  # <p> closes <p>
    assert page_shape("<a>1<a>2<a>3").depth == 1  # <a> closes an open <a>
    assert page_shape("<div><span><b>x</div>" * 3).depth == 3  # </div> pops to its div
    assert page_shape("<svg>" + "<path d='M0'/>" * 50 + "</svg>").depth == 1
    assert page_shape("<script>" + "<div>" * 50 + "</script>").depth == 0


def test_markup_that_survives_is_quarantined_by_validation():
    """Belt and braces: text that was not detected as HTML but holds a tag or an entity."""
    inline = PROSE + "\n用<b>标签可以加粗文字。" + PROSE
    entity = PROSE + "\n各单位要高度重视这次会议，会议通知&nbsp;已经发出，请按时参加会议。"
    clean = PROSE + "\n若 a<b 且 b>c，《三体》又写作<<三体>>。AT&T 与 R&D 不是实体。"
    docs = [Document.from_text(t, f"d{i}.txt") for i, t in enumerate((inline, entity, clean))]
    for i, doc in enumerate(docs):
        doc.doc_id, doc.content_sha256 = f"{i:032d}", f"{i:064d}"
    out = list(build_pipeline()(docs))
    assert [(d.rejection.stage, d.rejection.check) if d.rejected else None for d in out] == [
        ("validate", "no_markup"),
        ("validate", "no_markup"),
        None,
    ]
    assert "<b>" in out[0].rejection.reason and "&nbsp" in out[1].rejection.failure_case


# -- the DOM evidence of every line (issue 18) -----------------------------------------


def _dom_rows(html: str) -> dict[str, dict[str, float]]:
    from zhclean.core.dom import COLUMNS

    page = html_to_text(html)
    lines = page.text.split("\n")
    assert page.dom is not None and len(page.dom) == len(lines)  # row i is line i
    return {
        line: dict(zip(COLUMNS, map(float, row), strict=True))
        for line, row in zip(lines, page.dom.values, strict=True)
    }


def test_every_line_carries_its_dom_evidence():
    rows = _dom_rows(
        "<html><head><title>标题 - 某某网</title></head><body>"
        '<nav><a href="/">首页</a> <a href="/n">新闻</a></nav>'
        '<div class="article-content"><h1>一个标题</h1><p>正文第一段，<a href="/x">链接</a>在这里。</p>'
        "<pre>int main() {\n  return 0;\n}</pre></div>"
        '<div class="comment-list"><ul><li><a href="/y">一条评论的标题</a></li></ul></div>'
        '<div style="display:none">隐藏的关键词</div>'
        "<footer>版权所有</footer></body></html>"
    )
    assert rows["标题 - 某某网"]["is_title"] == 1
    assert rows["首页 新闻"]["in_nav"] == 1 and rows["首页 新闻"]["link_share"] == 1
    assert rows["一个标题"]["heading"] == 1 and rows["一个标题"]["cls_content"] == 2
    text = rows["正文第一段，链接在这里。"]
    assert text["in_p"] == 1 and 0.1 < text["link_share"] < 0.3 and text["links"] == 1
    assert rows["int main() {"]["in_pre"] == 1 and "  return 0;" not in rows  # lines stripped
    assert rows["return 0;"]["in_pre"] == 1 and rows["}"]["in_pre"] == 1  # code keeps its lines
    item = rows["一条评论的标题"]
    assert (
        item["in_li"] == 1 and item["cls_comment"] == 4 and item["cls_content"] == 0
    )  # div ul li a
    assert rows["隐藏的关键词"]["hidden"] == 1
    assert rows["版权所有"]["in_footer"] == 1 and rows["版权所有"]["hidden"] == 0


def test_posts_of_one_structure_share_a_signature():
    from zhclean.core.dom import COLUMNS

    posts = "".join(
        f'<div class="post" id="post_{i}"><div class="msg">第{i}楼的回复内容。</div></div>'
        for i in range(4)
    )
    page = html_to_text(f'<div class="side"><p>侧栏</p></div>{posts}')
    lines = page.text.split("\n")
    sig = dict(zip(lines, page.dom.signature.tolist(), strict=True))
    assert len({sig[f"第{i}楼的回复内容。"] for i in range(4)}) == 1  # ids without their digits
    assert sig["侧栏"] != sig["第0楼的回复内容。"]
    containers = {page.dom.container[lines.index(f"第{i}楼的回复内容。")] for i in range(4)}
    assert len(containers) == 4  # each post is its own container
    assert page.dom.values[lines.index("第1楼的回复内容。"), COLUMNS.index("cls_post")] == 1  # msg


def test_source_lines_a_page_shows_are_kept_and_wrapped_paragraphs_joined():
    post = (
        "<div id='main-content'>作者 someone\n 第一行文字\n 第二行文字\n\n 第三行文字\n--\n</div>"
    )
    assert html_to_text(post).text.split("\n") == [
        "作者 someone", "第一行文字", "第二行文字", "第三行文字", "--"
    ]  # fmt: skip
    wrapped = "<p>The quick brown fox\njumps over the lazy dog\nand runs away.</p>"
    assert (
        html_to_text(wrapped).text == "The quick brown fox jumps over the lazy dog and runs away."
    )
    indented = "<div>\n    一段文字，只有一行。\n  </div>"
    assert html_to_text(indented).text == "一段文字，只有一行。"


def test_a_name_or_a_time_inside_a_line_is_a_line_of_its_own():
    push = (
        '<div class="push"><span class="push-tag">推 </span><span class="push-userid">someone'
        '</span><span class="push-content">: 这是推文的内容</span><span class="push-ipdatetime">'
        " 1.2.3.4 06/20</span></div>"
    )
    assert html_to_text(push).text.split("\n") == [
        "推",
        "someone",
        ": 这是推文的内容",
        "1.2.3.4 06/20",
    ]
    prose = '<p>一段文字里有<a href="/t">一个链接</a>和<b>粗体</b>，都在同一行。</p>'
    assert html_to_text(prose).text == "一段文字里有一个链接和粗体，都在同一行。"
