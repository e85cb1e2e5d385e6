"""The run decision and report, as pure functions."""

from __future__ import annotations

from zhclean.pipeline.shard import ShardResult, SourceOutcome
from zhclean.readers.files import SourceRef
from zhclean.report import decide, render_markdown, summary_lines, tally_run
from zhclean.storage.plan import RunPlan


def _plan(n_process: int, n_unchanged: int = 0) -> RunPlan:
    refs = [SourceRef(f"/in/{i}.txt", f"{i}.txt", 10) for i in range(n_process + n_unchanged)]
    return RunPlan(sources=refs, to_process=refs[:n_process], new=[r.source for r in refs[:n_process]],
                   unchanged=[r.source for r in refs[n_process:]])  # fmt: skip


def _result(statuses: list[str]) -> ShardResult:
    outcomes = [SourceOutcome(f"{i}.txt", f"{i:032x}", "0" * 64, s, None if s == "published" else "read.binary_file")
                for i, s in enumerate(statuses)]  # fmt: skip
    return ShardResult(0, outcomes=outcomes, totals={"bytes_in": 100})


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
    result = _result(["published", "quarantined", "quarantined"])
    result.examples = {"read.binary_file": [{"source": "1.txt", "reason": "binary file"}]}
    tally = tally_run(_plan(3), [result])
    assert tally.failed_checks == [
        {
            "check": "read.binary_file",
            "count": 2,
            "examples": [{"source": "1.txt", "reason": "binary file"}],
        }
    ]


def test_markdown_and_summary_render(tmp_path):
    from datetime import UTC, datetime

    from zhclean.report import build_report

    plan = _plan(2)
    results = [_result(["published", "quarantined"])]
    tally = tally_run(plan, results)
    report = build_report(
        run_id="r1", flow_run_id="f", plan=plan, results=results, tally=tally,
        decision=decide(tally, 0.05, False), parameters={"max_quarantine_fraction": 0.05, "full_refresh": False},
        dataset_checks=[], snapshot=None, input_dir="/in", output_dir="/out",
        started_at=datetime.now(UTC), elapsed_seconds=1.0, leftovers_removed=0, reasons={},
    )  # fmt: skip
    text = render_markdown(report)
    assert "**Status: blocked_by_gate**" in text and "`read.binary_file` | 1 |" in text
    assert summary_lines(report)[0] == "run r1: blocked_by_gate"
