"""What a learned Rubinstein profile plays in sampled play, beside what the exact analysis
reads (each policy's most likely option): the first proposer's text (its most likely level
and the standard deviation of its samples), the responder's probability of accepting each
first text, and the responder's value of rejecting it when the rest is played sampled and
when it is played greedily.

    python benchmarks/rubinstein_probe.py runs/rubinstein-ego-0.5 [--episodes 4096]

Shares are party 1's (the responder's) share of the first text; values are in the worth of
round 0, like the rewards. The greedy value of rejecting is what ``negenv.alternating``
calls the continuation (times delta); the sampled one is what the learners trained against.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import yaml

from agents.learned import load_policy
from negenv.distributions import MaskedMultiCategorical
from negenv.training.config import from_saved
from negenv.vector import VectorNegotiationEnv

VOTE, TEXT = 0, 4  # the rubinstein party components: vote, comply, coalition, demand, text


def reject_value(sc, actor, level: int, episodes: int, greedy: bool) -> float:
    """Party 1's mean return when party 0 posts ``level`` in round 0 and party 1 rejects it
    in round 1; every other choice is the policy's, sampled or greedy."""
    env = VectorNegotiationEnv(sc, num_envs=episodes, autoreset=False)
    obs, nvec, n = env.reset(seed=1), env.layout.party_nvec, env.layout.n
    total = torch.zeros(episodes, dtype=torch.float64)
    alive = torch.ones(episodes, dtype=torch.bool)
    gen = torch.Generator().manual_seed(2)
    for t in range(sc.max_rounds + 1):
        x = obs["party"]["observation"].reshape(episodes * n, -1).float()
        m = obs["party"]["action_mask"].reshape(episodes * n, -1)
        with torch.no_grad():
            dist = MaskedMultiCategorical(actor(x), m, nvec)
            act = (dist.mode if greedy else dist.sample(generator=gen)).reshape(episodes, n, -1)
        if t == 0:
            act[:, 0, TEXT] = level
        if t == 1:
            act[:, 1, VOTE] = 0
        obs, reward, terminated, truncated, _ = env.step({"party": act})
        total += reward["party"][:, 1].double() * alive
        alive &= ~(terminated | truncated)
        if not alive.any():
            break
    return float(total.mean())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--episodes", type=int, default=4096)
    parser.add_argument("--checkpoint", default="last.pt")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    run = Path(args.run)
    sc = from_saved(yaml.safe_load((run / "config.yaml").read_text())).load_scenario()
    actor = load_policy(run / args.checkpoint, "party", sc).actor
    env = VectorNegotiationEnv(sc, num_envs=1)
    obs = env.reset(seed=0)
    grid = torch.linspace(0, 1, sc.proposal_levels)
    offset = sum(env.layout.party_nvec[:TEXT])
    with torch.no_grad():
        first = actor(obs["party"]["observation"][0, :1].float())[0, offset:].softmax(-1)
    mean = float((first * grid).sum())
    sd = float((first * (grid - mean) ** 2).sum().sqrt())
    print(
        f"delta {sc.discount}: first proposer's text {float(grid[first.argmax()]):.2f}, sd {sd:.3f}"
    )
    print("| responder's share | P(accept) | accept: worth | reject, sampled | reject, greedy |")
    print("|---|---|---|---|---|")
    top = sc.proposal_levels - 1
    ask = int(first.argmax())  # from just below the first proposer's ask to well above it
    for level in range(max(ask - 6, 0), min(ask + 13, top + 1), 3):
        env.reset(seed=0)
        act = torch.zeros(1, env.layout.n, len(env.layout.party_nvec), dtype=torch.int64)
        act[0, 0, TEXT] = level
        obs, *_ = env.step({"party": act})
        with torch.no_grad():
            p = actor(obs["party"]["observation"][0, 1:].float())[0, :2].softmax(-1)[1]
        share = 1 - level / top
        sampled = reject_value(sc, actor, level, args.episodes, greedy=False)
        greedy = reject_value(sc, actor, level, args.episodes, greedy=True)
        print(
            f"| {share:.2f} | {p:.3f} | {share * sc.discount:.4f} | {sampled:.4f} | {greedy:.4f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
