"""Collapsed punctuation (issue 19): text whose 。，、 were all written as '.' is found and
given its marks back; every other text stays exactly as it was."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.punct_eval import collapse_marks, reference_text, repo_documents, score_documents
from tests.conftest import REPO, seed_text
from zhclean.contract.rows import documents_table
from zhclean.core.record import Document
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.punctuation import (
    MARKS,
    PunctModel,
    PunctuationRestorer,
    candidates,
    collapsed_lines,
    restore_documents,
    restore_text,
)
from zhclean.normalizers.script import ScriptConverter
from zhclean.normalizers.text import TextNormalizer, normalize_lines, normalize_text
from zhclean.run.explain import explain
from zhclean.run.pipeline import build_pipeline

# What restoration reaches on the repository's own punctuated text (seeds 001-004 and the
# 34 dev pages' gold, collapsed; none of it is trained on), less a margin: a model or a
# change that does worse fails here (the second model, one network on less text, does:
# 0.677, 0.594 and 74.4%). Measured values: see the README ("Punctuation restoration").
FLOOR = {"sentence_boundary_f1": 0.685, "enum_comma_f1": 0.60, "marks_right": 0.75}


def _front(text: str) -> Document:
    """A document through read-free front part of the pipeline, up to the split."""
    pipe = build_pipeline(tokenize=False, validate=False, now=datetime(2026, 11, 1))
    return next(iter(pipe([Document.from_text(text, "000.txt")])))


@pytest.fixture(scope="module")
def seed_000() -> Document:
    return _front(seed_text("000"))


def test_seed_000_reads_as_chinese(seed_000):
    text = seed_000.text
    assert seed_000.punctuation == "restored"
    assert "习近平、李源潮等中央领导同志" in text
    assert "习近平。" not in text and "习近平." not in text
    # clauses are joined by ，: far fewer sentences than the 229 fragments of before
    assert text.count("，") >= 40
    assert len(seed_000.sentences) < 120
    assert "." not in text.replace("'", "")  # every collapsed dot got a mark
    assert seed_000.raw_text == seed_text("000")


def test_seed_000_counts_and_confidence(seed_000):
    assert seed_000.punct_restored == sum(text.count(m) for m in MARKS for text in [seed_000.text])
    assert 0.0 < seed_000.punct_confidence <= 1.0
    row = documents_table([_with_ids(seed_000)], "r", datetime(2026, 11, 1)).to_pylist()[0]
    assert row["punctuation"] == "restored" and row["punct_restored"] == seed_000.punct_restored
    assert row["confidence"] == min(seed_000.confidence, seed_000.punct_confidence)


def _with_ids(doc: Document) -> Document:
    doc.doc_id, doc.content_sha256, doc.encoding, doc.script = "0" * 32, "0" * 64, "utf-8", "hans"
    return doc


def test_other_seeds_keep_their_punctuation():
    for prefix in ("001", "002", "003", "004"):
        assert normalize_lines(seed_text(prefix))[1] == {}, prefix
        doc = _front(seed_text(prefix))
        assert doc.punctuation == "original" and doc.punct_restored == 0
        assert doc.punct_confidence is None
    assert "奖扶对象1.789亿奖扶资金" in normalize_text(seed_text("004"))


def test_dev_and_class_pages_are_never_detected(webtext_pages):
    """Real pages with stray dots ("肾病.糖尿病.痛风一绝", a forum reply written with '.'
    as its full stop, "鎮公所. 石岡鎮誌. 2012.") keep the normalizer's old reading."""
    for page, row in webtext_pages.items():
        assert collapsed_lines(normalize_text(row["raw"])) == {}, page
    for path in sorted((REPO / "evals" / "data" / "classes").rglob("*.txt")):
        assert normalize_lines(path.read_text(encoding="utf-8"))[1] == {}, path.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a stray dot among normal punctuation: a full stop, as before
        ("我觉得这很重要，大家都同意.但是还要讨论。", "我觉得这很重要，大家都同意。但是还要讨论。"),
        # one dot after Han and nothing else to go by: as before
        ("很好.推荐", "很好。推荐"),
    ],
)
def test_stray_dots_stay_full_stops(text, expected):
    assert normalize_text(text) == expected


def test_protected_spans_and_list_numbers_survive_restoration():
    raw = (
        "国家兑现1.789亿奖扶资金.涉及群众120万人.访问www.gov.cn查看.版本v2.3.1发布.满意率为99.7%."
        "要求如下.1.加强学习.2.提高认识.各地要认真落实.确保工作取得实效"
    )
    text, collapsed = normalize_lines(raw)
    assert collapsed
    restored, decisions = restore_text(to_simplified(text), collapsed)
    for kept in ("1.789亿", "www.gov.cn", "v2.3.1", "99.7%", "1.加强学习", "2.提高认识"):
        assert kept in restored, kept
    assert len(restored) == len(raw)
    assert all(restored[d.offset] in MARKS for d in decisions)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["我们", "北京", "上海", "1.5", "v2", "等", "发展", "好", "了"]),
                min_size=1, max_size=40),
       st.lists(st.sampled_from([".", "", "", ". ", "..."]), min_size=40, max_size=40))  # fmt: skip
def test_restoration_only_turns_dots_into_marks(words, seps):
    raw = "".join(w + s for w, s in zip(words, seps, strict=False))
    text, collapsed = normalize_lines(raw)
    restored, decisions = restore_text(text, collapsed)
    assert len(restored) == len(text)
    changed = [i for i, (a, b) in enumerate(zip(text, restored, strict=True)) if a != b]
    assert changed == sorted(d.offset for d in decisions)
    assert all(text[i] == "." and restored[i] in MARKS for i in changed)
    # a restored text is not collapsed any more, and normalizing it again changes nothing
    assert normalize_lines(restored) == (restored, {})


def test_a_line_gets_the_same_marks_alone_or_in_a_batch():
    """Deterministic: a line's probabilities do not depend on the other lines with it."""
    model = PunctModel.load()
    lines = [collapse_marks(reference_text(t)).split("\n")[0] for t in repo_documents()[:6]]
    items = [(ln, candidates(ln)) for ln in lines if candidates(ln)]
    together = model.predict(items)
    for item, probs in zip(items, together, strict=True):
        alone = model.predict([item])[0]
        assert np.array_equal(alone, probs)


def test_every_line_gets_the_same_marks_alone_or_in_a_large_batch():
    """Every collapsed line of the repository's text (about 9,000 candidates in one batch:
    tall products, where OpenBLAS changes kernels) gets the probabilities it gets alone."""
    model = PunctModel.load()
    lines = [
        ln
        for t in repo_documents()
        for ln in collapse_marks(reference_text(t)).split("\n")
        if candidates(ln)
    ]
    items = [(ln, candidates(ln)) for ln in lines]
    assert sum(len(c) for _, c in items) > 5000
    together = model.predict(items)
    for item, probs in zip(items, together, strict=True):
        assert np.array_equal(model.predict([item])[0], probs)


def _restore(text: str) -> str:
    normalized, collapsed = normalize_lines(text)
    return restore_text(to_simplified(normalized), collapsed)[0]


@pytest.mark.parametrize("width", [23, 37, 50, 80])
def test_a_hard_wrapped_paragraph_gets_the_marks_of_the_whole_paragraph(width):
    """Seed 000 hard-wrapped at a fixed width (a dot may start a line, a line may end
    with one) is read as one paragraph: the same marks as the unwrapped text."""
    raw = seed_text("000")
    title, body = raw.split("\n", 1)
    body = body.strip()
    wrapped = title + "\n" + "\n".join(body[i : i + width] for i in range(0, len(body), width))
    whole, pieces = _restore(raw), _restore(wrapped)
    assert len(pieces.split("\n")) > 10
    assert pieces.replace("\n", "") == whole.replace("\n", "")


def test_paragraphs_of_their_own_are_read_one_by_one():
    """Lines that end with their mark are separate paragraphs, however many and however
    alike their lengths: each reads the same alone as beside the others, and a line
    without a collapsed dot after them is left as it is."""
    paragraphs = [
        "今天天气很好.我们去公园散步.看到很多人在锻炼.",
        "明天要下雨了.记得带伞出门.注意交通安全事项.",
        "后天是周末啊.一起去爬山吧.然后在山下吃饭了.",
    ]
    text = "\n".join([*paragraphs, "附件1.会议纪要"])
    both = restore_documents([([*paragraphs, "附件1.会议纪要"], {0: None, 1: None, 2: None})])[0]
    for k, line in enumerate(paragraphs):
        alone = restore_documents([([line], {0: None})])[0][0]
        assert np.array_equal(both[k].probs, alone.probs)
    assert _restore(text).split("\n")[3] == "附件1.会议纪要"
    assert all(line.endswith("。") for line in _restore(text).split("\n")[:3])


def test_paragraphs_of_one_length_are_not_joined_by_their_width():
    """Paragraphs that happen to have one length (verse, short items: each ends with its
    dot) are not a text cut at a width: each reads as it does alone."""
    paragraphs = [
        "今天天气真的很好.我们去公园散步.看到很多人在锻炼.",
        "明天可能要下雨了.记得带伞出门去.注意交通安全事项.",
        "后天终于是周末啊.一起去爬山好吗.然后在山下吃饭了.",
    ]
    assert len({len(p) for p in paragraphs}) == 1
    text = "\n".join([*paragraphs, "第二部分 工作安排"])
    assert _restore(text).split("\n") == [*(_restore(p) for p in paragraphs), "第二部分 工作安排"]


@pytest.mark.parametrize(
    "after",
    ["......好吧.我们明天再走.", ".NET平台开发", ".pdf文件查看.请大家下载.", ".5版.已经发布."],
)
def test_a_leading_dot_that_is_no_mark_stays(after):
    """A continuation line that starts with an ellipsis, a name, an extension or a decimal
    keeps that dot: only a dot that Han or an opening mark follows ends the clause before."""
    before = "他想了很久.大家都在等他.终于开口说道"
    out = _restore(before + "\n" + after).split("\n")
    assert out[1][:2] == after[:2]


def test_a_list_item_starts_its_own_paragraph():
    """A line that starts with a list number is not the continuation of the line before,
    and its number stays as written."""
    lines = [
        "1.加强理论学习.提高思想认识.增强责任意识",
        "2.深入调查研究.掌握第一手资料.解决实际问题",
        "3.改进工作作风.密切联系群众.提高工作效率",
    ]
    out = _restore("\n".join(lines)).split("\n")
    assert [line[:2] for line in out] == ["1.", "2.", "3."]
    assert out == [_restore(line) for line in lines]


def test_a_line_with_its_own_dots_is_not_joined_to_a_collapsed_one():
    """A line after a collapsed line that ends mid-clause is joined only when it carries no
    dot and no mark of its own: a line with a real dot (a product name) keeps it."""
    text = "今天我们学习了新的方法.大家都觉得很有用.下载安装\niPhone.然后打开应用即可\n"
    lines = _restore(text).split("\n")
    assert lines[1] == "iPhone.然后打开应用即可"


def _seed_000_item() -> tuple[str, list[int]]:
    text, collapsed = normalize_lines(seed_text("000"))
    line = to_simplified(text).split("\n")[next(iter(collapsed))]
    return line, candidates(line)


def test_a_long_line_gets_the_same_probabilities_alone_or_beside_its_copies():
    """Seed 000's line (229 candidates) alone, beside a copy of itself (the same length
    group of the recurrence) and beside other lines: the same probabilities, bit for bit."""
    model = PunctModel.load()
    item = _seed_000_item()
    other = "今天天气很好.我们去公园散步.看到很多人在锻炼"
    alone = model.predict([item])[0]
    for batch in ([item, item], [item, (other, candidates(other)), item]):
        for probs in model.predict(batch)[:: len(batch) - 1]:
            assert np.array_equal(probs, alone)


def _packaged_arrays() -> dict[str, np.ndarray]:
    """The arrays of the packaged model file, as PunctModel.load reads them."""
    packaged = resources.files("zhclean") / "data" / "punct_model.npz"
    with resources.as_file(packaged) as path, np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _meta_without_count(arrays: dict[str, np.ndarray]) -> dict:
    return {k: v for k, v in json.loads(str(arrays["meta"])).items() if k != "members"}


def test_the_model_is_the_mean_of_its_networks():
    """The packaged model averages the probabilities of networks trained with other seeds;
    a file holding one of them (its arrays without the ``m<i>.`` prefix) is a model whose
    probabilities are that network's alone."""
    arrays = _packaged_arrays()
    model = PunctModel(arrays)
    assert len(model.networks) == json.loads(str(arrays["meta"]))["members"] >= 2
    item = _seed_000_item()
    alone = []
    meta = _meta_without_count(arrays)
    for i in range(len(model.networks)):
        one = {k.removeprefix(f"m{i}."): v for k, v in arrays.items() if k.startswith(f"m{i}.")}
        single = PunctModel({**one, "meta": np.array(json.dumps(meta)), "vocab": arrays["vocab"]})
        assert len(single.networks) == 1
        alone.append(single.predict([item])[0])
    assert not np.allclose(alone[0], alone[1], atol=1e-3)  # the members do differ
    mean = sum(alone[1:], alone[0].copy()) / np.float32(len(alone))
    np.testing.assert_allclose(model.predict([item])[0], mean, rtol=0, atol=1e-6)


def test_a_file_of_prefixed_networks_without_their_count_is_refused():
    arrays = _packaged_arrays()
    meta = _meta_without_count(arrays)
    with pytest.raises(ValueError, match="members"):
        PunctModel({**arrays, "meta": np.array(json.dumps(meta))})


class _CountingModel(PunctModel):
    """The packaged model, recording the lines it computes."""

    def __init__(self) -> None:
        self.__dict__.update(PunctModel.load().__dict__)
        self.computed: list[str] = []

    def _predict(self, items):
        self.computed += [line for line, _ in items]
        return super()._predict(items)


def test_copies_of_a_collapsed_document_are_computed_once():
    """Reposted collapsed text (the benchmark corpus is such copies): each distinct line
    goes through the network once per batch, and every copy gets the same marks."""
    model = _CountingModel()
    step = PunctuationRestorer(model)
    docs = [
        Document.from_text(seed_text(p), f"{k}/{p}.txt") for k in range(4) for p in ("000", "001")
    ]
    for s in (TextNormalizer(), ScriptConverter()):
        s.run(docs)
    step.run(docs)
    assert len(model.computed) == 1
    restored = [d for d in docs if d.punct_restored]
    assert len(restored) == 4 and len({(d.text, d.punct_confidence) for d in restored}) == 1
    assert restored[0].text == _restored_alone(seed_text("000"))


def _restored_alone(raw: str) -> str:
    doc = Document.from_text(raw, "000.txt")
    for s in (TextNormalizer(), ScriptConverter(), PunctuationRestorer()):
        s.run([doc])
    return doc.text


def test_restoration_beats_the_floor_on_real_text():
    """Seeds 001-004 and the dev pages' gold, every 。，、 collapsed to '.', restored
    through the runtime's own path (not trained on)."""
    ours, base = score_documents(repo_documents())
    s, b = ours.summary(), base.summary()
    assert s["marks"] > 8000 and ours.skipped == 0
    assert s["sentence_boundary_f1"] >= FLOOR["sentence_boundary_f1"], s
    assert s["enum_comma"][2] >= FLOOR["enum_comma_f1"], s
    assert s["marks_right"] >= FLOOR["marks_right"], s
    assert s["sentence_boundary_f1"] > b["sentence_boundary_f1"] + 0.1


def test_step_counts_and_leaves_normal_documents_alone():
    docs = [Document.from_text(seed_text(p), f"{p}.txt") for p in ("000", "001", "004")]
    normalizer, converter, step = TextNormalizer(), ScriptConverter(), PunctuationRestorer()
    for s in (normalizer, converter):
        s.run(docs)
    before = [d.text for d in docs]
    step.run(docs)
    assert docs[0].text != before[0] and docs[1:] and [d.text for d in docs[1:]] == before[1:]
    counters = step.stats.counters
    assert counters["documents_restored"] == 1
    assert counters["marks_restored"] == docs[0].punct_restored
    assert sum(counters[f"marks.{k}"] for k in ("full_stop", "comma", "enumeration_comma")) == (
        docs[0].punct_restored
    )


def test_explain_shows_each_restored_mark_and_its_probabilities():
    report = explain(seed_text("000"), now=datetime(2026, 11, 1))
    assert "punctuation restored:" in report
    rows = [ln for ln in report.splitlines() if "[、]李源潮" in ln]
    assert rows and "、" in rows[0].split()[2]
    assert "punctuation original" in explain(seed_text("001"), now=datetime(2026, 11, 1))
