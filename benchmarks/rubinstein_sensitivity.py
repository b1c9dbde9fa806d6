"""How firmly the grid game pins the first proposer's subgame-perfect share in ``rubinstein``.

The env's alternating-offers game has a deadline (T rounds) and a grid of proposal levels,
and both move the round-0 share away from 1 / (1 + delta). This script asks how much of that
share a learner could be expected to reproduce: for each discount it prints

- the grid game's SPE share (responders accept at indifference / reject), the deadline game
  on a grid 100 times finer (the deadline's share without the grid's rounding), and
  1 / (1 + delta);
- the range of the round-0 share when every responder errs by at most ``slack`` (accepting
  shares down to ``slack`` below its value of rejecting, or demanding up to ``slack`` more)
  and posters best respond: half a grid step, and the 0.03 the learning goal allows a
  responder's threshold;
- the range over horizons T - 5 … T + 5 and over discounts delta - 0.005 … delta + 0.005.

Everything is exact backward induction (``negenv.alternating.grid_spe``); nothing is learned.

    python benchmarks/rubinstein_sensitivity.py [--deltas 0.5 0.8 0.9 0.95] [--profile 0.95]
"""

from __future__ import annotations

import argparse

import numpy as np

from negenv.alternating import grid_spe
from negenv.scenario import load


def share(delta: float, levels: int, horizon: int, tie: bool = True, slack: float = 0.0) -> float:
    """The first proposer's round-0 share (the text voted in round 1)."""
    return grid_spe(delta, levels, horizon, tie, slack)[1] / (levels - 1)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=float, nargs="*", default=[0.5, 0.8, 0.9, 0.95])
    parser.add_argument("--profile", type=float, default=0.95, help="delta of the slack profile")
    args = parser.parse_args()
    sc = load("rubinstein")
    levels, horizon = sc.proposal_levels, sc.max_rounds
    step = 1 / (levels - 1)
    fine = 100 * (levels - 1) + 1

    def slacks(bound: float) -> np.ndarray:
        return np.linspace(-bound, bound, 2 * round(bound / step * 10) + 1)  # 0.1 grid steps

    print(f"rubinstein: {levels} levels (step {step:.2f}), T = {horizon}\n")
    print(
        "| δ | grid SPE (accept / reject) | deadline, fine grid | 1/(1+δ) "
        f"| slack ±{step / 2:.3f} | slack ±0.03 | T ± 5 | δ ± 0.005 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for delta in args.deltas:
        tie = f"{share(delta, levels, horizon):.2f} / {share(delta, levels, horizon, False):.2f}"
        half = [share(delta, levels, horizon, slack=e) for e in slacks(step / 2)]
        goal = [share(delta, levels, horizon, slack=e) for e in slacks(0.03)]
        horizons = [share(delta, levels, t) for t in range(horizon - 5, horizon + 6)]
        deltas = [share(d, levels, horizon) for d in np.linspace(delta - 0.005, delta + 0.005, 11)]
        print(
            f"| {delta} | {tie} | {share(delta, fine, horizon):.3f} | {1 / (1 + delta):.3f} "
            f"| {spread(half)} | {spread(goal)} | {spread(horizons)} | {spread(deltas)} |"
        )
    print(f"\nround-0 share at δ = {args.profile} by the responders' slack:")
    for e in np.round(slacks(step / 2), 4):
        print(f"  {e:+.4f}  {share(args.profile, levels, horizon, slack=float(e)):.2f}")


if __name__ == "__main__":
    main()
