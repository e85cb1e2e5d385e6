"""Site-disjoint estimate of overfitting on the dev pages.

    python -m evals.site_split [--json]

The 34 dev pages come from 26 sites (``evals/sites.json``: page -> site, inferred from
each page's content). Sites, not pages, are split into two halves A and B of about the
same number of pages (greedy, largest site first, deterministic). Then, both ways:

1. **tune** the stripper's thresholds on one half: every combination of the grid below
   that exists in :class:`StripperConfig`, best macro F1 on that half wins;
2. **score** the tuned configuration on the other half, whose sites it never saw.

``gap = F1(tuning half) - F1(held-out half)`` is the estimate of overfitting the issue asks
for; it also contains the difference in difficulty between the halves, so the held-out
half tuned on itself is reported too (``loss``: what tuning elsewhere costs it). The
pages of each half are processed together (the repeated-line pass sees only that half).
The default configuration is scored on both halves, and the rules that remove lines on
one dev site only are listed (a rule written for one site is design-level overfitting).

What this does not measure: the design of the cleaner (its features and rules) was
written with all 34 pages in view; only its thresholds are re-tuned here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

from evals.score_inprocess import score_dev
from evals.webtext_eval import DEFAULT_DEV
from zhclean.cleaners.boilerplate import StripperConfig

SITES_FILE = Path(__file__).resolve().parent / "sites.json"

# Thresholds worth re-tuning; only the names StripperConfig has are used.
GRID: dict[str, list] = {
    "removed_weight": [-1.0, -2.0, -3.0],
    "extend_max_chars": [12, 20, 30],
    "extend_max_list": [4, 6, 10],
}


def load_sites(path: Path = SITES_FILE) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {page: row["site"] for page, row in data.items() if not page.startswith("_")}


def split_sites(site_of: dict[str, str]) -> tuple[list[str], list[str]]:
    """Pages of half A and half B: whole sites, largest first, to the smaller half."""
    pages_by_site: dict[str, list[str]] = {}
    for page, site in sorted(site_of.items()):
        pages_by_site.setdefault(site, []).append(page)
    halves: tuple[list[str], list[str]] = ([], [])
    for site in sorted(pages_by_site, key=lambda s: (-len(pages_by_site[s]), s)):
        target = halves[0] if len(halves[0]) <= len(halves[1]) else halves[1]
        target.extend(pages_by_site[site])
    return sorted(halves[0]), sorted(halves[1])


def grid_configs() -> list[StripperConfig]:
    names = {f.name for f in fields(StripperConfig)}
    axes = {k: v for k, v in GRID.items() if k in names}
    base = StripperConfig()
    combos = itertools.product(*axes.values())
    return [replace(base, **dict(zip(axes, values, strict=True))) for values in combos]


def macro_f1(pages: list[str], stripper: StripperConfig, dev: Path) -> float:
    return score_dev(dev, pages, stripper).macro()["f1"]


def rule_sites(dev: Path = DEFAULT_DEV) -> dict[str, list[str]]:
    """Rule id -> the sites on whose dev pages it removes at least one line.

    A rule that fires on one site only was probably written for that site: the
    design-level counterpart of the threshold gap, which the grid cannot see.
    """
    from evals.score_inprocess import run_files
    from evals.webtext_eval import load_gold

    site_of = load_sites()
    docs = run_files([dev / f"{p}.txt" for p in load_gold(dev)])
    fired: dict[str, set[str]] = {}
    for path, doc in docs.items():
        for rule, _ in doc.removed:
            fired.setdefault(rule, set()).add(site_of[path.name[: -len(".txt")]])
    return {rule: sorted(sites) for rule, sites in sorted(fired.items())}


def run(dev: Path = DEFAULT_DEV) -> dict:
    a, b = split_sites(load_sites())
    configs = grid_configs()
    default = StripperConfig()
    grid = {k: v for k, v in GRID.items() if k in {f.name for f in fields(StripperConfig)}}
    f1 = {half: [macro_f1(pages, c, dev) for c in configs] for half, pages in (("A", a), ("B", b))}
    best = {half: max(range(len(configs)), key=lambda i: (f1[half][i], -i)) for half in f1}
    out: dict = {
        "half_a": a,
        "half_b": b,
        "grid": grid,
        "default_f1": {"A": macro_f1(a, default, dev), "B": macro_f1(b, default, dev)},
        "directions": [],
    }
    for tune, held in (("A", "B"), ("B", "A")):
        chosen = configs[best[tune]]
        out["directions"].append(
            {
                "direction": f"tune {tune} -> score {held}",
                "chosen": {k: getattr(chosen, k) for k in grid},
                "tune_f1": f1[tune][best[tune]],
                "held_out_f1": f1[held][best[tune]],
                "gap": f1[tune][best[tune]] - f1[held][best[tune]],
                "held_out_oracle_f1": f1[held][best[held]],
                "oracle_gap": f1[held][best[held]] - f1[held][best[tune]],
            }
        )
    sites = rule_sites(dev)
    out["rules_on_one_site"] = {r: s[0] for r, s in sites.items() if len(s) == 1}
    out["rule_site_counts"] = {r: len(s) for r, s in sites.items()}
    return out


def render(out: dict) -> str:
    lines = [
        f"half A: {len(out['half_a'])} pages   half B: {len(out['half_b'])} pages   "
        f"grid: {out['grid']}",
        f"default config: F1 A {out['default_f1']['A']:.3f}   F1 B {out['default_f1']['B']:.3f}",
    ]
    for d in out["directions"]:
        lines.append(
            f"{d['direction']}: tuned F1 {d['tune_f1']:.3f}  held-out F1 {d['held_out_f1']:.3f}"
            f"  gap {d['gap']:+.3f}  (held-out half tuned on itself {d['held_out_oracle_f1']:.3f},"
            f" loss {d['oracle_gap']:+.3f})  chosen {d['chosen']}"
        )
    lines.append(
        "rules firing on one dev site only: "
        + (", ".join(f"{r} ({s})" for r, s in out["rules_on_one_site"].items()) or "none")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = run(args.dev)
    print(json.dumps(out, indent=1) if args.json else render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
