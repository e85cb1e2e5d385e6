"""Run reports: one JSON document per run, rendered as Markdown for people.

The same content feeds ``output/_runs/<run_id>.json`` (for tools), the Prefect markdown
and table artifacts (for operators in the UI) and ``zhclean report`` (in a terminal).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from zhclean.core.step import StepStats, merge_stats
from zhclean.run.context import Run
from zhclean.run.datasets import GONE
from zhclean.run.errors import EXIT_CODES
from zhclean.run.plan import RunPlan
from zhclean.run.shard import ShardResult
from zhclean.writers.datasets import HEAVY_BOILERPLATE_SHARE

# Statistical checks: warnings, never failures.
HEAVY_BOILERPLATE_WARN_SHARE = 0.2
SENTENCE_CHARS_BAND = (8.0, 120.0)


@dataclass
class RunTally:
    """What the shards of a run did, added up."""

    inputs: int
    processed: int
    skipped: int
    published: int
    quarantined: int
    vanished: list[str] = field(default_factory=list)  # deleted during the run
    duplicates: int = 0  # near-duplicates not published (--dedup drop)
    totals: dict[str, int] = field(default_factory=dict)
    failed_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quarantine_fraction(self) -> float:
        return self.quarantined / self.processed if self.processed else 0.0

    @property
    def balanced(self) -> bool:
        """The accounting identity: every input is published, quarantined, skipped, or was
        deleted during the run (then reported missing, like one deleted before it)."""
        done = self.published + self.quarantined + self.duplicates + len(self.vanished)
        return self.inputs == done + self.skipped and done == self.processed


def tally_run(plan: RunPlan, results: list[ShardResult], max_examples: int = 3) -> RunTally:
    totals: Counter = Counter()
    failed: dict[str, dict[str, Any]] = {}
    published = quarantined = 0
    vanished: list[str] = []
    for r in results:
        totals.update(r.totals)
        for o in r.outcomes:
            if o.status == "published":
                published += 1
                continue
            if o.status == "missing":
                vanished.append(o.source)
                continue
            quarantined += 1
            entry = failed.setdefault(o.check, {"check": o.check, "count": 0, "examples": []})
            entry["count"] += 1
            if len(entry["examples"]) < max_examples:
                entry["examples"].append({"source": o.source, "reason": o.reason})
    return RunTally(
        inputs=len(plan.sources),
        processed=len(plan.to_process),
        skipped=len(plan.unchanged),
        published=published,
        quarantined=quarantined,
        vanished=sorted(vanished),
        totals=dict(totals),
        failed_checks=sorted(failed.values(), key=lambda f: -f["count"]),
    )


@dataclass(frozen=True)
class Decision:
    status: str
    message: str
    publish: bool


def decide(tally: RunTally, max_quarantine_fraction: float, full_refresh: bool) -> Decision:
    """Accounting first, then the quality gate, then whether there is anything to publish."""
    if not tally.balanced:
        return Decision(
            "accounting_error",
            f"accounting identity violated: {tally.inputs} inputs != {tally.published} published + "
            f"{tally.quarantined} quarantined + {tally.skipped} skipped + {len(tally.vanished)} "
            "deleted during the run; nothing published",
            False,
        )
    if tally.quarantine_fraction > max_quarantine_fraction:
        return Decision(
            "blocked_by_gate",
            f"quality gate: {tally.quarantined}/{tally.processed} inputs quarantined "
            f"({tally.quarantine_fraction:.1%}) > max {max_quarantine_fraction:.1%}; "
            "nothing published, previous data unchanged",
            False,
        )
    if tally.processed == 0 and not full_refresh:
        return Decision(
            "nothing_to_do",
            f"all {tally.skipped} sources unchanged since the last published run",
            False,
        )
    return Decision(
        "published",
        f"published {plural(tally.published, 'document')}, quarantined {tally.quarantined}",
        True,
    )


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def build_report(
    run: Run,
    plan: RunPlan,
    results: list[ShardResult],
    tally: RunTally,
    decision: Decision,
    *,
    dataset_checks: list[dict[str, Any]],
    snapshot: dict[str, Any] | None,
    reasons: dict[str, str],
    flow_run_id: str | None = None,
    quarantine_gone: list[str] | None = None,
    dedup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run report: one JSON-serializable dict (see render_markdown for the layout).

    ``quarantine_gone``: the quarantined sources the run's input no longer holds (the
    quarantine's current view leaves them out; None: not known). ``dedup``: what the
    near-duplicate reduce found (None: it did not run).
    """
    parameters = asdict(run.params)
    elapsed_seconds = run.elapsed()
    stats = merge_stats(r.stats for r in results)
    totals = tally.totals
    # Documents that passed their checks are published only by a run that publishes.
    published, would_have = (tally.published, 0) if decision.publish else (0, tally.published)
    return {
        "run_id": run.run_id,
        "flow_run_id": flow_run_id,
        "status": decision.status,
        "message": decision.message,
        "started_at": run.started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "elapsed_seconds": elapsed_seconds,
        "input_dir": run.input_root,
        "output_dir": run.output_root,
        "parameters": parameters,
        "counts": {
            "inputs": tally.inputs,
            "new": len(plan.new),
            "changed": len(plan.changed),
            "unchanged_skipped": tally.skipped,
            "missing": len(plan.missing) + len(tally.vanished),
            "processed": tally.processed,
            "published": published,
            "would_have_published": would_have,
            "quarantined": tally.quarantined,
            "duplicates": tally.duplicates,
            "forced": len(plan.forced),
            "sentences": totals.get("sentences", 0),
            "tokens": totals.get("tokens", 0),
            "bytes_processed": totals.get("bytes_in", 0),
            "boilerplate_chars": totals.get("boilerplate_chars", 0),
            "mb_per_s": totals.get("bytes_in", 0) / 1e6 / max(elapsed_seconds, 1e-9),
        },
        "accounting": {
            "inputs": tally.inputs,
            "published": published,
            "would_have_published": would_have,
            "quarantined": tally.quarantined,
            "skipped": tally.skipped,
            "duplicates": tally.duplicates,
            "deleted_during_run": len(tally.vanished),
            "balanced": tally.balanced,
        },
        "dedup": dedup,
        "gate": {
            "max_quarantine_fraction": parameters["max_quarantine_fraction"],
            "quarantine_fraction": tally.quarantine_fraction,
            "passed": tally.quarantine_fraction <= parameters["max_quarantine_fraction"],
        },
        "stages": [s.to_dict() for s in stats],
        "removals_by_rule": removals_by_rule(stats, reasons),
        "failed_checks": tally.failed_checks,
        "dataset_checks": dataset_checks,
        "warnings": statistical_warnings(totals),
        "snapshot": snapshot,
        "missing_sources": sorted(plan.missing + tally.vanished)[:100],
        GONE: quarantine_gone,
        "leftovers_removed": run.leftovers_removed,
    }


def published_counts(report: dict[str, Any]) -> tuple[int, int]:
    """(published, would have published) documents of a report. Reports written before
    ``would_have_published`` counted the documents that passed as published, whether
    or not the run published them."""
    c = report["counts"]
    if "would_have_published" in c:
        return c["published"], c["would_have_published"]
    return (c["published"], 0) if report["status"] == "published" else (0, c["published"])


def removals_by_rule(stats: list[StepStats], reasons: dict[str, str]) -> list[dict[str, Any]]:
    """Lines and characters removed per rule id, largest first."""
    lines: Counter = Counter()
    chars: Counter = Counter()
    for step in stats:
        for key, value in step.counters.items():
            if key.startswith("removed_lines."):
                lines[key.removeprefix("removed_lines.")] += value
            elif key.startswith("removed_chars."):
                chars[key.removeprefix("removed_chars.")] += value
    rows = [
        {
            "rule_id": rule,
            "lines": lines[rule],
            "chars": chars[rule],
            "reason": reasons.get(rule, ""),
        }
        for rule in lines
    ]
    return sorted(rows, key=lambda r: (-r["chars"], r["rule_id"]))


def statistical_warnings(totals: dict[str, int]) -> list[str]:
    warnings = []
    published = totals.get("published", 0)
    if published:
        heavy = totals.get("docs_heavy_boilerplate", 0) / published
        if heavy > HEAVY_BOILERPLATE_WARN_SHARE:
            warnings.append(
                f"{heavy:.0%} of published documents lost more than "
                f"{HEAVY_BOILERPLATE_SHARE:.0%} of their characters to "
                f"boilerplate (warning above {HEAVY_BOILERPLATE_WARN_SHARE:.0%}): check the rules "
                "against this source"
            )
    sentences = totals.get("sentences", 0)
    if sentences:
        mean = totals.get("sentence_chars", 0) / sentences
        low, high = SENTENCE_CHARS_BAND
        if not low <= mean <= high:
            warnings.append(
                f"mean sentence length {mean:.1f} characters is outside the plausible band "
                f"{low:.0f}-{high:.0f}: splitting may be failing"
            )
    return warnings


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    """Human-readable report: counts, gate, per-stage and per-rule tables, failures."""
    if "counts" not in report:  # a run that failed or was interrupted before its end
        return "\n".join([
            f"# zhclean run `{report['run_id']}`",
            "",
            f"**Status: {report['status'].upper()}** — {report.get('message', '')}",
            "",
            f"- input: `{report.get('input_dir')}` → output: `{report.get('output_dir')}`",
            f"- started {report.get('started_at') or 'unknown'}, ended {report.get('finished_at') or 'unknown'}",
        ]) + "\n"  # fmt: skip
    c = report["counts"]
    gate = report["gate"]
    # A run that did not publish says so in capitals, as one that failed before its end.
    status = (
        report["status"] if EXIT_CODES.get(report["status"], 1) == 0 else report["status"].upper()
    )
    out = [
        f"# zhclean run `{report['run_id']}`",
        "",
        f"**Status: {status}** — {report.get('message', '')}",
        "",
        f"- input: `{report['input_dir']}` → output: `{report['output_dir']}`",
        f"- documents: {c['inputs']} inputs; {c['processed']} processed "
        f"({c['new']} new, {c['changed']} changed); {c['unchanged_skipped']} unchanged and skipped; "
        f"{c['missing']} missing from the input",
        f"- {_published_phrase(report)}, quarantined {c['quarantined']}",
        f"- {c['sentences']} sentences, {c['tokens']} tokens; "
        f"{c['boilerplate_chars']} characters removed as boilerplate",
        f"- {report['elapsed_seconds']:.1f} s, {c['mb_per_s']:.2f} MB/s over {c['bytes_processed']} bytes",
        f"- quality gate: {gate['quarantine_fraction']:.1%} quarantined vs max "
        f"{gate['max_quarantine_fraction']:.1%} → **{'pass' if gate['passed'] else 'BLOCKED'}**",
        f"- accounting: inputs {report['accounting']['inputs']} = "
        f"{_published_phrase(report, short=True)} + quarantined {report['accounting']['quarantined']} "
        f"+ skipped {report['accounting']['skipped']} "
        f"+ near-duplicates not published {report['accounting'].get('duplicates', 0)} "
        f"+ deleted during the run {report['accounting'].get('deleted_during_run', 0)} → "
        f"{'balanced' if report['accounting']['balanced'] else 'NOT BALANCED'}",
        "",
    ]
    if report.get("dedup"):  # before the blank line that ends the summary
        out.insert(len(out) - 1, "- near-duplicates: " + dedup_line(report))
    if report.get("warnings"):
        out += ["## Warnings", ""] + [f"- {w}" for w in report["warnings"]] + [""]
    out += ["## Stages", "", "| stage | in | out | rejected | seconds |", "|---|---|---|---|---|"]
    for s in report["stages"]:
        out.append(
            f"| {s['name']} | {s['docs_in']} | {s['docs_out']} | {s['docs_rejected']} | {s.get('seconds', 0):.2f} |"
        )
    out += ["", "## Removals by rule", "", "| rule | lines | chars | reason |", "|---|---|---|---|"]
    for r in report["removals_by_rule"]:
        out.append(f"| `{r['rule_id']}` | {r['lines']} | {r['chars']} | {_cell(r['reason'])} |")
    out += ["", "## Failed checks", ""]
    if report["failed_checks"]:
        out += ["| check | documents | examples |", "|---|---|---|"]
        for f in report["failed_checks"]:
            examples = "; ".join(f"`{e['source']}`: {e['reason']}" for e in f["examples"])
            out.append(f"| `{f['check']}` | {f['count']} | {_cell(examples)} |")
    else:
        out.append("none")
    out += ["", "## Dataset checks", ""]
    if report["dataset_checks"]:
        for d in report["dataset_checks"]:
            mark = "pass" if d["passed"] else f"FAIL ({d['failures']}: {', '.join(d['examples'])})"
            out.append(f"- `{d['name']}`: {mark}")
    else:
        out.append("not run (nothing to publish)")
    if report.get("missing_sources"):
        out += ["", "## Missing sources (still published)", ""]
        out += [f"- `{s}`" for s in report["missing_sources"]]
    return "\n".join(out) + "\n"


def dedup_line(report: dict[str, Any]) -> str:
    """How many copies the run found, and the clusters and copies of the new version."""
    d = report["dedup"]
    mode = report.get("parameters", {}).get("dedup", "mark")
    found = f"{plural(d.get('new_copies', 0), 'copy')} found in this run".replace("copys", "copies")
    if mode == "drop":
        found += f" ({d.get('dropped', 0)} not published)"
    parts = [
        found,
        f"{plural(d.get('clusters', 0), 'cluster')} of {d.get('copies', 0)} copies "
        f"{'not published' if mode == 'drop' else 'marked'} in this version",
    ]
    if d.get("handovers"):
        parts.append(f"{d['handovers']} representatives handed over")
    return "; ".join(parts)


def _published_phrase(report: dict[str, Any], short: bool = False) -> str:
    published, would_have = published_counts(report)
    if would_have:
        return f"would have published {would_have}" + (
            "" if short else f" documents (nothing was published: {report['status']})"
        )
    return f"published {published}" + ("" if short else " documents")


def summary_lines(report: dict[str, Any], wall_seconds: float | None = None) -> list[str]:
    """The short end-of-run summary printed by the CLI; ``wall_seconds``: the time since
    the command started (start-up and shutdown included), when known."""
    c = report["counts"]
    published, would_have = published_counts(report)
    lines = [
        f"run {report['run_id']}: {report['status']}",
        f"  documents  read {c['inputs']}  processed {c['processed']}  "
        f"written {published}  quarantined {c['quarantined']}  "
        f"skipped {c['unchanged_skipped']}  missing {c['missing']}",
    ]
    if would_have:
        lines.append(f"  not written  {plural(would_have, 'document')} passed their checks")
    if report.get("dedup"):
        lines.append("  near-duplicates  " + dedup_line(report))
    return [
        *lines,
        f"  sentences  {c['sentences']}  tokens {c['tokens']}",
        f"  boilerplate removed  {c['boilerplate_chars']} characters",
        *_rule_lines(report["removals_by_rule"]),
        _elapsed_line(report, wall_seconds),
    ]


def _elapsed_line(report: dict[str, Any], wall_seconds: float | None) -> str:
    run, mb_per_s = report["elapsed_seconds"], report["counts"]["mb_per_s"]
    if wall_seconds is None:
        return f"  elapsed  {run:.1f} s   throughput {mb_per_s:.2f} MB/s"
    return (
        f"  elapsed  {wall_seconds:.1f} s since the command started "
        f"(run {run:.1f} s, {mb_per_s:.2f} MB/s)"
    )


def _rule_lines(rules: list[dict[str, Any]], per_line: int = 4, top: int = 12) -> list[str]:
    """Removed lines per rule, largest first, a few per line ("zhclean report" has all)."""
    by_lines = sorted(rules, key=lambda r: (-r["lines"], r["rule_id"]))
    items = [f"{r['rule_id']} {r['lines']}" for r in by_lines[:top]]
    if len(rules) > top:
        items.append(f"+{len(rules) - top} more rules")
    lines = []
    for i in range(0, len(items), per_line):
        label = "  removed lines by rule  " if i == 0 else " " * 25
        lines.append(label + ", ".join(items[i : i + per_line]))
    return lines


def stage_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the Prefect table artifact: stages, rule removals, failed checks, the gate.

    Each kind fills the columns that mean something for it; the rest stay empty.
    """
    empty = dict.fromkeys(
        ("docs_in", "docs_out", "rejected", "seconds", "lines", "chars", "value", "limit"), ""
    )

    def row(kind: str, name: str, detail: str = "", **values: Any) -> dict[str, Any]:
        return {"kind": kind, "name": name, **empty, **values, "detail": detail}

    rows = [
        row("stage", s["name"], docs_in=s["docs_in"], docs_out=s["docs_out"],
            rejected=s["docs_rejected"], seconds=s.get("seconds", 0))
        for s in report["stages"]
    ]  # fmt: skip
    rows += [
        row("rule", r["rule_id"], r["reason"], lines=r["lines"], chars=r["chars"])
        for r in report["removals_by_rule"]
    ]
    rows += [
        row("failed_check", f["check"], "; ".join(e["source"] for e in f["examples"]),
            rejected=f["count"])
        for f in report["failed_checks"]
    ]  # fmt: skip
    gate = report["gate"]
    rows.append(
        row("gate", "quarantine_fraction", "pass" if gate["passed"] else "blocked",
            value=round(gate["quarantine_fraction"], 4), limit=gate["max_quarantine_fraction"])
    )  # fmt: skip
    return rows
