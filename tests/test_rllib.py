"""RLlib on Ray: multi-agent PPO with masked modules on a local instance with two env runners
and on a two-node cluster; checkpoints restore and the mediator is scored by negenv.evaluate."""

from __future__ import annotations

import math

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="needs the rllib extra")

from negenv.adapters.rllib import IllegalActions, NegotiationMultiAgentEnv, ppo_config  # noqa: E402


def train_twice(env_runners: int = 2) -> tuple[object, list[dict]]:
    algo = ppo_config("multilateral_5", env_runners=env_runners).build_algo()
    results = [algo.train() for _ in range(2)]
    return algo, results


def check(results: list[dict]) -> None:
    for r in results:
        runners = r["env_runners"]
        assert runners["illegal_actions"] == 0
        assert runners["num_env_steps_sampled"] >= 600
        returns = runners["module_episode_returns_mean"]
        assert set(returns) == {"party", "mediator"}
        assert all(math.isfinite(v) for v in returns.values())


def test_local_ray_two_env_runners_masks_checkpoint_and_evaluation(tmp_path):
    from agents import registry
    from negenv import evaluate

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        algo, results = train_twice()
        check(results)
        path = algo.save_to_path(str(tmp_path / "ckpt"))
        before = algo.learner_group.get_weights(module_ids=["mediator"])["mediator"]
        algo.stop()
        from ray.rllib.algorithms.algorithm import Algorithm

        restored = Algorithm.from_checkpoint(path)
        after = restored.learner_group.get_weights(module_ids=["mediator"])["mediator"]
        assert before.keys() == after.keys()
        for k in before:
            np.testing.assert_array_equal(np.asarray(before[k]), np.asarray(after[k]))
        check([restored.train()])
        restored.stop()
    finally:
        ray.shutdown()
    registry.mediator(f"rllib:{path}")
    evaluate.main(
        [
            "--mediator",
            f"rllib:{path}",
            "--scenario",
            "multilateral_5",
            "--population",
            "threshold",
            "--episodes",
            "16",
            "--out",
            str(tmp_path / "report"),
            "--no-progress",
        ]
    )
    assert (tmp_path / "report" / "summary.json").is_file()


def test_the_same_recipe_on_a_two_node_cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        algo, results = train_twice()
        check(results)
        algo.stop()
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_every_agent_gets_its_last_observation_and_ends_are_kept_apart():
    env = NegotiationMultiAgentEnv({"scenario": "bilateral_asymmetric", "max_cycles": 3})
    obs, _ = env.reset(seed=3)
    assert set(obs) == set(env.possible_agents)
    for agent, o in obs.items():
        assert env.observation_spaces[agent].contains(o)
    while True:
        actions = {
            a: env.action_spaces[a].sample(obs[a]["action_mask"].astype(np.int8)) for a in obs
        }
        obs, rewards, terms, truncs, _ = env.step(actions)
        if terms["__all__"] or truncs["__all__"]:
            break
    assert set(obs) == set(env.possible_agents)  # the last observation of every agent
    assert truncs["__all__"] and not terms["__all__"]
    assert env.outcome["status"] == "truncated"


class FakeEpisode:
    def __init__(self, flags):
        self.flags = flags

    def get_infos(self):
        return {a: [{"illegal_action": f} for f in fl] for a, fl in self.flags.items()}


class Logger:
    def __init__(self):
        self.logged = []

    def log_value(self, key, value, reduce):
        self.logged.append((key, value, reduce))


def test_the_illegal_action_counter_counts():
    log = Logger()
    IllegalActions().on_episode_end(
        episode=FakeEpisode({"party_0": [0, 1, 1], "mediator": [0, 2]}), metrics_logger=log
    )
    assert log.logged == [("illegal_actions", 4, "sum")]


def test_ppo_config_waits_for_slow_runners_by_default():
    # RLlib's 60 s default made a loaded first sample return nothing, so the result lacked
    # "env_runners"; negenv's config waits unless told otherwise
    assert ppo_config("bilateral_asymmetric", env_runners=0).sample_timeout_s is None
    assert (
        ppo_config("bilateral_asymmetric", env_runners=0, sample_timeout_s=5.0).sample_timeout_s
        == 5.0
    )
