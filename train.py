"""Train negenv policies with PPO: a mediator, the parties, or both.

    python train.py                                   # a mediator on multilateral_5 (torch)
    python train.py --config configs/train/mediator_multilateral_5.yaml --total-steps 200000
    python train.py --learn parties --mediator guarantees_monitoring
    python train.py --backend sb3 --num-envs 8        # MaskablePPO on the gymnasium view
    python train.py --name my-run --resume            # continue runs/my-run from last.pt
    python train.py --league --iterations 3           # PSRO over both roles (README: the league)

Reads top to bottom: config, seeding, env and background agents, models, the learning loop
(rollouts, PPO updates, evaluation on unseen episodes, checkpoints), and the final report:
the scorecard of a learned mediator beside the scripted ones, or the behaviour of learned
parties. Every run writes to ``runs/<name>/``: ``config.yaml``, ``versions.json``,
``progress.csv``, ``tb/`` (TensorBoard), ``last.pt``, ``best.pt``, ``learning_curve.png`` and
the report. ``python -m negenv.evaluate --mediator runs/<name>/best.pt`` scores a learned
mediator later; a party checkpoint serves as a background ``--population``.
"""

from __future__ import annotations

import copy
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from agents import learned, registry
from negenv import rollout
from negenv.layout import party_names
from negenv.scenario import with_overrides
from negenv.training import config as config_mod
from negenv.training import memory
from negenv.training.config import ROLE_OF, TrainConfig
from negenv.training.runlog import RunLog, save_json, versions, write_text


# --------------------------------------------------------------------------- 1. config
def parse(argv: list[str]) -> TrainConfig:
    """``--config FILE`` gives the defaults; every other flag overrides them (tyro)."""
    import tyro

    base = TrainConfig()
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            raise ValueError("--config needs a YAML path: --config FILE")
        base = config_mod.load(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    return tyro.cli(TrainConfig, default=base, args=argv, description=DESCRIPTION).validate()


DESCRIPTION = (
    "Train negenv policies with PPO. --config FILE: a YAML file of the fields below, used as "
    "the defaults (e.g. configs/train/mediator_multilateral_5.yaml); flags override it."
)


def scenario_of(cfg: TrainConfig):
    """The training scenario, with the full-information override of a scripted mediator that
    needs it (``nbs_full``, ``egalitarian``) when the mediator does not learn."""
    sc = cfg.load_scenario()
    if sc.mediated and cfg.learn == "parties":
        spec = registry.mediator(cfg.mediator)
        sc = with_overrides(sc, spec.overrides) if spec.overrides else sc
    return sc


def open_run(cfg: TrainConfig) -> tuple[Path, dict[str, Any] | None]:
    """The run directory and, with ``resume``, its last checkpoint (checked to come from the
    same configuration, except the step budget and the progress bar)."""
    run = Path(cfg.run_dir) / cfg.run_name
    if not cfg.resume:
        if run.exists() and any(run.iterdir()):
            if not cfg.overwrite:
                raise ValueError(
                    f"run {str(run)!r} already exists: pass --resume to continue it, "
                    "--overwrite to replace it, or --name for a new run"
                )
            shutil.rmtree(run)  # an old scorecard or TensorBoard file must not mix in
        return run, None
    ckpt = learned.load_checkpoint(run / "last.pt")
    saved = ckpt["config"]
    free = {"total_steps", "resume", "overwrite", "progress", "scorecard_episodes"}
    free |= {"scorecard_mediators"}
    saved = {**config_mod.ABSENT, **saved}  # a field added since has its meaning of then
    differ = [k for k, v in config_mod.to_dict(cfg).items() if k not in free and saved.get(k) != v]
    if differ:
        raise ValueError(
            f"cannot resume {str(run)!r}: the config differs from its checkpoint in {differ}"
        )
    return run, ckpt


# ------------------------------------------------------------------- 2. background agents
def background(cfg: TrainConfig, env, population: str) -> dict[str, Any]:
    """Policies of the agents that do not learn, built against a PettingZoo shell of ``env``'s
    scenario: the population's parties and the configured mediator."""
    import negenv

    shell = negenv.parallel_env(env.scenario)
    out: dict[str, Any] = {}
    if "party" not in ROLE_OF[cfg.learn]:
        out |= registry.population(population, shell)
    if shell.scenario.mediated and "mediator" not in ROLE_OF[cfg.learn]:
        out["mediator"] = registry.mediator(cfg.mediator).build(shell)
    return out


# ------------------------------------------------------------------------- 3. statistics
def episode_stats(
    outcomes: list[dict[str, np.ndarray]], prefix: str, mediated: bool = True
) -> dict[str, float]:
    """Per-role mean returns and the fairness and durability basics of finished episodes."""
    if not outcomes:
        return {}
    rec = {k: np.concatenate([np.asarray(o[k]) for o in outcomes]) for k in outcomes[0]}
    agreed = rec["agreed_round"] >= 0
    out = {
        f"{prefix}/party/return": float(rec["utility"].mean()),
        f"{prefix}/agreement": float(agreed.mean()),
        f"{prefix}/completed": float((rec["status"] == "completed").mean()),
        f"{prefix}/defected": float((rec["first_violation"] >= 0)[agreed].mean())
        if agreed.any()
        else 0.0,
        f"{prefix}/min_gain": float(rec["gain"].min(axis=1).mean()),
    }
    # agent-steps on which a masked option was chosen (0 for masked learners; see README)
    steps = np.maximum(rec["steps"], 1).sum()
    out[f"{prefix}/party/illegal_rate"] = float(
        rec["illegal_actions"].sum() / (steps * rec["utility"].shape[1])
    )
    if mediated and rec["mediator_utility"].size:
        out[f"{prefix}/mediator/return"] = float(rec["mediator_utility"].mean())
        out[f"{prefix}/mediator/illegal_rate"] = float(
            rec["mediator_illegal_actions"].sum() / steps
        )
    return out


def score(stats: dict[str, float], learn: str) -> float:
    """What ``best.pt`` maximises: the learning roles' mean evaluation returns."""
    keys = {"mediator": ["eval/mediator/return"], "parties": ["eval/party/return"]}
    keys["all"] = keys["mediator"] + keys["parties"]
    return float(sum(stats[k] for k in keys[learn]))


def evaluate_now(cfg: TrainConfig, sc, learned_policies: dict[str, Any]) -> dict[str, float]:
    """Deterministic learned policies on ``eval_episodes`` unseen episodes per population:
    returns, agreement, completion, defection, worst-off gain, Nash welfare ratio, stage
    completion and compliance (means over the populations)."""
    import negenv

    shell = negenv.parallel_env(sc)
    stats: list[dict[str, float]] = []
    pops = cfg.populations if "party" not in ROLE_OF[cfg.learn] else cfg.populations[:1]
    for pop in pops:
        policies = background(cfg, shell, pop)
        if "party" in learned_policies:
            policies |= {p: learned_policies["party"] for p in shell.parties}
        if "mediator" in learned_policies:
            policies["mediator"] = learned_policies["mediator"]
        rec = rollout.run(sc, policies, cfg.eval_episodes, cfg.eval_seed, dtype=torch.float32)
        stats.append(episode_stats([rec], "eval", sc.mediated) | fairness_durability(rec, sc))
    keys = dict.fromkeys(k for s in stats for k in s)
    return {k: float(np.mean([s[k] for s in stats if k in s])) for k in keys}


def fairness_durability(rec: dict[str, np.ndarray], sc) -> dict[str, float]:
    """The scorecard's fairness and durability headlines on these episodes: means over the
    episodes where they apply, left out where they apply to none (no agreement)."""
    from negenv.metrics import episode_metrics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no agreement: nothing to average
        m = episode_metrics(rec, sc)
        means = {
            f"eval/{k}": float(np.nanmean(m[k]))
            for k in ("nash_welfare_ratio", "stage_completion", "compliance_rate")
        }
    return {k: v for k, v in means.items() if np.isfinite(v)}


# ------------------------------------------------------------------------------ 4. main
def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--league" in argv:
        argv.remove("--league")
        return league(argv)
    return train(parse(argv))


def league(argv: list[str]) -> Path:
    """``train.py --league ...``: PSRO over both roles (negenv.training.league), each
    response trained by :func:`train`."""
    import tyro

    from negenv.training import league as league_mod
    from negenv.training import league_log

    cfg = tyro.cli(league_mod.LeagueConfig, args=argv, description=league_mod.__doc__)
    state = league_mod.run(cfg, train)  # validates cfg
    root = Path(cfg.run_dir) / cfg.name
    print(league_log.summary(state))
    print(f"league written to {root}/")
    return root


def train(cfg: TrainConfig) -> Path:
    """One training run of a validated config; returns its folder."""
    run, ckpt = open_run(cfg)
    run.mkdir(parents=True, exist_ok=True)
    write_text(run / "config.yaml", yaml.safe_dump(config_mod.to_dict(cfg), sort_keys=False))
    save_json(run / "versions.json", versions())

    # seeding: weights from the seed; every update reseeds its own random stream
    torch.set_num_threads(cfg.torch_threads)  # README, "Threads": why, and when to change it
    memory.retain_freed_memory()  # large activations reuse freed memory (negenv/training/memory.py)
    print(
        f"{cfg.run_name}: {cfg.updates} updates of {cfg.batch_steps:,} steps "
        f"({cfg.updates * cfg.batch_steps:,} steps for the {cfg.total_steps:,} asked), "
        f"{cfg.torch_threads} torch thread(s) (--threads to change)"
    )
    torch.manual_seed(cfg.seed)
    sc = scenario_of(cfg)
    roles = ROLE_OF[cfg.learn]

    # env and models
    if cfg.backend == "torch":
        from negenv.training import torch_ppo

        env = torch_ppo.make_env(sc, cfg)
        learners = [torch_ppo.make_learner(env, role, cfg) for role in roles]
        if ckpt is not None:
            for ln in learners:
                ln.load(ckpt["roles"][ln.role])
        elif cfg.init_from:  # a warm start: weights and Adam's moments from another run
            init = learned.load_checkpoint(cfg.init_from)
            for ln in learners:
                entry = learned.check_compatible(init, ln.role, sc, cfg.init_from)
                loaded = ln.warm_start(entry, cfg.hidden, f"init_from = {cfg.init_from!r}")
                print(f"{cfg.run_name}: warm start, {loaded}")
    else:
        from negenv.training import sb3_ppo

        venv = sb3_ppo.make_venv(cfg)
        model = sb3_ppo.make_model(cfg, venv)
        if ckpt is not None:
            sb3_ppo.load(model, ckpt["roles"][sb3_ppo.role(cfg)], int(ckpt["steps"]))

    def role_states() -> dict[str, Any]:
        if cfg.backend == "torch":
            return {ln.role: ln.state(cfg.hidden) for ln in learners}
        return sb3_ppo.state(model, cfg)

    def policies_now() -> dict[str, Any]:
        if cfg.backend == "torch":
            return {
                ln.role: learned.LearnedPolicy(copy.deepcopy(ln.actor).cpu(), ln.nvec)
                for ln in learners
            }
        from agents.sb3_policy import SB3Policy

        entry = sb3_ppo.state(model, cfg)[sb3_ppo.role(cfg)]
        return {sb3_ppo.role(cfg): SB3Policy(entry, tuple(entry["nvec"]))}

    def save(name: str, update: int, best: float, history: list[dict[str, float]]) -> None:
        learned.save_checkpoint(
            run / name,
            {
                "backend": cfg.backend,
                "scenario": sc.name,
                "config": config_mod.to_dict(cfg),
                "update": update,
                "steps": update * cfg.batch_steps,
                "best_score": best,
                "history": history,
                "roles": role_states(),
            },
        )

    # the learning loop
    start = int(ckpt["update"]) if ckpt else 0
    best = float(ckpt["best_score"]) if ckpt else -float("inf")
    # where best.pt was saved (marked on the learning curve): the evaluation row of its score
    evals = [r for r in (ckpt["history"] if ckpt else []) if "eval/party/return" in r]
    hits = [r["steps"] for r in evals if abs(score(r, cfg.learn) - best) < 1e-12]
    best_steps = hits[-1] if hits else None
    log = RunLog(run, ckpt["history"] if ckpt else [])
    bar = tqdm(
        total=cfg.updates * cfg.batch_steps,
        initial=start * cfg.batch_steps,
        unit="step",
        unit_scale=True,
        disable=not cfg.progress,
        desc=cfg.run_name,
    )
    if cfg.init_from and ckpt is None:
        # the starting policy is a candidate too: a warm start's first updates at the full
        # learning rate can lose what it knew, and best.pt is then never worse than the start
        row = {"update": 0, "steps": 0} | evaluate_now(cfg, sc, policies_now())
        best, best_steps = score(row, cfg.learn), 0
        save("best.pt", 0, best, [row])
        log.log(row)
    for update in range(start, cfg.updates):
        tick = time.perf_counter()
        pop = cfg.populations[update % len(cfg.populations)]
        if cfg.backend == "torch":
            gen = torch_ppo.update_generator(cfg.seed, update, env.device)
            bg = torch_ppo.Background(env, background(cfg, env, pop), party_names(sc.n_parties))
            data, outcomes = torch_ppo.collect(env, learners, bg, cfg, update, gen)
            losses = {}
            for ln in learners:
                torch_ppo.schedule(ln, cfg, update)  # constant unless cfg.anneal
                losses |= torch_ppo.optimise(ln, data[ln.role], cfg, gen)
        else:
            outcomes, losses = sb3_ppo.run_update(model, venv, cfg, update), {}
        seconds = time.perf_counter() - tick
        row = {
            "update": update + 1,
            "steps": (update + 1) * cfg.batch_steps,
            "steps_per_second": cfg.batch_steps / seconds,
        }
        row |= episode_stats(outcomes, "train", sc.mediated) | losses
        done = update + 1 == cfg.updates
        if (update + 1) % cfg.eval_every == 0 or done:
            row |= evaluate_now(cfg, sc, policies_now())
            if score(row, cfg.learn) > best:
                best, best_steps = score(row, cfg.learn), row["steps"]
                save("best.pt", update + 1, best, log.history + [row])
        log.log(row)
        if (update + 1) % cfg.checkpoint_every == 0 or done:
            save("last.pt", update + 1, best, log.history)
        bar.update(cfg.batch_steps)
        # training returns of this update's episodes; best.pt keeps the best evaluation score
        shown = {
            "train " + k.split("/")[1]: f"{v:.3f}"
            for k, v in row.items()
            if k.startswith("train/") and k.endswith("return")
        }
        illegal = max((v for k, v in row.items() if k.endswith("illegal_rate")), default=0.0)
        bar.set_postfix(shown | {"illegal": f"{illegal:.3f}", "best eval": f"{best:.3f}"})
    bar.close()
    log.curve(f"{cfg.run_name}: {cfg.learn} learning on {sc.name}", best_steps)
    log.close()

    # the report: a learned mediator's scorecard beside the scripted ones
    if cfg.scorecard_episodes and "mediator" in roles:
        from negenv.evaluate import Suite, evaluate
        from negenv.report import scorecard, write_report

        suite = Suite((sc,), cfg.scorecard_episodes, cfg.populations)
        mediators = [str(run / "best.pt"), *cfg.scorecard_mediators]
        rows, summary = evaluate(mediators, suite, cfg.progress, seed=cfg.test_seed)
        write_report(run / "scorecard", rows, summary)
        print(scorecard(summary))
    elif cfg.scorecard_episodes:
        from negenv.training.party_report import party_report

        print(party_report(cfg, sc, run))
    print(f"run written to {run}/")
    return run


if __name__ == "__main__":
    from negenv import cli

    cli.run(main)
