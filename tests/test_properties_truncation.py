"""Properties 11 and 12 of the model (docs/model.md): a step cap never pays for running the
clock out, and float32 and float64 give the same statuses on the same episodes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negenv
from agents import RandomPolicy, registry
from agents.deviations import Stall, paired
from negenv import rollout
from negenv.scenario import with_overrides
from tests.property_kit import MEDIATED, SCENARIOS


def mediated_setup(name: str, mediator: str, population: str):
    spec = registry.mediator(mediator)
    sc = with_overrides(negenv.load(name), spec.overrides)
    env = negenv.parallel_env(sc)
    return sc, {**registry.population(population, env), "mediator": spec.build(env)}


# ------------------------------------------------------------- 11: step caps and stalling


@pytest.mark.parametrize("population", ["threshold", "mixed"])
@pytest.mark.parametrize("mediator", ["nbs_seen", "split"])
@pytest.mark.parametrize("name", MEDIATED)
def test_stalling_never_raises_the_mediators_reward_under_any_cap(name, mediator, population):
    sc, policies = mediated_setup(name, mediator, population)
    for cap in range(1, sc.max_rounds + sc.implementation.n_stages + 1):
        base, alt = paired(sc, policies, {}, 200, 3, Stall(), max_cycles=cap)
        rise = alt["mediator_utility"] - base["mediator_utility"]
        assert rise.mean() <= 1e-12, (cap, rise.mean())
        assert not np.any(alt["status"] == "completed")


def test_a_truncated_agreement_scores_the_share_of_stages_it_reached():
    # everyone complies: the objective of an agreement cut after k of S stages is the one a
    # complete agreement with k of S stages' gains would get (agreement and compliance
    # terms whole, welfare and the budget pro rata), and it grows with k
    sc, policies = mediated_setup("multilateral_5", "nbs_seen", "threshold")
    full = rollout.run(sc, policies, 300, seed=5)
    ok = full["agreed_round"] == 1  # agreed at the first vote: stage k ends at step 2 + k
    assert ok.mean() > 0.5
    scores = [
        rollout.run(sc, policies, 300, seed=5, max_cycles=2 + k)["mediator_utility"][ok]
        for k in range(sc.implementation.n_stages + 1)
    ]
    assert np.all(np.diff(np.stack(scores), axis=0) > 0)
    np.testing.assert_allclose(scores[-1], full["mediator_utility"][ok])
    assert np.all(scores[0] <= 1e-12)  # an agreement with no stage reached earns nothing


# ------------------------------------------------------------------ 12: the two dtypes


def dtype_policies(name: str, population: str):
    sc = negenv.load(name)
    if population == "random":
        env = negenv.parallel_env(sc)
        gens = [np.random.default_rng(i) for i in range(len(env.possible_agents))]
        return sc, {
            a: RandomPolicy(env.action_space(a), g) for a, g in zip(env.possible_agents, gens)
        }
    if sc.mediated:
        return mediated_setup(name, "nbs_seen", population)
    return sc, registry.population(population, negenv.parallel_env(sc))


@pytest.mark.parametrize("population", ["mixed", "exploiters", "random"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_float32_and_float64_give_the_same_statuses(name, population):
    recs = []
    for dtype in (torch.float64, torch.float32):
        sc, policies = dtype_policies(name, population)  # fresh: random policies hold a state
        recs.append(rollout.run(sc, policies, 1500, seed=11, dtype=dtype))
    a, b = recs
    for field in ("status", "agreed_round", "stages_completed", "first_violation"):
        np.testing.assert_array_equal(a[field], b[field], err_msg=field)
    np.testing.assert_array_equal(a["defections_detected"], b["defections_detected"])
