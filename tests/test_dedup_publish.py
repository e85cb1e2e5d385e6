"""Near-duplicates through the production path (``run_local``: scan, shards, publish) on
the seeds and reprints of them: links, handovers, drop mode, mode changes, the gate."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.badinput import build_bad_corpus
from tests.conftest import REPO, SEEDS, copy_tree
from tests.flowutil import read
from zhclean.core.params import RunParams
from zhclean.run.errors import UsageError
from zhclean.run.faults import FAULT_ENV
from zhclean.run.local import run_local
from zhclean.run.store import LocalStore

SEED = "000_19a07147e699225f.txt"


def _run(inp, out, **params):
    return run_local(RunParams(input_dir=str(inp), output_dir=str(out), workers=1, **params))


def _rows(out, dataset="documents"):
    table = read(out, dataset).select(["source", "doc_id", "duplicate_of", "dup_similarity"])
    return {r["source"]: r for r in table.to_pylist()}


@pytest.fixture
def reprinted(tmp_path):
    inp = copy_tree(SEEDS, tmp_path / "in")
    text = (SEEDS / SEED).read_text(encoding="utf-8")
    (inp / "site-b").mkdir()
    (inp / "site-b" / SEED).write_text(text.replace("委", "会", 2), encoding="utf-8")
    return inp, text


def test_mark_links_adds_and_hands_over_in_one_commit(reprinted, tmp_path):
    inp, text = reprinted
    out = tmp_path / "out"
    first = _run(inp, out)
    rows = _rows(out)
    rep_source = min((SEED, f"site-b/{SEED}"), key=lambda s: rows[s]["doc_id"])
    other = f"site-b/{SEED}" if rep_source == SEED else SEED
    rep = rows[rep_source]["doc_id"]
    assert rows[rep_source]["duplicate_of"] is None and rows[other]["duplicate_of"] == rep
    assert 0.5 <= rows[other]["dup_similarity"] < 1.0
    assert sum(r["duplicate_of"] is not None for r in rows.values()) == 1
    assert first["dedup"]["clusters"] == 1 and first["dedup"]["new_copies"] == 1
    manifest = LocalStore(out).current_manifest()
    assert manifest.files["_dedup"] and manifest.dedup["mode"] == "mark"

    (inp / "site-c").mkdir()  # a third copy: linked, nothing else changes
    (inp / "site-c" / SEED).write_text(text.replace("委", "会", 3), encoding="utf-8")
    second = _run(inp, out)
    after = _rows(out)
    assert after[f"site-c/{SEED}"]["duplicate_of"] == rep
    assert {s: after[s] for s in rows} == rows
    assert second["dedup"] == {**second["dedup"], "new_copies": 1, "copies": 2, "handovers": 0}

    # the representative's source changes: the other first-run copy takes the role
    path = inp / rep_source
    path.write_text(
        path.read_text(encoding="utf-8") + "\n后来补充的一段说明文字。", encoding="utf-8"
    )
    third = _run(inp, out)
    after = _rows(out)
    heir = rows[other]["doc_id"]
    assert third["dedup"]["handovers"] == 1
    assert after[other]["duplicate_of"] is None and after[other]["dup_similarity"] is None
    assert after[f"site-c/{SEED}"]["duplicate_of"] == heir
    assert after[rep_source]["duplicate_of"] == heir  # its new version is a later copy
    assert all(r["duplicate_of"] in (None, heir) for r in after.values())
    assert third["dataset_checks"] and all(c["passed"] for c in third["dataset_checks"])


def test_drop_publishes_representatives_and_lists_copies(reprinted, tmp_path):
    inp, _ = reprinted
    out = tmp_path / "out"
    first = _run(inp, out, dedup="drop")
    docs, dups = _rows(out), _rows(out, "duplicates")
    assert (
        len(docs) == 5 and len(dups) == 1 and all(r["duplicate_of"] is None for r in docs.values())
    )
    (copy,) = dups
    assert dups[copy]["duplicate_of"] in {r["doc_id"] for r in docs.values()}
    assert first["counts"]["duplicates"] == 1 and first["accounting"]["balanced"]
    assert first["counts"]["published"] == 5
    sentences = set(read(out, "sentences").column("doc_id").to_pylist())
    assert dups[copy]["doc_id"] not in sentences
    manifest = LocalStore(out).current_manifest()
    assert manifest.sources[copy].status == "duplicate"

    # re-running is a no-op; the representative changing hands the role to the copy,
    # which is processed again so that it can be published
    assert _run(inp, out, dedup="drop")["status"] == "nothing_to_do"
    rep_source = SEED if copy != SEED else f"site-b/{SEED}"
    path = inp / rep_source
    path.write_text(
        path.read_text(encoding="utf-8") + "\n后来补充的一段说明文字。", encoding="utf-8"
    )
    second = _run(inp, out, dedup="drop")
    assert second["counts"]["forced"] == 1 and second["accounting"]["balanced"]
    docs, dups = _rows(out), _rows(out, "duplicates")
    assert copy in docs and docs[copy]["duplicate_of"] is None
    assert set(dups) == {rep_source} and dups[rep_source]["duplicate_of"] == docs[copy]["doc_id"]


def test_changing_the_mode_needs_a_full_refresh(reprinted, tmp_path):
    inp, _ = reprinted
    out = tmp_path / "out"
    _run(inp, out)
    with pytest.raises(UsageError, match=r"--dedup mark.*--dedup drop.*--full-refresh"):
        _run(inp, out, dedup="drop")
    refreshed = _run(inp, out, dedup="drop", full_refresh=True)
    assert refreshed["status"] == "published" and len(_rows(out, "duplicates")) == 1


def test_off_links_nothing_and_does_not_load_the_library(reprinted, tmp_path):
    inp, _ = reprinted
    out = tmp_path / "out"
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r});"
        "from zhclean.run.local import run_local; from zhclean.core.params import RunParams;"
        f"r = run_local(RunParams(input_dir={str(inp)!r}, output_dir={str(out)!r}, workers=1,"
        " dedup='off'));"
        "import json; print(json.dumps([r['dedup'], 'rensa' in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [None, False]
    assert all(r["duplicate_of"] is None for r in _rows(out).values())
    assert "_dedup" not in LocalStore(out).current_manifest().files


def test_a_first_run_blocked_by_the_gate_does_not_block_the_next(tmp_path):
    inp = tmp_path / "in"
    build_bad_corpus(inp)
    out = tmp_path / "out"
    assert _run(inp, out, max_quarantine_fraction=0.0)["status"] == "blocked_by_gate"
    assert _run(inp, out, max_quarantine_fraction=1.0)["status"] == "published"


def test_a_document_that_crashes_the_sign_stage_costs_itself_and_the_rest_are_signed_once(
    reprinted, tmp_path, monkeypatch
):
    """The sign step runs in the shard's guarded child (zhclean.run.guard): a document that
    kills it (SIGSEGV inside the stage) is quarantined as ``sign.crash``; the batches
    shipped before the crash keep their signatures, the new children sign the rest, and
    no document is signed twice (a child is forked from a supervisor that holds the
    signatures received so far) or left out of the index."""
    inp, text = reprinted
    (inp / "site-c").mkdir()
    (inp / "site-c" / SEED).write_text(text.replace("委", "会", 3), encoding="utf-8")
    cut = text.index(".", len(text) // 2) + 1  # this seed ends its sentences with "."
    (inp / "site-d").mkdir()  # a reprint too, and the last input: its batch comes last
    (inp / "site-d" / SEED).write_text(text[:cut] + "@@SEGV@@" + text[cut:], encoding="utf-8")
    monkeypatch.setenv(FAULT_ENV, "segv:sign:@@SEGV@@")
    out = tmp_path / "out"
    # batches of 2: three shipped before the one the crash loses (site-c, site-d)
    report = _run(inp, out, batch_docs=2, max_quarantine_fraction=1.0)

    quarantine = read(out, "quarantine").select(["source", "stage", "check"]).to_pylist()
    assert quarantine == [{"source": f"site-d/{SEED}", "stage": "sign", "check": "crash"}]
    assert report["counts"]["published"] == 7 and report["accounting"]["balanced"]
    sign = next(s for s in report["stages"] if s["name"] == "sign")
    assert (sign["counters"]["signed"], sign["docs_rejected"]) == (7, 1)

    rows = _rows(out)
    store = LocalStore(out)
    index = [
        d
        for rel in store.current_manifest().files["_dedup"]
        for d in pq.read_table(store.path(rel), columns=["doc_id"]).column("doc_id").to_pylist()
    ]
    assert sorted(index) == sorted(r["doc_id"] for r in rows.values())  # each once

    copies = [SEED, f"site-b/{SEED}", f"site-c/{SEED}"]
    rep = min(rows[s]["doc_id"] for s in copies)  # one run: ties go to the smaller doc_id
    assert sorted(rows[s]["duplicate_of"] or "" for s in copies) == ["", rep, rep]
    assert sum(r["duplicate_of"] is not None for r in rows.values()) == 2
    assert report["dedup"]["clusters"] == 1 and report["dedup"]["new_copies"] == 2
