"""Seconds for a scorecard of one mediator on one scenario, by stage.

    python benchmarks/bench_scorecard.py [--mediator nbs_signals] [--episodes 500]

Times the episodes (mediated and unmediated, PettingZoo API, threshold population), the
reference solutions and the metrics with their bootstrap CIs, and prints the per-episode cost
with its linear extrapolation to 10,000 episodes (measured, then scaled: say so when quoting).
"""

from __future__ import annotations

import argparse
import time

from negenv.evaluate import Suite, run, summarise
from negenv.metrics import episode_metrics
from negenv.scenario import load
from negenv.solutions import solve_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediator", default="nbs_signals")
    parser.add_argument("--scenario", default="multilateral_5")
    parser.add_argument("--episodes", type=int, default=500)
    args = parser.parse_args()
    sc, seeds = load(args.scenario), range(args.episodes)

    t0 = time.perf_counter()
    base = run(sc, None, "threshold", seeds)
    rec = run(sc, args.mediator, "threshold", seeds)
    t1 = time.perf_counter()
    solutions = solve_batch(rec, sc.burden_issue)
    t2 = time.perf_counter()
    rows = episode_metrics(rec, sc, solutions)
    base_rows = episode_metrics(base, sc, solutions)
    tidy = [
        {
            "scenario": sc.name,
            "population": "threshold",
            "mediator": args.mediator,
            "seed": s,
            "status": "",
        }
        | {m: float(v[i]) for m, v in rows.items()}
        | {
            "vom_nash_welfare_ratio": float(
                rows["nash_welfare_ratio"][i] - base_rows["nash_welfare_ratio"][i]
            )
        }
        for i, s in enumerate(seeds)
    ]
    summarise(tidy, [args.mediator], Suite((sc.name,), args.episodes, ("threshold",)))
    t3 = time.perf_counter()
    total = t3 - t0
    print(f"{args.episodes} episodes of {args.scenario}, mediator {args.mediator}")
    for label, dt in (
        ("episodes (x2 protocols)", t1 - t0),
        ("solutions", t2 - t1),
        ("metrics + bootstrap", t3 - t2),
        ("total", total),
    ):
        print(f"  {label:<24}{dt:8.2f} s  {dt / args.episodes * 1e3:8.2f} ms/episode")
    print(f"  10,000 episodes (scaled) {total / args.episodes * 1e4:8.0f} s")


if __name__ == "__main__":
    main()
