"""RLlib training throughput on negenv: env-steps/s of multi-agent PPO (the recipe of
``negenv.adapters.rllib.ppo_config``) with 1, 2 and 4 env runners on a local Ray instance,
beside the PettingZoo env stepped alone with random legal actions in the same run.

    python benchmarks/bench_rllib.py [--runners 1 2 4] [--iterations 3] [--batch 2000]

Each figure is sampled env steps over wall time of ``algo.train()`` (sampling and the PPO
update), after one warm-up iteration. More runners than cores compete for them.
"""

from __future__ import annotations

import argparse
import time


def reference(steps: int = 3000) -> float:
    import negenv

    env = negenv.parallel_env("multilateral_5")
    obs, _ = env.reset(seed=0)
    done, t = 0, time.perf_counter()
    while done < steps:
        if not env.agents:
            obs, _ = env.reset()
        acts = {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}
        obs, *_ = env.step(acts)
        done += 1
    return steps / (time.perf_counter() - t)


def rllib(runners: int, iterations: int, batch: int) -> float:
    import ray

    from negenv.adapters.rllib import ppo_config

    ray.init(num_cpus=max(2, runners + 1), include_dashboard=False, log_to_driver=False)
    try:
        algo = ppo_config(
            "multilateral_5", env_runners=runners, train_batch_size=batch
        ).build_algo()
        algo.train()  # warm-up
        steps, t = 0, time.perf_counter()
        for _ in range(iterations):
            steps += int(algo.train()["env_runners"]["num_env_steps_sampled"])
        rate = steps / (time.perf_counter() - t)
        algo.stop()
    finally:
        ray.shutdown()
    return rate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--batch", type=int, default=2000)
    args = p.parse_args()
    ref = reference()
    print(f"PettingZoo env alone, random legal actions: {ref:8,.0f} env-steps/s")
    for n in args.runners:
        rate = rllib(n, args.iterations, args.batch)
        print(
            f"RLlib PPO, {n} env runner(s):            {rate:8,.0f} env-steps/s "
            f"({rate / ref:.2f}x the env alone)"
        )


if __name__ == "__main__":
    main()
