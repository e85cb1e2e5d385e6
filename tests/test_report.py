"""The run decision and report, as pure functions."""

from __future__ import annotations

from zhclean.core.params import RunParams
from zhclean.core.record import Outcome, SourceRef
from zhclean.run.context import Run
from zhclean.run.plan import RunPlan
from zhclean.run.report import (
    build_report,
    decide,
    render_markdown,
    stage_table,
    summary_lines,
    tally_run,
)
from zhclean.run.shard import ShardResult


def _plan(n_process: int, n_unchanged: int = 0) -> RunPlan:
    refs = [SourceRef(f"/in/{i}.txt", f"{i}.txt", 10) for i in range(n_process + n_unchanged)]
    return RunPlan(sources=refs, to_process=refs[:n_process], new=[r.source for r in refs[:n_process]],
                   unchanged=[r.source for r in refs[n_process:]])  # fmt: skip


def _result(statuses: list[str]) -> ShardResult:
    outcomes = [Outcome(f"{i}.txt", f"{i:032x}", "0" * 64, s, *((None, None) if s == "published" else
                        ("read.binary_file", f"binary file {i}")))
                for i, s in enumerate(statuses)]  # fmt: skip
    write = {"name": "write", "docs_in": len(statuses), "docs_out": 0, "docs_rejected": 0,
             "counters": {"bytes_in": 100}}  # fmt: skip
    return ShardResult(0, outcomes=outcomes, stats=[write])


def test_gate_fails_only_above_the_fraction():
    plan = _plan(20)
    at_limit = tally_run(plan, [_result(["published"] * 19 + ["quarantined"])])  # 5%
    assert decide(at_limit, 0.05, False).status == "published"
    above = tally_run(plan, [_result(["published"] * 18 + ["quarantined"] * 2)])  # 10%
    decision = decide(above, 0.05, False)
    assert (decision.status, decision.publish) == ("blocked_by_gate", False)
    assert "2/20 inputs quarantined (10.0%) > max 5.0%" in decision.message


def test_lost_document_is_an_accounting_error():
    tally = tally_run(_plan(3), [_result(["published", "published"])])  # one outcome missing
    assert not tally.balanced
    assert decide(tally, 1.0, False).status == "accounting_error"


def test_nothing_to_do_and_full_refresh():
    tally = tally_run(_plan(0, 4), [])
    assert tally.balanced and decide(tally, 0.05, False).status == "nothing_to_do"
    assert decide(tally, 0.05, True).publish


def test_failed_checks_are_counted_with_examples():
    result = _result(["published", "quarantined", "quarantined", "quarantined", "quarantined"])
    tally = tally_run(_plan(5), [result], max_examples=3)
    assert tally.failed_checks == [
        {
            "check": "read.binary_file",
            "count": 4,
            "examples": [{"source": f"{i}.txt", "reason": f"binary file {i}"} for i in (1, 2, 3)],
        }
    ]
    assert tally.totals == {"bytes_in": 100}


def test_markdown_and_summary_render(tmp_path):
    plan = _plan(2)
    results = [_result(["published", "quarantined"])]
    tally = tally_run(plan, results)
    run = Run("r1", RunParams(input_dir="/in", output_dir="/out"), "/in", "/out")
    report = build_report(run, plan, results, tally, decide(tally, 0.05, False),
                          dataset_checks=[], snapshot=None, reasons={}, flow_run_id="f")  # fmt: skip
    assert report["parameters"]["max_quarantine_fraction"] == 0.05 and report["input_dir"] == "/in"
    text = render_markdown(report)
    assert "**Status: BLOCKED_BY_GATE**" in text and "`read.binary_file` | 1 |" in text
    assert summary_lines(report)[0] == "run r1: blocked_by_gate"


def test_stage_table_puts_each_figure_under_its_own_column():
    plan = _plan(2)
    results = [_result(["published", "quarantined"])]
    tally = tally_run(plan, results)
    run = Run("r1", RunParams(), "/in", "/out")
    report = build_report(run, plan, results, tally, decide(tally, 0.05, False), dataset_checks=[],
                          snapshot=None, reasons={"bp.x": "a menu"}, flow_run_id="f")  # fmt: skip
    report["removals_by_rule"] = [{"rule_id": "bp.x", "lines": 3, "chars": 40, "reason": "a menu"}]
    rows = {row["kind"]: row for row in stage_table(report)}
    assert rows["stage"]["docs_in"] == 2 and rows["stage"]["lines"] == ""
    assert (rows["rule"]["lines"], rows["rule"]["chars"], rows["rule"]["docs_in"]) == (3, 40, "")
    assert (rows["gate"]["value"], rows["gate"]["limit"], rows["gate"]["docs_in"]) == (
        0.5,
        0.05,
        "",
    )
    assert len({tuple(row) for row in stage_table(report)}) == 1  # one set of columns
