"""Whole-training-loop throughput: environment steps per second of ``train.py`` (rollouts,
PPO updates and bookkeeping; evaluation and the final report excluded), ``--backend torch``
beside ``--backend sb3``, same scenario, same role, same network, in the same run.

    python benchmarks/bench_train.py [--learn mediator] [--scenario multilateral_5]
        [--torch-envs 1024] [--sb3-envs 8] [--updates 4] [--device cpu] [--threads 1]

A step is one step of one negotiation (every agent acts). The torch backend steps
``--torch-envs`` negotiations at once on the batched env; sb3 steps ``--sb3-envs``
single-agent gymnasium views (mediator) or every party seat of ``--sb3-envs`` batched
negotiations (parties). The first update of each is a warm-up and is not timed.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import train


def throughput(backend: str, envs: int, rollout: int, updates: int, args) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            "--backend",
            backend,
            "--learn",
            args.learn,
            "--scenario",
            args.scenario,
            "--num-envs",
            str(envs),
            "--rollout-steps",
            str(rollout),
            "--total-steps",
            str(envs * rollout * (updates + 1)),
            "--eval-every",
            str(10**6),
            "--checkpoint-every",
            str(10**6),
            "--scorecard-episodes",
            "0",
            "--eval-episodes",
            "1",
            "--threads",
            str(args.threads),
            "--device",
            args.device,
            "--run-dir",
            tmp,
            "--no-progress",
        ]
        if backend == "sb3":
            argv[argv.index("--device") : argv.index("--device") + 2] = []
        run = train.main(argv)
        with open(Path(run) / "progress.csv") as f:
            rows = list(csv.DictReader(f))[1:]  # the first update warms up
    steps = sum(envs * rollout for _ in rows)
    seconds = sum(envs * rollout / float(r["steps_per_second"]) for r in rows)
    return steps / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learn", default="mediator", choices=["mediator", "parties"])
    p.add_argument("--scenario", default="multilateral_5")
    p.add_argument("--torch-envs", type=int, default=1024)
    p.add_argument("--sb3-envs", type=int, default=8)
    p.add_argument("--updates", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    sb3 = throughput("sb3", args.sb3_envs, 64, max(1, args.updates // 2), args)
    fast = throughput("torch", args.torch_envs, 32, args.updates, args)
    print(f"{args.learn} on {args.scenario}, threads {args.threads}, device {args.device}")
    print(f"  sb3   ({args.sb3_envs:>5} envs): {sb3:12,.0f} env-steps/s")
    print(
        f"  torch ({args.torch_envs:>5} envs): {fast:12,.0f} env-steps/s   {fast / sb3:6.1f}x sb3"
    )


if __name__ == "__main__":
    main()
