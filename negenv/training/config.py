"""The typed configuration of a training run, read from YAML and the command line.

Every field has a docstring (tyro turns them into ``--help``); :func:`load` reads a YAML file
of ``configs/train/`` with ``yaml.safe_load``, rejects unknown keys by name, and
:meth:`TrainConfig.validate` rejects bad values with the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from negenv.scenario import read_yaml

SCRIPTED_SCORECARD = (
    "nbs_signals",
    "split",
    "power_centroid",
    "guarantees_monitoring",
    "guarantees_monitoring_off",
    "random",
    "nbs_seen",
    "nbs_full",
    "egalitarian",
)


@dataclass(frozen=True)
class TrainConfig:
    """PPO on negenv: which roles learn, against whom, on which backend, for how long."""

    scenario: str = "multilateral_5"
    """Scenario: a built-in name or a YAML path."""
    scenario_overrides: tuple[str, ...] = ()
    """Scenario fields to change, as ``field=value`` (YAML values; nested fields by dots),
    e.g. ``discount=0.5`` or ``implementation.sanction_rate=3``."""
    learn: Literal["mediator", "parties", "all"] = "mediator"
    """Roles that learn: the mediator, the parties (one shared policy), or both at once."""
    backend: Literal["torch", "sb3"] = "torch"
    """torch: multi-role PPO on the batched env (TorchRL loss and GAE); sb3: (Maskable)PPO of
    stable-baselines3 on the single-agent gymnasium views."""
    populations: tuple[str, ...] = ("threshold", "mixed")
    """Background party populations when the parties do not learn (agents.registry names or
    checkpoints); the torch backend cycles them over updates, sb3 over its envs."""
    mediator: str = "nbs_signals"
    """The mediator when it does not learn: an agents.registry name or a checkpoint."""
    total_steps: int = 2_000_000
    """Environment steps to train for (one step of one negotiation)."""
    num_envs: int = 512
    """Negotiations stepped at once (torch) or gymnasium envs (sb3)."""
    rollout_steps: int = 32
    """Steps per negotiation per update. Every update starts fresh episodes (see the docs)."""
    epochs: int = 4
    """PPO epochs per update."""
    minibatches: int = 8
    """Minibatches per epoch."""
    lr: float = 5e-4
    """Adam learning rate (constant)."""
    gamma: float = 1.0
    """Discount of returns (the rules already discount worth by the scenario's delta)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.001
    """Entropy bonus coefficient."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    max_grad_norm: float = 0.5
    """Gradient norm clip."""
    hidden: tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the MLP actors and the critic."""
    mediator_actor: Literal["set", "mlp"] = "set"
    """The learned mediator's actor (torch backend): ``set`` encodes every (party, issue)
    with one shared network of width ``set_width`` and mixes observed ideal points into texts
    (agents.set_actor; loads on any mediated scenario with the same grids); ``mlp`` reads the
    flat observation (tied to the scenario's layout). The sb3 backend uses SB3's MLP."""
    set_width: int = 32
    """Width of the set actor's token encoder."""
    party_actor: Literal["mlp", "ordinal", "ego"] = "mlp"
    """The learned parties' actor (torch backend): ``mlp`` gives every option its own logit;
    ``ordinal`` scores the levels of each text a party posts (unmediated scenarios) by a bell
    over the grid whose centre and width the network emits (agents.ordinal), so that
    neighbouring levels share what is learned; ``ego`` is ``ordinal`` read and written from
    the party's own seat (agents.ordinal.EgoView), so that a policy shared by the seats
    treats mirrored situations alike."""
    ego_seat: bool = False
    """With ``party_actor`` ego: the party's own seat is read as it is (a one-hot of its
    index), not rotated away, so that a policy shared by the seats can play them differently
    where the game is not symmetric between them (``rubinstein``'s deadline: the second seat
    proposes in the last round). Mirrored texts are kept."""
    log_precision: bool = True
    """Texts scored by a bell (the set mediator's, the ordinal and ego parties'): its precision
    is ``exp`` of the network's output, not ``softplus`` of it (agents.bell), so that a
    text's spread narrows by a ratio per unit of the output, not by an amount (softplus
    narrows a 0.05-wide bell by a few percent per unit, and the texts stay wider than the
    choice needs; docs/results.md measures both). Actors without a bell (the MLP actors) have no
    precision and ignore it. ``--no-log-precision`` trains as runs did before it existed."""
    threshold_votes: bool = False
    """With ``party_actor`` ordinal or ego: a party votes by a threshold on the standing
    text's utility (accept logit ``kappa * (u - theta)``, the network emitting the reservation
    utility and the log sharpness; agents.ordinal.VoteThreshold) instead of by free logits,
    so that acceptance is monotone in what the text is worth to it and can become sharp."""
    sample_share: float = 1.0
    """The share of a learner's agent-steps in which it samples its action and learns from
    it (torch backend); in the others it plays its most likely legal option, as the
    evaluators play it, and the step is not learned from. Below 1 a sampled decision is
    mostly followed by the policy's own greedy play, so that each lesson is a one-shot
    deviation from the profile the evaluators and the exact analysis read (the continuation
    of a sampled step is then near the greedy profile's, not a noisier one's). Each step
    costs the same; only ``sample_share`` of it teaches."""
    anneal: bool = False
    """Let the learning rate and the entropy coefficient fall linearly to 0 over the updates
    (torch backend), so that the policies end near-deterministic: what a learner best
    responds to in training is then what the evaluators play (each policy's most likely
    option)."""
    entropy_end: float = 1.0
    """With ``anneal``: the fraction of the updates at which the entropy coefficient reaches
    0 (the learning rate still falls over all of them). Below 1 the learners keep learning
    for a while against opponents that are already near-deterministic."""
    subgames: int = 0
    """Subgame starts (torch backend, learning parties, unmediated scenarios): each training
    episode starts in a round drawn uniformly from 0..subgames, reached by a prelude in
    which every party rejects and each proposer posts a uniformly random legal text; the
    prelude's steps are not learned from. Every subgame is then on the learners' path, so
    responders learn what to do with texts an equilibrium never posts (0: off, the game as
    it is). Evaluation and the reports always play the game from round 0."""
    backward: float = 0.0
    """Backward induction as a curriculum for ``subgames`` (a fraction of the updates, 0: off):
    over the first ``backward`` of the updates the earliest start round falls linearly from
    ``subgames`` to 0, so that episodes start late first, and the learners settle the
    subgames near the end before the rounds that lead to them; afterwards starts are uniform
    over 0..subgames. With ``subgames`` = max_rounds - 1 the first updates play the last
    vote only."""
    round_units: bool = False
    """Measure values and advantages in the worth of the round each decision is taken in
    (torch backend): the critic learns ``V(s) / delta**round(s)`` and GAE discounts a step
    by ``delta`` to the rounds it spends, an exact change of units. A decision in round t
    then weighs in an update as much as one in round 0, instead of ``delta**t`` as much
    (useful with ``subgames``; docs/results.md's Rubinstein tables say what it changed)."""
    compile: bool = False
    """Compile each learner's actor and critic, and the batched env's step, with
    ``torch.compile`` (torch backend): fewer, fused passes over the set actor's token tensor
    and over the rules' (B, N) tensors. It pays on long runs: compiling takes seconds to a
    minute, once per process and batch shape (see the README)."""
    critic: Literal["mappo", "ippo"] = "mappo"
    """mappo: a centralised critic on the env's global state and the agent's observation;
    ippo: each agent's critic sees its own observation (torch backend)."""
    init_from: str = ""
    """A ``train.py`` checkpoint (torch backend) whose networks start this run: each learning
    role's actor and critic weights, and Adam's moments of them, are loaded from it (the
    learning rate and schedule are this run's), and must have this config's architecture
    (actor kind, widths, bells, observation and critic sizes); a set mediator may come from
    another mediated scenario with the same grids, its critic then starting fresh. The
    starting policy is evaluated before the first update and kept as the first ``best.pt``.
    Empty: initial weights from the seed. The league's ``warm_start`` uses it."""
    seed: int = 0
    """Training seed: episodes, initial weights and action sampling."""
    device: str = "cpu"
    """Torch device of the torch backend (cpu, cuda, cuda:1)."""
    threads: int = 0
    """torch.set_num_threads; 0 picks what measured fastest on a 2-core CPU: 1 for sb3 (small
    batches), min(2, cores) for torch (batched env and large minibatches)."""
    eval_every: int = 20
    """Updates between evaluations (the best evaluated policy is kept as best.pt)."""
    eval_episodes: int = 256
    """Episodes of each periodic evaluation (seed eval_seed, never used in training)."""
    eval_seed: int = 1_000_003
    """Seed of evaluation episodes; must differ from seed."""
    test_seed: int = 2_000_003
    """Seed of the final report's episodes; must differ from seed and eval_seed."""
    checkpoint_every: int = 20
    """Updates between checkpoints (last.pt)."""
    scorecard_episodes: int = 2000
    """Episodes per population of the final scorecard (0: skip it)."""
    scorecard_mediators: tuple[str, ...] = SCRIPTED_SCORECARD
    """Scripted mediators scored beside a learned one."""
    run_dir: str = "runs"
    """Folder of runs."""
    name: str = ""
    """Run name (default: scenario-learn-backend-seed)."""
    resume: bool = False
    """Continue the run in run_dir/name from its last.pt."""
    overwrite: bool = False
    """Replace an earlier run of the same name (its files are deleted first)."""
    progress: bool = True
    """Show a progress bar."""

    @property
    def run_name(self) -> str:
        """``name``, or scenario-learn-backend-seed (a scenario file by its stem)."""
        scenario = (
            Path(self.scenario).stem
            if self.scenario.endswith((".yaml", ".yml"))
            else (self.scenario)
        )
        return self.name or f"{scenario}-{self.learn}-{self.backend}-s{self.seed}"

    def load_scenario(self):
        """The scenario with ``scenario_overrides`` applied."""
        from negenv.scenario import load, with_overrides

        sc = load(self.scenario)
        extra = _overrides(self.scenario_overrides)
        return with_overrides(sc, extra) if extra else sc

    @property
    def torch_threads(self) -> int:
        import os

        if self.threads:
            return self.threads
        return 1 if self.backend == "sb3" else min(2, os.cpu_count() or 1)

    @property
    def batch_steps(self) -> int:
        return self.num_envs * self.rollout_steps

    @property
    def updates(self) -> int:
        return max(1, -(-self.total_steps // self.batch_steps))

    def validate(self) -> TrainConfig:
        def bad(name: str, allowed: str) -> ValueError:
            value = getattr(self, name)
            return ValueError(f"{name} = {value!r} is invalid: {allowed}")

        for name in ("total_steps", "num_envs", "rollout_steps", "epochs", "minibatches"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "must be an int >= 1")
        if not isinstance(self.threads, int) or self.threads < 0:
            raise bad("threads", "must be an int >= 0 (0: automatic)")
        for name in ("eval_every", "checkpoint_every", "eval_episodes"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise bad(name, "must be an int >= 1")
        if self.scorecard_episodes < 0:
            raise bad("scorecard_episodes", "must be >= 0")
        for name in ("lr", "clip", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise bad(name, "must lie in [0, 1]")
        if self.ent_coef < 0 or self.vf_coef < 0:
            raise bad("ent_coef" if self.ent_coef < 0 else "vf_coef", "must be >= 0")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise bad("hidden", "a non-empty list of ints >= 1")
        if self.mediator_actor not in ("set", "mlp"):
            raise bad("mediator_actor", "one of 'set', 'mlp'")
        if not isinstance(self.set_width, int) or self.set_width < 1:
            raise bad("set_width", "must be an int >= 1")
        if self.party_actor not in ("mlp", "ordinal", "ego"):
            raise bad("party_actor", "one of 'mlp', 'ordinal', 'ego'")
        if self.name and (Path(self.name).name != self.name or self.name in (".", "..")):
            raise bad("name", "a plain folder name (no path separators)")
        if self.eval_seed == self.seed:
            raise bad("eval_seed", "must differ from seed (evaluation uses unseen episodes)")
        if self.test_seed in (self.seed, self.eval_seed):
            raise bad("test_seed", "must differ from seed and eval_seed")
        if self.backend == "torch" and self.minibatches > self.batch_steps:
            raise bad("minibatches", f"at most num_envs * rollout_steps = {self.batch_steps}")
        if self.backend == "sb3" and self.learn == "all":
            raise bad("learn", "'all' needs backend 'torch' (sb3 trains one role at a time)")
        sc = self.load_scenario()
        if not isinstance(self.subgames, int) or self.subgames < 0:
            raise bad("subgames", "must be an int >= 0 (0: off)")
        if self.subgames and (self.learn != "parties" or self.backend != "torch" or sc.mediated):
            raise bad(
                "subgames",
                "needs learn='parties', backend 'torch' and an unmediated scenario "
                f"(got learn={self.learn!r}, backend={self.backend!r}, scenario {sc.name!r})",
            )
        if self.party_actor in ("ordinal", "ego") and (
            self.backend != "torch" or self.learn == "mediator" or sc.mediated
        ):
            raise bad(
                "party_actor",
                f"{self.party_actor!r} needs backend 'torch', learning parties and an unmediated "
                "scenario "
                f"(parties post the texts; got backend={self.backend!r}, learn={self.learn!r}, "
                f"scenario {sc.name!r})",
            )
        if not isinstance(self.log_precision, bool):
            raise bad("log_precision", "must be True or False")
        if not isinstance(self.ego_seat, bool):
            raise bad("ego_seat", "must be True or False")
        if self.ego_seat and self.party_actor != "ego":
            raise bad("ego_seat", f"True needs party_actor 'ego' (got {self.party_actor!r})")
        if not isinstance(self.sample_share, (int, float)) or not 0.0 < self.sample_share <= 1.0:
            raise bad("sample_share", "must lie in (0, 1]")
        if self.sample_share < 1.0 and self.backend != "torch":
            raise bad("sample_share", "below 1 needs backend 'torch'")
        if not isinstance(self.init_from, str):
            raise bad("init_from", "must be a checkpoint path, or empty")
        if self.init_from and self.backend != "torch":
            raise bad("init_from", "a warm start needs backend 'torch'")
        if not isinstance(self.threshold_votes, bool):
            raise bad("threshold_votes", "must be True or False")
        if self.threshold_votes and self.party_actor == "mlp":
            raise bad("threshold_votes", "True needs party_actor 'ordinal' or 'ego'")
        if not 0.0 < self.entropy_end <= 1.0:
            raise bad("entropy_end", "must lie in (0, 1]")
        if self.entropy_end != 1.0 and not self.anneal:
            raise bad("entropy_end", "below 1 needs anneal = True")
        if self.anneal and self.backend != "torch":
            raise bad("anneal", "needs backend 'torch'")
        if not isinstance(self.compile, bool):
            raise bad("compile", "must be True or False")
        if self.compile and self.backend != "torch":
            raise bad("compile", "needs backend 'torch'")
        if not isinstance(self.round_units, bool):
            raise bad("round_units", "must be True or False")
        if self.round_units and self.backend != "torch":
            raise bad("round_units", "needs backend 'torch'")
        if not isinstance(self.backward, (int, float)) or not 0.0 <= self.backward <= 1.0:
            raise bad("backward", "must be a fraction in [0, 1] (0: off)")
        if self.backward and not self.subgames:
            raise bad("backward", "needs subgames > 0 (it orders the subgame starts)")
        if self.subgames >= sc.max_rounds:
            raise bad("subgames", f"must be below the scenario's max_rounds = {sc.max_rounds}")
        if self.learn in ("mediator", "all") and not sc.mediated:
            raise bad("learn", f"scenario {sc.name!r} has no mediator; use learn='parties'")
        if not self.populations:
            raise bad("populations", "at least one population")
        return self


def _overrides(items: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"scenario_overrides item {item!r} is invalid: write field=value")
        out[key.strip()] = yaml.safe_load(value)
    return out


ROLE_OF = {"mediator": ("mediator",), "parties": ("party",), "all": ("party", "mediator")}


def fields() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


#: what a field meant before it existed: a run saved without it was trained this way (a
#: saved run keeps its meaning when a default changes; see :func:`from_saved`)
ABSENT: dict[str, Any] = {
    "entropy_end": 1.0,
    "log_precision": False,
    "threshold_votes": False,
    "sample_share": 1.0,
    "init_from": "",
    "ego_seat": False,
}


def from_saved(data: dict[str, Any], source: str = "saved config") -> TrainConfig:
    """A run's own config (its ``config.yaml`` or checkpoint): a field it lacks takes the
    value the run was trained with (:data:`ABSENT`), not today's default."""
    return from_dict({**ABSENT, **data}, source)


def from_dict(data: dict[str, Any], source: str = "config") -> TrainConfig:
    """A config from a mapping; unknown keys are an error naming them and the known ones."""
    if not isinstance(data, dict):
        raise ValueError(f"{source} must be a mapping of TrainConfig fields, got {type(data)}")
    unknown = sorted(set(data) - set(fields()))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; known: {', '.join(fields())}")
    types = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    fixed = {
        k: tuple(v) if "tuple" in str(types[k]) and isinstance(v, list) else v
        for k, v in data.items()
    }
    return TrainConfig(**fixed)


def load(path: str | Path) -> TrainConfig:
    """A config from a YAML file of TrainConfig fields (``yaml.safe_load``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    return from_dict(read_yaml(path) or {}, source=str(path))


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
