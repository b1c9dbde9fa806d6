"""Shared setup of the docs/model.md section 8 property tests (tests/test_properties_*.py).

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
from negenv.alternating import grid_spe  # noqa: F401  (re-exported for the tests)
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


class GridSPE(ThresholdParty):
    """A party playing :func:`grid_spe` in the 2-party ``rubinstein`` scenario (party 0 wants
    1, party 1 wants 0; turn recognition, so party ``t % 2`` posts in round t). At a vote in
    round t it accepts a text iff its share is at least its value of rejecting; as proposer it
    posts the share the next vote accepts. ``reject_before``: it rejects every text voted
    before that round (a path into a later subgame); ``deviation``: ``(round, "vote", vote)``
    or ``(round, "text", level)``, one action changed once."""

    def __init__(self, layout, scenario, a, tie_accept=True, reject_before=0, deviation=None):
        super().__init__(layout)
        self.a, self.tie_accept, self.deviation = a, tie_accept, deviation
        self.horizon, self.delta = scenario.max_rounds, scenario.discount
        self.top, self.reject_before = scenario.proposal_levels - 1, reject_before

    def who(self, obs):
        return np.where(self.col(obs, "ideal") > 0.5, 0, 1)

    def round_(self, obs):
        return np.rint(self.col(obs, "round") * self.horizon).astype(np.int64)

    def own(self, obs, level):  # a text level as this party's share, in levels
        return np.where(self.who(obs) == 0, level, self.top - level)

    def accept(self, obs):
        t = self.round_(obs)
        level = np.rint(self.col(obs, "proposal") * self.top)
        nxt = self.a[np.minimum(t + 1, self.horizon)]
        proposes_next = self.who(obs) == t % 2
        rest = np.where(proposes_next, nxt, self.top - nxt) * self.delta
        rest = np.where(t >= self.horizon - 1, 0.0, rest)
        y = self.own(obs, level)
        ok = y >= rest - 1e-9 if self.tie_accept else y > rest + 1e-9
        ok = ok & (t >= self.reject_before)
        if self.deviation is not None and self.deviation[1] == "vote":
            ok = np.where(t == self.deviation[0], self.deviation[2], ok)
        return ok

    def propose(self, obs):
        t = self.round_(obs)
        level = self.own(obs, self.a[np.minimum(t + 1, self.horizon)])
        if self.deviation is not None and self.deviation[1] == "text":
            level = np.where(t == self.deviation[0], self.deviation[2], level)
        return (level / self.top)[:, None]
