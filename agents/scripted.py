"""Simple scripted agents for the discrete action mode, read off the observation layout."""

from __future__ import annotations

import numpy as np

from agents.base import legalise
from negenv.layout import Coalition, GuaranteeTarget, Layout, Move, Vote


class ThresholdParty:
    """Accepts a text worth at least its BATNA plus ``margin``, signals toward its ideal
    point on every issue where the text is more than ``tolerance`` away, always complies."""

    def __init__(self, layout: Layout, margin: float = 0.02, tolerance: float = 0.05):
        self.lay, self.margin, self.tolerance = layout, margin, tolerance
        self.s = layout.party_obs

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        s, k = self.s, self.lay.k
        accept = obs[:, s["utility"]][:, 0] >= obs[:, s["batna"]][:, 0] + self.margin
        gap = obs[:, s["ideal"]] - obs[:, s["proposal"]]
        move = np.where(
            gap > self.tolerance, Move.UP, np.where(gap < -self.tolerance, Move.DOWN, Move.HOLD)
        )
        out = np.zeros((obs.shape[0], 3 + k), dtype=np.int64)
        out[:, 0] = np.where(accept, Vote.ACCEPT, Vote.REJECT)
        out[:, 2] = Coalition.KEEP
        out[:, 3:] = move
        return legalise(out, mask, self.lay.party_nvec)


class SplitTheDifferenceMediator:
    """Moves the text the way the average demand signal points, moves the guarantee
    allocation toward the weakest party, and keeps monitoring at a fixed level."""

    def __init__(self, layout: Layout, threshold: float = 0.2, monitoring_level: int | None = None):
        self.lay, self.threshold = layout, threshold
        self.s = layout.mediator_obs
        levels = layout.monitoring_levels
        self.level = (levels - 1) // 2 if monitoring_level is None else monitoring_level

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        s, n, k = self.s, self.lay.n, self.lay.k
        net = obs[:, s["demands"]].reshape(-1, n, k).mean(axis=1)
        move = np.where(
            net > self.threshold, Move.UP, np.where(net < -self.threshold, Move.DOWN, Move.HOLD)
        )
        weakest = np.argmin(obs[:, s["powers"]], axis=1)
        out = np.zeros((obs.shape[0], k + 2), dtype=np.int64)
        out[:, :k] = move
        out[:, k] = GuaranteeTarget.TO_PARTY_0 + weakest
        out[:, k + 1] = self.level
        return legalise(out, mask, self.lay.mediator_nvec)
