"""Paired incentive check of a mediator policy: can a party gain by gaming it?

A mediator that reads votes and demand signals (a learned one does) could reward a party
that holds out or exaggerates. For each deviation and deviator (the strongest or the weakest
party of the episode) the same episodes run twice (same keys, same noise), truthful
threshold parties against the mediator and then with one party deviating; the table gives
the deviator's mean utility gain per episode and the mediator's objective change, with 95%
intervals (normal approximation over episodes), for each mediator side by side.

Deviations: ``tough`` (accepts only texts worth its BATNA + 0.15, truthful parties + 0.02),
``always_no`` (rejects every text), ``extreme`` (signals toward 0 or 1 on every issue
whatever the text), ``defect_1`` (defects at stage 1).

    python benchmarks/mediator_incentives.py [--mediator runs/<run>/best.pt --mediator nbs_seen]
        [--scenario multilateral_5] [--episodes 2000] [--seed 7]
"""

from __future__ import annotations

import argparse

from incentives import mean_ci  # benchmarks/incentives.py, beside this script

import negenv
from agents import registry
from agents.deviations import Deviation, ExtremeSignals, Substitute, deviator_gain, paired
from agents.parties import ThresholdParty

DEVIATIONS = ("tough", "always_no", "extreme", "defect_1")


def deviant(kind: str, base, env, who: str):
    lay, stages = env.layout, env.scenario.implementation.n_stages
    if kind == "tough":
        return Substitute(base, ThresholdParty(lay, margin=0.15), lay, who, columns=[0])
    if kind == "always_no":
        return Deviation(base, lay, stages, who, vote_no=True)
    if kind == "extreme":
        return Substitute(base, ExtremeSignals(base, lay), lay, who, columns=slice(3, 3 + lay.k))
    return Deviation(base, lay, stages, who, defect_stages=(1,))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mediator", action="append", default=None)
    p.add_argument("--scenario", default="multilateral_5")
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    mediators = args.mediator or ["runs/multilateral_5-mediator-torch-s0/best.pt", "nbs_seen"]
    sc = negenv.load(args.scenario)
    env = negenv.parallel_env(sc)
    base = registry.population("threshold", env)
    print(f"{args.scenario}, threshold parties, {args.episodes} paired episodes, seed {args.seed}")
    print(
        "| deviation | deviator | "
        + " | ".join(f"{m}: deviator gain | objective" for m in mediators)
        + " |"
    )
    print("|---|---|" + "---|---|" * len(mediators))
    built = {m: registry.mediator(m).build(env) for m in mediators}
    for kind in DEVIATIONS:
        for who in ("strongest", "weakest"):
            cells = []
            for m in mediators:
                policies = {**base, "mediator": built[m]}
                dev = deviant(kind, base[env.parties[0]], env, who)
                b, a = paired(
                    sc, policies, dict.fromkeys(env.parties, dev), args.episodes, args.seed
                )
                objective = a["mediator_utility"] - b["mediator_utility"]
                cells += [mean_ci(deviator_gain(b, a, who)), mean_ci(objective)]
            print(f"| {kind} | {who} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
