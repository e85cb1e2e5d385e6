"""Normalization on real seed lines, with protected spans left untouched."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import seed_text
from zhclean.core.chars import split_lines
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.script import detect_script
from zhclean.normalizers.text import normalize_lines, normalize_text


def test_seed_000_collapsed_line_is_left_to_the_punctuation_step():
    """Seed 000 wrote every 。，、 as '.': the normalizer no longer reads them as full
    stops; it hands the line and its dots to the punctuation step (test_punctuation.py)."""
    text, collapsed = normalize_lines(seed_text("000"))
    assert list(collapsed) == [1]
    line = text.split("\n")[1]
    assert "11月2日.中共国家人口计生委党组书记李斌主持召开党组专题会议.集中学习" in line
    assert "'基层人口计生工作模范王桂珍事迹报告会'.广泛宣传" in line
    assert len(collapsed[1]) > 200 and all(line[p] == "." for p in collapsed[1])


def test_dot_full_stops_beside_normal_punctuation_still_become_chinese_full_stops():
    out = normalize_text("11月2日,中共国家人口计生委党组书记李斌主持召开党组专题会议.集中学习")
    assert out == "11月2日，中共国家人口计生委党组书记李斌主持召开党组专题会议。集中学习"


def test_seed_001_spaces_and_ascii_punctuation():
    out = normalize_text(seed_text("001"))
    assert (
        "中央政府門戶網站 www.gov.cn 2010年10月22日 來源：國家民委網站" in out
    )  # runs of spaces -> one
    assert "會議的主要任務是，認真學習" in out  # ASCII comma between Han -> ，
    assert "\u3000" not in out and "\u00a0" not in out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("全角ＡＢＣ１２３字母", "全角ABC123字母"),
        ("零宽\u200b字符\u200d和\ufeff控制\x07符", "零宽字符和控制符"),
        ("一\u3000二\u00a0三\u2003四", "一 二 三 四"),
        ("时间:2022-10-28 02:45:00", "时间：2022-10-28 02:45:00"),
        ("真的吗?!太好了", "真的吗？！太好了"),
        ("他说(见附件)已经处理", "他说（见附件）已经处理"),
        ("a\r\nb\rc\u2028d", "a\nb\nc\nd"),
        ("e\u0301", unicodedata.normalize("NFC", "e\u0301")),
        ("私用\ue5c2区图标", "私用区图标"),
    ],
)
def test_normalization_rules(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "kept",
    ["满意率为99.7%", "兑现1.789亿奖扶资金", "访问www.gov.cn查看", "版本v2.3.1发布", "邮件someone@example.com.cn",
     "网址http://新闻.example.cn/新闻.html", "C2C(Consumer to Consumer)", "10:30开会", "共1,038次"],
)  # fmt: skip
def test_protected_spans_untouched(kept):
    assert kept in normalize_text(f"说明：{kept}。")


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("我们的,:;?!().. 1.5%wgov\u3000\u200b\r\n\tＡ１「」")),
        max_size=80,
    )
)
def test_normalize_is_idempotent_and_keeps_line_structure(raw):
    once = normalize_text(raw)
    assert normalize_text(once) == once
    assert len(split_lines(raw)) == len(once.split("\n"))


def test_script_detection_on_seeds():
    assert detect_script(normalize_text(seed_text("001"))) == "hant"
    for prefix in ("000", "002", "003", "004"):
        assert detect_script(seed_text(prefix)) == "hans"
    assert detect_script("这是简体字。這是繁體字。") == "mixed"


def test_seed_001_converts_to_simplified_and_t2s_is_idempotent():
    simplified = to_simplified(normalize_text(seed_text("001")))
    assert "国家民委召开深入开展创先争优活动情况汇报会" in simplified
    assert to_simplified(simplified) == simplified


NONCHARACTERS = "\ufffe\uffff\ufdd0\ufdef\U0001fffe\U0010ffff"


def test_noncharacters_are_deleted_and_recorded():
    """Issue 17: U+FFFE, U+FFFF, U+FDD0 and U+10FFFF reached the published text and tokens."""
    from zhclean.core.record import Document
    from zhclean.normalizers.text import NONCHARACTERS as RULE
    from zhclean.normalizers.text import TextNormalizer

    raw = seed_text("004").replace("。", "。\ufffe", 3).replace("。", "\U0010ffff。\ufdd0", 2)
    assert normalize_text(raw) == normalize_text(seed_text("004"))
    for c in NONCHARACTERS:
        assert normalize_text(f"中{c}文") == "中文"
    doc = Document.from_text(raw)
    step = TextNormalizer()
    step.run([doc])
    assert not set(NONCHARACTERS) & set(doc.text)
    assert doc.removed == [(RULE, "7 noncharacter(s) deleted: U+FDD0, U+FFFE, U+10FFFF")]
    assert step.stats.counters["noncharacters_deleted"] == 7
    assert RULE in step.reasons()


def test_noncharacters_reach_neither_text_nor_tokens(tmp_path):
    import pyarrow.dataset as ds

    from zhclean.core.params import RunParams
    from zhclean.run import run_local

    (tmp_path / "in").mkdir()
    text = seed_text("004").replace("。", "。" + NONCHARACTERS, 2)
    (tmp_path / "in" / "doc.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    report = run_local(RunParams(input_dir=str(tmp_path / "in"), output_dir=str(out)))
    assert report["counts"]["published"] == 1
    doc = ds.dataset(out / "documents").to_table().to_pylist()[0]
    tokens = [t for s in ds.dataset(out / "sentences").to_table().to_pylist() for t in s["tokens"]]
    assert not set(NONCHARACTERS) & set(doc["text"] + "".join(tokens))
    assert ("normalize.noncharacters", "12 noncharacter(s) deleted: U+FDD0, U+FDEF, U+FFFE, "
            "U+FFFF, U+1FFFE, ...") in [tuple(r.values()) for r in doc["removed"]]  # fmt: skip
