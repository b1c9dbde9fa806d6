"""Models saved by stable-baselines3 as mediators and populations of the evaluator."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import negenv
from agents import registry
from negenv import rollout
from negenv.evaluate import Suite, evaluate


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    out = tmp_path_factory.mktemp("sb3")
    small = {"n_steps": 64, "batch_size": 32, "n_epochs": 1, "seed": 0}
    mediator_view = gymnasium.make("negenv/Mediator-bilateral_asymmetric-v0")
    party_view = gymnasium.make("negenv/Party-bilateral_asymmetric-v0", seat=0)
    paths = {}
    for name, algo, view in (
        ("masked_mediator", MaskablePPO, mediator_view),
        ("plain_mediator", PPO, mediator_view),
        ("masked_party", MaskablePPO, party_view),
    ):
        paths[name] = str(out / f"{name}.zip")
        algo("MlpPolicy", view, **small).learn(64).save(paths[name])
    return paths


def test_sb3_models_play_as_mediators_and_parties(models):
    sc = negenv.load("bilateral_asymmetric")
    env = negenv.parallel_env(sc)
    parties = registry.population("mixed", env)
    for name, illegal in (("masked_mediator", False), ("plain_mediator", True)):
        policy = registry.mediator(models[name]).build(env)
        rec = rollout.run(sc, parties | {"mediator": policy}, 64, seed=3)
        assert bool(rec["mediator_illegal_actions"].sum() > 0) is illegal  # PPO ignores masks
    learned = registry.population(models["masked_party"], env)
    rec = rollout.run(sc, learned | {"mediator": registry.mediator("split").build(env)}, 32)
    assert rec["illegal_actions"].sum() == 0 and len(rec["status"]) == 32


def test_the_evaluator_scores_an_sb3_mediator(models):
    suite = Suite(("bilateral_asymmetric",), 16, ("threshold",))
    rows, summary = evaluate([models["masked_mediator"], "split"], suite, progress=False)
    stats = summary["mediators"][models["masked_mediator"]]
    assert stats["mediator_illegal_rate"]["mean"] == 0.0
    assert np.isfinite(stats["mediator_objective"]["mean"])


def test_a_file_that_is_not_an_sb3_model_is_refused(tmp_path, models):
    bad = tmp_path / "notes.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="is not a stable-baselines3 model file"):
        registry.mediator(str(bad))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        registry.mediator(str(tmp_path / "missing.zip"))
    env = negenv.parallel_env("multilateral_5")  # another scenario: other feature counts
    with pytest.raises(ValueError, match="trained on another scenario or role"):
        registry.mediator(models["masked_mediator"]).build(env)
