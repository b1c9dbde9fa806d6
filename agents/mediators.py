"""Scripted mediators for the discrete action mode, read off the observation layout.

Each posts an absolute text (a level per issue on the scenario's proposal grid), allocates
guarantees and sets a monitoring level. Mediators that solve a bargaining problem use the
party types in their observation, as exact or noisy as the scenario's
``mediator.information`` setting makes them (``information="exact"`` gives them full
information); the others steer by demand signals and votes.
"""

from __future__ import annotations

import math

import numpy as np

from agents.base import legalise
from negenv.batch_solutions import Types, texts
from negenv.layout import GuaranteeTarget, Layout
from negenv.scenario import Scenario


def deterrent_monitoring(scenario: Scenario) -> float:
    """The lowest monitoring level m that makes defection unprofitable for every party in
    expectation: a detected defector pays ``sanction + sanction_rate * gain``, so
    ``gain (1 - m rate) - m sanction < 0`` for every gain once ``m >= 1 / rate``."""
    rate = scenario.implementation.sanction_rate
    return min(1.0, 1.0 / rate) if rate > 0 else 1.0


def deterrent_level(layout: Layout, scenario: Scenario) -> int:
    """The lowest monitoring grid index at or above :func:`deterrent_monitoring`."""
    top = layout.monitoring_levels - 1
    return math.ceil(deterrent_monitoring(scenario) * top - 1e-9)


class TextMediator:
    """Base: no guarantees, monitoring level index ``monitoring``; subclasses give a target
    text, which is rounded to the grid."""

    def __init__(self, layout: Layout, monitoring: int = 0, step: float = 0.1):
        self.lay, self.s, self.level, self.step = layout, layout.mediator_obs, monitoring, step

    def target(self, obs: np.ndarray) -> np.ndarray:
        """(M, K) the text to post, in [0, 1]."""
        raise NotImplementedError

    def guarantee(self, obs: np.ndarray) -> np.ndarray:
        return np.full(len(obs), GuaranteeTarget.KEEP)

    def monitoring(self, obs: np.ndarray) -> np.ndarray:
        return np.full(len(obs), self.level)

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        k, top = self.lay.k, self.lay.proposal_levels - 1
        out = np.zeros((len(obs), k + 2), dtype=np.int64)
        out[:, :k] = np.clip(np.rint(self.target(obs) * top), 0, top)
        out[:, k] = self.guarantee(obs)
        out[:, k + 1] = self.monitoring(obs)
        return legalise(out, mask, self.lay.mediator_nvec)


class SplitTheDifferenceMediator(TextMediator):
    """Moves each issue by ``step`` the way the average demand signal points."""

    def __init__(self, layout: Layout, threshold: float = 0.2, **kwargs):
        super().__init__(layout, **kwargs)
        self.threshold = threshold

    def net_demand(self, obs: np.ndarray) -> np.ndarray:
        return obs[:, self.s["demands"]].reshape(-1, self.lay.n, self.lay.k).mean(axis=1)

    def target(self, obs: np.ndarray) -> np.ndarray:
        net = self.net_demand(obs)
        move = np.where(net > self.threshold, 1, np.where(net < -self.threshold, -1, 0))
        return np.clip(obs[:, self.s["proposal"]] + self.step * move, 0.0, 1.0)


class NBSSignalsMediator(SplitTheDifferenceMediator):
    """Climbs the Nash product from signals only: the gradient of sum_i log(u_i - d_i) on an
    issue is sum_i w_ik sign(y_ik - x_k) / gain_i; the demand signal gives the sign, and a
    party that rejected the text is taken to have half the gain of one that accepted."""

    def net_demand(self, obs: np.ndarray) -> np.ndarray:
        n, k = self.lay.n, self.lay.k
        demands = obs[:, self.s["demands"]].reshape(-1, n, k)
        weight = np.where(obs[:, self.s["last_votes"]] < 0, 2.0, 1.0)[..., None]
        return (weight * demands).sum(axis=1) / weight.sum(axis=1)


class PowerCentroidMediator(TextMediator):
    """Posts the power-weighted mean of the (observed) ideal points."""

    def target(self, obs: np.ndarray) -> np.ndarray:
        n, k = self.lay.n, self.lay.k
        ideals = obs[:, self.s["ideals"]].reshape(-1, n, k)
        return (obs[:, self.s["powers"], None] * ideals).sum(axis=1)


class SolutionMediator(TextMediator):
    """Posts a bargaining solution of the observed types. Targets are solved in one batch for
    the rows whose types it has not seen (types are fixed within an episode) and cached by
    those types. Optionally allocates guarantees round-robin over the parties (each round
    moves ``guarantee_step`` of the allocation to the next party) and monitors at a level."""

    def __init__(
        self,
        layout: Layout,
        scenario: Scenario,
        solution: str = "nbs",
        cache_size: int = 4096,
        round_robin: bool = False,
        **kwargs,
    ):
        super().__init__(layout, **kwargs)
        self.solution, self.cache, self.cache_size = solution, {}, cache_size
        self.burden, self.exponent = scenario.burden_issue, scenario.types.capability_exponent
        self.round_robin, self.rounds = round_robin, scenario.max_rounds

    def target(self, obs: np.ndarray) -> np.ndarray:
        keys = [row.tobytes() for row in obs[:, self.s["ideals"].start : self.s["risks"].stop]]
        if len(self.cache) + len(keys) > max(self.cache_size, 2 * len(keys)):
            self.cache.clear()  # every row of this call is solved again below
        new = {k: r for r, k in enumerate(keys) if k not in self.cache}
        if new:
            fresh = obs[np.fromiter(new.values(), dtype=np.int64)]
            n, k, s = self.lay.n, self.lay.k, self.s
            power = fresh[:, s["powers"]]
            cap = power**self.exponent
            ty = Types(
                fresh[:, s["ideals"]].reshape(-1, n, k),
                fresh[:, s["weights"]].reshape(-1, n, k),
                fresh[:, s["batnas"]],
                power,
                cap / cap.sum(axis=1, keepdims=True),
                self.burden,
            )
            self.cache.update(zip(new, texts(ty, self.solution)))
        target = np.stack([self.cache[key] for key in keys])
        return np.where(np.isfinite(target), target, obs[:, self.s["proposal"]])

    def guarantee(self, obs: np.ndarray) -> np.ndarray:
        if not self.round_robin:
            return super().guarantee(obs)
        t = np.rint(obs[:, self.s["round"]][:, 0] * self.rounds).astype(np.int64)
        return GuaranteeTarget.TO_PARTY_0 + t % self.lay.n


class GuaranteeMonitorMediator(SplitTheDifferenceMediator):
    """Split-the-difference texts, guarantees moved to the party most afraid of being cheated
    (highest perceived risk), and monitoring at the lowest grid level that deters every party
    (:func:`deterrent_monitoring`); either instrument can be switched off."""

    def __init__(
        self,
        layout: Layout,
        scenario: Scenario,
        guarantees: bool = True,
        monitoring: bool = True,
        **kwargs,
    ):
        level = deterrent_level(layout, scenario) if monitoring else 0
        super().__init__(layout, monitoring=level, **kwargs)
        self.guarantees = guarantees

    def guarantee(self, obs: np.ndarray) -> np.ndarray:
        if not self.guarantees:
            return super().guarantee(obs)
        return GuaranteeTarget.TO_PARTY_0 + np.argmax(obs[:, self.s["risks"]], axis=1)
