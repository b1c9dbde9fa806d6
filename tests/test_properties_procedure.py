"""docs/model.md section 8, properties 7-9 and the strategic no vote: credibility, coalition
timing, calibration of the full-information NBS mediator. See property_kit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negenv
from agents import registry
from agents.deviations import pinned_setup, strategic_no
from negenv import core, rollout
from negenv.randomness import draw_noise
from negenv.scenario import with_overrides
from negenv.vector import VectorNegotiationEnv
from tests.property_kit import (
    MEDIATED,
    uniform_actions,
)

# ------------------------------------------------------------------------- 7: credibility


@pytest.mark.parametrize("mediator", ["nbs_full", "split"])
@pytest.mark.parametrize("name", MEDIATED)
def test_credibility_moves_only_on_refused_claims_on_existing_cover(name, mediator):
    sc = negenv.load(name)
    spec = registry.mediator(mediator)
    sc = with_overrides(sc, spec.overrides) if spec.overrides else sc
    env = negenv.parallel_env(sc)
    policies = registry.population("opportunistic", env) | {"mediator": spec.build(env)}
    rec = rollout.run(sc, policies, 600, seed=2)
    refused = rec["claims_refused"].sum(axis=1)
    want = np.maximum(rec["credibility_initial"] - sc.mediator.credibility_loss * refused, 0)
    np.testing.assert_allclose(rec["credibility"], want, atol=1e-9)
    claimed = rec["guarantees_paid"].sum(1) > 0
    if mediator == "split":  # no guarantee is ever given: nothing to refuse
        assert refused.sum() == 0 and np.all(rec["credibility"] == rec["credibility_initial"])
    else:
        assert refused.sum() > 0 and claimed.any()


# -------------------------------------------------------------------------- 8: coalitions


def test_a_coalition_declared_in_a_round_does_not_change_that_rounds_vote():
    sc = negenv.load("lilliput")
    env = VectorNegotiationEnv(sc, num_envs=2000, dtype=torch.float64, check_actions=False)
    env.reset(seed=4)
    gen = torch.Generator().manual_seed(1)
    changed = 0
    for _ in range(12):
        s = env.state
        acts = uniform_actions(env, gen)
        keep = acts["party"].clone()
        keep[..., 2] = 0  # no declaration
        noise = draw_noise(s.key, s.clock, sc.n_parties, s.trust.dtype)
        outs = [
            core.step_state(sc, s, env.codec.decode(s, a, acts["mediator"]), noise)[0]
            for a in (acts["party"], keep)
        ]
        for field in ("agreed_round", "votes", "phase", "ratification_failures", "holdout"):
            assert torch.equal(getattr(outs[0], field), getattr(outs[1], field)), field
        changed += int((outs[0].coalition != outs[1].coalition).any(1).sum())
        env.step(acts)
    assert changed > 1000  # declarations did change memberships, for the next round


# ----------------------------------------------------------------------- 9: calibration


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_full_information_nbs_mediator_is_calibrated(name):
    from negenv.evaluate import run, unmediated
    from negenv.metrics import episode_metrics

    sc = negenv.load(name)
    rec = run(sc, "nbs_full", "threshold", 600, seed=7)
    nwr = episode_metrics(rec, sc)["nash_welfare_ratio"]
    assert np.nanmean(nwr) >= 0.9 and np.mean(rec["mediator_utility"] <= 1e-12) < 0.05
    # against end-game defectors, mediation (with deterrent monitoring) lifts the ratio far
    # above the unmediated protocol
    _, env, policies = pinned_setup(name, 2, "exploiters")
    guarded = rollout.run(env.scenario, policies, 600, seed=7)
    alone = run(sc, None, "exploiters", 600, seed=7)
    lifted = np.nanmean(episode_metrics(guarded, env.scenario)["nash_welfare_ratio"])
    base = np.nanmean(episode_metrics(alone, unmediated(sc))["nash_welfare_ratio"])
    assert lifted > base + 0.2, (lifted, base)


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput", "burden_sharing"])
def test_strategic_no_vote_gains_exactly_nothing(name):
    # the weakest party votes no whenever the text passes without it, then defects once
    base, alt = strategic_no(name, "weakest", episodes=600, seed=0)
    assert (alt["holdout"] & ~base["holdout"]).sum() > 20  # it did vote no
    np.testing.assert_array_equal(alt["utility"], base["utility"])
