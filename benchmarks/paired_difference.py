"""Two mediators' difference on the same episodes, from scorecards, with a bootstrap 95% CI.

Scorecards with the same ``--seed`` and ``--episodes`` play the same episodes (same keys, same
noise), so one mediator's episode can be paired with the other's and their difference has a
far tighter interval than either mean. Rows are matched on (scenario, population, seed,
episode); the CI is stratified by population as in the scorecard.

    python benchmarks/paired_difference.py A B [REPORT ...] [--metric mediator_objective]

A and B are mediator names as the scorecards' ``mediator`` column writes them; the reports
(folders with ``episodes.csv``) may be one scorecard holding both or several holding one each.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from negenv.evaluate import bootstrap_ci

Key = tuple[str, str, str, str]  # scenario, population, seed, episode


def episodes(reports: list[Path], mediator: str, metric: str) -> dict[Key, float]:
    rows: dict[Key, float] = {}
    for report in reports:
        with open(report / "episodes.csv") as f:
            for row in csv.DictReader(f):
                if row["mediator"] == mediator:
                    key = (row["scenario"], row["population"], row["seed"], row["episode"])
                    rows[key] = float(row[metric]) if row[metric] else np.nan
    if not rows:
        raise SystemExit(f"mediator {mediator!r} is in none of the reports {reports}")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("reports", type=Path, nargs="+")
    p.add_argument("--metric", default="mediator_objective")
    args = p.parse_args()
    a = episodes(args.reports, args.a, args.metric)
    b = episodes(args.reports, args.b, args.metric)
    shared = sorted(a.keys() & b.keys())
    if not shared:
        raise SystemExit("the two mediators share no episode: same --seed and --episodes?")
    by_pop: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key in shared:
        by_pop[key[:2]].append(a[key] - b[key])
    strata = [np.asarray(v) for v in by_pop.values()]
    mean, low, high = bootstrap_ci(strata)
    print(f"{args.metric}: {args.a} minus {args.b}, {len(shared)} paired episodes")
    print("| scenario | population | difference [95% CI] |\n|---|---|---|")
    for (scenario, pop), values in sorted(by_pop.items()):
        m, lo, hi = bootstrap_ci([np.asarray(values)])
        print(f"| {scenario} | {pop} | {m:+.4f} [{lo:+.4f}, {hi:+.4f}] |")
    print(f"| all | pooled | {mean:+.4f} [{low:+.4f}, {high:+.4f}] |")


if __name__ == "__main__":
    main()
