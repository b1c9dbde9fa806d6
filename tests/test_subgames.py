"""Subgame starts (TrainConfig.subgames): a scripted prelude takes each training episode to
a later round, its steps are played as specified and never learned from."""

from __future__ import annotations

import numpy as np
import torch

from negenv.training import torch_ppo
from negenv.training.config import TrainConfig
from negenv.vector import VectorNegotiationEnv


def _collect(subgames: int):
    cfg = TrainConfig(
        scenario="rubinstein", learn="parties", num_envs=256, rollout_steps=16, subgames=subgames
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
