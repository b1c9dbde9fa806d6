"""Paired incentive table: who gains from deviating, and what it does to the mediator.

Every cell runs the same episodes twice on the batched env (same keys, same noise), once
with the scripted behaviour and once with one behaviour changed, and reports the mean
difference per episode with a 95% interval (normal approximation over episodes) and the
share of agreements in which the deviator gained. Parties are truthful threshold parties;
the mediator is ``nbs_full`` (the NBS of the exact types, guarantees round-robin) with its
monitoring pinned to 0 or to the top level.

    python benchmarks/incentives.py [--episodes 2000] [--seed 0] [--scenarios ...]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import negenv
from agents.deviations import deviate, deviator_gain, strategic_no
from negenv.metrics import episode_metrics


def mean_ci(x: np.ndarray) -> str:
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():+.3f} ± {half:.3f}"


def deviation_gain(name: str, level: int, who: str, stages, episodes: int, seed: int):
    base, alt, _ = deviate(name, level, who, tuple(stages), episodes=episodes, seed=seed)
    gain = deviator_gain(base, alt, who)
    agreed = base["agreed_round"] >= 0
    share = (gain[agreed] > 1e-12).mean() if agreed.any() else float("nan")
    med = alt["mediator_utility"] - base["mediator_utility"]
    return gain, share, med, base


def strategic_no_gain(name: str, episodes: int, seed: int):
    """The weakest party votes no whenever the text passes without it, then defects at
    stage 1; against the same party voting truthfully and defecting at stage 1."""
    base, alt = strategic_no(name, "weakest", episodes, seed)
    return deviator_gain(base, alt, "weakest")


def scorecard(name: str, episodes: int, seed: int) -> str:
    from negenv.evaluate import run, unmediated

    sc = negenv.load(name)
    if not sc.mediated:
        return "-"
    rec = run(sc, "nbs_full", "threshold", episodes, seed)
    ref = run(sc, None, "threshold", episodes, seed)
    nwr = episode_metrics(rec, sc)["nash_welfare_ratio"]
    base = episode_metrics(ref, unmediated(sc))["nash_welfare_ratio"]
    zero = np.mean(rec["mediator_utility"] <= 1e-12)
    return f"NWR {np.nanmean(nwr):.3f}, P(r=0) {zero:.3f}, VoM {np.nanmean(nwr - base):+.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="*", default=negenv.builtin_names())
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, seed = args.episodes, args.seed
    print(f"negenv incentive table: {n} paired episodes per cell, seed {seed}\n")
    for name in args.scenarios:
        sc = negenv.load(name)
        s = sc.implementation.n_stages
        print(f"## {name}")
        if s > 0:
            late = (s - 1, s)
            g, share, _, _ = deviation_gain(name, 0, "strongest", late, n, seed)
            print(f"  late defection, strongest, m=0:   {mean_ci(g)}  gains in {share:.0%}")
            if sc.mediated:
                g, share, _, _ = deviation_gain(name, -1, "strongest", late, n, seed)
                print(f"  late defection, strongest, m=1:   {mean_ci(g)}  gains in {share:.0%}")
                every = tuple(range(1, s + 1))
                g, share, _, _ = deviation_gain(name, -1, "strongest", every, n, seed)
                print(f"  always defect, strongest, m=1:    {mean_ci(g)}  gains in {share:.0%}")
                _, _, med, base = deviation_gain(name, 0, "all", (s,), n, seed)
                before = base["mediator_utility"].mean()
                print(
                    f"  mediator reward, all defect last stage (m=0): {before:.3f} -> "
                    f"{before + med.mean():.3f} (rises in {np.mean(med > 1e-12):.1%})"
                )
        print(f"  strategic no, weakest:            {mean_ci(strategic_no_gain(name, n, seed))}")
        print(f"  nbs_full scorecard:               {scorecard(name, n, seed)}\n")


if __name__ == "__main__":
    main()
