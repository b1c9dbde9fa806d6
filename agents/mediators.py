"""Scripted mediators for the discrete action mode, read off the observation layout.

Each moves the text one step a round toward a target, allocates guarantees and sets a
monitoring level. Mediators that solve a bargaining problem use the party types in their
observation, as exact or noisy as the scenario's ``mediator.information`` setting makes them
(``information="exact"`` gives them full information).
"""

from __future__ import annotations

import numpy as np

from agents.base import legalise
from negenv.batch_solutions import Types, texts
from negenv.layout import GuaranteeTarget, Layout, Move
from negenv.scenario import Scenario


class TextMediator:
    """Base: no guarantees, monitoring level ``monitoring`` (index); subclasses set targets."""

    def __init__(self, layout: Layout, monitoring: int = 0, step: float = 0.1):
        self.lay, self.s, self.level, self.step = layout, layout.mediator_obs, monitoring, step

    def direction(self, obs: np.ndarray) -> np.ndarray:
        """(M, K) in {-1, 0, 1}: where to move each issue."""
        raise NotImplementedError

    def guarantee(self, obs: np.ndarray) -> np.ndarray:
        return np.full(len(obs), GuaranteeTarget.KEEP)

    def toward(self, obs: np.ndarray, target: np.ndarray) -> np.ndarray:
        gap = target - obs[:, self.s["proposal"]]
        half = 0.5 * self.step  # closer than half a step: stay
        return np.where(gap > half, 1, np.where(gap < -half, -1, 0))

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        k = self.lay.k
        out = np.zeros((len(obs), k + 2), dtype=np.int64)
        out[:, :k] = Move.HOLD + self.direction(obs)
        out[:, k] = self.guarantee(obs)
        out[:, k + 1] = self.level
        return legalise(out, mask, self.lay.mediator_nvec)


class SplitTheDifferenceMediator(TextMediator):
    """Moves each issue the way the average demand signal points."""

    def __init__(self, layout: Layout, threshold: float = 0.2, **kwargs):
        super().__init__(layout, **kwargs)
        self.threshold = threshold

    def direction(self, obs: np.ndarray) -> np.ndarray:
        net = obs[:, self.s["demands"]].reshape(-1, self.lay.n, self.lay.k).mean(axis=1)
        return np.where(net > self.threshold, 1, np.where(net < -self.threshold, -1, 0))


class NBSSignalsMediator(SplitTheDifferenceMediator):
    """Climbs the Nash product from signals only: the gradient of sum_i log(u_i - d_i) on an
    issue is sum_i w_ik sign(y_ik - x_k) / gain_i; the demand signal gives the sign, and a
    party that rejected the text is taken to have half the gain of one that accepted."""

    def direction(self, obs: np.ndarray) -> np.ndarray:
        n, k = self.lay.n, self.lay.k
        demands = obs[:, self.s["demands"]].reshape(-1, n, k)
        weight = np.where(obs[:, self.s["last_votes"]] < 0, 2.0, 1.0)[..., None]
        net = (weight * demands).sum(axis=1) / weight.sum(axis=1)
        return np.where(net > self.threshold, 1, np.where(net < -self.threshold, -1, 0))


class PowerCentroidMediator(TextMediator):
    """Moves the text toward the power-weighted mean of the (observed) ideal points."""

    def direction(self, obs: np.ndarray) -> np.ndarray:
        n, k = self.lay.n, self.lay.k
        ideals = obs[:, self.s["ideals"]].reshape(-1, n, k)
        target = (obs[:, self.s["powers"], None] * ideals).sum(axis=1)
        return self.toward(obs, target)


class SolutionMediator(TextMediator):
    """Moves the text toward a bargaining solution of the observed types. Targets are solved
    in one batch for the rows whose types it has not seen (types are fixed within an episode)
    and cached by those types."""

    def __init__(
        self,
        layout: Layout,
        scenario: Scenario,
        solution: str = "nbs",
        cache_size: int = 4096,
        **kwargs,
    ):
        super().__init__(layout, step=scenario.move_step, **kwargs)
        self.solution, self.cache, self.cache_size = solution, {}, cache_size
        self.burden, self.exponent = scenario.burden_issue, scenario.types.capability_exponent

    def targets(self, obs: np.ndarray) -> np.ndarray:
        keys = [row.tobytes() for row in obs[:, self.s["ideals"].start :]]
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

    def direction(self, obs: np.ndarray) -> np.ndarray:
        return self.toward(obs, self.targets(obs))


class GuaranteeMonitorMediator(SplitTheDifferenceMediator):
    """Split-the-difference texts, guarantees moved to the party most afraid of being cheated
    (highest perceived risk), and full monitoring; either instrument can be switched off."""

    def __init__(self, layout: Layout, guarantees: bool = True, monitoring: bool = True, **kwargs):
        level = layout.monitoring_levels - 1 if monitoring else 0
        super().__init__(layout, monitoring=level, **kwargs)
        self.guarantees = guarantees

    def guarantee(self, obs: np.ndarray) -> np.ndarray:
        if not self.guarantees:
            return super().guarantee(obs)
        return GuaranteeTarget.TO_PARTY_0 + np.argmax(obs[:, self.s["risks"]], axis=1)
