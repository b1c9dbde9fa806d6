"""The project-owned SB3 VecEnv that shares one policy over every party seat."""

from __future__ import annotations

import numpy as np
import torch

from agents import RandomPolicy
from negenv.adapters.sb3 import SeatVecEnv
from negenv.vector import VectorNegotiationEnv


def test_seats_are_the_batched_envs_parties_and_episodes_end_together():
    venv = SeatVecEnv("lilliput", num_episodes=8, max_cycles=12, seed=3)
    obs = venv.reset()
    ref = VectorNegotiationEnv("lilliput", num_envs=8)
    want = ref.reset(seed=3)["party"]["observation"].reshape(8 * 7, -1).numpy()
    np.testing.assert_array_equal(obs, want)
    assert obs.shape == (56, venv.observation_space.shape[0]) and venv.num_envs == 56
    policy, ended = RandomPolicy(venv.action_space, np.random.default_rng(0)), 0
    for _ in range(30):
        masks = venv.action_masks()
        assert np.array_equal(np.stack(venv.env_method("action_masks")), masks)
        obs, reward, done, infos = venv.step(policy.act(obs, masks))
        assert obs.shape == (56, want.shape[1]) and reward.dtype == np.float32
        blocks = done.reshape(8, 7)
        assert np.all(blocks.all(1) | ~blocks.any(1))  # every seat of an episode ends at once
        for i in np.flatnonzero(done):
            assert infos[i]["terminal_observation"].shape == want.shape[1:]
            assert isinstance(infos[i]["TimeLimit.truncated"], bool)
        assert all(not infos[i] for i in np.flatnonzero(~done))
        ended += int(done.sum())
    assert ended > 0


def test_maskable_ppo_shares_one_policy_over_every_seat():
    from sb3_contrib import MaskablePPO

    torch.set_num_threads(1)
    venv = SeatVecEnv("multilateral_5", num_episodes=8, max_cycles=40)
    model = MaskablePPO("MlpPolicy", venv, n_steps=16, batch_size=160, n_epochs=1, seed=0)
    model.learn(640)
    obs = venv.reset()
    for _ in range(10):
        masks = venv.action_masks()
        action, _ = model.predict(obs, action_masks=masks)
        bounds = np.concatenate([[0], np.cumsum(venv.action_space.nvec)])
        chosen = masks[np.arange(len(action))[:, None], bounds[:-1] + action]
        assert chosen.all()  # every component of every seat's action is allowed
        obs, *_ = venv.step(action)
