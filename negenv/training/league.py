"""A league over the mediator and party roles: policy-space response oracles (PSRO).

The meta-game is a two-player general-sum matrix game. Its players are the two roles: a
mediator policy (row) and a party population (column; a population gives every seat its
policy). Its payoffs are, on ``eval_episodes`` fixed held-out episodes (``eval_seed``) of the
batched env, the mediator's mean objective (table ``A``) and the parties' mean utility over
seats (table ``B``). The populations start from given names (scripted mediators and
populations, or checkpoints) and every iteration k:

1. solves the meta-game on the current tables with a solver of OpenSpiel (projected
   replicator dynamics, ``prd``, or the marginals of alpha-Rank's stationary distribution,
   ``alpharank``): a mixture per role, written as ``it<k>/mediator.mix.json`` and
   ``it<k>/parties.mix.json``, and the NashConv of that pair on the tables (``meta/nash_conv``,
   how far the solver is from an equilibrium of the meta-game);
2. trains with ``train.py``'s PPO a mediator against the parties' mixture and a shared party
   policy against the mediator's mixture (runs ``it<k>-mediator`` and ``it<k>-parties``; the
   party response is what independent PPO of one shared policy reaches against that
   mediator, so its "best" response is the parties' equilibrium under it, not a joint
   optimum);
3. adds both ``best.pt`` to the populations and plays the new row and column of the tables;
4. logs the exploitability of each role's mixture: what its new response gains over the
   mixture against the other role's mixture (``A[new] . q - p . A . q`` for the mediator,
   ``p . B[:, new] - p . B . q`` for the parties), and their positive sum (NashConv).

``league.json`` keeps the state after every iteration, written atomically; with ``resume``
the loop continues from it, and an interrupted response resumes from its run's ``last.pt``.
Every seed follows from the config, so a resumed league is the uninterrupted one. At the end
``mediator.mix.json`` and ``parties.mix.json`` hold the final meta-strategies, usable as
``--mediator`` and ``--population`` everywhere. Logs: ``league.csv``, ``tb/``, ``league.png``
and the tables as ``payoff_mediator.csv`` and ``payoff_parties.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents import mixture
from negenv.training.config import TrainConfig
from negenv.training.league_log import LeagueLog
from negenv.training.runlog import save_json, write_text

SOLVERS = ("prd", "alpharank")


@dataclass(frozen=True)
class LeagueConfig:
    """PSRO over the mediator and party roles (negenv.training.league)."""

    scenario: str = "multilateral_5"
    """A mediated scenario: a built-in name or a YAML path."""
    iterations: int = 3
    """PSRO iterations: each adds one mediator and one party population."""
    mediators: tuple[str, ...] = ("nbs_seen",)
    """The mediator population at the start (registry names or checkpoints)."""
    populations: tuple[str, ...] = ("threshold", "mixed")
    """The party populations at the start (registry names or checkpoints)."""
    response_steps: int = 300_000
    """PPO steps of each response (both roles, every iteration)."""
    num_envs: int = 512
    """Negotiations stepped at once while training a response."""
    response_eval_episodes: int = 256
    """Episodes of each response's periodic evaluation (which picks its best.pt)."""
    warm_start: bool = False
    """Start each response from the role's learned member (a ``train.py`` checkpoint) that
    does best against the other role's current mixture, instead of from fresh weights
    (TrainConfig.init_from): a response is then at least a fine-tuning of the best member so
    far, not a shorter run from scratch. Starting checkpoints must have the responses'
    architecture (checked before anything is trained)."""
    background_share: float = 0.0
    """The mediator's share of episodes against the starting party populations (the
    background), whatever the parties' meta-strategy: its meta-game payoff is ``(1 - s) A +
    s * mean(A[:, background])`` and its responses train against that mixture. Plain PSRO at
    0, where the party role drops every population that gives the parties less and the
    mediator specialises on the rest (docs/robustness.md shows it collapse on
    scripted parties)."""
    log_precision: bool = True
    """The mediator responses' text bells (TrainConfig.log_precision; False: softplus, as
    leagues trained before it became the default)."""
    solver: Literal["prd", "alpharank"] = "prd"
    """Meta-game solver (OpenSpiel): projected replicator dynamics or alpha-Rank marginals."""
    prd_dt: float = 1.0
    """Step of the replicator dynamics, on each role's table rescaled to [0, 1] (see
    :func:`solve`)."""
    prd_iterations: int = 100_000
    """Steps of the replicator dynamics."""
    alpha: float = 10.0
    """alpha-Rank's selection intensity."""
    eval_episodes: int = 1000
    """Held-out episodes of every payoff-table cell."""
    eval_seed: int = 4_000_037
    """Seed of the payoff-table episodes (never used in training)."""
    seed: int = 0
    """Responses of iteration k train with seed seed + k."""
    threads: int = 0
    """torch threads of the responses (0: train.py's choice)."""
    run_dir: str = "runs"
    """Folder of runs."""
    name: str = "league"
    """The league's folder in run_dir."""
    resume: bool = False
    """Continue the league in run_dir/name from its league.json (iterations may grow)."""
    overwrite: bool = False
    """Replace an earlier league of the same name."""
    progress: bool = False
    """Progress bars of the responses."""

    def validate(self) -> LeagueConfig:
        from negenv.scenario import load

        def bad(name: str, allowed: str) -> ValueError:
            return ValueError(f"{name} = {getattr(self, name)!r} is invalid: {allowed}")

        ints = ("iterations", "response_steps", "num_envs", "eval_episodes", "prd_iterations")
        for name in (*ints, "response_eval_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(name, "must be an int >= 1")
        if self.eval_episodes < 2:
            raise bad("eval_episodes", "must be >= 2")
        if self.solver not in SOLVERS:
            raise bad("solver", f"must be one of {SOLVERS}")
        if not self.alpha > 0:
            raise bad("alpha", "must be > 0")
        if not 0 < self.prd_dt <= 10:
            raise bad("prd_dt", "must be in (0, 10]")
        if not 0 <= self.background_share < 1:
            raise bad("background_share", "must be in [0, 1)")
        if not self.mediators:
            raise bad("mediators", "at least one mediator to start from")
        if not self.populations:
            raise bad("populations", "at least one party population to start from")
        train_seeds = {TrainConfig.eval_seed, TrainConfig.test_seed}
        if (
            self.eval_seed in train_seeds
            or self.seed <= self.eval_seed < self.seed + self.iterations
        ):
            raise bad("eval_seed", "must differ from the responses' training and eval seeds")
        if not self.name or Path(self.name).name != self.name or self.name in (".", ".."):
            raise bad("name", "a plain folder name (no path separators)")
        if not load(self.scenario).mediated:
            raise bad("scenario", "the league needs a mediated scenario (two roles)")
        return self


# --------------------------------------------------------------------------- the meta-game
def solve(
    a: np.ndarray,
    b: np.ndarray,
    solver: str,
    alpha: float,
    prd_dt: float = 1.0,
    prd_iterations: int = 100_000,
) -> tuple[np.ndarray, ...]:
    """Each role's mixture in the bimatrix game (A for rows, B for columns).

    ``prd`` runs on each table rescaled to [0, 1]. An affine change of one player's payoffs
    leaves the equilibria where they are, but the replicator dynamics move at the speed of the
    payoff differences: on the league's raw tables, where members differ by 0.01 or less,
    OpenSpiel's default step (1e-3, 1e5 steps) barely leaves the uniform mixture (a
    NashConv of 0.011 left on the leagues of docs/robustness.md; 1e-5 after rescaling, step 1)."""
    if a.shape == (1, 1):
        return np.ones(1), np.ones(1)
    if solver == "prd":
        from open_spiel.python.algorithms import projected_replicator_dynamics as prd

        p, q = prd.projected_replicator_dynamics(
            [_unit_range(a), _unit_range(b)], prd_iterations=prd_iterations, prd_dt=prd_dt
        )
    else:
        from open_spiel.python.egt import alpharank
        from open_spiel.python.egt import utils as egt_utils

        _, _, pi, n_profiles, sizes = alpharank.compute([a, b], alpha=alpha)
        p, q = np.zeros(a.shape[0]), np.zeros(a.shape[1])
        for k in range(n_profiles):
            i, j = egt_utils.get_strat_profile_from_id(sizes, k)
            p[i] += pi[k]
            q[j] += pi[k]
    p, q = np.clip(p, 0, None), np.clip(q, 0, None)
    return p / p.sum(), q / q.sum()


def _unit_range(t: np.ndarray) -> np.ndarray:
    spread = float(t.max() - t.min())
    return (t - t.min()) / spread if spread > 0 else np.zeros_like(t)


def with_background(a: np.ndarray, share: float, n_background: int) -> np.ndarray:
    """The mediator's meta-game payoffs when a ``share`` of its episodes meet the first
    ``n_background`` populations (uniformly) whatever the parties play."""
    return (1.0 - share) * a + share * a[:, :n_background].mean(1, keepdims=True)


def nash_conv(a: np.ndarray, b: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """What the best pure deviations of the two roles from (p, q) gain, summed, on the tables:
    0 at an equilibrium of the meta-game."""
    return float((a @ q).max() - p @ a @ q + (p @ b).max() - p @ b @ q)


def response_gains(a, b, p, q, new_row, new_col) -> dict[str, float]:
    """What each role's new response gains over its mixture against the other's mixture."""
    mediator = float(new_row @ q - p @ a @ q)
    parties = float(p @ new_col - p @ b @ q)
    return {
        "exploitability/mediator": mediator,
        "exploitability/parties": parties,
        "exploitability/nash_conv": max(0.0, mediator) + max(0.0, parties),
    }


def payoff(sc, mediator: str, population: str, episodes: int, seed: int) -> tuple[float, float]:
    """(mediator objective, parties' mean utility) of one table cell on held-out episodes."""
    import torch

    import negenv
    from agents import registry
    from negenv import rollout

    shell = negenv.parallel_env(sc)
    policies = registry.population(population, shell)
    policies["mediator"] = registry.mediator(mediator).build(shell)
    rec = rollout.run(sc, policies, episodes, seed, dtype=torch.float32)
    return float(rec["mediator_utility"].mean()), float(rec["utility"].mean())


# ------------------------------------------------------------------------------ the loop
def run(cfg: LeagueConfig, train: Callable[[TrainConfig], Path]) -> dict[str, Any]:
    """The league of ``cfg``; ``train(TrainConfig) -> run folder`` trains one response
    (``train.py``'s ``train``). Returns the final state (also in ``league.json``)."""
    from negenv.scenario import load

    cfg.validate()
    sc = load(cfg.scenario)
    root = Path(cfg.run_dir) / cfg.name
    _check_members(sc, cfg)  # before anything is written
    if cfg.warm_start:
        _check_warm_starts(sc, cfg)
    state = _open(cfg, root)
    log = LeagueLog(root, state["history"])
    a, b = np.array(state["A"]), np.array(state["B"])
    if a.size == 0:  # the starting populations' table
        a, b = _table(sc, cfg, state["mediators"], state["populations"])
        _save(root, state, a, b)
    share, n0 = cfg.background_share, len(cfg.populations)
    for k in range(len(state["history"]), cfg.iterations):
        mine = with_background(a, share, n0)  # the mediator's own payoffs
        p, q = _solve(mine, b, cfg)
        it = root / f"it{k}"
        _write_mixtures(it, state, p, q, cfg.scenario)
        opponents = it / "parties.mix.json"
        if share > 0:  # the mediator's response meets the background too
            weights = (1.0 - share) * q
            weights[:n0] += share / n0
            opponents = it / "mediator_opponents.mix.json"
            mixture.write(opponents, "party", state["populations"], weights, scenario=cfg.scenario)
        med_init = _best_checkpoint(state["mediators"], mine @ q) if cfg.warm_start else ""
        party_init = _best_checkpoint(state["populations"], p @ b) if cfg.warm_start else ""
        base = _response_config(cfg, root, k)
        med_run = _respond(
            train,
            replace(
                base,
                learn="mediator",
                populations=(str(opponents),),
                init_from=med_init,
            ),
            f"it{k}-mediator",
        )
        party_run = _respond(
            train,
            replace(
                base, learn="parties", mediator=str(it / "mediator.mix.json"), init_from=party_init
            ),
            f"it{k}-parties",
        )
        new_m, new_p = str(med_run / "best.pt"), str(party_run / "best.pt")
        row = np.array(
            [
                payoff(sc, new_m, pop, cfg.eval_episodes, cfg.eval_seed)
                for pop in state["populations"]
            ]
        )
        col = np.array(
            [
                payoff(sc, m, new_p, cfg.eval_episodes, cfg.eval_seed)
                for m in [*state["mediators"], new_m]
            ]
        )
        a = np.block([[a, col[:-1, :1]], [row[None, :, 0], col[-1:, :1]]])
        b = np.block([[b, col[:-1, 1:]], [row[None, :, 1], col[-1:, 1:]]])
        # the mediator's side in its own payoffs (the background's share included)
        mine = with_background(a, share, n0)
        old_a, old_b = mine[:-1, :-1], b[:-1, :-1]
        gains = response_gains(old_a, old_b, p, q, mine[-1, :-1], col[:-1, 1])
        state["mediators"].append(new_m)
        state["populations"].append(new_p)
        entry = {"iteration": k + 1, "mediator_weights": p.tolist(), "party_weights": q.tolist()}
        if cfg.warm_start:
            entry |= {"mediator_init": med_init, "party_init": party_init}
        entry |= gains | {
            "meta/mediator": float(p @ old_a @ q),
            "meta/parties": float(p @ old_b @ q),
            "meta/nash_conv": nash_conv(old_a, old_b, p, q),
        }
        state["history"].append(entry)
        log.log(entry)
        _save(root, state, a, b)
    mine = with_background(a, share, n0)
    p, q = _solve(mine, b, cfg)
    _write_mixtures(root, state, p, q, cfg.scenario)
    state["final"] = {
        "mediator_weights": p.tolist(),
        "party_weights": q.tolist(),
        "meta/nash_conv": nash_conv(mine, b, p, q),
    }
    save_json(root / "league.json", state)
    log.plot(state)
    log.close()
    return state


def _response_config(cfg: LeagueConfig, root: Path, k: int) -> TrainConfig:
    """What both responses of iteration ``k`` share."""
    return TrainConfig(
        scenario=cfg.scenario,
        total_steps=cfg.response_steps,
        num_envs=cfg.num_envs,
        eval_episodes=cfg.response_eval_episodes,
        log_precision=cfg.log_precision,
        seed=cfg.seed + k,
        threads=cfg.threads,
        run_dir=str(root),
        scorecard_episodes=0,
        progress=cfg.progress,
    )


def _best_checkpoint(members: list[str], values: np.ndarray) -> str:
    """The ``train.py`` checkpoint among ``members`` with the highest value ("" if none)."""
    learned = [i for i, m in enumerate(members) if m.endswith(".pt")]
    return members[max(learned, key=lambda i: values[i])] if learned else ""


def _check_warm_starts(sc, cfg: LeagueConfig) -> None:
    """Every starting checkpoint can start a response of its role (one clear error naming
    the member otherwise), so that a league never fails after hours of training."""
    from agents.learned import check_compatible, load_checkpoint
    from negenv.training import torch_ppo
    from negenv.vector import VectorNegotiationEnv

    env = VectorNegotiationEnv(sc, num_envs=1)
    base = replace(_response_config(cfg, Path(cfg.run_dir), 0), num_envs=1)
    for role, learn, members in (
        ("mediator", "mediator", cfg.mediators),
        ("party", "parties", cfg.populations),
    ):
        rcfg = replace(base, learn=learn)
        for member in (m for m in members if m.endswith(".pt")):
            ln = torch_ppo.make_learner(env, role, rcfg)
            entry = check_compatible(load_checkpoint(member), role, sc, member)
            ln.warm_start(entry, rcfg.hidden, f"warm_start: {role} member {member!r}")


def _solve(a: np.ndarray, b: np.ndarray, cfg: LeagueConfig) -> tuple[np.ndarray, ...]:
    return solve(a, b, cfg.solver, cfg.alpha, cfg.prd_dt, cfg.prd_iterations)


def _check_members(sc, cfg: LeagueConfig) -> None:
    """Every starting member builds on the scenario (one clear error naming it otherwise)."""
    import negenv
    from agents import registry

    shell = negenv.parallel_env(sc)
    for name in cfg.mediators:  # a missing or unknown member fails in the registry
        spec = registry.mediator(name)
        if spec.overrides:
            raise ValueError(
                f"mediators: {name!r} changes the scenario ({spec.overrides}); the league's "
                "members must all play the same scenario"
            )
        spec.build(shell)
    for name in cfg.populations:
        registry.population(name, shell)


def _open(cfg: LeagueConfig, root: Path) -> dict[str, Any]:
    """The saved state with ``resume`` (checked against the config), else a fresh one."""
    saved = root / "league.json"
    mine = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
    if cfg.resume:
        if not saved.is_file():
            raise FileNotFoundError(f"cannot resume {str(root)!r}: it has no league.json")
        state = json.loads(saved.read_text())
        free = {"iterations", "resume", "overwrite", "progress", "threads"}
        differ = [k for k in mine if k not in free and state["config"].get(k) != mine[k]]
        if differ:
            older = [k for k in differ if k not in state["config"]]
            why = f" ({older} did not exist when it was made)" if older else ""
            raise ValueError(f"cannot resume {str(root)!r}: the config differs in {differ}{why}")
        state["config"] = mine
        return state
    if root.exists() and any(root.iterdir()):
        if not cfg.overwrite:
            raise ValueError(
                f"league {str(root)!r} already exists: pass --resume to continue it, "
                "--overwrite to replace it, or --name for a new one"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    return {
        "config": mine,
        "mediators": list(cfg.mediators),
        "populations": list(cfg.populations),
        "A": [],
        "B": [],
        "history": [],
    }


def _table(sc, cfg: LeagueConfig, mediators, populations) -> tuple[np.ndarray, np.ndarray]:
    cells = [
        [payoff(sc, m, pop, cfg.eval_episodes, cfg.eval_seed) for pop in populations]
        for m in mediators
    ]
    t = np.array(cells)
    return t[..., 0], t[..., 1]


def _respond(train: Callable[[TrainConfig], Path], cfg: TrainConfig, name: str) -> Path:
    """Train one response, resuming its run when it was interrupted; a finished run (its
    last.pt at the final update) is reused as it is."""
    from agents.learned import load_checkpoint

    run = Path(cfg.run_dir) / name
    last = run / "last.pt"
    if last.is_file():
        if int(load_checkpoint(last)["update"]) >= replace(cfg, name=name).updates:
            return run
        return train(replace(cfg, name=name, resume=True).validate())
    return train(replace(cfg, name=name, overwrite=True).validate())


def _write_mixtures(folder: Path, state, p, q, scenario: str) -> None:
    mixture.write(
        folder / "mediator.mix.json", "mediator", state["mediators"], p, scenario=scenario
    )
    mixture.write(folder / "parties.mix.json", "party", state["populations"], q, scenario=scenario)


def _save(root: Path, state, a: np.ndarray, b: np.ndarray) -> None:
    state["A"], state["B"] = a.tolist(), b.tolist()
    for table, name in ((a, "payoff_mediator.csv"), (b, "payoff_parties.csv")):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["mediator \\ population", *state["populations"]])
        for m, r in zip(state["mediators"], table):
            w.writerow([m, *(f"{x:.6f}" for x in r)])
        write_text(root / name, buf.getvalue())
    save_json(root / "league.json", state)
