"""Subgame starts (TrainConfig.subgames): a scripted prelude takes each training episode to
a later round, its steps are played as specified and never learned from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from negenv.training import torch_ppo
from negenv.training.config import TrainConfig
from negenv.vector import VectorNegotiationEnv


def _collect(subgames: int, sample_share: float = 1.0):
    cfg = TrainConfig(
        scenario="rubinstein",
        learn="parties",
        num_envs=256,
        rollout_steps=16,
        subgames=subgames,
        sample_share=sample_share,
    ).validate()
    env = VectorNegotiationEnv("rubinstein", num_envs=cfg.num_envs)
    torch.manual_seed(0)
    learner = torch_ppo.make_learner(env, "party", cfg)
    bg = torch_ppo.Background(env, {}, ["party_0", "party_1"])
    gen = torch_ppo.update_generator(cfg.seed, 0, env.device)
    data, outcomes = torch_ppo.collect(env, [learner], bg, cfg, 0, gen)
    return env, learner, cfg, data["party"], outcomes


def test_the_prelude_rejects_posts_random_texts_and_is_not_learned_from():
    env, learner, cfg, d, _ = _collect(subgames=10)
    learn = d["learn"].reshape(16, 256, 2)  # (T, slot, seat)
    assert torch.equal(learn[..., 0], learn[..., 1])  # both seats are in the prelude together
    learn = learn[..., 0]
    # a prelude is the first rounds of an episode: within an episode, once a slot learns it
    # keeps learning; each episode draws its start round over 0..10
    ended = d["terminated"].reshape(16, 256, 2)[..., 0].numpy()
    mask, leads = learn.numpy(), []
    for b in range(256):
        begin = 0
        for t in range(16):
            if t == 15 or ended[t, b]:
                episode = mask[begin : t + 1, b]
                lead = int(np.argmax(episode)) if episode.any() else len(episode)
                assert episode[lead:].all()
                if t < 15:  # a whole prelude (the rollout's last episode may be cut short)
                    leads.append(lead)
                begin = t + 1
    assert set(leads) == set(range(11))
    act = d["action"].reshape(16, 256, 2, -1)
    forced = ~learn[..., None].expand(16, 256, 2)
    assert torch.all(act[..., 0][forced] == 0)  # every prelude vote rejects
    assert torch.all(act[..., 3][forced] == 1)  # and signals nothing
    # the proposer of a prelude round posts a text drawn uniformly over the grid
    t = torch.arange(16)[:, None].expand(16, 256)
    poster = act[..., 4].gather(2, (t % 2)[..., None])[..., 0][~learn]
    assert poster.float().std() > 20 and poster.min() >= 0 and poster.max() <= 100
    # optimise learns on the learning steps only
    stats = torch_ppo.optimise(learner, d, cfg, torch.Generator().manual_seed(0))
    assert np.isfinite(stats["party/loss_objective"])


def test_without_subgames_every_step_is_learned_from():
    *_, d, _ = _collect(subgames=0)
    assert "learn" not in d


def test_a_sample_share_plays_the_rest_greedily_and_learns_from_the_sampled_steps():
    env, learner, cfg, d, _ = _collect(subgames=0, sample_share=0.3)
    learn = d["learn"]
    assert 0.25 < learn.float().mean() < 0.35  # about sample_share of the agent-steps
    # a greedy step is the policy's most likely legal option under its own observation
    with torch.no_grad():
        x, m = d["observation"], d["action_mask"]
        mode = torch_ppo.MaskedMultiCategorical(learner.actor(x), m, learner.nvec).mode
    assert torch.equal(d["action"][~learn], mode[~learn])
    assert (d["action"][learn] != mode[learn]).any(-1).float().mean() > 0.3  # sampled
    again = _collect(subgames=0, sample_share=0.3)[3]  # same seed, same rollout
    assert torch.equal(again["action"], d["action"]) and torch.equal(again["learn"], learn)
    stats = torch_ppo.optimise(learner, d, cfg, torch.Generator().manual_seed(0))
    assert np.isfinite(stats["party/loss_objective"])
    # with subgames too, a step is learned from only outside the prelude and when sampled
    *_, d, _ = _collect(subgames=10, sample_share=0.3)
    assert 0.1 < d["learn"].float().mean() < 0.3


@pytest.mark.parametrize("value", [0.0, 1.5, -0.1])
def test_a_bad_sample_share_is_refused(value):
    with pytest.raises(ValueError, match=f"sample_share = {value} is invalid.*\\(0, 1\\]"):
        TrainConfig(sample_share=value).validate()
    with pytest.raises(ValueError, match="sample_share = 0.5 is invalid.*backend 'torch'"):
        TrainConfig(backend="sb3", sample_share=0.5).validate()


def test_the_backward_curriculum_starts_late_first():
    """TrainConfig.backward: the earliest start round falls from ``subgames`` to 0 over the
    first ``backward`` of the updates, then starts are uniform over 0..subgames."""
    cfg = TrainConfig(
        scenario="rubinstein",
        learn="parties",
        num_envs=64,
        rollout_steps=8,
        total_steps=64 * 8 * 100,
        subgames=49,
        backward=0.5,
    ).validate()
    assert cfg.updates == 100
    lows = [torch_ppo.lowest_start(cfg, u) for u in (0, 1, 25, 49, 50, 99)]
    assert lows == [49, 49, 25, 1, 0, 0]  # ceil(49 * (1 - u / 50)): 48.02 -> 49
    off = TrainConfig(scenario="rubinstein", learn="parties", subgames=49).validate()
    assert torch_ppo.lowest_start(off, 0) == 0
    # the prelude draws every slot's start round from lowest..subgames
    env = VectorNegotiationEnv("rubinstein", num_envs=512)
    env.reset(seed=0)
    gen = torch.Generator().manual_seed(0)
    starts = torch_ppo.Prelude(env, 49, gen, lowest=45).start
    assert set(starts.tolist()) == {45, 46, 47, 48, 49}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"backward": 0.5}, "backward = 0.5 is invalid: needs subgames > 0"),
        ({"backward": 1.5, "subgames": 3}, r"backward = 1.5 is invalid: must be a fraction"),
        ({"backward": -0.1, "subgames": 3}, r"backward = -0.1 is invalid: must be a fraction"),
    ],
)
def test_a_bad_backward_curriculum_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(scenario="rubinstein", learn="parties", **kwargs).validate()
