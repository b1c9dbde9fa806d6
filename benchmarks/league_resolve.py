"""A saved league's final tables solved again with the league's current solver, beside the
mixtures it saved: each role's weights and the NashConv of both pairs on the tables.

    python benchmarks/league_resolve.py runs/league-main [runs/league-wide ...]

Leagues made before the solver rescaled the tables saved mixtures of OpenSpiel's default
replicator dynamics on the raw tables; this shows how far those were from an equilibrium of
the same meta-game (the responses they trained stay what they were).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from negenv.training import league


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("leagues", nargs="+", type=Path)
    args = parser.parse_args()
    for root in args.leagues:
        state = json.loads((root / "league.json").read_text())
        a, b = np.array(state["A"]), np.array(state["B"])
        config = state.get("config", {})  # the mediator's payoffs as the league solved them
        share = config.get("background_share", 0.0)
        a = league.with_background(a, share, len(config.get("populations", []))) if share else a
        saved = state["final"]
        p0, q0 = np.array(saved["mediator_weights"]), np.array(saved["party_weights"])
        p, q = league.solve(a, b, "prd", alpha=10.0)
        print(f"## {root}\n")
        print("| member | saved weight | re-solved weight |\n|---|---|---|")
        for names, old, new in ((state["mediators"], p0, p), (state["populations"], q0, q)):
            for name, x, y in zip(names, old, new):
                print(f"| {name} | {x:.3f} | {y:.3f} |")
        print(
            f"\nNashConv on the tables: saved {league.nash_conv(a, b, p0, q0):.5f}, "
            f"re-solved {league.nash_conv(a, b, p, q):.5f}; the mediator mixture's value "
            f"against the party mixture: saved {p0 @ a @ q0:.4f}, re-solved {p @ a @ q:.4f}\n"
        )


if __name__ == "__main__":
    main()
