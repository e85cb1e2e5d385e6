"""The ETL flow end to end through Prefect (one session-scoped test harness)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pyarrow.compute as pc
import pytest

from tests.badinput import SECRET, build_bad_corpus
from tests.conftest import DATA, SEEDS, copy_tree
from tests.flowutil import output_fingerprint, read, run_flow
from zhclean.run.store import LocalStore
from zhclean.validation.dataset import check_snapshot

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def seeds(tmp_path):
    return copy_tree(SEEDS, tmp_path / "seeds")


def _report(out):
    return LocalStore(out).read_report()


def test_seeds_end_to_end(seeds, tmp_path):
    out = tmp_path / "out"
    state = run_flow(seeds, out, workers=2)  # the process pool, as deployed
    assert state.is_completed(), state.message
    report = state.result()
    assert report["status"] == "published"
    assert report["counts"]["published"] == 5 and report["counts"]["quarantined"] == 0
    docs, sents, quarantine = (
        read(out, "documents"),
        read(out, "sentences"),
        read(out, "quarantine"),
    )
    assert docs.num_rows == 5 and quarantine.num_rows == 0
    # about 300 sentences: seed 000 makes whole sentences since its punctuation is restored
    assert sents.num_rows == report["counts"]["sentences"] > 250
    assert set(docs.column("source").to_pylist()) == {p.name for p in SEEDS.glob("*.txt")}
    rows = {r["source"][:3]: r for r in docs.to_pylist()}
    # seed 001 comes out Simplified, its boilerplate gone
    assert rows["001"]["script"] == "hant"
    assert "国家民委直属机关深入开展创先争优活动情况汇报会10月20日召开" in rows["001"]["text"]
    assert "當前位置" not in rows["001"]["raw_text"][:0] and "当前位置" not in rows["001"]["text"]
    for gone in ("相关链结", "图片图表", "栏目推荐", "领导活动 人事任免"):
        assert gone not in rows["001"]["text"]
    assert "延伸阅读" not in rows["002"]["text"] and "+阅读" not in rows["002"]["text"]
    assert "不代表本站观点" not in rows["004"]["text"]
    # decimals survive whole, in the text and as tokens
    assert "1.789亿奖扶资金" in rows["004"]["text"]
    tokens = [t for toks in sents.column("tokens").to_pylist() for t in toks]
    assert "1.789" in tokens and "99.7%" in tokens
    # the raw input is kept; every removal names its rule
    assert rows["001"]["raw_text"].startswith("當前位置")
    assert all(r["rule_id"] and r["text"] for r in rows["001"]["removed"])
    # how the text was extracted and how sure the cleaner is, for one-clause filters
    assert set(docs.column("extraction").to_pylist()) <= {
        "main_block",
        "short_lines",
        "conservative",
    }
    assert all(0 <= v <= 1 for v in docs.column("confidence").to_pylist())
    assert all(0 < v < 1 for v in docs.column("removed_share").to_pylist())
    assert all(c["passed"] for c in report["dataset_checks"])
    assert report["accounting"]["balanced"]
    # the same content gets the same doc_id on a rebuild
    again = run_flow(seeds, tmp_path / "out2")
    assert sorted(read(tmp_path / "out2", "documents").column("doc_id").to_pylist()) == sorted(
        docs.column("doc_id").to_pylist()
    )
    assert again.is_completed()


def test_one_worker_run_on_seeds_publishes_the_recorded_output(seeds, tmp_path):
    """The restructured pipeline publishes what the first version published, value for
    value (run ids and timestamps aside): tests/data/seed_output_fingerprint.json."""
    out = tmp_path / "out"
    assert run_flow(seeds, out, workers=1).is_completed()
    recorded = json.loads((DATA / "seed_output_fingerprint.json").read_text(encoding="utf-8"))
    fingerprint = output_fingerprint(out, recorded["columns"])
    assert fingerprint == {"documents": recorded["documents"], "sentences": recorded["sentences"]}


def test_incremental_sequence(seeds, tmp_path):
    out = tmp_path / "out"
    first = run_flow(seeds, out).result()
    snapshot = LocalStore(out).current_snapshot()
    assert first["counts"]["new"] == 5

    second = run_flow(seeds, out).result()
    assert second["status"] == "nothing_to_do" and second["counts"]["unchanged_skipped"] == 5
    assert LocalStore(out).current_snapshot() == snapshot  # nothing new published

    changed = next(seeds.glob("004_*.txt"))
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("人口计生", "人口和计划生育"), encoding="utf-8"
    )
    deleted = next(seeds.glob("000_*.txt"))
    deleted.unlink()
    old_ids = {r["source"]: r["doc_id"] for r in read(out, "documents").to_pylist()}
    third = run_flow(seeds, out).result()
    assert third["counts"]["changed"] == 1 and third["counts"]["unchanged_skipped"] == 3
    assert third["counts"]["missing"] == 1 and third["missing_sources"] == [deleted.name]
    docs = read(out, "documents")
    ids = docs.column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == 5  # the deleted source stays, no duplicates
    new_id = {r["source"]: r["doc_id"] for r in docs.to_pylist()}[changed.name]
    assert new_id != old_ids[changed.name]
    sentence_ids = set(read(out, "sentences").column("doc_id").to_pylist())
    assert (
        old_ids[changed.name] not in sentence_ids and new_id in sentence_ids
    )  # no stale sentences
    assert "人口和计划生育" in {r["source"]: r["text"] for r in docs.to_pylist()}[changed.name]
    snap = LocalStore(out).current_snapshot()
    assert all(c.passed for c in check_snapshot(snap / "documents", snap / "sentences"))

    full = run_flow(seeds, out, full_refresh=True).result()
    assert full["counts"]["processed"] == 4
    assert deleted.name not in read(out, "documents").column("source").to_pylist()

    # readers can take only what is new since a run: run ids sort by time
    docs = read(out, "documents")
    assert pc.sum(pc.greater(docs["run_id"], first["run_id"])).as_py() == 4


def test_bad_input_corpus_is_fully_accounted_for(tmp_path):
    expected = build_bad_corpus(tmp_path / "in")
    out = tmp_path / "out"
    state = run_flow(tmp_path / "in", out, max_quarantine_fraction=1.0)
    assert state.is_completed(), state.message
    report = state.result()
    published = set(read(out, "documents").column("source").to_pylist())
    quarantine = read(out, "quarantine").to_pylist()
    outcomes = {s: "published" for s in published}
    outcomes.update({q["source"]: f"{q['stage']}.{q['check']}" for q in quarantine})
    assert outcomes == expected
    assert len(published) + len(quarantine) == len(expected)  # inputs == documents + quarantined
    assert report["accounting"] == {"inputs": len(expected), "published": len(published),
                                    "would_have_published": 0, "quarantined": len(quarantine),
                                    "skipped": 0, "duplicates": 0, "deleted_during_run": 0,
                                    "balanced": True}  # fmt: skip
    for q in quarantine:
        assert (
            q["reason"]
            and q["run_id"] == report["run_id"]
            and q["input_root"] == str((tmp_path / "in").resolve())
        )
    by_source = {q["source"]: q for q in quarantine}
    # nothing from outside the input folder reaches any dataset or the report
    everything = json.dumps([read(out, n).to_pylist() for n in ("documents", "sentences", "quarantine")],
                            default=str, ensure_ascii=False) + json.dumps(report, ensure_ascii=False)  # fmt: skip
    assert SECRET.decode() not in everything and "FAKE-zhclean" not in everything
    # the log keeps a pointer (input_root/source), a hash and a size, never the content
    assert "raw_text" not in quarantine[0] and by_source["pipe.txt"]["content_sha256"] is None
    assert by_source["loop.txt"]["reason"].startswith("cannot read file")
    assert by_source["image.png"]["reason"] == "binary file (PNG image signature), not text"
    assert by_source["empty.txt"]["size_bytes"] == 0 and by_source["image.png"]["size_bytes"] > 1000
    # over the per-document cap: quarantined unread, with its size, its hash and the limit
    big = by_source["too_large.txt"]
    assert big["size_bytes"] == 9 * 2**20 and big["content_sha256"]
    assert big["reason"].startswith("file is 9,437,184 bytes, over the 8 MB per-document limit")


def test_quality_gate_blocks_publishing(seeds, tmp_path):
    out = tmp_path / "out"
    assert run_flow(seeds, out).is_completed()
    sources = LocalStore(out).current_manifest().sources
    before = {
        ds: {p.name: p.read_bytes() for p in (out / ds).iterdir()}
        for ds in ("documents", "sentences")
    }
    build_bad_corpus(seeds, with_seeds=False)  # add inputs, many of them bad
    state = run_flow(seeds, out)  # default max fraction 0.05
    assert state.is_failed()
    assert "quality gate" in state.message
    # previous data untouched, byte for byte, and no source marked as processed
    assert {ds: {p.name: p.read_bytes() for p in (out / ds).iterdir()} for ds in before} == before
    assert LocalStore(out).current_manifest().sources == sources
    # but the quarantine rows were committed with them, and the report written
    report = _report(out)
    assert report["status"] == "blocked_by_gate" and not report["gate"]["passed"]
    assert report["snapshot"]["files"]["quarantine"] >= 1
    assert read(out, "quarantine").num_rows == report["counts"]["quarantined"] >= 5
    assert report["failed_checks"] and report["failed_checks"][0]["examples"]


def test_a_blocked_first_run_leaves_readable_empty_datasets(tmp_path):
    """A first run the gate blocks publishes no documents, but every dataset still has a
    file: readers that glob the folder (DuckDB, polars) get 0 rows, not an error."""
    import duckdb
    import polars as pl

    from zhclean.core.params import RunParams
    from zhclean.run.local import run_local

    build_bad_corpus(tmp_path / "in", with_seeds=False)
    out = tmp_path / "out"
    report = run_local(RunParams(input_dir=str(tmp_path / "in"), output_dir=str(out)))
    assert report["status"] == "blocked_by_gate"
    for ds in ("documents", "sentences"):
        assert duckdb.sql(f"select count(*) from '{out / ds}/*.parquet'").fetchall() == [(0,)]
        assert pl.scan_parquet(f"{out / ds}/*.parquet").collect().height == 0
    assert read(out, "quarantine").num_rows >= 5


def test_report_json_and_artifact_content(seeds, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    out = tmp_path / "out"
    state = run_flow(seeds, out)
    report = json.loads(next((out / "_runs").glob("*.json")).read_text(encoding="utf-8"))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    by_key = {a.key: a for a in artifacts if a.key}
    assert by_key["zhclean-run-report"].type == "markdown"
    assert f"# zhclean run `{report['run_id']}`" in by_key["zhclean-run-report"].data
    assert "`model.boilerplate` | 24 |" in by_key["zhclean-run-report"].data
    assert by_key["zhclean-run-table"].type == "table"
    assert any(a.type == "progress" for a in artifacts)
    rules = {r["rule_id"]: r for r in report["removals_by_rule"]}
    assert rules["model.boilerplate"]["lines"] == 24 and rules["model.boilerplate"]["reason"]
    assert {s["name"] for s in report["stages"]} >= {"read", "normalize", "convert", "strip_boilerplate",
                                                      "extract_metadata", "split", "tokenize", "validate"}  # fmt: skip
    assert report["gate"]["passed"] and report["counts"]["mb_per_s"] > 0


def test_removed_output_snapshot_recovers(seeds, tmp_path):
    """A missing current snapshot (disk cleanup gone wrong) is rebuilt, not a crash."""
    out = tmp_path / "out"
    run_flow(seeds, out)
    shutil.rmtree(LocalStore(out).current_snapshot())
    state = run_flow(seeds, out)
    assert state.is_completed()
    assert read(out, "documents").num_rows == 5


_DOWNSTREAM_READER = """
import json, sys
import duckdb, pandas as pd, polars as pl

out = sys.argv[1]
seen = {}
with duckdb.connect() as con:
    for name in ("documents", "sentences"):
        rel = con.sql(f"select * from '{out}/{name}/*.parquet'")
        seen[name] = {
            "rows": [len(pd.read_parquet(f"{out}/{name}")),
                     pl.read_parquet(f"{out}/{name}/*.parquet").height, len(rel.fetchall())],
            "columns": [list(pd.read_parquet(f"{out}/{name}").columns), rel.columns],
        }
    docs = con.sql(f"select source, published_at, n_sentences from '{out}/documents/*.parquet'")
    seen["duckdb_types"] = [str(t) for t in docs.types]
    last = con.sql(f"select max(run_id) from '{out}/sentences/*.parquet'").fetchall()[0][0]
    seen["newer"] = con.sql(
        f"select count(*) from '{out}/sentences/*.parquet' where run_id > '{last}'").fetchall()[0][0]
tokens = pl.scan_parquet(f"{out}/sentences/*.parquet").select("tokens").collect()
seen["polars_tokens"] = str(tokens.schema["tokens"])
print(json.dumps(seen))
"""


def test_downstream_readers_see_the_contract(seeds, tmp_path):
    """The README's reading snippets (pandas, polars, DuckDB), run in a separate process as a
    downstream team would, see every row, the contract's columns and its types."""
    from zhclean.contract.arrow import DOCUMENTS, SENTENCES

    out = tmp_path / "out"
    assert run_flow(seeds, out).is_completed()
    proc = subprocess.run(
        [sys.executable, "-c", _DOWNSTREAM_READER, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(proc.stdout)
    for name, schema in (("documents", DOCUMENTS), ("sentences", SENTENCES)):
        assert seen[name]["rows"] == [read(out, name).num_rows] * 3
        assert seen[name]["columns"] == [schema.names] * 2
    assert seen["duckdb_types"] == ["VARCHAR", "TIMESTAMP", "INTEGER"]
    assert seen["polars_tokens"] == "List(String)"
    assert seen["newer"] == 0
