"""docs/model.md section 8, properties 5-6: no defection raises the mediator's reward; monitoring
and sanctions deter every seat, the end game pays without them. Paired runs; see property_kit."""

from __future__ import annotations

import numpy as np
import pytest

import negenv
from agents.deviations import deviate, deviator_gain, pinned_setup
from negenv import rollout
from tests.property_kit import MEDIATED, STAGED, worth_of

# --------------------------------------------------------------------- 5: the mediator


DEVIATIONS = [("all", "last"), ("strongest", "all"), ("weakest", "first")]


@pytest.mark.parametrize("level", [0, -1])
@pytest.mark.parametrize("population", ["threshold", "mixed"])
@pytest.mark.parametrize("name", MEDIATED)
def test_no_extra_defection_raises_the_mediator_reward(name, population, level):
    s = negenv.load(name).implementation.n_stages
    stages = {"last": (s,), "all": tuple(range(1, s + 1)), "first": (1,)}
    for who, when in DEVIATIONS:
        base, alt, _ = deviate(name, level, who, stages[when], population, episodes=250)
        rise = alt["mediator_utility"] - base["mediator_utility"]
        assert rise.max() <= 1e-9, (who, when, rise.max())
        more = (alt["defections_detected"] + alt["defections_undetected"]).sum() > (
            base["defections_detected"] + base["defections_undetected"]
        ).sum()
        if population == "threshold":  # (mixed agreements may collapse before it happens)
            assert more and rise.min() < 0  # the deviation happened and cost the mediator


# ----------------------------------------------------------- 6: monitoring and sanctions


@pytest.mark.parametrize("name", MEDIATED)
def test_full_monitoring_makes_every_defection_unprofitable(name):
    s = negenv.load(name).implementation.n_stages
    for who in ("strongest", "weakest"):
        for stage in range(1, s + 1):
            base, alt, _ = deviate(name, -1, who, (stage,), episodes=200)
            gain = deviator_gain(base, alt, who)
            agreed = base["agreed_round"] >= 0
            assert gain[agreed].mean() < 0 and gain.max() <= 1e-12, (who, stage, gain.max())


@pytest.mark.parametrize("name", STAGED)
def test_without_monitoring_last_stage_defection_pays_any_party_short_of_its_ideal(name):
    sc = negenv.load(name)
    for seat in range(sc.n_parties):
        base, alt, sc = deviate(name, 0, seat, (sc.implementation.n_stages,), episodes=200)
        short = (base["status"] == "completed") & (worth_of(sc, base)[:, seat] < 1 - 1e-6)
        gain = alt["utility"][:, seat] - base["utility"][:, seat]
        assert short.sum() > 10 and np.all(gain[short] > 0), (seat, gain[short].min())


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_best_monitoring_level_depends_on_the_parties(name):
    reward = {}
    for population in ("threshold", "opportunistic"):
        for level in range(5):
            sc, env, policies = pinned_setup(name, level, population)
            rec = rollout.run(sc, policies, 400, seed=5)
            reward[population, level] = rec["mediator_utility"].mean()
    assert max(range(5), key=lambda m: reward["threshold", m]) == 0
    assert max(range(5), key=lambda m: reward["opportunistic", m]) == 2  # m = 1/2
