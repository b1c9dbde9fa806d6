"""PettingZoo's own testers on every shipped scenario and both action modes."""

from __future__ import annotations

import types
from functools import partial

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
    state_test,
)

import negenv

SCENARIOS = negenv.builtin_names()
MODES = ["discrete", "continuous"]
PZ_VERSION = tuple(int(x) for x in pettingzoo.__version__.split(".")[:2])
# before 1.27 parallel_api_test samples a masked action as an index into the mask, which only
# a Discrete space accepts (negenv's are MultiDiscrete and Box), and there is no registry
OLD_TESTER = pytest.mark.skipif(
    PZ_VERSION < (1, 27), reason="pettingzoo < 1.27: parallel_api_test assumes Discrete masks"
)
NO_REGISTRY = pytest.mark.skipif(
    PZ_VERSION < (1, 27), reason="pettingzoo < 1.27 has no registry (pettingzoo.make)"
)


@OLD_TESTER
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_parallel_api(name, mode):
    parallel_api_test(negenv.parallel_env(name, action_mode=mode), num_cycles=200)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_aec_api(name, mode):
    api_test(negenv.env(name, action_mode=mode), num_cycles=200)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_seeds(name, mode):
    parallel_seed_test(partial(negenv.parallel_env, name, action_mode=mode))
    seed_test(partial(negenv.env, name, action_mode=mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_max_cycles(name, mode):
    # Natural ends must come later than the cap for the test to see it: a long deadline,
    # enough stages, and no collapse.
    long = {
        "max_rounds": 50,
        "implementation__n_stages": 6,
        "implementation__collapse_threshold": 0.0,
        "action_mode": mode,
    }
    mod = types.SimpleNamespace(
        parallel_env=partial(negenv.parallel_env, name, **long),
        env=partial(negenv.env, name, **long),
    )
    max_cycles_test(mod)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_render(name, mode):
    render_test(partial(negenv.env, name, action_mode=mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_state(name, mode):
    state_test(negenv.env(name, action_mode=mode), negenv.parallel_env(name, action_mode=mode))


@NO_REGISTRY
@pytest.mark.parametrize("name", SCENARIOS)
def test_registry(name):
    par = pettingzoo.make("parallel", f"negenv/{name}-v0")
    aec = pettingzoo.make("aec", f"negenv/{name}-v0")
    assert par.scenario.name == name and aec.unwrapped.scenario.name == name
    assert par.metadata["is_parallelizable"] and par.metadata["name"] == "negotiation_v0"


def test_flat_obs_puts_mask_in_info():
    env = negenv.parallel_env("multilateral_5", flat_obs=True)
    obs, infos = env.reset(seed=3)
    for agent in env.agents:
        assert env.observation_space(agent).contains(obs[agent])
        assert infos[agent]["action_mask"].dtype == np.int8


def test_spaces_are_the_same_object():
    env = negenv.parallel_env("lilliput")
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
