"""The learning check with a known optimum (its own file, so that test workers run it beside
the rest of tests/test_train.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import negenv
import train
from agents import learned, registry
from negenv import rollout
from negenv.scenario import load

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- learning
def test_mediator_learns_the_known_optimum(tmp_path):
    """Two parties split one issue under full information: the mediator's objective peaks at
    the Nash bargaining solution x* = (1 + d_0 - d_1) / 2 = 0.6, agreed in round 1, worth
    delta * sqrt(prod(x_i - d_i) / prod(1 - d_i))."""
    before = sorted(p.name for p in (ROOT / "configs" / "train").iterdir())
    out = train.main(
        [
            "--config",
            str(ROOT / "configs/train/known_optimum.yaml"),
            "--scenario",
            str(ROOT / "configs/train/known_optimum_scenario.yaml"),
            "--run-dir",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert out == tmp_path / "known_optimum_scenario-mediator-torch-s0"
    assert sorted(p.name for p in (ROOT / "configs" / "train").iterdir()) == before
    sc = load(ROOT / "configs/train/known_optimum_scenario.yaml")
    env = negenv.parallel_env(sc)
    policies = registry.population("threshold", env)
    policies["mediator"] = learned.load_policy(out / "best.pt", "mediator", sc)
    rec = rollout.run(sc, policies, 64, seed=99)
    d = np.array([0.3, 0.1])
    np.testing.assert_allclose(rec["batna"], np.broadcast_to(d, (64, 2)), atol=1e-12)
    np.testing.assert_allclose(rec["agreement"][:, 0], 0.6, atol=1e-9)
    assert (rec["agreed_round"] == 1).all()
    best = 0.9 * math.sqrt((0.6 - d[0]) * (0.4 - d[1]) / ((1 - d[0]) * (1 - d[1])))
    np.testing.assert_allclose(rec["mediator_utility"], best, rtol=1e-5)
