"""TrainConfig.anneal: the learning rate and entropy coefficient fall linearly to 0."""

from __future__ import annotations

import pytest
import torch

from negenv.training import torch_ppo
from negenv.training.config import TrainConfig
from negenv.vector import VectorNegotiationEnv


def learner(updates: int, **kwargs):
    """A Rubinstein party learner of ``updates`` updates, lr 1e-3 and entropy 0.02."""
    cfg = TrainConfig(
        scenario="rubinstein",
        learn="parties",
        num_envs=64,
        rollout_steps=8,
        total_steps=64 * 8 * updates,
        lr=1e-3,
        ent_coef=0.02,
        **kwargs,
    ).validate()
    env = VectorNegotiationEnv("rubinstein", num_envs=cfg.num_envs)
    assert cfg.updates == updates
    return cfg, torch_ppo.make_learner(env, "party", cfg)


@pytest.mark.parametrize("anneal", [False, True])
def test_the_schedule_of_each_update(anneal):
    cfg, ln = learner(4, anneal=anneal)
    for update, frac in enumerate([1.0, 0.75, 0.5, 0.25]):
        torch_ppo.schedule(ln, cfg, update)
        want = frac if anneal else 1.0
        assert ln.optim.param_groups[0]["lr"] == pytest.approx(1e-3 * want)
        assert float(ln.loss.entropy_coeff) == pytest.approx(0.02 * want)
    assert isinstance(ln.loss.entropy_coeff, torch.Tensor)


def test_anneal_needs_the_torch_backend():
    with pytest.raises(ValueError, match="anneal = True is invalid: needs backend 'torch'"):
        TrainConfig(backend="sb3", anneal=True).validate()


def test_the_entropy_can_end_before_the_learning_rate():
    cfg, ln = learner(8, anneal=True, entropy_end=0.5)
    for update in range(8):
        torch_ppo.schedule(ln, cfg, update)
        assert ln.optim.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 - update / 8))
        ent = [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0][update]
        assert float(ln.loss.entropy_coeff) == pytest.approx(0.02 * ent)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"entropy_end": 0.0, "anneal": True},
            r"entropy_end = 0.0 is invalid: must lie in \(0, 1\]",
        ),
        ({"entropy_end": 1.5, "anneal": True}, r"entropy_end = 1.5 is invalid"),
        ({"entropy_end": 0.5}, "entropy_end = 0.5 is invalid: below 1 needs anneal = True"),
    ],
)
def test_bad_entropy_ends_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs).validate()
