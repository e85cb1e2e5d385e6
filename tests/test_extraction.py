"""The line model and the bounds on how wrong a page can go (issue 18).

The bounds must hold whatever the model says: the property tests give every line of a
page an arbitrary score and check the stripper's decisions against them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, WEBTEXT_DEV
from zhclean.cleaners.boilerplate import LINE_MARKS, BoilerplateStripper
from zhclean.cleaners.features import INDEX, runs
from zhclean.cleaners.model import MODEL_FILE, LineModel
from zhclean.cleaners.rules import RuleSet
from zhclean.core.params import RunParams
from zhclean.core.simplify import to_simplified
from zhclean.normalizers.text import normalize_text
from zhclean.run import run_local

RULES = RuleSet.load()


def _gold_paragraphs() -> list[str]:
    lines = []
    for path in sorted(WEBTEXT_DEV.glob("*.gold.txt"))[:12]:
        lines += [ln for ln in path.read_text(encoding="utf-8").splitlines() if len(ln) >= 30]
    return lines[:200]


PROSE = _gold_paragraphs()
FURNITURE = ["首页", "新闻中心", "相关阅读", "版权所有 某某网", "上一篇：某某", "分享到：",
             "2024-05-06 10:21", "网友评论", "热点推荐", "· 一条新闻的标题", "------",
             "阅读（1234）", "我来说两句", "更多>>", "责任编辑：某某"]  # fmt: skip


def _decide(text: str, scores: list[float]):
    stripper = BoilerplateStripper(RULES)
    page = stripper.prepare(to_simplified(normalize_text(text)))
    stripper.featurize([page])
    page.p = np.resize(np.asarray(scores or [0.0]), len(page.rows))
    keep_before = page.p.copy()
    ex = stripper.decide(page)
    return page, ex, keep_before


def _narrative(page) -> np.ndarray:
    x, han = page.x, page.han
    decided = np.asarray(
        [page.lines[i].removed_by in (None, "model.boilerplate") for i in page.rows]
    )
    return (x[:, INDEX["is_good"]] > 0) & (han >= 20) & decided, han


pages = st.lists(
    st.one_of(st.sampled_from(PROSE), st.sampled_from(FURNITURE)), min_size=1, max_size=40
)
scores = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages, scores)
def test_no_cut_removes_more_narrative_than_it_keeps_without_evidence(lines, p):
    page, _, _ = _decide("\n".join(lines), p)
    narrative, han = _narrative(page)
    kept = np.asarray([page.lines[i].kept for i in page.rows])
    dropped_free = narrative & ~kept & ~page.evidence
    assert han[dropped_free].sum() <= han[narrative & kept].sum()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages, scores)
def test_the_longest_run_of_prose_is_never_dropped_for_a_shorter_block(lines, p):
    page, _, _ = _decide("\n".join(lines), p)
    narrative, han = _narrative(page)
    free = narrative & ~page.evidence
    run = runs(free)
    if not (run >= 0).any():
        return
    run_han = np.bincount(run[run >= 0], weights=np.where(free, han, 0.0)[run >= 0])
    best = int(np.argmax(run_han))
    kept = np.asarray([page.lines[i].kept for i in page.rows])
    members = (run == best) & free
    kept_of_run = han[members & kept].sum()
    assert kept_of_run >= 0.5 * run_han[best] or han[narrative & kept].sum() >= run_han[best]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages, scores, st.sampled_from(["------", "=======", "***", "· · ·", "——————————————"]))
def test_a_line_of_only_marks_is_always_removed_with_its_id(lines, p, marks):
    page, _, _ = _decide("\n".join([*lines, marks, *lines]), p)
    for i in page.rows:
        line = page.lines[i]
        if line.text == to_simplified(normalize_text(marks)):
            assert line.removed_by == LINE_MARKS


def _publish(tmp_path: Path, files: dict[str, str]) -> tuple[dict, list[dict], list[dict]]:
    inp = tmp_path / "in"
    inp.mkdir()
    for name, text in files.items():
        (inp / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    report = run_local(
        RunParams(input_dir=str(inp), output_dir=str(out), workers=1, max_quarantine_fraction=1.0)
    )
    tables = [
        ds.dataset(out / name, format="parquet", partitioning="hive").to_table().to_pylist()
        for name in ("documents", "sentences")
    ]
    return report, *tables


def test_short_texts_that_are_all_prose_are_published(tmp_path):
    """A poem and a short English note were quarantined as "all navigation, link lists or
    metadata"."""
    poem = "静夜思\n床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。\n"
    note = "Meeting moved to Thursday at 3 pm.\nPlease bring the printed slides and your notes.\n"
    report, docs, _ = _publish(tmp_path, {"poem.txt": poem, "note.txt": note})
    assert report["counts"]["quarantined"] == 0, report
    text = {d["source"]: d["text"] for d in docs}
    assert "床前明月光" in text["poem.txt"] and "低头思故乡" in text["poem.txt"]
    assert "Please bring the printed slides" in text["note.txt"]


def test_separator_lines_never_become_sentences(tmp_path):
    """A separator at the edge of the article became a sentence of only marks and sent a
    good document to quarantine (validate.not_only_boilerplate_markers)."""
    body = "\n".join(PROSE[:6])
    page = f"首页\n新闻\n------------------------------\n{body}\n==============================\n版权所有 某某网\n"
    report, docs, sentences = _publish(
        tmp_path, {"a.txt": page, "b.txt": page.replace("----", "****")}
    )
    assert report["counts"]["quarantined"] == 0, report
    assert len(docs) == 2
    marks = set("-=*_~·—|# ")
    assert not [s["text"] for s in sentences if set(s["text"]) <= marks]
    removed = [r["rule_id"] for d in docs for r in d["removed"]]
    assert LINE_MARKS in removed


# -- the model file ----------------------------------------------------------------------


def test_the_model_names_what_it_learned_from():
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    info = data["info"]
    assert info["script"] == "evals/train_extractor.py" and (REPO / info["script"]).exists()
    assert len(info["commit"]) == 40 and info["seed"]
    assert info["data"]["split"] == "dev" and info["data"]["lines"] > 10_000
    assert "evals/data/zh-html" in info["data"]["roots"]
    model = LineModel.load()
    assert len(model.first.roots) and len(model.second.roots) and 0 < model.threshold < 1
    assert model.second.features[: len(model.first.features)] == model.first.features


def test_the_numpy_trees_agree_with_their_contributions():
    model = LineModel.load()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, len(model.second.features))) * 3
    margin = model.second.margin(x)
    for row, m in zip(x, margin, strict=True):
        assert model.second.contributions(row).sum() == pytest.approx(m - model.second.expected)


@pytest.mark.slow
def test_training_is_deterministic():
    """Fixed seeds and one thread: training twice on the same pages writes the same model."""
    pytest.importorskip("sklearn")
    from evals import train_extractor as train

    def model() -> str:
        samples = train.load_samples([train.ZH_HTML], "dev", classes=False, webtext=False, limit=8)
        params = dict(train.PARAMS, max_iter=6)
        built = train.train_final(samples, 2, params, train.DECISIONS, [train.ZH_HTML])
        return json.dumps(built, sort_keys=True)

    first, second = model(), model()
    assert first == second
    data = json.loads(first)
    assert len(data["first"]["trees"]) == 6 and data["info"]["data"]["lines"] > 500
