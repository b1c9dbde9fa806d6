"""Shared setup of the DESIGN.md section 8 property tests (tests/test_properties_*.py).

Comparisons of two behaviours are paired: the same episodes (keys, types, noise) run twice on
the batched env with one behaviour changed (:func:`agents.deviations.deviate`). Parties are
truthful threshold parties unless a test says otherwise; the mediator is ``nbs_full`` (NBS of
the exact types, guarantees round-robin) with its monitoring pinned where a test needs it
(:func:`agents.deviations.pinned_setup`).
"""

from __future__ import annotations

import numpy as np

import negenv
from agents import ThresholdParty
from negenv.batch_solutions import Types

SCENARIOS = negenv.builtin_names()
MEDIATED = [n for n in SCENARIOS if negenv.load(n).mediated]
STAGED = [n for n in SCENARIOS if negenv.load(n).implementation.n_stages > 0]
EPISODES = 600


def uniform_actions(env, gen) -> dict:
    """Uniform discrete actions of every role of a batched env, masked or not (a masked
    choice is a flagged no-op)."""
    import torch

    actions = {}
    for role in env.roles:
        low, high = env.action_bounds(role)
        u = torch.rand(env.action_shape(role), generator=gen)
        actions[role] = (low + (u * (high - low + 1)).floor().long()).clamp(max=high)
    return actions


def worth_of(sc, rec):
    fields = ("ideal", "weight", "batna", "power", "capability")
    u = Types(*(rec[f] for f in fields), sc.burden_issue).utility(rec["agreement"])
    t = np.maximum(rec["agreed_round"], 0)[:, None]
    return rec["batna"] + sc.discount**t * (u - rec["batna"])


class SubgamePerfect(ThresholdParty):
    """The stationary subgame-perfect profile of alternating offers, on the grid: ask for
    the grid share nearest 1 / (1 + delta), accept any text that gives at least the rest."""

    def __init__(self, layout, share: float):
        super().__init__(layout)
        self.share = share

    def own(self, obs, text):  # party 0 wants 1, party 1 wants 0 (ideal in the observation)
        ideal = obs[:, self.s["ideal"]][:, 0]
        return np.where(ideal > 0.5, text, 1 - text)

    def accept(self, obs):
        # float32 observations: a text is the share it was posted as to within 1e-6
        return self.own(obs, obs[:, self.s["proposal"]][:, 0]) >= 1 - self.share - 1e-6

    def propose(self, obs):
        ideal = obs[:, self.s["ideal"]]
        return np.where(ideal > 0.5, self.share, 1 - self.share)
