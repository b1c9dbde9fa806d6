"""Reference solutions against closed forms and brute force; metrics against hand values."""

from __future__ import annotations

import numpy as np
import pytest
from pytest import approx
from scipy import stats

import negenv
from agents import SplitTheDifferenceMediator, ThresholdParty, act
from negenv.metrics import (
    RecordsError,
    episode_metrics,
    gini,
    hazard,
    jain,
    kaplan_meier,
    rmst,
    stack,
    summary,
)
from negenv.solutions import Problem


def split_the_pie(batna, power=(0.5, 0.5)) -> Problem:
    """2 parties, 1 issue, ideals 1 and 0: u_0 = x, u_1 = 1 - x."""
    return Problem(
        np.array([[1.0], [0.0]]),
        np.ones((2, 1)),
        np.array(batna, float),
        np.array(power, float),
        np.array([0.5, 0.5]),
    )


@pytest.mark.parametrize("batna, x", [((0.0, 0.0), 0.5), ((0.2, 0.0), 0.6), ((0.0, 0.3), 0.35)])
def test_nbs_closed_forms(batna, x):
    got, u = split_the_pie(batna).nash()
    assert got[0] == approx(x, abs=1e-5) and u == approx([x, 1 - x], abs=1e-5)


def test_power_weighted_nbs_gives_the_power_share():
    p = split_the_pie((0.0, 0.0), power=(0.7, 0.3))
    assert p.nash(p.power)[0][0] == approx(0.7, abs=1e-5)
    assert p.solve()["nbs_power"][1] == approx([0.7, 0.3], abs=1e-5)


def test_ks_and_egalitarian_closed_forms():
    p = split_the_pie((0.2, 0.0))
    # ideal gains 0.8 and 0.8: KS equalises normalised gains, egalitarian absolute gains
    assert p.ideal_gains() == approx([0.8, 0.8])
    assert p.kalai_smorodinsky()[0][0] == approx(0.6) and p.egalitarian()[0][0] == approx(0.6)
    q = split_the_pie((0.0, 0.5))  # ideal gains 0.5 and 0.5 (x in [0, 0.5])
    assert q.kalai_smorodinsky()[0][0] == approx(0.25)
    assert q.egalitarian()[0][0] == approx(0.25)


def test_empty_bargaining_set_gives_nan():
    p = split_the_pie((0.6, 0.6))  # no x gives both more than 0.6
    assert np.isnan(p.nash()[0]).all() and np.isnan(p.kalai_smorodinsky()[1]).all()


def brute_force(p: Problem, objective, grid: int = 201):
    g = np.linspace(0, 1, grid)
    xs = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    us = np.stack([p.utility(x) for x in xs])
    gains = us - p.batna
    ok = np.all(gains > 0, axis=1)
    values = np.where(ok, objective(gains), -np.inf)
    return values.max(), us[values.argmax()]


@pytest.mark.parametrize("seed", range(4))
def test_multi_issue_solutions_beat_a_brute_force_grid(seed):
    rng = np.random.default_rng(seed)
    n = 3
    p = Problem(
        rng.random((n, 2)),
        rng.dirichlet(np.ones(2), n),
        np.full(n, 0.45),
        np.array([0.5, 0.3, 0.2]),
        np.array([0.5, 0.3, 0.2]),
    )
    sol = p.solve()
    for name, alpha in (("nbs", np.full(n, 1 / n)), ("nbs_power", p.power)):
        best, _ = brute_force(p, lambda g, a=alpha: (a * np.log(np.maximum(g, 1e-12))).sum(1))
        value = (alpha * np.log(sol[name][1] - p.batna)).sum()
        assert value >= best - 1e-6  # the solver is at least as good as any grid point
        assert value <= best + 0.02  # and the grid (step 0.005) comes close
    best, _ = brute_force(p, lambda g: g.min(1))
    assert (sol["egalitarian"][1] - p.batna).min() == approx(best, abs=5e-3)
    assert (sol["egalitarian"][1] - p.batna).min() >= best - 1e-9
    best, _ = brute_force(p, lambda g: g.sum(1))
    assert (sol["utilitarian"][1] - p.batna).sum() >= best - 1e-9
    assert p.pareto_gap(sol["utilitarian"][1]) == approx(0.0, abs=1e-7)


def test_burden_issue_utilities_match_the_rules():
    env = negenv.parallel_env("burden_sharing")
    env.reset(seed=4)
    s = env.core_state
    p = Problem(s.ideal[0], s.weight[0], s.batna0[0], s.power0[0], s.capability[0], True)
    x = np.array([0.3, 0.8, 0.6])
    from negenv.core import utility

    assert p.utility(x) == approx(
        utility(env.scenario, s.ideal, s.weight, s.capability, x[None])[0]
    )
    c, u_mat, *_ = p.affine
    assert p.utility(x) == approx(
        c + u_mat @ np.concatenate([x, np.abs(x[None, :2] - s.ideal[0][:, :2]).ravel()])
    )


# -------------------------------------------------------------------------------- metrics


def test_gini_and_jain_hand_values():
    assert gini(np.array([1.0, 1.0, 1.0])) == approx(0.0)
    assert gini(np.array([0.0, 0.0, 3.0])) == approx(2 / 3)  # 12 / (2 * 3 * 3)
    assert gini(np.array([1.0, 3.0])) == approx(0.25)  # 4 / (2 * 2 * 4)
    assert jain(np.array([1.0, 1.0, 1.0, 1.0])) == approx(1.0)
    assert jain(np.array([1.0, 0.0, 0.0, 0.0])) == approx(0.25)
    assert jain(np.array([1.0, 3.0])) == approx(16 / 20)


def test_kaplan_meier_rmst_and_hazard_by_hand_and_against_scipy():
    # 6 agreements over S = 4 stages: collapses at 1, 2, 2; censored at 2, 4, 4
    dur = np.array([1, 2, 2, 2, 4, 4])
    event = np.array([True, True, True, False, False, False])
    surv = kaplan_meier(dur, event, 4)
    assert surv == approx([1.0, 5 / 6, 5 / 6 * 3 / 5, 0.5, 0.5])
    assert rmst(surv) == approx(1 + 5 / 6 + 0.5 + 0.5)
    assert hazard(dur, event, 4)[:2] == approx([1 / 6, 2 / 5])
    assert hazard(dur, event, 4)[2:] == approx([0.0, 0.0])
    censored = stats.CensoredData(uncensored=dur[event], right=dur[~event])
    reference = stats.ecdf(censored).sf.evaluate(np.arange(5))
    assert surv == approx(reference)


def scripted_records(name: str, episodes: int) -> tuple[dict, negenv.Scenario]:
    env = negenv.parallel_env(name)
    party = ThresholdParty(env.layout)
    policies = {a: party for a in env.parties} | (
        {"mediator": SplitTheDifferenceMediator(env.layout)} if env.scenario.mediated else {}
    )
    records = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        while env.agents:
            obs, *_ = env.step(act(policies, obs))
        records.append(env.outcome)
    return stack(records), env.scenario


def test_episode_metrics_are_bounded_and_consistent():
    records, sc = scripted_records("burden_sharing", 12)
    rows = episode_metrics(records, sc)
    assert set(rows) >= {
        "nash_welfare_ratio",
        "gini_gain",
        "stage_completion",
        "burden_proportionality",
        "power_transmission",
    }
    assert np.all((rows["gini_gain"] >= 0) & (rows["gini_gain"] <= 1))
    assert np.all((rows["jain_gain"] >= 1 / sc.n_parties - 1e-12) & (rows["jain_gain"] <= 1))
    agreed = rows["agreed"] == 1
    np.testing.assert_allclose(
        rows["utilitarian_gain"], (records["utility"] - records["batna"]).sum(1)
    )
    assert np.all(np.isnan(rows["stage_completion"][~agreed]))
    assert np.all(rows["pareto_gap"][agreed] >= 0)
    out = summary(records, sc)
    families = {
        "objective",
        "agreement",
        "efficiency",
        "fairness",
        "durability",
        "procedure",
        "legality",
    }
    assert set(out) == families
    assert 0 <= out["agreement"]["agreed"] <= 1
    np.testing.assert_allclose(rows["mediator_objective"], records["mediator_utility"])


def test_records_errors():
    with pytest.raises(RecordsError, match="no outcome records"):
        stack([])
    a = {"scenario": "lilliput", "utility": np.zeros(2)}
    b = {"scenario": "rubinstein", "utility": np.zeros(2)}
    with pytest.raises(RecordsError, match=r"mix scenarios \['lilliput', 'rubinstein'\]"):
        stack([a, b])
    assert stack([a, b], allow_mixed=True)["utility"].shape == (2, 2)


def test_enforcement_margin_by_hand():
    sc = negenv.load("multilateral_5")  # gamma 0.3, leverage 1, S 4, sanction 0.02 + 2 gain
    sc = negenv.scenario.with_overrides(sc, {"implementation.holdout_temptation": 0.5})
    power = np.array([0.1, 0.2, 0.3, 0.2, 0.2])
    records = {
        "power": np.tile(power, (3, 1)),
        "holdout": np.tile([False, False, True, False, False], (3, 1)),
        "monitoring": np.array([0.4, 0.4, 0.4]),
        "ratification_failures": np.array([0, 4, 0]),  # trust at the first stage: 1.0, 0.6
        "agreed_round": np.array([2, 2, -1]),
        "agreement": np.full((3, 4), 0.5),
        "ideal": np.zeros((3, 5, 4)),  # u = 0.5 for everyone
        "weight": np.full((3, 5, 4), 0.25),
        "batna": np.tile([0.5, 0.4, 0.3, 0.4, 0.4], (3, 1)),
        "capability": np.tile(power, (3, 1)),
    }
    from negenv.metrics import enforcement_margin

    margin = enforcement_margin(records, sc)
    disc = sc.discount**2
    share = np.minimum(0.3 * (5 * power) * np.array([1, 1, 1.5, 1, 1]), 1.0)
    gain = share * disc * (1 - 0.5) / 4
    # full trust: neither a detected (1 - 0.15) nor a late (1 - 2 * 0.15 + 0.05) fall collapses
    assert margin[0] == approx(0.4 * (0.02 + 2 * gain) - gain)
    assert (margin[0] >= 0).tolist() == [True, True, False, True, True]  # 0.008 - 0.2 gain
    # trust 0.6: detected, 0.45 < 0.5 collapses after stage 1 (3 stages lost); undetected,
    # 0.6 - 0.3 + 0.05 = 0.35 collapses when it becomes known, after stage 2 (2 stages lost)
    d = records["batna"][1]
    per_stage = (d + disc * (0.5 - d)) / 4 - (d - 0.1) / 4
    future = 0.4 * 3 * per_stage + 0.6 * 2 * per_stage
    assert margin[1] == approx(0.4 * (0.02 + 2 * gain) + future - gain)
    assert np.isnan(margin[2]).all()  # no agreement
