"""The paired-check wrappers of benchmarks/mediator_incentives.py."""

from __future__ import annotations

import numpy as np

from agents.deviations import ExtremeSignals, Substitute
from agents.parties import ThresholdParty
from negenv.scenario import load
from negenv.vector import VectorNegotiationEnv


def test_substitute_changes_only_the_selected_seat_and_columns():
    """The paired-check wrappers of benchmarks/mediator_incentives.py: the strongest party's
    demand signals become extreme; every other seat and component stays truthful."""
    env = VectorNegotiationEnv(load("multilateral_5"), num_envs=16)
    lay = env.layout
    obs = env.reset(seed=2)["party"]
    x = obs["observation"].reshape(16 * lay.n, -1).numpy()
    m = obs["action_mask"].reshape(16 * lay.n, -1).numpy()
    base = ThresholdParty(lay)
    cols = slice(3, 3 + lay.k)
    dev = Substitute(base, ExtremeSignals(base, lay), lay, "strongest", columns=cols)
    truthful, out = base.act(x, m), dev.act(x, m)
    s = lay.party_obs
    strongest = np.argmax(x[:, s["self"]], 1) == np.argmax(x[:, s["powers"]], 1)
    np.testing.assert_array_equal(out[~strongest], truthful[~strongest])
    np.testing.assert_array_equal(out[strongest][:, :3], truthful[strongest][:, :3])
    extreme = np.where(x[strongest][:, s["ideal"]] > 0.5, 2, 0)
    np.testing.assert_array_equal(out[strongest][:, cols], extreme)
    assert strongest.sum() == 16
