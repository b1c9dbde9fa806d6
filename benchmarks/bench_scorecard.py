"""Seconds for a scorecard of one mediator on one scenario, by stage.

    python benchmarks/bench_scorecard.py [--mediator nbs_signals] [--episodes 10000]

Times the stages of :func:`negenv.evaluate.evaluate` for one mediator, one scenario and the
threshold population: the episodes (mediated and unmediated, all in one batch on the batched
env), the reference solutions (batched interior point), the metrics and the bootstrap CIs.
Beside it, in the same run, the same stages on a subsample the old way (PettingZoo episodes one
by one, scipy solutions one by one), scaled to the full count: say so when quoting it.
"""

from __future__ import annotations

import argparse
import time

import torch

from negenv.evaluate import Suite, paired_metrics, run, summarise, tidy
from negenv.metrics import episode_metrics
from negenv.scenario import load
from negenv.solutions import pareto_gaps, solve_batch, solve_batch_scipy


def stages(sc, mediator: str, episodes: int, backend: str, batched: bool) -> dict[str, float]:
    times, t0 = {}, time.perf_counter()
    base = run(sc, None, "threshold", episodes, 0, backend)
    rec = run(sc, mediator, "threshold", episodes, 0, backend)
    times["episodes (2 protocols)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if batched:
        solutions = solve_batch(base, sc.burden_issue)
        solutions["pareto_gap"] = pareto_gaps(rec, sc.burden_issue)
    else:
        solutions = solve_batch_scipy(base, sc.burden_issue)
        solutions["pareto_gap"] = solve_batch_scipy(rec, sc.burden_issue)["pareto_gap"]
    times["solutions"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    base_rows = episode_metrics(base, sc, solutions)
    metrics = paired_metrics(rec, sc, solutions, base_rows)
    labels = {"scenario": sc.name, "population": "threshold", "mediator": mediator}
    rows = tidy(labels, 0, rec, metrics)
    summarise(rows, [mediator], Suite((sc.name,), episodes, ("threshold",)))
    times["metrics + bootstrap"] = time.perf_counter() - t0
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediator", default="nbs_signals")
    parser.add_argument("--scenario", default="multilateral_5")
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--reference-episodes", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sc = load(args.scenario)
    print(
        f"{args.scenario}, mediator {args.mediator}, threshold population, "
        f"torch {torch.__version__}, {args.threads} threads"
    )
    new = stages(sc, args.mediator, args.episodes, "vector", True)
    old = stages(sc, args.mediator, args.reference_episodes, "pettingzoo", False)
    scale = args.episodes / args.reference_episodes
    print(f"{'stage':<24}{'batched (s)':>12}{'one by one, scaled (s)':>24}{'speed-up':>10}")
    for stage, dt in new.items():
        ref = old[stage] * scale
        print(f"{stage:<24}{dt:12.2f}{ref:24.1f}{ref / dt:9.1f}x")
    print(f"{args.episodes:,} episodes: {new['total']:.1f} s")


if __name__ == "__main__":
    main()
