"""The homogeneous view: identical spaces, the same episodes, and SuperSuit's vector route."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import negenv
from negenv.adapters.homogeneous import HomogeneousEnv
from negenv.scenario import builtin_names


@pytest.mark.parametrize("scenario", builtin_names())
def test_one_space_for_every_agent_and_the_api_test(scenario):
    env = HomogeneousEnv(scenario)
    first = env.possible_agents[0]
    for a in env.possible_agents:
        assert env.observation_space(a) == env.observation_space(first)
        assert env.action_space(a) == env.action_space(first)
    parallel_api_test(env, num_cycles=200)


def test_it_plays_the_envs_episodes_and_flags_the_other_block():
    view, env = HomogeneousEnv("multilateral_5"), negenv.parallel_env("multilateral_5")
    n_party = len(env.layout.party_nvec)
    rng = np.random.default_rng(0)
    obs, _ = view.reset(seed=2)
    base, _ = env.reset(seed=2)
    while env.agents:
        inner, outer = {}, {}
        for a in env.agents:
            x, m = obs[a]["observation"], obs[a]["action_mask"]
            med = a == "mediator"
            assert x[int(med)] == 1 and x[1 - int(med)] == 0
            own = base[a]["observation"]
            np.testing.assert_array_equal(x[2 : 2 + own.size], own)
            assert not x[2 + own.size :].any()
            act = view.action_space(a).sample(m)  # legal: the other block is all zeros
            assert not (act[n_party:] if not med else act[:n_party]).any()
            outer[a] = act
            inner[a] = act[n_party:] if med else act[:n_party]
        if rng.random() < 0.3:  # a stray choice in the other block: ignored, flagged
            outer["party_0"] = outer["party_0"].copy()
            outer["party_0"][n_party] = 3
        obs, r, _, _, infos = view.step(outer)
        base, rb, _, _, infos_b = env.step(inner)
        assert r == rb
        stray = bool(outer["party_0"][n_party:].any())
        assert infos["party_0"]["illegal_action"] == int(
            stray or infos_b["party_0"]["illegal_action"]
        )
    assert view.outcome["utility"].tolist() == env.outcome["utility"].tolist()


def test_the_other_block_is_refused_under_raise():
    view = HomogeneousEnv("bilateral_asymmetric", illegal_action="raise")
    obs, _ = view.reset(seed=0)
    acts = {a: view.action_space(a).sample(obs[a]["action_mask"]) for a in view.agents}
    acts["mediator"] = acts["mediator"].copy()
    acts["mediator"][0] = 1  # the party block: vote accept
    with pytest.raises(ValueError, match="'mediator' chose a nonzero option in the other role"):
        view.step(acts)
    with pytest.raises(ValueError, match="action_mode = 'continuous' is invalid"):
        HomogeneousEnv("bilateral_asymmetric", action_mode="continuous")


def test_supersuit_vector_route():
    ss = pytest.importorskip("supersuit")
    env = HomogeneousEnv("lilliput", flat_obs=True)
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, 3, num_cpus=0, base_class="gymnasium")
    n = len(env.possible_agents)
    obs, infos = vec.reset(seed=0)
    assert obs.shape == (3 * n, env.observation_space("mediator").shape[0])
    ended = 0
    for _ in range(60):
        masks = np.stack([i["action_mask"] for i in infos])
        acts = np.stack([env.action_space("party_0").sample(m) for m in masks])
        obs, rewards, terms, truncs, infos = vec.step(acts)
        assert rewards.shape == (3 * n,)
        assert not any(i["illegal_action"] for i in infos)
        ended += int(terms.sum())
    assert ended > 0
