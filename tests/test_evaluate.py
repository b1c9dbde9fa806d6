"""The evaluation protocol and command, end to end on a small suite."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from agents import registry
from negenv import evaluate


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
        "power_vs_gain.png",
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
    import matplotlib.pyplot as plt

    for name in ("fairness_vs_durability.png", "survival.png", "power_vs_gain.png"):
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
