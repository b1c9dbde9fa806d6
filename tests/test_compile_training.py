"""TrainConfig.compile: compiled learners on a compiled env learn what eager ones learn, and
save the same."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negenv
from agents import registry
from negenv.training import torch_ppo
from negenv.training.config import TrainConfig


def _one_update(compile: bool):
    cfg = TrainConfig(num_envs=64, rollout_steps=8, minibatches=2, epochs=1, compile=compile)
    cfg = cfg.validate()
    env = torch_ppo.make_env(negenv.load("multilateral_5"), cfg)  # compiled with cfg
    assert (env._advance_fn == env._advance) is not compile
    torch.manual_seed(0)
    ln = torch_ppo.make_learner(env, "mediator", cfg)
    shell = negenv.parallel_env("multilateral_5")
    bg = torch_ppo.Background(env, registry.population("threshold", shell), shell.parties)
    gen = torch_ppo.update_generator(cfg.seed, 0, env.device)
    data, _ = torch_ppo.collect(env, [ln], bg, cfg, 0, gen)
    stats = torch_ppo.optimise(ln, data["mediator"], cfg, gen)
    return ln, data["mediator"], stats


def test_a_compiled_update_is_the_eager_one():
    torch.set_num_threads(1)
    eager, d_eager, s_eager = _one_update(False)
    comp, d_comp, s_comp = _one_update(True)
    # the same rollout (compiled logits may differ in the last bits, never in the actions)
    assert torch.equal(d_eager["action"], d_comp["action"])
    assert torch.allclose(d_eager["log_prob"], d_comp["log_prob"], atol=1e-5)
    for k, v in s_eager.items():
        assert s_comp[k] == pytest.approx(v, rel=1e-3, abs=1e-5), k
    # checkpoints are interchangeable: the same keys and, after the update, close weights
    a, b = eager.state((128, 128)), comp.state((128, 128))
    assert a["arch"] == b["arch"] == "set"
    assert a["actor"].keys() == b["actor"].keys() and a["critic"].keys() == b["critic"].keys()
    for k in a["actor"]:
        assert np.allclose(a["actor"][k].numpy(), b["actor"][k].numpy(), atol=1e-4), k


def test_compile_needs_the_torch_backend():
    with pytest.raises(ValueError, match="compile = True is invalid: needs backend 'torch'"):
        TrainConfig(backend="sb3", compile=True).validate()
