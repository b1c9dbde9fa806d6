"""Paired episodes: does a masked choice ever change an episode? (``illegal_action="noop"``)

Every scenario and population plays twice on the same keys: once as the policies choose (all
legal), once with each agent's choice replaced, component by component with probability
``--rate``, by a random option its mask forbids there. Under ``"noop"`` the rules must ignore
those: the table prints, per scenario, the masked choices made, the episodes whose record
differs, and the largest utility and mediator-reward change (all 0 when the rule holds).
"""

from __future__ import annotations

import argparse

import numpy as np

import negenv
from agents import registry
from agents.deviations import MaskedChoices
from negenv import rollout

IGNORED = ("illegal_actions", "mediator_illegal_actions")


def compare(sc, policies, episodes: int, seed: int, rate: float) -> tuple[int, int, float, float]:
    base = rollout.run(sc, policies, episodes, seed)
    bent = rollout.run(sc, policies, episodes, seed, hook=MaskedChoices(rate, seed))
    masked = int(bent["illegal_actions"].sum() + bent["mediator_illegal_actions"].sum())
    differs = np.zeros(episodes, bool)
    for k, v in base.items():
        if k in IGNORED or v.dtype.kind not in "fiub":
            if k == "status":
                differs |= base[k] != bent[k]
            continue
        diff = np.abs(v.astype(float) - bent[k].astype(float)).reshape(episodes, -1).max(1)
        differs |= diff > 1e-12
    du = float(np.abs(base["utility"] - bent["utility"]).max())
    dm = float(np.abs(base["mediator_utility"] - bent["mediator_utility"]).max())
    return masked, int(differs.sum()), du, dm


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--populations", nargs="*", default=["mixed", "exploiters"])
    args = p.parse_args()
    print(
        f"{'scenario':<22}{'population':<12}{'masked choices':>15}{'differ':>8}"
        f"{'max |du|':>10}{'max |dm|':>10}"
    )
    for name in negenv.builtin_names():
        sc = negenv.load(name)
        env = negenv.parallel_env(sc)
        for pop in args.populations:
            policies = registry.population(pop, env)
            if sc.mediated:
                policies["mediator"] = registry.mediator("nbs_seen").build(env)
            masked, differ, du, dm = compare(sc, policies, args.episodes, 0, args.rate)
            print(f"{name:<22}{pop:<12}{masked:>15,}{differ:>8}{du:>10.2g}{dm:>10.2g}")


if __name__ == "__main__":
    main()
