"""train.py as a researcher first uses it: a run name used twice, a scenario file of one's
own, learned parties as the background of a mediator, and what a run records."""

from __future__ import annotations

import json

import pytest
import yaml

import negenv
import train
from negenv.scenario import to_dict
from tests.test_train import run


def test_a_run_name_used_twice_is_refused_unless_resumed_or_overwritten(tmp_path):
    out = run(tmp_path, "--scenario", "bilateral_asymmetric", name="twice")
    stale = out / "stale.txt"
    stale.write_text("from the first run")
    with pytest.raises(ValueError, match="already exists: pass --resume"):
        run(tmp_path, "--scenario", "bilateral_asymmetric", name="twice")
    assert stale.exists()  # nothing touched
    run(tmp_path, "--scenario", "bilateral_asymmetric", "--overwrite", name="twice")
    assert not stale.exists() and (out / "best.pt").is_file()


def test_versions_record_the_negenv_commit(tmp_path):
    out = run(tmp_path, "--scenario", "bilateral_asymmetric")
    versions = json.loads((out / "versions.json").read_text())
    assert {"python", "torch", "negenv_commit"} <= versions.keys()
    commit = versions["negenv_commit"].removesuffix("-dirty")
    assert len(commit) == 40 and int(commit, 16) >= 0


def test_a_scenario_file_of_ones_own_trains_and_gets_its_scorecard(tmp_path):
    mine = to_dict(negenv.load("bilateral_asymmetric")) | {"name": "my_talks", "max_rounds": 6}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(mine))
    out = run(
        tmp_path,
        "--scenario",
        str(path),
        "--scorecard-episodes",
        "8",
        "--scorecard-mediators",
        "split",
        "--populations",
        "threshold",
    )
    report = (out / "scorecard" / "report.md").read_text()
    assert "my_talks" in report and "| split |" in report


def test_learned_parties_serve_as_the_background_of_a_mediator(tmp_path):
    parties = run(
        tmp_path,
        "--scenario",
        "bilateral_asymmetric",
        "--learn",
        "parties",
        "--scorecard-episodes",
        "0",
        name="parties",
    )
    out = run(
        tmp_path,
        "--scenario",
        "bilateral_asymmetric",
        "--scorecard-episodes",
        "8",
        "--scorecard-mediators",
        "split",
        "--populations",
        str(parties / "best.pt"),
        "threshold",
        name="mediator",
    )
    report = (out / "scorecard" / "report.md").read_text()
    # a party policy trained with a mediator cannot play the unmediated protocol: the
    # scorecard pairs what it can and says what it left out
    assert "No unmediated baseline for bilateral_asymmetric / " + str(parties / "best.pt") in report
    summary = json.loads((out / "scorecard" / "summary.json").read_text())
    assert summary["unpaired"] == [f"bilateral_asymmetric / {parties / 'best.pt'}"]
    stats = summary["per_population"]["split"]
    assert set(stats) == {str(parties / "best.pt"), "threshold"}


def test_help_lists_the_config_flag(capsys):
    with pytest.raises(SystemExit):
        train.main(["--help"])
    assert "--config FILE" in capsys.readouterr().out


def test_a_run_saved_before_a_field_existed_keeps_its_meaning(tmp_path):
    """A checkpoint and config.yaml written without the fields added since (ABSENT) read as
    the run was trained: softplus bells, free votes, every step sampled. Resuming it with
    today's defaults is refused, naming the field; with the old meaning it continues."""
    import torch

    from agents import learned
    from negenv.training import config

    out = run(tmp_path, "--scenario", "bilateral_asymmetric", "--no-log-precision", name="old")
    ckpt = learned.load_checkpoint(out / "last.pt")
    for key in config.ABSENT:  # as written before these fields existed
        del ckpt["config"][key]
    for entry in ckpt["roles"].values():
        entry.pop("log_precision")
    torch.save(ckpt, out / "last.pt")
    saved = yaml.safe_load((out / "config.yaml").read_text())
    old = {k: v for k, v in saved.items() if k not in config.ABSENT}
    cfg = config.from_saved(old)
    assert (cfg.log_precision, cfg.threshold_votes, cfg.sample_share) == (False, False, 1.0)
    assert config.from_dict(old).log_precision  # a config of one's own takes today's default
    assert not learned.load_policy(
        out / "last.pt", "mediator", negenv.load("bilateral_asymmetric")
    ).actor.log_precision
    with pytest.raises(ValueError, match=r"cannot resume .*\['log_precision'\]"):
        run(tmp_path, "--scenario", "bilateral_asymmetric", "--resume", name="old", updates=3)
    args = ("--scenario", "bilateral_asymmetric", "--resume", "--no-log-precision")
    assert run(tmp_path, *args, name="old", updates=3) == out


def test_a_warm_start_takes_the_networks_of_another_run_and_their_moments(tmp_path):
    import torch

    from agents import learned
    from agents.learned import LayoutError
    from negenv.training import torch_ppo
    from negenv.training.config import TrainConfig, from_saved
    from negenv.vector import VectorNegotiationEnv

    first = run(tmp_path, "--scenario", "bilateral_asymmetric", name="first")
    ckpt = learned.load_checkpoint(first / "last.pt")
    sc = negenv.load("bilateral_asymmetric")
    cfg = from_saved(ckpt["config"])  # the same architecture
    ln = torch_ppo.make_learner(VectorNegotiationEnv(sc, num_envs=4), "mediator", cfg)
    ln.warm_start(ckpt["roles"]["mediator"], cfg.hidden, "first")
    for mine, theirs in (
        (ln.actor.state_dict(), ckpt["roles"]["mediator"]["actor"]),
        (ln.critic.state_dict(), ckpt["roles"]["mediator"]["critic"]),
    ):
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    # Adam's moments come with the weights (a fresh Adam's first steps are sign steps at the
    # full rate); the learning rate is this run's
    saved = ckpt["roles"]["mediator"]["optim"]["state"]
    mine = ln.optim.state_dict()["state"]
    assert mine.keys() == saved.keys()
    assert all(torch.equal(mine[i]["exp_avg_sq"], saved[i]["exp_avg_sq"]) for i in mine)
    assert ln.optim.param_groups[0]["lr"] == cfg.lr
    # a run started from it records where it started and trains on from those weights
    warm = run(
        tmp_path,
        "--scenario",
        "bilateral_asymmetric",
        "--init-from",
        str(first / "last.pt"),
        name="warm",
    )
    assert yaml.safe_load((warm / "config.yaml").read_text())["init_from"].endswith("last.pt")
    # the starting policy is evaluated first (on the same episodes as the first run's last
    # evaluation), so best.pt is never worse than the start
    first_rows = [r for r in ckpt["history"] if "eval/mediator/return" in r]
    warm_ckpt = learned.load_checkpoint(warm / "last.pt")
    row0 = warm_ckpt["history"][0]
    assert (row0["update"], row0["steps"]) == (0, 0)
    assert row0["eval/mediator/return"] == first_rows[-1]["eval/mediator/return"]
    assert warm_ckpt["best_score"] >= row0["eval/mediator/return"]
    assert learned.load_checkpoint(warm / "best.pt")["best_score"] == warm_ckpt["best_score"]
    # another architecture, another scenario's critic, a missing file: one clear error each
    with pytest.raises(ValueError, match=r"cannot start the mediator learner: its set_width is 32"):
        run(
            tmp_path,
            "--scenario",
            "bilateral_asymmetric",
            "--set-width",
            "8",
            "--init-from",
            str(first / "last.pt"),
            name="narrow",
        )
    # the set mediator is layout-free: another mediated scenario takes its actor, not its
    # critic (which reads that scenario's observation); an MLP actor is tied to its layout
    elsewhere = run(
        tmp_path,
        "--scenario",
        "multilateral_5",
        "--init-from",
        str(first / "last.pt"),
        name="elsewhere",
    )
    row0 = learned.load_checkpoint(elsewhere / "last.pt")["history"][0]
    assert row0["steps"] == 0 and "eval/mediator/return" in row0  # the start, evaluated
    env5 = VectorNegotiationEnv(negenv.load("multilateral_5"), num_envs=4)
    cfg5 = from_saved(learned.load_checkpoint(elsewhere / "last.pt")["config"])
    ln5 = torch_ppo.make_learner(env5, "mediator", cfg5)
    note = ln5.warm_start(ckpt["roles"]["mediator"], cfg5.hidden, "first")
    n_actor = len(list(ln5.actor.parameters()))
    assert sorted(ln5.optim.state_dict()["state"]) == list(range(n_actor))  # the actor's only
    assert note == (
        "mediator: actor from the checkpoint; critic fresh (it reads 254 features here, 104 there)"
    )
    assert all(
        torch.equal(v, ckpt["roles"]["mediator"]["actor"][k])
        for k, v in ln5.actor.state_dict().items()
    )
    assert ln.warm_start(ckpt["roles"]["mediator"], cfg.hidden, "first") == (
        "mediator: actor and critic from the checkpoint"
    )
    flat = run(
        tmp_path, "--scenario", "bilateral_asymmetric", "--mediator-actor", "mlp", name="flat"
    )
    with pytest.raises(LayoutError, match="was trained on scenario 'bilateral_asymmetric'"):
        run(
            tmp_path,
            "--scenario",
            "multilateral_5",
            "--mediator-actor",
            "mlp",
            "--init-from",
            str(flat / "last.pt"),
            name="flat-elsewhere",
        )
    with pytest.raises(FileNotFoundError, match="'nowhere.pt' does not exist"):
        run(
            tmp_path, "--scenario", "bilateral_asymmetric", "--init-from", "nowhere.pt", name="lost"
        )
    with pytest.raises(ValueError, match="init_from = 'x.pt' is invalid: a warm start needs"):
        TrainConfig(backend="sb3", init_from="x.pt").validate()
