"""Step caps and stalling: does running the clock out pay the mediator?

For every mediated scenario and every cap from 1 to T + S steps, the same episodes (same
keys, same noise) run twice under ``max_cycles``: once as played by ``nbs_seen`` and
threshold parties, once with every text rejected until the cap (the mediator posting texts
nobody accepts, :class:`agents.deviations.Stall`) and, in a third run, with the agreement
delayed by one round (no vote before round 2). The table gives the mediator's mean reward
change with a 95% interval and the parties' total utility change (the model's property: a
cap never pays for stalling).

    python benchmarks/stalling.py [--episodes 2000] [--mediator nbs_seen] [--scenarios ...]
"""

from __future__ import annotations

import argparse

import torch
from incentives import mean_ci  # benchmarks/incentives.py, beside this script

import negenv
from agents import registry
from agents.deviations import Stall, paired
from negenv.scenario import with_overrides


def stall_table(name: str, mediator: str, episodes: int, seed: int) -> list[str]:
    sc = negenv.load(name)
    spec = registry.mediator(mediator)
    sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc)
    policies = {**registry.population("threshold", env), "mediator": spec.build(env)}
    horizon = sc.max_rounds + sc.implementation.n_stages
    lines = []
    for cap in range(1, horizon + 1):
        cells = []
        for rounds in (None, 2):
            base, alt = paired(sc, policies, {}, episodes, seed, Stall(rounds), max_cycles=cap)
            rise = alt["mediator_utility"] - base["mediator_utility"]
            parties = (alt["utility"] - base["utility"]).sum(axis=1)
            cells.append(f"{mean_ci(rise)} (parties {parties.mean():+.3f})")
        lines.append(f"  cap {cap:2d}: stall {cells[0]}   delay 1 {cells[1]}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mediator", default="nbs_seen")
    parser.add_argument("--scenarios", nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.scenarios or [n for n in negenv.builtin_names() if negenv.load(n).mediated]
    print(
        f"mediator reward change from stalling under a step cap ({args.mediator}, "
        f"threshold parties, {args.episodes} paired episodes)\n"
    )
    for name in names:
        print(f"## {name}")
        print("\n".join(stall_table(name, args.mediator, args.episodes, args.seed)) + "\n")


if __name__ == "__main__":
    main()
