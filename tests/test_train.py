"""train.py: every backend and role trains and saves; same seed, same run; resume equals the
uninterrupted run; checkpoints load as agents; clear errors; a learning test with a known
optimum."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import negenv
import train
from agents import learned, registry
from negenv import rollout
from negenv.scenario import load

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--num-envs",
    "16",
    "--rollout-steps",
    "8",
    "--epochs",
    "2",
    "--minibatches",
    "2",
    "--eval-every",
    "1",
    "--eval-episodes",
    "8",
    "--scorecard-episodes",
    "0",
    "--hidden",
    "32",
    "--no-progress",
]


def run(tmp: Path, *args: str, updates: int = 2, name: str = "r") -> Path:
    envs = (
        int(args[len(args) - 1 - args[::-1].index("--num-envs") + 1])
        if "--num-envs" in args
        else 16
    )
    steps = updates * envs * 8
    argv = [*TINY, "--total-steps", str(steps), "--run-dir", str(tmp), "--name", name, *args]
    return train.main(argv)


def tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint's role entries, flattened by name."""
    out = {}

    def walk(prefix, x):
        if isinstance(x, torch.Tensor):
            out[prefix] = x
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(f"{prefix}/{k}", v)

    walk("", learned.load_checkpoint(path)["roles"])
    return out


def history(path: Path) -> list[dict[str, str]]:
    with open(path / "progress.csv") as f:
        return [
            {k: v for k, v in row.items() if k != "steps_per_second"} for row in csv.DictReader(f)
        ]


CASES = [
    ("torch", "mediator"),
    ("torch", "parties"),
    ("torch", "all"),
    ("sb3", "mediator"),
    ("sb3", "parties"),
]


@pytest.mark.parametrize(("backend", "learn"), CASES)
def test_every_backend_and_role_trains_saves_and_loads_as_agents(tmp_path, backend, learn):
    extra = ["--scenario", "bilateral_asymmetric"]
    if backend == "sb3" and learn == "mediator":
        extra += ["--num-envs", "2"]
    out = run(tmp_path, "--backend", backend, "--learn", learn, *extra)
    for name in (
        "config.yaml",
        "versions.json",
        "progress.csv",
        "last.pt",
        "best.pt",
        "learning_curve.png",
    ):
        assert (out / name).is_file(), name
    rows = history(out)
    assert [int(r["update"]) for r in rows] == [1, 2]
    assert all(math.isfinite(float(rows[-1][k])) for k in rows[-1] if rows[-1][k])
    sc = load("bilateral_asymmetric")
    env = negenv.parallel_env(sc)
    roles = {"mediator": ["mediator"], "parties": ["party"], "all": ["party", "mediator"]}[learn]
    policies = registry.population("threshold", env)
    if "party" in roles:
        policies = registry.population(str(out / "best.pt"), env)
    policies["mediator"] = registry.mediator(
        str(out / "best.pt") if "mediator" in roles else "split"
    ).build(env)
    rec = rollout.run(sc, policies, 16, seed=5, dtype=torch.float32)
    assert np.isfinite(rec["mediator_utility"]).all()


@pytest.mark.parametrize("backend", ["torch", "sb3"])
def test_same_seed_same_run_and_resume_equals_uninterrupted(tmp_path, backend):
    args = ["--backend", backend, "--scenario", "bilateral_asymmetric", "--checkpoint-every", "1"]
    if backend == "sb3":
        args += ["--num-envs", "2"]
    a = run(tmp_path, *args, updates=3, name="a")
    b = run(tmp_path, *args, updates=3, name="b")
    ta, tb = tensors(a / "last.pt"), tensors(b / "last.pt")
    assert ta.keys() == tb.keys()
    for k in ta:
        torch.testing.assert_close(ta[k], tb[k], rtol=0, atol=0, msg=k)
    assert history(a) == history(b)

    run(tmp_path, *args, updates=1, name="c")
    c = run(tmp_path, *args, "--resume", updates=3, name="c")
    tc = tensors(c / "last.pt")
    for k in ta:
        torch.testing.assert_close(ta[k], tc[k], rtol=0, atol=0, msg=k)
    assert history(a) == history(c)


def test_learned_mediator_scorecard_beside_scripted_ones(tmp_path):
    out = run(
        tmp_path,
        "--scenario",
        "bilateral_asymmetric",
        "--scorecard-episodes",
        "8",
        "--scorecard-mediators",
        "split",
        "random",
        "--populations",
        "threshold",
    )
    summary = (out / "scorecard" / "report.md").read_text()
    assert "best.pt" in summary and "split" in summary
    from negenv import evaluate

    evaluate.main(
        [
            "--mediator",
            str(out / "best.pt"),
            "--mediator",
            "split",
            "--scenario",
            "bilateral_asymmetric",
            "--population",
            "threshold",
            "--episodes",
            "8",
            "--out",
            str(tmp_path / "ev"),
            "--no-progress",
        ]
    )
    assert (tmp_path / "ev" / "summary.json").is_file()


def test_parties_report_learned_behaviour(tmp_path):
    out = run(
        tmp_path,
        "--scenario",
        "bilateral_asymmetric",
        "--learn",
        "parties",
        "--scorecard-episodes",
        "16",
        "--mediator",
        "guarantees_monitoring",
    )
    import json

    report = json.loads((out / "party_report.json").read_text())
    assert report["mediator"] == "guarantees_monitoring"
    assert {"learned", "threshold"} <= report.keys()
    assert 0 <= report["learned"]["agreement"][0] <= 1


# ---------------------------------------------------------------------------------- errors
def test_unknown_config_key_names_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learn: mediator\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['learning_rate'\]"):
        train.main(["--config", str(bad), "--run-dir", str(tmp_path)])
    assert not any(tmp_path.glob("*/config.yaml"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "sb3", "--learn", "all"], "learn = 'all' is invalid"),
        (["--eval-seed", "0"], "eval_seed = 0 is invalid"),
        (["--scenario", "unmediated_5"], "has no mediator"),
        (["--total-steps", "0"], "total_steps = 0 is invalid"),
        (["--name", "../elsewhere"], "name = '../elsewhere' is invalid"),
        (["--subgames", "5"], "subgames = 5 is invalid: needs learn='parties'"),
        (
            ["--scenario", "rubinstein", "--learn", "parties", "--subgames", "50"],
            "subgames = 50 is invalid: must be below the scenario's max_rounds = 50",
        ),
        (["--scenario", "rubinstein", "--learn", "parties", "--subgames", "-1"], "subgames = -1"),
    ],
)
def test_bad_values_are_refused_before_anything_is_written(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        train.main([*args, "--run-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="last.pt"):
        run(tmp_path, "--resume", name="nothing")
    flat = ["--scenario", "bilateral_asymmetric", "--mediator-actor", "mlp"]
    out = run(tmp_path, *flat)
    with pytest.raises(ValueError, match=r"differs from its checkpoint in \['lr'\]"):
        run(tmp_path, *flat, "--resume", "--lr", "0.1")
    with pytest.raises(ValueError, match="trained on scenario 'bilateral_asymmetric'"):
        learned.load_policy(out / "best.pt", "mediator", load("lilliput"))
    with pytest.raises(ValueError, match="holds no 'party' policy"):
        learned.load_policy(out / "best.pt", "party", load("bilateral_asymmetric"))
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes((out / "best.pt").read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt or unreadable"):
        registry.mediator(str(corrupt))
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not a negenv checkpoint"):
        learned.load_checkpoint(foreign)


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in (Path(__file__).parents[1] / "configs" / "train").glob("*.yaml")
        if not p.stem.endswith("_scenario")
    ),
    ids=lambda p: p.stem,
)
def test_every_shipped_training_config_validates(path):
    from negenv.training import config as config_mod

    cfg = config_mod.load(path).validate()  # raises on any bad field
    assert cfg.updates >= 1
