"""Float32 against float64: do the two dtypes give the same statuses on the same episodes?

For every shipped scenario and party population (with ``nbs_seen`` where there is a
mediator, and uniformly random actions as a defection-heavy stress), the same episodes run
in float64 and in float32 on the batched env; the table gives the share of episodes whose
status (completed, collapsed, breakdown), agreement round or stages completed differ, and
the largest utility difference (docs/model.md, property 12: the same statuses in both dtypes).

    python benchmarks/dtypes.py [--episodes 4000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import negenv
from agents import RandomPolicy, registry
from negenv import rollout
from negenv.scenario import with_overrides

POPULATIONS = ("threshold", "mixed", "opportunistic", "exploiters", "random")


def setup(name: str, population: str):
    sc = negenv.load(name)
    spec = registry.mediator("nbs_seen") if sc.mediated else None
    if spec is not None:
        sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc)
    if population == "random":
        policies = {
            a: RandomPolicy(env.action_space(a), np.random.default_rng(i))
            for i, a in enumerate(env.possible_agents)
        }
        return sc, policies
    policies = registry.population(population, env)
    if spec is not None:
        policies["mediator"] = spec.build(env)
    return sc, policies


def mismatch(name: str, population: str, episodes: int, seed: int) -> tuple[float, float]:
    """(share of episodes whose status, agreed round or stage differ; max |utility| gap)."""
    recs = []
    for dtype in (torch.float64, torch.float32):
        sc, policies = setup(name, population)  # fresh policies: random ones hold a generator
        recs.append(rollout.run(sc, policies, episodes, seed, dtype=dtype))
    a, b = recs
    differ = (
        (a["status"] != b["status"])
        | (a["agreed_round"] != b["agreed_round"])
        | (a["stages_completed"] != b["stages_completed"])
    )
    return float(differ.mean()), float(np.abs(a["utility"] - b["utility"]).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="*", default=negenv.builtin_names())
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"float32 vs float64 status mismatch ({args.episodes} episodes per cell)\n")
    print(f"{'scenario':22s}" + "".join(f"{p:>22s}" for p in POPULATIONS))
    for name in args.scenarios:
        cells = [mismatch(name, p, args.episodes, args.seed) for p in POPULATIONS]
        print(f"{name:22s}" + "".join(f"{m:>10.2%} ({u:.3f})   " for m, u in cells))


if __name__ == "__main__":
    main()
