"""Deviations for paired incentive checks: one behaviour changed, everything else equal.

A :class:`Deviation` wraps a party policy and overrides its comply or vote choice for the
seats it selects (every seat, the most or least powerful one of the episode, or a fixed
seat), read off the party's own observation. :func:`paired` runs the same episodes (same
keys, same noise) with and without a deviation on the batched env and returns both records,
so the deviator's gain and the mediator's loss can be read episode by episode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import legalise
from negenv import rollout
from negenv.layout import Comply, Layout, Move, Vote
from negenv.scenario import Scenario

WHO = ("all", "strongest", "weakest")


class Deviation:
    """A party policy with its comply (and optionally vote) choice overridden.

    Args:
        base: the policy whose other choices are kept.
        layout: the scenario's layout.
        n_stages: S of the scenario.
        who: ``"all"``, ``"strongest"`` / ``"weakest"`` (the party of highest / lowest power
            in the episode), or a seat index.
        defect_stages: 1-based stages at which the selected parties defect (the others keep
            the base choice).
        vote_no: the selected parties vote no whenever they may vote.
    """

    def __init__(
        self,
        base: Any,
        layout: Layout,
        n_stages: int,
        who: str | int = "all",
        defect_stages: tuple[int, ...] = (),
        vote_no: bool = False,
    ):
        if not (isinstance(who, int) or who in WHO):
            raise ValueError(f"who = {who!r} is invalid: a seat index or one of {WHO}")
        self.base, self.lay, self.s, self.n_stages = base, layout, layout.party_obs, n_stages
        self.who, self.stages, self.vote_no = who, np.asarray(defect_stages), vote_no

    def selected(self, obs: np.ndarray) -> np.ndarray:
        """(M,) whether each row's party is a deviator."""
        me = np.argmax(obs[:, self.s["self"]], axis=1)
        powers = obs[:, self.s["powers"]]
        if self.who == "all":
            return np.ones(len(obs), dtype=bool)
        if self.who == "strongest":
            return me == np.argmax(powers, axis=1)
        if self.who == "weakest":
            return me == np.argmin(powers, axis=1)
        return me == self.who

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.base.act(obs, mask).copy()
        chosen = self.selected(obs)
        phase = obs[:, self.s["phase"]]
        stage = np.rint(obs[:, self.s["stage"]][:, 0] * max(self.n_stages, 1)).astype(int) + 1
        implementing = phase[:, 1] == 1
        defect = chosen & implementing & np.isin(stage, self.stages)
        out[:, 1] = np.where(defect, Comply.DEFECT, out[:, 1])
        if self.vote_no:
            may_vote = mask[:, Vote.ACCEPT] == 1
            out[:, 0] = np.where(chosen & may_vote, Vote.REJECT, out[:, 0])
        return out


class Substitute(Deviation):
    """The selected parties (``who``, as in :class:`Deviation`) play ``alt``'s action; the
    others keep ``base``'s. ``columns`` limits the change to some action components (e.g.
    the demand signals), the rest stays ``base``'s."""

    def __init__(self, base: Any, alt: Any, layout: Layout, who: str | int, columns=None):
        super().__init__(base, layout, 0, who)
        self.alt, self.columns = alt, columns

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.base.act(obs, mask).copy()
        other = self.alt.act(obs, mask)
        cols = slice(None) if self.columns is None else self.columns
        chosen = self.selected(obs)[:, None]
        out[:, cols] = np.where(chosen, other[:, cols], out[:, cols])
        return out


class ExtremeSignals:
    """A party that claims an extreme ideal: on every issue it asks the text to move up if its
    ideal lies above 1/2 and down otherwise, whatever the standing text (truthful parties
    hold within their tolerance). Votes and compliance are ``base``'s."""

    def __init__(self, base: Any, layout: Layout):
        self.base, self.lay, self.s = base, layout, layout.party_obs

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.base.act(obs, mask).copy()
        k = self.lay.k
        out[:, 3 : 3 + k] = np.where(obs[:, self.s["ideal"]] > 0.5, Move.UP, Move.DOWN)
        return legalise(out, mask, self.lay.party_nvec)


class FixedMonitoring:
    """A mediator policy whose monitoring choice is pinned to ``level`` (an index)."""

    def __init__(self, base: Any, layout: Layout, level: int):
        self.base, self.level, self.k = base, level, layout.k

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.base.act(obs, mask).copy()
        negotiating = mask[:, -1] == 1  # the last monitoring level is allowed only then
        out[:, self.k + 1] = np.where(negotiating, self.level, out[:, self.k + 1])
        return out


class StrategicNo:
    """A :func:`negenv.rollout.run` hook: the selected party votes no whenever the text
    passes without its vote (it reads the others' votes and the rules' decision, as an oracle
    would), so it becomes a holdout at no risk of blocking the text."""

    def __init__(self, sc: Scenario, who: str | int = "strongest"):
        self.sc, self.who = sc, who

    def __call__(self, env: Any, actions: dict[str, Any]) -> dict[str, Any]:
        import torch

        from negenv import core
        from negenv.layout import Phase

        s, party = env.state, actions["party"].clone()
        chosen = torch.as_tensor(deviator_mask({"power": s.power.cpu().numpy()}, self.who))
        yes = party[..., 0] == Vote.ACCEPT
        blocs = core.group_all(yes & ~chosen, s.coalition, self.sc.coalitions.max_coalitions)[0]
        # (round 0 has no vote: a flip there is masked and ignored by the rules)
        still = (s.phase == int(Phase.NEGOTIATE)) & core.decide(self.sc, blocs, s.power)
        party[..., 0] = torch.where(chosen & yes & still[:, None], Vote.REJECT, party[..., 0])
        return {**actions, "party": party}


class Stall:
    """A :func:`negenv.rollout.run` hook: every party rejects the standing text while the
    round is below ``rounds`` (``None``: always), as if the mediator posted texts nobody
    accepts; everything else (guarantees, monitoring, demands) stays as played."""

    def __init__(self, rounds: int | None = None):
        self.rounds = rounds

    def __call__(self, env: Any, actions: dict[str, Any]) -> dict[str, Any]:
        import torch

        from negenv.layout import Phase

        s, party = env.state, actions["party"].clone()
        stalling = s.phase == int(Phase.NEGOTIATE)
        if self.rounds is not None:
            stalling = stalling & (s.round < self.rounds)
        party[..., 0] = torch.where(stalling[:, None], Vote.REJECT, party[..., 0])
        return {**actions, "party": party}


class MaskedChoices:
    """A :func:`negenv.rollout.run` hook: each agent's choice of each component is replaced,
    with probability ``rate``, by a random option its mask forbids there (where one exists).
    Under ``illegal_action="noop"`` the episode must be the one played without it."""

    def __init__(self, rate: float = 0.5, seed: int = 0):
        import torch

        self.rate, self.gen = rate, torch.Generator().manual_seed(seed)

    def __call__(self, env: Any, actions: dict[str, Any]) -> dict[str, Any]:
        import torch

        out = dict(actions)
        lay = env.layout
        for role, mask, nvec in (
            ("party", env._masks[0], lay.party_nvec),
            ("mediator", env._masks[1], lay.mediator_nvec),
        ):
            if role not in actions:
                continue
            a, start = actions[role].clone(), 0
            for c, n in enumerate(nvec):
                legal = mask[..., start : start + n].bool()
                score = torch.rand(legal.shape, generator=self.gen).masked_fill(legal, -1.0)
                draw = torch.rand(score.shape[:-1], generator=self.gen)
                swap = (~legal).any(-1) & (draw < self.rate)
                a[..., c] = torch.where(swap, score.argmax(-1), a[..., c])
                start += n
            out[role] = a
        return out


def paired(
    sc: Scenario,
    policies: dict[str, Any],
    deviants: dict[str, Any],
    episodes: int,
    seed: int = 0,
    hook: Any = None,
    **run: Any,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Records of the same episodes under ``policies`` and under ``policies | deviants``
    (with ``hook`` adjusting the deviant run's actions; ``run``: more arguments of
    :func:`negenv.rollout.run`, such as ``max_cycles``)."""
    base = rollout.run(sc, policies, episodes, seed, **run)
    return base, rollout.run(sc, {**policies, **deviants}, episodes, seed, hook=hook, **run)


def pinned_setup(name: str, level: int = 0, population: str = "threshold"):
    """Scenario, env and policies of a paired check: a party ``population`` of
    :mod:`agents.registry` and, in a mediated scenario, ``nbs_full`` (the NBS of the exact
    types, guarantees round-robin) with its monitoring pinned at level index ``level`` (-1:
    the top level)."""
    import negenv
    from agents import registry
    from negenv.scenario import with_overrides

    sc = negenv.load(name)
    spec = registry.mediator("nbs_full") if sc.mediated else None
    if spec:
        sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc)
    policies = registry.population(population, env)
    if spec:
        top = env.layout.monitoring_levels - 1
        pinned = top if level == -1 else level
        policies["mediator"] = FixedMonitoring(spec.build(env), env.layout, pinned)
    return sc, env, policies


def deviate(
    name: str,
    level: int,
    who: str | int,
    stages: tuple[int, ...],
    population: str = "threshold",
    episodes: int = 600,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Scenario]:
    """Paired records of :func:`pinned_setup` without and with the ``who`` parties defecting
    at ``stages``; every seat keeps its own behaviour otherwise. Returns (base, alt, sc)."""
    sc, env, policies = pinned_setup(name, level, population)
    n_stages = sc.implementation.n_stages
    wrapped: dict[int, Deviation] = {}  # one wrapper per policy object: seats still batch
    for p in env.parties:
        base = policies[p]
        wrapped.setdefault(id(base), Deviation(base, env.layout, n_stages, who, tuple(stages)))
    devs = {p: wrapped[id(policies[p])] for p in env.parties}
    return (*paired(sc, policies, devs, episodes, seed), sc)


def strategic_no(
    name: str, who: str | int = "weakest", episodes: int = 600, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Paired records of :func:`pinned_setup` (monitoring 0) in which the ``who`` party
    defects at stage 1, truthful in ``base`` and voting no whenever the text passes without
    it in ``alt`` (:class:`StrategicNo`)."""
    sc, env, policies = pinned_setup(name, 0)
    n_stages = sc.implementation.n_stages
    once = Deviation(policies["party_0"], env.layout, n_stages, who, (1,) if n_stages else ())
    both = {**policies, **dict.fromkeys(env.parties, once)}
    return paired(sc, both, {}, episodes, seed, StrategicNo(sc, who))


def deviator_mask(records: dict[str, np.ndarray], who: str | int) -> np.ndarray:
    """(B, N) the seats a :class:`Deviation` with ``who`` selects, from the records."""
    power = records["power"]
    seats = np.arange(power.shape[1])
    if who == "all":
        return np.ones_like(power, dtype=bool)
    if who == "strongest":
        return seats == np.argmax(power, axis=1)[:, None]
    if who == "weakest":
        return seats == np.argmin(power, axis=1)[:, None]
    return np.broadcast_to(seats == who, power.shape)


def deviator_gain(base: dict[str, np.ndarray], alt: dict[str, np.ndarray], who: str | int):
    """(B,) the ``who`` deviators' utility in ``alt`` minus theirs in ``base``, per episode."""
    return ((alt["utility"] - base["utility"]) * deviator_mask(base, who)).sum(axis=1)
