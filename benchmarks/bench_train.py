"""Whole-training-loop throughput: environment steps per second of ``train.py`` (rollouts,
PPO updates and bookkeeping; evaluation and the final report excluded), ``--backend torch``
beside ``--backend sb3``, same scenario, same role, same network, in the same run.

    python benchmarks/bench_train.py [--learn mediator] [--scenario multilateral_5]
        [--torch-envs 4096] [--sb3-envs 32] [--updates 4] [--device cpu]
        [--torch-threads 2] [--sb3-threads 1] [--mediator-actor mlp] [--compile] [--repeats 3]

A step is one step of one negotiation (every agent acts). The torch backend steps
``--torch-envs`` negotiations at once on the batched env; sb3 steps ``--sb3-envs``
single-agent gymnasium views (mediator) or every party seat of ``--sb3-envs`` batched
negotiations (parties). The first update of each is a warm-up and is not timed. Each backend
runs at the settings that were fastest for it on a 2-core CPU (SB3: 1 thread, 32 envs; torch:
2 threads, 4096 envs). A learning mediator uses the same MLP on both backends unless
``--mediator-actor set`` (train.py's default on the torch backend) is asked for.

The backends run in turn ``--repeats`` times (sb3, torch, torch compiled, sb3, ...), so that a
load that comes and goes on a shared machine falls on each alike; the table gives each one's
median over the repeats and the ratio of medians, and every repeat's ratio below it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # train.py sits at the root
import train  # noqa: E402


def throughput(
    backend: str, envs: int, rollout: int, updates: int, threads: int, args, compiled: bool = False
) -> float:
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
            str(threads),
            "--device",
            args.device,
            "--run-dir",
            tmp,
            "--no-progress",
        ]
        if backend == "sb3":
            argv[argv.index("--device") : argv.index("--device") + 2] = []
        else:
            argv += ["--mediator-actor", args.mediator_actor]
            argv += ["--compile"] if compiled else []
        with contextlib.redirect_stdout(io.StringIO()):  # its plan and run paths: temporary
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
    p.add_argument("--torch-envs", type=int, default=4096)
    p.add_argument("--sb3-envs", type=int, default=32)
    p.add_argument("--updates", type=int, default=4)
    p.add_argument("--device", default="cpu")
    p.add_argument("--sb3-threads", type=int, default=1, help="SB3 is fastest with 1 here")
    p.add_argument("--torch-threads", type=int, default=2)
    p.add_argument("--mediator-actor", default="mlp", choices=["mlp", "set"])
    p.add_argument(
        "--compile", action="store_true", help="also the torch backend with train.py --compile"
    )
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs of each backend")
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1; got {args.repeats}")
    runs: dict[str, list[float]] = {"sb3": [], "torch": [], "compiled": []}
    for _ in range(args.repeats):
        sb3_updates = max(1, args.updates // 2)
        runs["sb3"].append(
            throughput("sb3", args.sb3_envs, 64, sb3_updates, args.sb3_threads, args)
        )
        envs, threads = args.torch_envs, args.torch_threads
        runs["torch"].append(throughput("torch", envs, 32, args.updates, threads, args))
        if args.compile:  # the first, untimed update of each run pays for compiling
            runs["compiled"].append(
                throughput("torch", envs, 32, args.updates, threads, args, True)
            )
    sb3, fast = float(np.median(runs["sb3"])), float(np.median(runs["torch"]))
    actor = f", torch mediator actor {args.mediator_actor}" if args.learn == "mediator" else ""
    print(f"{args.learn} on {args.scenario}, device {args.device}{actor}")
    print(f"median of {args.repeats} interleaved run(s) each")
    print(
        f"  sb3   ({args.sb3_envs:>5} envs, {args.sb3_threads} threads): {sb3:10,.0f} env-steps/s"
    )
    print(
        f"  torch ({args.torch_envs:>5} envs, {args.torch_threads} threads): {fast:10,.0f} "
        f"env-steps/s   {fast / sb3:6.1f}x sb3"
    )
    if args.compile:
        tc = float(np.median(runs["compiled"]))
        print(
            f"  torch compiled ({args.torch_envs:>5} envs): {tc:10,.0f} env-steps/s   "
            f"{tc / sb3:6.1f}x sb3   {tc / fast:4.2f}x eager"
        )
    for i, base in enumerate(runs["sb3"]):
        each = [
            f"{name} {runs[name][i] / base:.1f}x" for name in ("torch", "compiled") if runs[name]
        ]
        print(f"  run {i + 1}: sb3 {base:,.0f} env-steps/s; " + ", ".join(each))


if __name__ == "__main__":
    main()
