"""A metric of a scorecard by scenario, party population and mediator, with bootstrap 95% CIs.

python benchmarks/per_population.py runs/<run>/scorecard [--metric mediator_objective]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from negenv.evaluate import bootstrap_ci


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path)
    p.add_argument("--metric", default="mediator_objective")
    args = p.parse_args()
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    with open(args.report / "episodes.csv") as f:
        for row in csv.DictReader(f):
            value = row[args.metric]
            key = (row["scenario"], row["population"], row["mediator"])
            groups[key].append(float(value) if value else np.nan)
    print(f"| scenario | population | mediator | {args.metric} |\n|---|---|---|---|")
    for (scenario, pop, mediator), values in sorted(groups.items()):
        mean, low, high = bootstrap_ci([np.asarray(values)])
        print(f"| {scenario} | {pop} | {mediator} | {mean:.3f} [{low:.3f}, {high:.3f}] |")


if __name__ == "__main__":
    main()
