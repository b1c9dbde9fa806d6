"""The evaluation protocol and command, end to end on a small suite."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import negenv
from agents import registry
from negenv import evaluate, rollout


def test_evaluate_command_writes_a_report_that_parses(tmp_path):
    out = tmp_path / "report"
    evaluate.main(
        [
            "--mediator",
            "nbs_full",
            "--mediator",
            "random",
            "--suite",
            "small",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    for name in (
        "report.md",
        "episodes.csv",
        "summary.json",
        "fairness_vs_durability.png",
        "survival.png",
        "weakest_share.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["mediators"]) == {"nbs_full", "random"}
    stat = summary["mediators"]["nbs_full"]["nash_welfare_ratio"]
    assert stat["low"] <= stat["mean"] <= stat["high"]
    with open(out / "episodes.csv") as f:
        rows = list(csv.DictReader(f))
    suite = evaluate.SUITES["small"]
    assert len(rows) == 2 * len(suite.scenarios) * len(suite.populations) * suite.episodes
    assert "| nbs_full |" in (out / "report.md").read_text()
    # the normalised score: value of mediation over the room the unmediated protocol leaves
    mine = [r for r in rows if r["mediator"] == "nbs_full" and r["scenario"] == "multilateral_5"]
    nwr, vom, score = (
        np.array([float(r[k]) for r in mine])
        for k in ("nash_welfare_ratio", "vom_nash_welfare_ratio", "normalised_score")
    )
    room = 1.0 - np.nanmean(nwr - vom)
    assert score * room == pytest.approx(vom, nan_ok=True)
    # every mediator on every scenario (not only the first one)
    assert set(summary["per_scenario"]) == {"nbs_full", "random"}
    for by in summary["per_scenario"].values():
        assert set(by) == set(suite.scenarios)
    per = summary["per_scenario"]["nbs_full"]["multilateral_5"]["normalised_score"]
    assert per["mean"] == pytest.approx(np.nanmean(score))
    # survival of the agreements: KM from 1, RMST / S is the mean stage completion here
    km = summary["survival"]["nbs_full"]["multilateral_5"]["threshold"]
    horizon = evaluate.load("multilateral_5").implementation.n_stages
    assert km["survival"][0] == 1.0 and len(km["survival"]) == horizon + 1
    completion = [float(r["stage_completion"]) for r in mine if r["agreed"] == "1.0"]
    assert km["agreements"] == len(completion)
    assert km["rmst"] / horizon == pytest.approx(np.mean(completion))
    assert len(km["hazard"]) == horizon
    import matplotlib.pyplot as plt

    for name in ("fairness_vs_durability.png", "survival.png", "weakest_share.png"):
        image = plt.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0


def test_stratified_bootstrap_ci():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 1.0, 400), rng.normal(1.0, 1.0, 400)
    mean, low, high = evaluate.bootstrap_ci([a, b])
    assert mean == pytest.approx((a.mean() + b.mean()) / 2)
    assert low < mean < high and high - low < 0.3
    assert np.isnan(evaluate.bootstrap_ci([np.array([np.nan])])).all()  # nothing to judge


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match=r"unknown mediator 'oracle'; known: random, split"):
        evaluate.evaluate(["oracle"], "small", progress=False)
    with pytest.raises(ValueError, match=r"unknown suite 'huge'"):
        evaluate.suite("huge")
    with pytest.raises(ValueError, match=r"unknown population 'saints'"):
        registry.population("saints", None)


def test_every_scripted_mediator_and_population_plays_legally():
    import negenv
    from agents import act

    for name, spec in registry.MEDIATORS.items():
        sc = negenv.load("lilliput")
        env = negenv.parallel_env(
            evaluate.with_overrides(sc, spec.overrides) if spec.overrides else sc
        )
        for pop in registry.POPULATIONS:
            policies = registry.population(pop, env) | {"mediator": spec.build(env)}
            obs, _ = env.reset(seed=3)
            while env.agents:
                obs, _, _, _, infos = env.step(act(policies, obs))
                illegal = [a for a, i in infos.items() if i["illegal_action"]]
                assert not illegal or name == "random", (name, pop, illegal)


def test_bootstrap_agrees_with_scipy_on_one_stratum():
    from scipy import stats

    x = np.random.default_rng(3).normal(0.3, 1.0, 500)
    mean, low, high = evaluate.bootstrap_ci([x], n=4000)
    ref = stats.bootstrap((x,), np.mean, n_resamples=4000, method="percentile", random_state=0)
    assert mean == pytest.approx(x.mean())
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.01)


def test_bootstrap_table_skips_undefined_values_and_strata():
    a = np.array([[1.0, np.nan], [3.0, 2.0], [np.nan, 4.0]])
    b = np.array([[5.0, np.nan], [7.0, np.nan]])  # the second metric is undefined here
    point, low, high = evaluate.bootstrap_table([a, b], n=500)
    assert point == pytest.approx([(2.0 + 6.0) / 2, 3.0])
    assert np.all(low <= point) and np.all(point <= high)
    assert low[1] >= 2.0 and high[1] <= 4.0


@pytest.mark.parametrize(
    "scenario, mediator, population",
    [
        ("lilliput", "guarantees_monitoring", "mixed"),
        ("bilateral_asymmetric", "nbs_full", "threshold"),
        ("multilateral_5", None, "exploiters"),
    ],
)
def test_both_backends_play_the_same_episodes(scenario, mediator, population):
    sc = evaluate.load(scenario)
    one = evaluate.run(sc, mediator, population, 24, seed=7, backend="pettingzoo")
    batch = evaluate.run(sc, mediator, population, 24, seed=7, backend="vector")
    assert one.keys() == batch.keys()
    for key, value in one.items():
        if value.dtype.kind in "USO":
            assert np.array_equal(value, batch[key]), key
        else:
            np.testing.assert_allclose(batch[key], value, rtol=0, atol=1e-12, err_msg=key)
    assert len({tuple(x) for x in one["utility"].round(9).tolist()}) > 1  # episodes differ
    if mediator == "guarantees_monitoring":  # several batches play the same episodes as one
        from negenv import rollout

        spec = registry.mediator(mediator)
        env = negenv.parallel_env(sc)
        policies = registry.population(population, env) | {"mediator": spec.build(env)}
        chunked = rollout.run(sc, policies, 24, seed=7, batch_size=10)
        for key, value in batch.items():
            assert np.array_equal(value, chunked[key]), key


def test_rollout_refuses_bad_arguments():
    from negenv import rollout

    sc = evaluate.load("bilateral_asymmetric")
    with pytest.raises(ValueError, match=r"backend = 'gpu' is invalid"):
        rollout.run(sc, {}, 4, backend="gpu")
    with pytest.raises(ValueError, match=r"episodes = 0 is invalid"):
        rollout.run(sc, {}, 0)
    missing = r"no policy for agents \['party_0', 'party_1', 'mediator'\]"
    with pytest.raises(ValueError, match=missing):
        rollout.run(sc, {}, 4)


def test_scorecard_benchmark_runs_on_a_few_episodes():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "bench_scorecard.py"
    spec = importlib.util.spec_from_file_location("bench_scorecard", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    times = bench.stages(evaluate.load("multilateral_5"), "split", 6, "vector", True)
    assert set(times) == {"episodes (2 protocols)", "solutions", "metrics + bootstrap", "total"}


def test_scenarios_with_their_own_metrics_share_one_report(tmp_path):
    st = evaluate.Suite(("bilateral_asymmetric", "burden_sharing"), 6, ("threshold",))
    rows, summary = evaluate.evaluate(["split"], st, progress=False)
    evaluate.write_report(tmp_path, rows, summary)
    with open(tmp_path / "episodes.csv") as f:
        table = list(csv.DictReader(f))
    burden = {r["scenario"]: r["burden_proportionality"] for r in table}
    assert burden["bilateral_asymmetric"] == "" and burden["burden_sharing"] != ""
    stat = summary["mediators"]["split"]["burden_proportionality"]
    assert 0.0 <= stat["low"] <= stat["mean"] <= stat["high"] <= 1.0


def test_rollout_in_continuous_mode_plays_the_same_episodes_on_both_backends():
    class Steady:  # deterministic Box actions: 0.6 while voting is allowed (accept), else 0.4
        def act(self, obs, mask):
            return np.full((len(obs), mask.shape[1]), 0.4, dtype=np.float32) + 0.2 * mask[:, :1]

    sc = negenv.load("multilateral_5")
    env = negenv.parallel_env(sc)
    policies = {**dict.fromkeys(env.parties, Steady()), "mediator": Steady()}
    vec = rollout.run(sc, policies, 12, seed=2, action_mode="continuous")
    one = rollout.run(sc, policies, 12, seed=2, backend="pettingzoo", action_mode="continuous")
    assert (vec["agreed_round"] >= 0).any()
    np.testing.assert_allclose(vec["utility"], one["utility"], atol=1e-9)
    np.testing.assert_array_equal(vec["status"], one["status"])


def test_a_scenario_of_ones_own_gets_a_report(tmp_path):
    # the report never reloads a scenario by name: a YAML file of one's own works throughout
    import yaml

    from negenv.scenario import to_dict

    mine = to_dict(negenv.load("multilateral_5")) | {"name": "my_talks", "max_rounds": 8}
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(mine))
    out = tmp_path / "report"
    evaluate.main(
        [
            "--mediator",
            "split",
            "--scenario",
            str(path),
            "--episodes",
            "8",
            "--population",
            "threshold",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["suite"]["scenarios"] == ["my_talks"]
    assert summary["suite"]["stages"] == {"my_talks": 4}
    assert (out / "survival.png").stat().st_size > 0


class HoldMediator:
    """A mediator of one's own for the test below: keeps the standing text (all zeros)."""

    def __init__(self, env):
        self.nvec = env.layout.mediator_nvec

    def act(self, obs, mask):
        return np.zeros((len(obs), len(self.nvec)), dtype=np.int64)


def test_a_mediator_of_ones_own_by_module_attr_and_by_registration(tmp_path):
    rows, summary = evaluate.evaluate(
        ["tests.test_evaluate:HoldMediator"],
        evaluate.Suite(("bilateral_asymmetric",), 8, ("threshold",)),
        progress=False,
    )
    assert "tests.test_evaluate:HoldMediator" in summary["mediators"]
    registry.register_mediator("hold", HoldMediator, doc="keeps the standing text")
    try:
        _, again = evaluate.evaluate(
            ["hold"], evaluate.Suite(("bilateral_asymmetric",), 8, ("threshold",)), False
        )
    finally:
        registry.MEDIATORS.pop("hold")
    mine, theirs = (
        again["mediators"]["hold"],
        summary["mediators"]["tests.test_evaluate:HoldMediator"],
    )
    for metric, stat in mine.items():
        np.testing.assert_equal(stat, theirs[metric])  # NaN equals NaN here
    with pytest.raises(ValueError, match="cannot import 'nowhere:Thing'"):
        registry.mediator("nowhere:Thing")


def test_the_paired_difference_of_two_scorecards(tmp_path, capsys, monkeypatch):
    """Two scorecards with the same seed pair episode by episode; the script's pooled
    difference is the mean of the per-episode differences, and a mediator minus itself is 0."""
    import importlib.util
    import sys
    from pathlib import Path

    st = evaluate.Suite(("multilateral_5",), 8, ("threshold", "mixed"))
    for name in ("split", "power_centroid"):
        rows, summary = evaluate.evaluate([name], st, progress=False, seed=3)
        evaluate.write_report(tmp_path / name, rows, summary)
    path = Path(__file__).parents[1] / "benchmarks" / "paired_difference.py"
    spec = importlib.util.spec_from_file_location("paired_difference", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    reports = [tmp_path / "split", tmp_path / "power_centroid"]
    a = script.episodes(reports, "power_centroid", "mediator_objective")
    b = script.episodes(reports, "split", "mediator_objective")
    assert len(a) == len(b) == 16 and a.keys() == b.keys()
    want = np.mean([a[k] - b[k] for k in a])
    for pair, expected in ((("power_centroid", "split"), want), (("split", "split"), 0.0)):
        monkeypatch.setattr(sys, "argv", ["paired_difference.py", *pair, *map(str, reports)])
        script.main()
        pooled = capsys.readouterr().out.strip().splitlines()[-1]
        assert pooled.startswith(f"| all | pooled | {expected:+.4f} [")
