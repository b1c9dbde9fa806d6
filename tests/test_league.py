"""The league (negenv.training.league): the meta-game solvers and gains, mixtures as mediators
and populations, the loop end to end on a tiny budget, resume = uninterrupted, and errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import negenv
from agents import mixture, registry
from negenv import rollout
from negenv.training import league

ROOT = Path(__file__).resolve().parents[1]


def test_solvers_find_the_equilibria_of_small_games():
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    for solver in league.SOLVERS:
        p, q = league.solve(pennies, -pennies, solver, alpha=10.0)
        np.testing.assert_allclose(p, [0.5, 0.5], atol=1e-3)
        np.testing.assert_allclose(q, [0.5, 0.5], atol=1e-3)
    # row 1 strictly dominates row 0, and column 0 is the column's best reply to it
    a = np.array([[0.0, 0.0], [1.0, 2.0]])
    b = np.array([[0.0, 1.0], [3.0, 1.0]])
    p, q = league.solve(a, b, "prd", alpha=10.0)
    np.testing.assert_allclose(p, [0.0, 1.0], atol=1e-2)
    np.testing.assert_allclose(q, [1.0, 0.0], atol=1e-2)
    assert league.solve(np.ones((1, 1)), np.ones((1, 1)), "prd", 1.0) == (np.ones(1), np.ones(1))


def test_prd_solves_tables_whose_members_differ_by_little():
    # the shape of a league's tables: members within 0.01 of each other, one far below
    a = np.array(
        [[0.511, 0.475, 0.363], [0.503, 0.462, 0.368], [0.226, 0.256, 0.112], [0.508, 0.470, 0.366]]
    )
    b = np.array(
        [[0.780, 0.770, 0.760], [0.785, 0.775, 0.758], [0.700, 0.690, 0.650], [0.781, 0.779, 0.761]]
    )
    p, q = league.solve(a, b, "prd", alpha=10.0)
    assert league.nash_conv(a, b, p, q) < 1e-4
    # OpenSpiel's defaults on the raw tables stay near the uniform mixture
    from open_spiel.python.algorithms import projected_replicator_dynamics as prd

    raw = prd.projected_replicator_dynamics([a, b])
    assert league.nash_conv(a, b, *raw) > 2e-3
    # an affine change of either role's payoffs changes nothing
    p2, q2 = league.solve(10 * a - 3, 0.1 * b + 1, "prd", alpha=10.0)
    np.testing.assert_allclose(p2, p, atol=1e-9)
    np.testing.assert_allclose(q2, q, atol=1e-9)


def test_nash_conv_of_a_pair_of_mixtures():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[0.5, 1.0], [1.5, 0.0]])
    p, q = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    # rows against q: (0.5, 1.0), p.A.q = 0.875; columns against p: (1.25, 0.25), p.B.q = 0.75
    assert league.nash_conv(a, b, p, q) == pytest.approx((1.0 - 0.875) + (1.25 - 0.75))
    assert league.nash_conv(a, b, np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 1.5


def test_response_gains_are_the_new_strategies_gain_over_the_mixtures():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[0.5, 1.0], [1.5, 0.0]])
    p, q = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    g = league.response_gains(a, b, p, q, new_row=np.array([2.0, 1.0]), new_col=np.array([1, 0]))
    # p.A.q = 0.25 * 0.5 + 0.75 * 1 = 0.875; new row against q: 1.5
    assert g["exploitability/mediator"] == pytest.approx(1.5 - 0.875)
    # p.B.q = 0.25 * 0.75 + 0.75 * 0.75 = 0.75; new column against p: 0.25
    assert g["exploitability/parties"] == pytest.approx(0.25 - 0.75)
    assert g["exploitability/nash_conv"] == pytest.approx(0.625)


def test_components_follow_the_weights():
    w = np.array([0.2, 0.0, 0.5, 0.3])
    which = mixture.components_of(10_000, w)
    shares = np.bincount(which, minlength=4) / 10_000
    np.testing.assert_allclose(shares, w, atol=2e-4)  # low discrepancy, not sampling error
    # a mediator mixture and a population mixture pair up as independent draws would
    other = mixture.components_of(10_000, np.array([0.6, 0.4]), "party")
    joint = np.histogram2d(which, other, bins=[4, 2], range=[[0, 4], [0, 2]])[0] / 10_000
    np.testing.assert_allclose(joint, np.outer(w, [0.6, 0.4]), atol=2e-3)
    assert mixture.components_of(7, np.array([0.0, 1.0])).tolist() == [1] * 7


def test_a_mixture_plays_each_episode_as_its_component(tmp_path):
    """Episode b of a mixture is episode b of the component it draws: the same key, the same
    record (mediator and population mixtures, through the registry's names)."""
    env = negenv.parallel_env("multilateral_5")
    sc, n = env.scenario, 64
    mix_m = tmp_path / "m.mix.json"
    mixture.write(mix_m, "mediator", ["power_centroid", "split"], [0.4, 0.6])
    mix_p = tmp_path / "p.mix.json"
    mixture.write(mix_p, "party", ["threshold", "mixed"], [0.7, 0.3])

    def play(med: str, pop: str):
        policies = registry.population(pop, env) | {"mediator": registry.mediator(med).build(env)}
        return rollout.run(sc, policies, n, seed=5)

    which_m = mixture.components_of(n, np.array([0.4, 0.6]))
    which_p = mixture.components_of(n, np.array([0.7, 0.3]), "party")
    got = play(str(mix_m), str(mix_p))
    for i, med in enumerate(["power_centroid", "split"]):
        for j, pop in enumerate(["threshold", "mixed"]):
            rows = (which_m == i) & (which_p == j)
            assert rows.any()
            want = play(med, pop)
            np.testing.assert_array_equal(got["utility"][rows], want["utility"][rows])
            np.testing.assert_array_equal(got["agreed_round"][rows], want["agreed_round"][rows])


def test_mixture_files_reject_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"weights = .* are invalid"):
        mixture.write(tmp_path / "x.mix.json", "party", ["threshold", "mixed"], [1.0, -1.0])
    with pytest.raises(ValueError, match="role = 'judge' is invalid"):
        mixture.write(tmp_path / "x.mix.json", "judge", ["threshold"], [1.0])
    assert not (tmp_path / "x.mix.json").exists()
    mixture.write(tmp_path / "p.mix.json", "party", ["threshold"], [1.0])
    with pytest.raises(ValueError, match="is a 'party' mixture; a 'mediator' one is needed"):
        registry.mediator(str(tmp_path / "p.mix.json"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        registry.mediator(str(tmp_path / "none.mix.json"))
    mixture.write(tmp_path / "f.mix.json", "mediator", ["nbs_full", "split"], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"components \['nbs_full'\] change the scenario"):
        registry.mediator(str(tmp_path / "f.mix.json"))
    (tmp_path / "bad.mix.json").write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        registry.population(str(tmp_path / "bad.mix.json"), negenv.parallel_env("rubinstein"))


def test_mixture_files_find_checkpoints_inside_and_outside_their_folder(tmp_path, monkeypatch):
    # a league may start from a checkpoint anywhere (given relative to the working directory)
    # and adds its own responses below its folder: both must be read back where they are
    monkeypatch.chdir(tmp_path)
    outside = Path("runs/main/best.pt")
    inside = Path("runs/league/it0-mediator/best.pt")
    for p in (outside, inside):
        p.parent.mkdir(parents=True)
        p.write_bytes(b"")
    mix = Path("runs/league/it0/mediator.mix.json")
    mixture.write(mix, "mediator", [str(outside), str(inside), "split"], [0.5, 0.3, 0.2])
    stored = json.loads(mix.read_text())["components"]
    assert stored == ["../../main/best.pt", "../it0-mediator/best.pt", "split"]
    names, weights = mixture.read(mix, "mediator")
    assert [Path(n).resolve() for n in names[:2]] == [outside.resolve(), inside.resolve()]
    assert names[2] == "split" and weights.tolist() == [0.5, 0.3, 0.2]
    # the tree of runs moves as a whole
    (tmp_path / "runs").rename(tmp_path / "moved")
    names, _ = mixture.read(Path("moved/league/it0/mediator.mix.json"), "mediator")
    assert Path(names[0]).resolve() == (tmp_path / "moved/main/best.pt").resolve()


TINY = dict(
    scenario="multilateral_5",
    mediators=("power_centroid",),
    populations=("threshold",),
    response_steps=256,
    num_envs=16,
    eval_episodes=16,
    response_eval_episodes=8,
    threads=1,
)


def run_league(tmp_path: Path, name: str, **kw) -> dict:
    sys.path.insert(0, str(ROOT))
    import train

    cfg = league.LeagueConfig(**{**TINY, **kw}, run_dir=str(tmp_path), name=name)
    return league.run(cfg, train.train)


def test_the_league_runs_end_to_end_and_resumes_as_uninterrupted(tmp_path):
    whole = run_league(tmp_path, "whole", iterations=2)
    root = tmp_path / "whole"
    assert len(whole["mediators"]) == len(whole["populations"]) == 3
    a = np.array(whole["A"])
    assert a.shape == (3, 3) and np.all(np.isfinite(a))
    for f in ("league.csv", "league.png", "payoff_mediator.csv", "payoff_parties.csv"):
        assert (root / f).is_file(), f
    assert list((root / "tb").iterdir())
    # every solve is logged with its NashConv on the table it solved
    assert [e["meta/nash_conv"] for e in whole["history"]][0] == 0.0  # a 1 x 1 table
    final = whole["final"]
    b = np.array(whole["B"])
    assert final["meta/nash_conv"] == pytest.approx(
        league.nash_conv(
            a, b, np.array(final["mediator_weights"]), np.array(final["party_weights"])
        )
    )
    assert final["meta/nash_conv"] < 1e-3
    # the tables' first cell is the scripted pair on the held-out episodes
    want = league.payoff(
        negenv.load("multilateral_5"),
        "power_centroid",
        "threshold",
        16,
        league.LeagueConfig.eval_seed,
    )
    assert (whole["A"][0][0], whole["B"][0][0]) == pytest.approx(want)
    # the final mixtures load as a mediator and a population
    env = negenv.parallel_env("multilateral_5")
    pol = registry.population(str(root / "parties.mix.json"), env)
    pol["mediator"] = registry.mediator(str(root / "mediator.mix.json")).build(env)
    rec = rollout.run(env.scenario, pol, 8, seed=9)
    assert rec["utility"].shape == (8, 5)

    run_league(tmp_path, "cut", iterations=1)
    resumed = run_league(tmp_path, "cut", iterations=2, resume=True)
    for key in ("A", "B", "history", "final"):
        assert resumed[key] == whole[key], key
    lines = (tmp_path / "cut" / "league.csv").read_text().splitlines()
    assert len(lines) == 3  # the header and one line per iteration, none twice


def test_the_league_rejects_bad_configs(tmp_path):
    cases = [
        (dict(iterations=0), "iterations = 0 is invalid"),
        (dict(solver="nash"), "solver = 'nash' is invalid"),
        (dict(prd_dt=0.0), "prd_dt = 0.0 is invalid"),
        (dict(prd_iterations=0), "prd_iterations = 0 is invalid"),
        (dict(scenario="rubinstein"), "needs a mediated scenario"),
        (dict(mediators=()), "at least one mediator"),
        (dict(eval_seed=1_000_003), "eval_seed = 1000003 is invalid"),
        (dict(name="a/b"), "name = 'a/b' is invalid"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            league.LeagueConfig(**kw).validate()
    with pytest.raises(FileNotFoundError, match="has no league.json"):
        run_league(tmp_path, "never", iterations=1, resume=True)
    with pytest.raises(FileNotFoundError, match="checkpoint 'missing.pt' does not exist"):
        run_league(tmp_path, "m", iterations=1, mediators=("missing.pt",))
    with pytest.raises(ValueError, match="unknown population 'nobody'"):
        run_league(tmp_path, "p", iterations=1, populations=("nobody",))
    with pytest.raises(ValueError, match="'nbs_full' changes the scenario"):
        run_league(tmp_path, "f", iterations=1, mediators=("nbs_full",))
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_train_py_league_flag_and_a_config_that_differs_on_resume(tmp_path):
    sys.path.insert(0, str(ROOT))
    import train

    args = [
        "--iterations",
        "1",
        "--league",  # anywhere among the flags
        "--mediators",
        "power_centroid",
        "--populations",
        "threshold",
        "--response-steps",
        "256",
        "--num-envs",
        "16",
        "--eval-episodes",
        "8",
        "--response-eval-episodes",
        "8",
        "--threads",
        "1",
        "--run-dir",
        str(tmp_path),
        "--name",
        "cli",
    ]
    root = train.main(["--no-log-precision", *args])
    state = json.loads((root / "league.json").read_text())
    assert len(state["history"]) == 1 and "final" in state
    response = yaml.safe_load((root / "it0-mediator" / "config.yaml").read_text())
    assert response["log_precision"] is False  # the league passes it to its mediators
    with pytest.raises(ValueError, match=r"differs in \['log_precision'\]"):
        train.main(args + ["--resume"])
    args = ["--no-log-precision", *args]
    # a league made before the solver's settings existed says so
    saved = json.loads((root / "league.json").read_text())
    for key in ("prd_dt", "prd_iterations"):
        del saved["config"][key]
    (root / "league.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"\['prd_dt', 'prd_iterations'\] did not exist"):
        train.main(args + ["--resume"])
    saved["config"] |= {"prd_dt": 1.0, "prd_iterations": 100_000}
    (root / "league.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"differs in \['eval_episodes'\]"):
        train.main(
            args[:-4]
            + ["--eval-episodes", "9", "--run-dir", str(tmp_path), "--name", "cli", "--resume"]
        )


def test_league_resolve_prints_the_saved_and_the_re_solved_mixtures(tmp_path, capsys):
    import importlib.util

    path = ROOT / "benchmarks" / "league_resolve.py"
    spec = importlib.util.spec_from_file_location("league_resolve", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # row 1 dominates for the mediator, column 0 is the parties' best reply to it
    a, b = [[0.50, 0.40], [0.51, 0.41]], [[0.70, 0.60], [0.71, 0.69]]
    state = {
        "A": a,
        "B": b,
        "mediators": ["m0", "m1"],
        "populations": ["p0", "p1"],
        "final": {"mediator_weights": [0.5, 0.5], "party_weights": [0.5, 0.5]},
    }
    (tmp_path / "league.json").write_text(json.dumps(state))
    sys.argv = ["league_resolve.py", str(tmp_path)]
    mod.main()
    out = capsys.readouterr().out
    assert "| m1 | 0.500 | 1.000 |" in out and "| p0 | 0.500 | 1.000 |" in out
    # saved: rows against q (0.45, 0.46), p.A.q 0.455; columns against p (0.705, 0.645),
    # p.B.q 0.675: (0.46 - 0.455) + (0.705 - 0.675)
    assert "saved 0.03500, re-solved 0.00000" in out


def test_best_checkpoint_is_the_learned_member_with_the_highest_value():
    members = ["nbs_seen", "runs/a/best.pt", "runs/b/best.pt", "x.mix.json"]
    assert league._best_checkpoint(members, np.array([9.0, 0.2, 0.3, 5.0])) == "runs/b/best.pt"
    assert league._best_checkpoint(["nbs_seen", "split"], np.array([1.0, 2.0])) == ""


def test_a_warm_started_league_starts_its_responses_from_its_best_learned_members(tmp_path):
    from tests.test_train import run

    wide = ("--scenario", "multilateral_5", "--hidden", "128", "128")  # the responses' critic
    med = run(tmp_path, *wide, name="med") / "last.pt"
    state = run_league(
        tmp_path, "warm", iterations=1, mediators=("power_centroid", str(med)), warm_start=True
    )
    entry = state["history"][0]
    assert entry["mediator_init"] == str(med)  # the only learned mediator
    assert entry["party_init"] == ""  # no learned party population yet
    response = yaml.safe_load((tmp_path / "warm" / "it0-mediator" / "config.yaml").read_text())
    assert response["init_from"] == str(med)
    narrow = run(tmp_path, *wide, "--set-width", "8", name="narrow")
    with pytest.raises(
        ValueError,
        match="warm_start: mediator member .* cannot start the mediator learner: its set_width",
    ):
        run_league(
            tmp_path, "bad", iterations=1, mediators=(str(narrow / "last.pt"),), warm_start=True
        )
    assert not (tmp_path / "bad").exists()  # refused before anything was written


def test_the_background_share_mixes_the_starting_populations_into_the_mediators_payoffs():
    a = np.array([[0.5, 0.4, 0.6], [0.2, 0.1, 0.9]])
    got = league.with_background(a, 0.25, n_background=2)
    # row 0: background mean 0.45; row 1: 0.15
    want = np.array(
        [
            [0.75 * 0.5 + 0.25 * 0.45, 0.75 * 0.4 + 0.25 * 0.45, 0.75 * 0.6 + 0.25 * 0.45],
            [0.75 * 0.2 + 0.25 * 0.15, 0.75 * 0.1 + 0.25 * 0.15, 0.75 * 0.9 + 0.25 * 0.15],
        ]
    )
    np.testing.assert_allclose(got, want)
    np.testing.assert_array_equal(league.with_background(a, 0.0, 2), a)
    # the specialist (row 1) is the best reply to column 2 alone, not once half the episodes
    # meet the background
    assert (a @ [0, 0, 1.0]).argmax() == 1
    assert (league.with_background(a, 0.5, 2) @ [0, 0, 1.0]).argmax() == 0


def test_a_league_with_a_background_trains_its_mediator_against_it(tmp_path):
    state = run_league(
        tmp_path, "bg", iterations=1, populations=("threshold", "mixed"), background_share=0.5
    )
    q = np.array(state["history"][0]["party_weights"])
    opponents = tmp_path / "bg" / "it0" / "mediator_opponents.mix.json"
    names, weights = mixture.read(opponents, "party")
    assert names == ["threshold", "mixed"]
    np.testing.assert_allclose(weights, 0.5 * q + 0.25)
    response = yaml.safe_load((tmp_path / "bg" / "it0-mediator" / "config.yaml").read_text())
    assert response["populations"] == [str(opponents)]
    # the logged gains are in the mediator's own payoffs, the background's share included
    a = np.array(state["A"])
    robust = league.with_background(a, 0.5, 2)
    p = np.array(state["history"][0]["mediator_weights"])
    assert state["history"][0]["meta/mediator"] == pytest.approx(p @ robust[:1, :2] @ q)
    assert state["history"][0]["exploitability/mediator"] == pytest.approx(
        robust[1, :2] @ q - p @ robust[:1, :2] @ q
    )
    with pytest.raises(ValueError, match=r"background_share = 1.0 is invalid: must be in \[0, 1\)"):
        league.LeagueConfig(background_share=1.0).validate()
