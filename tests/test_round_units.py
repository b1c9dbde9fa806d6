"""Round units (TrainConfig.round_units): values and advantages measured in the worth of the
round each decision is taken in, an exact change of units of GAE."""

from __future__ import annotations

import pytest
import torch

import train
from negenv.training import torch_ppo
from negenv.training.config import TrainConfig


def _data(reward, terminated, rounds, value, last_value, last_round, delta):
    f = torch.float32
    unit = delta ** -torch.tensor(rounds, dtype=torch.float64)[:, None]
    return {
        "reward": torch.tensor(reward, dtype=f)[:, None],
        "terminated": torch.tensor(terminated)[:, None],
        "value": torch.tensor(value, dtype=f)[:, None],
        "last_value": torch.tensor([[last_value]], dtype=f),
        "unit": unit,
        "last_unit": delta ** -torch.tensor([[float(last_round)]], dtype=torch.float64),
    }


def test_targets_are_returns_in_the_units_of_each_steps_round():
    # one episode of rounds 0, 1, 2 paying 0.6 * delta**2 at its end, then a new episode
    # (round 0) paying 0.3 at once: with lambda 1 a target is the return divided by
    # delta**round, and nothing of the next episode leaks across the boundary
    delta = 0.5
    cfg = TrainConfig(gamma=1.0, gae_lambda=1.0)
    d = _data(
        reward=[0.0, 0.0, 0.6 * delta**2, 0.3],
        terminated=[False, False, True, True],
        rounds=[0, 1, 2, 0],
        value=[0.1, 0.2, 0.3, 0.4],
        last_value=0.9,
        last_round=0,
        delta=delta,
    )
    adv, target = torch_ppo.advantages(d, cfg)
    expected = torch.tensor([0.6 * delta**2, 0.6 * delta, 0.6, 0.3])[:, None]
    assert torch.allclose(target, expected, atol=1e-6)
    assert torch.allclose(adv, expected - d["value"], atol=1e-6)


def test_a_running_episode_is_bootstrapped_in_the_next_rounds_units():
    delta = 0.8
    cfg = TrainConfig(gamma=1.0, gae_lambda=1.0)
    d = _data([0.0, 0.0], [False, False], [3, 4], [0.5, 0.5], 0.7, 5, delta)
    _, target = torch_ppo.advantages(d, cfg)
    # V'(round 5) = 0.7 is worth 0.7 * delta**5 in round-0 units, delta**-3 and -4 times that
    assert torch.allclose(target, torch.tensor([[0.7 * delta**2], [0.7 * delta]]), atol=1e-6)


def test_with_units_of_one_the_estimate_is_the_plain_one():
    gen = torch.Generator().manual_seed(0)
    t, e = 12, 7
    d = {
        "reward": torch.rand(t, e, generator=gen),
        "terminated": torch.rand(t, e, generator=gen) < 0.2,
        "value": torch.rand(t, e, generator=gen),
        "last_value": torch.rand(1, e, generator=gen),
    }
    cfg = TrainConfig(gamma=0.97, gae_lambda=0.9)
    plain = torch_ppo.advantages(d, cfg)
    ones = torch.ones(t, e, dtype=torch.float64)
    scaled = torch_ppo.advantages({**d, "unit": ones, "last_unit": ones[:1]}, cfg)
    for a, b in zip(plain, scaled):
        assert torch.allclose(a, b, atol=1e-6)


def test_collect_records_the_unit_of_every_row():
    from negenv.vector import VectorNegotiationEnv

    cfg = TrainConfig(
        scenario="rubinstein",
        learn="parties",
        num_envs=64,
        rollout_steps=8,
        subgames=5,
        round_units=True,
        scenario_overrides=("discount=0.5",),
    ).validate()
    env = VectorNegotiationEnv(cfg.load_scenario(), num_envs=cfg.num_envs)
    torch.manual_seed(0)
    learner = torch_ppo.make_learner(env, "party", cfg)
    bg = torch_ppo.Background(env, {}, ["party_0", "party_1"])
    gen = torch_ppo.update_generator(cfg.seed, 0, env.device)
    d = torch_ppo.collect(env, [learner], bg, cfg, 0, gen)[0]["party"]
    rounds = torch.log2(d["unit"])  # delta = 0.5: unit = 2**round
    assert torch.equal(rounds, rounds.round()) and rounds.max() > 3
    seats = rounds.reshape(8, 64, 2)
    assert torch.equal(seats[..., 0], seats[..., 1])  # both seats of a slot share its round
    # within a rollout a slot's round rises by one a step until its episode ends
    ended = d["terminated"].reshape(8, 64, 2)[..., 0]
    step = seats[1:, :, 0] - seats[:-1, :, 0]
    assert torch.all(step[~ended[:-1]] == 1) and torch.all(seats[1:, :, 0][ended[:-1]] == 0)
    stats = torch_ppo.optimise(learner, d, cfg, torch.Generator().manual_seed(0))
    assert torch.isfinite(torch.tensor(stats["party/loss_critic"]))


def test_round_units_need_the_torch_backend(tmp_path):
    with pytest.raises(ValueError, match="round_units = True is invalid: needs backend 'torch'"):
        train.main(["--backend", "sb3", "--round-units", "--run-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())
