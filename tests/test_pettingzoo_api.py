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


@pytest.mark.parametrize("name", SCENARIOS)
def test_sequential_resets_replay_the_episodes_their_keys_name(name):
    """reset() draws its episodes in blocks (1, 2, 4, ... up to negenv.env.RESET_BLOCK after a
    reseed); each must be the episode its key names, drawn alone, through every step: across
    blocks of every size and after a reseed in the middle of one."""
    from negenv import rng
    from negenv.env import RESET_BLOCK

    seq, alone = negenv.parallel_env(name), negenv.parallel_env(name)
    gen = np.random.default_rng(0)
    plan = [(11, k) for k in range(2 * RESET_BLOCK + 2)] + [(12, k) for k in range(3)]
    for seed, k in plan:
        obs, _ = seq.reset(seed=seed) if k == 0 else seq.reset()
        key = int(rng.episode_keys(seed, np.zeros(1, np.int64), np.array([k]))[0])
        ref, _ = alone.reset(options={"key": key})
        assert seq.core_state.key[0] == key
        while seq.agents:
            for a in seq.agents:
                np.testing.assert_array_equal(obs[a]["observation"], ref[a]["observation"])
                np.testing.assert_array_equal(obs[a]["action_mask"], ref[a]["action_mask"])
            acts = {}
            for a in seq.agents:
                space = seq.action_space(a)
                space.seed(int(gen.integers(1 << 31)))
                acts[a] = space.sample(obs[a]["action_mask"])
            obs, rewards, *_ = seq.step(acts)
            ref, ref_rewards, *_ = alone.step(acts)
            assert rewards == ref_rewards
        assert not alone.agents
        for field, value in seq.outcome.items():
            np.testing.assert_array_equal(value, alone.outcome[field], err_msg=field)
    assert len(seq._block[2].key) == 2  # the third episode after a reseed: a block of 2
    seq.reset()
    with pytest.raises(ValueError, match="read-only"):  # a block's episodes share its arrays
        seq.core_state.trust[0] = 0.0
