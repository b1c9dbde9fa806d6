"""Scripted mediator and parties on a scenario: one transcript and a summary.

python -m agents.demo [--scenario multilateral_5] [--episodes 200] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

import negenv
from agents import SplitTheDifferenceMediator, ThresholdParty, act


def run_episode(env, policies, seed: int) -> dict:
    obs, _ = env.reset(seed=seed)
    while env.agents:
        obs, *_ = env.step(act(policies, obs))
    return env.outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="multilateral_5")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = negenv.parallel_env(args.scenario, render_mode="ansi")
    party = ThresholdParty(env.layout)
    policies = {a: party for a in env.parties}
    if env.scenario.mediated:
        policies["mediator"] = SplitTheDifferenceMediator(env.layout)

    records = [run_episode(env, policies, args.seed + i) for i in range(args.episodes)]
    run_episode(env, policies, args.seed)
    print(env.render())

    status = Counter(r["status"] for r in records)
    gains = np.stack([r["gain"] for r in records])
    print(f"\n{args.episodes} episodes of {args.scenario} (seeds {args.seed}..)")
    print("status          " + ", ".join(f"{k} {v / len(records):.0%}" for k, v in status.items()))
    print(f"mean gain       {gains.mean():+.3f} (u - BATNA, per party)")
    print(f"worst-off gain  {gains.min(axis=1).mean():+.3f} (mean over episodes)")
    print(
        f"stages done     {np.mean([r['stages_completed'] for r in records]):.2f}"
        f" of {records[0]['n_stages']}"
    )
    if env.scenario.mediated:
        print(f"mediator score  {np.mean([r['mediator_utility'] for r in records]):.3f}")


if __name__ == "__main__":
    main()
