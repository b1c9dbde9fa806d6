"""docs/model.md section 8, properties 1-4: complied agreements pay their worth, no discount
trap, bounded and finite returns and observations (float32 and float64). See property_kit."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

import negenv
from agents import RandomPolicy
from agents.deviations import pinned_setup
from negenv import rollout
from negenv.vector import VectorNegotiationEnv
from tests.property_kit import (
    EPISODES,
    SCENARIOS,
    GridSPE,
    grid_spe,
    uniform_actions,
    worth_of,
)

# ------------------------------------------------------------------ 1-4: accounting, worth


class Complying:
    """Random Box actions that always comply (continuous mode)."""

    def __init__(self, env, agent, rng):
        self.random, self.box = RandomPolicy(env.action_space(agent), rng), env.layout.party_box

    def act(self, obs, mask):
        out = self.random.act(obs, mask)
        out[:, self.box["defect"]] = 0.0
        return out


@cache
def complied_runs(name: str, mode: str, dtype: torch.dtype):
    if mode == "discrete" and name == "rubinstein":  # threshold parties never agree there
        sc, env, policies = pinned_setup(name)
        a = grid_spe(sc.discount, sc.proposal_levels, sc.max_rounds)
        policies = dict.fromkeys(env.parties, GridSPE(env.layout, sc, a))
    elif mode == "discrete":
        sc, env, policies = pinned_setup(name)
    else:
        sc = negenv.load(name)
        env = negenv.parallel_env(sc, action_mode="continuous")
        rng = np.random.default_rng(0)
        policies = {a: Complying(env, a, rng) for a in env.parties}
        if sc.mediated:
            policies["mediator"] = RandomPolicy(env.action_space("mediator"), rng)
    return sc, rollout.run(sc, policies, EPISODES, seed=3, dtype=dtype, action_mode=mode)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", ["discrete", "continuous"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_complied_agreements_never_collapse_and_pay_their_worth(name, mode, dtype):
    sc, rec = complied_runs(name, mode, dtype)
    agreed = rec["agreed_round"] >= 0
    complied = agreed & ((rec["defections_detected"] + rec["defections_undetected"]).sum(1) == 0)
    assert complied.sum() >= 20, complied.sum()
    assert not np.any(rec["status"][complied] == "collapsed")
    tol = 1e-9 if dtype == torch.float64 else 2e-5
    np.testing.assert_allclose(rec["utility"][complied], worth_of(sc, rec)[complied], atol=tol)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_discount_trap_for_yes_voters(name):
    # threshold parties vote yes exactly when the observed worth is at least BATNA + 0.02
    sc, rec = complied_runs(name, "discrete", torch.float64)
    agreed = rec["agreed_round"] >= 0
    complied = agreed & ((rec["defections_detected"] + rec["defections_undetected"]).sum(1) == 0)
    yes = complied[:, None] & ~rec["holdout"]
    assert yes.sum() > 50
    assert np.all(rec["utility"][yes] >= rec["batna"][yes])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", [*SCENARIOS, "dominant"])
def test_returns_at_most_one_and_everything_finite_and_in_bounds(name, dtype):
    overrides = {}
    if name == "dominant":  # a party of power ~1 - 1e-9: 1 - p rounds to 0 in float32
        name = "multilateral_5"
        overrides = {"types.power": {"kind": "fixed", "values": [1.0, 1e-9, 1e-9, 1e-9, 1e-9]}}
    env = VectorNegotiationEnv(name, num_envs=512, dtype=dtype, **overrides)
    gen = torch.Generator().manual_seed(0)
    obs, total = env.reset(seed=1), torch.zeros(512, env.layout.n, dtype=torch.float64)
    for _ in range(60):
        actions = uniform_actions(env, gen)
        obs, rewards, term, trunc, _ = env.step(actions)
        r = rewards["party"].double()
        assert torch.isfinite(r).all() and torch.isfinite(rewards.get("mediator", r)).all()
        assert r.abs().max() <= 1.0 + 1e-6
        total = torch.where((term | trunc)[:, None], 0.0, total + r)
        for parts in obs.values():
            x = parts["observation"]
            assert torch.isfinite(x).all() and x.abs().max() <= 1.0
        assert total.max() <= 1.0 + 1e-5
    assert env.global_state().abs().max() <= 1.0
