"""TorchRL's PettingZooWrapper on every shipped scenario (specs, masked rollouts), the
outcome_in_infos switch behind it, render(mode), and the native view's BenchMARL options."""

from __future__ import annotations

import pytest
import torch
from torchrl.envs.utils import check_env_specs

import negenv
from negenv.adapters.torchrl import NegotiationTorchRLEnv, pettingzoo_wrapper
from negenv.scenario import builtin_names


@pytest.mark.parametrize("scenario", builtin_names())
def test_pettingzoo_wrapper_specs_and_masked_rollouts(scenario):
    env = pettingzoo_wrapper(scenario)
    check_env_specs(env)
    torch.manual_seed(0)
    data = env.rollout(80, break_when_any_done=False)  # random actions drawn from the masks
    groups = ["party", "mediator"] if "mediator" in data.keys() else ["party"]  # noqa: SIM118
    for g in groups:
        assert int(data["next", g, "info", "illegal_action"].sum()) == 0
        assert torch.isfinite(data["next", g, "reward"]).all()
    assert bool(data["next", "done"].any())  # episodes ended and restarted inside the rollout


@pytest.mark.parametrize("scenario", builtin_names())
def test_torchrls_plain_pettingzoo_wrapper_takes_the_default_env(scenario):
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    env = PettingZooWrapper(negenv.parallel_env(scenario))  # TorchRL's documented form
    check_env_specs(env)
    data = env.rollout(80, break_when_any_done=False)
    assert bool(data["next", "done"].any())  # an episode ended and its infos were stacked
    env.rollout(200)  # stops at the end of an episode: its record is the env's outcome
    assert env._env.outcome["status"] in ("completed", "collapsed", "breakdown")


def test_outcome_in_infos_is_a_switch():
    assert negenv.parallel_env("bilateral_asymmetric").outcome_in_infos is False
    for switch in (True, False):
        env = negenv.parallel_env("bilateral_asymmetric", outcome_in_infos=switch)
        obs, _ = env.reset(seed=1)
        while env.agents:
            acts = {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}
            obs, _, _, _, infos = env.step(acts)
        assert ("outcome" in infos["party_0"]) is switch
        assert env.outcome["status"] in ("completed", "collapsed", "breakdown")
    with pytest.raises(ValueError, match="outcome_in_infos = 1 is invalid"):
        negenv.parallel_env("bilateral_asymmetric", outcome_in_infos=1)


def test_render_accepts_the_mode_wrappers_pass():
    env = negenv.parallel_env("bilateral_asymmetric", render_mode="ansi")
    env.reset(seed=0)
    assert isinstance(env.render("ansi"), str) and env.render() == env.render("ansi")
    with pytest.raises(ValueError, match="render_mode 'ansi'"):
        env.render("rgb_array")
    assert negenv.parallel_env("bilateral_asymmetric").render(None) is None


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_native_view_modes_and_mediator_agent_dim(mode):
    env = NegotiationTorchRLEnv(
        "multilateral_5", num_envs=8, action_mode=mode, mediator_agent_dim=True
    )
    check_env_specs(env)
    data = env.rollout(30, break_when_any_done=False)
    assert data["next", "mediator", "reward"].shape == (8, 30, 1, 1)
    assert data["mediator", "observation"].shape[:3] == (8, 30, 1)
    assert data["next", "party", "reward"].shape == (8, 30, 5, 1)
