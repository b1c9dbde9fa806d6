"""Scripted parties for the discrete action mode, read off the observation layout.

Every party votes, signals toward its ideal point, keeps its coalition, and decides on
compliance by its own rule. They see only their own observation (batched over rows).
"""

from __future__ import annotations

import numpy as np

from agents.base import legalise
from negenv.layout import Coalition, Comply, Layout, Move, Vote
from negenv.scenario import Scenario


class ThresholdParty:
    """Truthful threshold acceptor: accepts a text whose worth (``W = d + delta**t (u - d)``
    were it to enter into force now) is at least its BATNA plus ``margin``,
    signals toward its ideal point where the text is more than ``tolerance`` away, and
    complies (subclasses change :meth:`accept` and :meth:`defect`)."""

    def __init__(self, layout: Layout, margin: float = 0.02, tolerance: float = 0.05):
        self.lay, self.margin, self.tolerance = layout, margin, tolerance
        self.s = layout.party_obs

    def col(self, obs: np.ndarray, name: str) -> np.ndarray:
        return obs[:, self.s[name]][:, 0]

    def accept(self, obs: np.ndarray) -> np.ndarray:
        return self.col(obs, "worth") >= self.col(obs, "batna") + self.margin

    def defect(self, obs: np.ndarray) -> np.ndarray:
        return np.zeros(len(obs), dtype=bool)

    def propose(self, obs: np.ndarray) -> np.ndarray:
        """(M, K) the text this party posts when recognised (alternating offers): its ideal."""
        return obs[:, self.s["ideal"]]

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        k = self.lay.k
        gap = obs[:, self.s["ideal"]] - obs[:, self.s["proposal"]]
        move = np.where(
            gap > self.tolerance, Move.UP, np.where(gap < -self.tolerance, Move.DOWN, Move.HOLD)
        )
        out = np.zeros((obs.shape[0], len(self.lay.party_nvec)), dtype=np.int64)
        out[:, 0] = np.where(self.accept(obs), Vote.ACCEPT, Vote.REJECT)
        out[:, 1] = np.where(self.defect(obs), Comply.DEFECT, Comply.COMPLY)
        out[:, 2] = Coalition.KEEP
        out[:, 3 : 3 + k] = move
        if not self.lay.mediated:
            top = self.lay.proposal_levels - 1
            out[:, 3 + k :] = np.clip(np.rint(self.propose(obs) * top), 0, top)
        return legalise(out, mask, self.lay.party_nvec)


class ConcedingParty(ThresholdParty):
    """Time-dependent concession: accepts when the text's gain reaches its aspiration
    ``1 - (t/T) ** (1/e)`` of its best gain ``1 - d``. ``e < 1`` is Boulware (concedes late),
    ``e = 1`` linear, ``e > 1`` Conceder."""

    def __init__(self, layout: Layout, exponent: float = 1.0, **kwargs):
        super().__init__(layout, **kwargs)
        self.exponent = exponent

    def accept(self, obs: np.ndarray) -> np.ndarray:
        d = self.col(obs, "batna")
        aspiration = 1.0 - self.col(obs, "round") ** (1.0 / self.exponent)
        return self.col(obs, "worth") - d >= np.maximum(aspiration * (1.0 - d), self.margin)


def boulware(layout: Layout) -> ConcedingParty:
    return ConcedingParty(layout, exponent=0.3)


def linear(layout: Layout) -> ConcedingParty:
    return ConcedingParty(layout, exponent=1.0)


def conceder(layout: Layout) -> ConcedingParty:
    return ConcedingParty(layout, exponent=3.0)


class TitForTatParty(ThresholdParty):
    """Complies while no other party has more detected defections than itself."""

    def defect(self, obs: np.ndarray) -> np.ndarray:
        detected = obs[:, self.s["detected"]]
        own = (detected * obs[:, self.s["self"]]).sum(axis=1)
        return detected.max(axis=1) > own + 1e-9


class OpportunisticDefector(ThresholdParty):
    """Defects when this stage's claw-back beats its expected sanction:
    ``gain > m (sanction + sanction_rate * gain)``, read off its own observation."""

    def __init__(self, layout: Layout, scenario: Scenario, **kwargs):
        super().__init__(layout, **kwargs)
        self.sc = scenario

    def gain(self, obs: np.ndarray) -> np.ndarray:
        """The claw-back ``lambda delta**t (1 - u) / S`` of defecting in this stage."""
        sc, im, n = self.sc, self.sc.implementation, self.lay.n
        holdout = (obs[:, self.s["holdout"]] * obs[:, self.s["self"]]).sum(axis=1)
        lever = (n * self.col(obs, "power")) ** im.leverage * (1 + im.holdout_temptation * holdout)
        share = np.minimum(im.temptation * lever, 1.0)
        discount = sc.discount ** np.rint(self.col(obs, "round") * sc.max_rounds)
        d = self.col(obs, "batna")
        u = d + (self.col(obs, "worth") - d) / discount
        return share * discount * (1.0 - u) / max(im.n_stages, 1)

    def defect(self, obs: np.ndarray) -> np.ndarray:
        im, gain = self.sc.implementation, self.gain(obs)
        return gain > self.col(obs, "monitoring") * (im.sanction + im.sanction_rate * gain)


class Exploiter(ThresholdParty):
    """Complies until the stakes are locked in, then defects in the last stage."""

    def __init__(self, layout: Layout, scenario: Scenario, **kwargs):
        super().__init__(layout, **kwargs)
        self.last = (scenario.implementation.n_stages - 1) / max(
            scenario.implementation.n_stages, 1
        )

    def defect(self, obs: np.ndarray) -> np.ndarray:
        return self.col(obs, "stage") >= self.last - 1e-9
