"""Shared setup of the DESIGN.md section 8 property tests (tests/test_properties_*.py).

Comparisons of two behaviours are paired: the same episodes (keys, types, noise) run twice on
the batched env with one behaviour changed (:mod:`agents.deviations`). Parties are truthful
threshold parties unless a test says otherwise; the mediator is ``nbs_full`` (NBS of the
exact types, guarantees round-robin) with its monitoring pinned where a test needs it.
"""

from __future__ import annotations

import numpy as np

import negenv
from agents import ThresholdParty, registry
from agents.deviations import Deviation, FixedMonitoring, paired
from negenv.batch_solutions import Types
from negenv.scenario import with_overrides

SCENARIOS = negenv.builtin_names()
MEDIATED = [n for n in SCENARIOS if negenv.load(n).mediated]
STAGED = [n for n in SCENARIOS if negenv.load(n).implementation.n_stages > 0]
EPISODES = 600


def setup(name: str, level: int | None = 0, population: str = "threshold", **overrides):
    """Scenario, env and policies; ``level`` pins the mediator's monitoring (-1: the top)."""
    sc = with_overrides(negenv.load(name), overrides) if overrides else negenv.load(name)
    spec = registry.mediator("nbs_full") if sc.mediated else None
    if spec:
        sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc)
    policies = registry.population(population, env)
    if spec:
        top = env.layout.monitoring_levels - 1
        policies["mediator"] = FixedMonitoring(
            spec.build(env), env.layout, top if level == -1 else level
        )
    return sc, env, policies


def deviate(name, level, who, stages, population="threshold", episodes=EPISODES, seed=0):
    sc, env, policies = setup(name, level, population)
    s = sc.implementation.n_stages
    dev = Deviation(policies["party_0"], env.layout, s, who, tuple(stages))
    if population != "threshold":  # keep every seat's own behaviour, change the deviator's
        devs = {p: Deviation(policies[p], env.layout, s, who, tuple(stages)) for p in env.parties}
    else:
        devs = {p: dev for p in env.parties}
    return (*paired(sc, policies, devs, episodes, seed), sc)


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
