"""The single-agent gymnasium views: checkers, registry, same episodes, SB3 integration."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import negenv
from agents import act, registry
from negenv.adapters.gymnasium import MediatorEnv, PartyEnv, env_ids

MEDIATED = [n for n in negenv.builtin_names() if negenv.load(n).mediated]


@pytest.mark.parametrize("name", negenv.builtin_names())
def test_views_pass_gymnasium_and_sb3_checkers(name):
    from stable_baselines3.common.env_checker import check_env as sb3_check

    mediator_id, party_id = env_ids(name)
    views = [gymnasium.make(party_id, seat=1)]
    if name in MEDIATED:
        views.append(gymnasium.make(mediator_id, population="mixed"))
    for view in views:
        check_env(view.unwrapped, skip_render_check=True)
        sb3_check(view.unwrapped, warn=False)


def test_mediator_view_plays_the_pettingzoo_episode():
    view = MediatorEnv("lilliput", population="mixed")
    env = negenv.parallel_env("lilliput")
    parties = registry.population("mixed", env)
    mediator = registry.mediator("nbs_signals").build(env)
    for seed in (0, 1):
        obs, info = view.reset(seed=seed)
        pz_obs, _ = env.reset(seed=seed)
        total, pz_total, done = 0.0, 0.0, False
        while not done:
            np.testing.assert_array_equal(obs, pz_obs["mediator"]["observation"])
            assert np.array_equal(view.action_masks(), pz_obs["mediator"]["action_mask"] == 1)
            a = mediator.act(obs[None], info["action_mask"][None])[0]
            obs, r, term, trunc, info = view.step(a)
            own = {p: pz_obs[p] for p in env.parties}
            pz_obs, rewards, *_ = env.step({**act(parties, own), "mediator": a})
            total, pz_total, done = total + r, pz_total + rewards["mediator"], term or trunc
        assert total == pz_total and not env.agents


def test_views_refuse_bad_arguments_and_finished_episodes():
    with pytest.raises(negenv.ScenarioError, match="no mediator"):
        MediatorEnv("rubinstein")
    with pytest.raises(ValueError, match=r"seat = 5 is invalid"):
        PartyEnv("bilateral_asymmetric", seat=5)
    with pytest.raises(ValueError, match="unknown population 'crowd'"):
        MediatorEnv("multilateral_5", population="crowd")
    view = PartyEnv("multilateral_5", max_cycles=2)
    view.reset(seed=0)
    view.step(view.action_space.sample(view.action_masks().astype(np.int8)))
    *_, term, trunc, _ = view.step(view.action_space.sample(view.action_masks().astype(np.int8)))
    assert trunc and not term
    with pytest.raises(RuntimeError, match="finished episode"):
        view.step(view.action_space.sample())


def test_maskable_ppo_learns_through_the_mediator_view_without_illegal_actions():
    import torch
    from sb3_contrib import MaskablePPO

    torch.set_num_threads(1)
    view = gymnasium.make("negenv/Mediator-bilateral_asymmetric-v0", max_cycles=30)
    model = MaskablePPO("MlpPolicy", view, n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(128)
    obs, info = view.reset(seed=3)
    done = False
    while not done:
        action, _ = model.predict(obs, action_masks=view.unwrapped.action_masks())
        obs, _, term, trunc, info = view.step(action)
        assert info["illegal_action"] == 0
        done = term or trunc


@pytest.mark.parametrize("name", negenv.builtin_names())
def test_the_registered_time_limit_never_cuts_an_episode_and_gives_a_horizon(name):
    from gymnasium.wrappers import TimeAwareObservation

    _, party_id = env_ids(name)
    sc = negenv.load(name)
    view = TimeAwareObservation(gymnasium.make(party_id, population="mixed"))
    assert view.spec.max_episode_steps == sc.max_rounds + sc.implementation.n_stages
    view.action_space.seed(0)
    longest = 0
    for seed in range(40):
        obs, info = view.reset(seed=seed)
        steps, term, trunc = 0, False, False
        while not (term or trunc):
            a = view.action_space.sample(info["action_mask"])
            obs, _, term, trunc, info = view.step(a)
            steps += 1
        assert term  # every episode ends by the rules, before or at the time limit
        assert obs[-1] == steps  # TimeAwareObservation's elapsed-steps feature
        longest = max(longest, steps)
    assert longest <= view.spec.max_episode_steps


def test_rgb_array_frames_and_a_clear_flat_obs_error():
    from gymnasium.wrappers import RenderCollection

    env = RenderCollection(gymnasium.make(env_ids("multilateral_5")[0], render_mode="rgb_array"))
    obs, info = env.reset(seed=0)
    env.step(env.action_space.sample(info["action_mask"]))
    frames = env.render()
    assert len(frames) == 2 and all(f.dtype == np.uint8 and f.shape[2] == 3 for f in frames)
    with pytest.raises(ValueError, match="flat_obs = True is not an argument of the gymnasium"):
        gymnasium.make(env_ids("multilateral_5")[0], flat_obs=True)


def test_make_vec_builds_the_batched_view_and_it_plays_the_single_views_episodes():
    from negenv.adapters.gymnasium_vector import MediatorVectorEnv, PartyVectorEnv

    mediator_id, party_id = env_ids("lilliput")
    venv = gymnasium.make_vec(mediator_id, num_envs=16, population="mixed")
    assert isinstance(venv, MediatorVectorEnv) and venv.num_envs == 16
    single = gymnasium.make(mediator_id, population="mixed")
    mediator = registry.mediator("nbs_signals").build(single.unwrapped.env)
    obs, info = venv.reset(seed=4)
    sobs, _ = single.reset(seed=4)  # slot 0's first episode
    total, single_total, ended, first_done = 0.0, 0.0, 0, False
    while not first_done:
        a = mediator.act(obs, info["action_mask"])
        np.testing.assert_array_equal(venv.action_masks(), info["action_mask"])
        np.testing.assert_allclose(obs[0], sobs, atol=1e-6)
        sobs, r, term, trunc, _ = single.step(a[0])
        obs, rewards, terms, truncs, info = venv.step(a)
        assert rewards.shape == (16,) and not info["illegal_action"].any()
        total, single_total = total + rewards[0], single_total + r
        first_done = bool(terms[0] or truncs[0])
        assert first_done == (term or trunc)
        if terms.any() or truncs.any():
            assert np.array_equal(info["_final_obs"], terms | truncs)
            ended += int((terms | truncs).sum())
    assert total == pytest.approx(single_total, abs=1e-5) and ended >= 1
    pv = gymnasium.make_vec(party_id, num_envs=8, seat=2, population="threshold")
    assert isinstance(pv, PartyVectorEnv)
    obs, info = pv.reset(seed=1)
    assert obs.shape == (8, pv.single_observation_space.shape[0])
    obs, r, *_ = pv.step(pv.action_space.sample())
    assert r.shape == (8,)
