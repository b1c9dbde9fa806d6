"""The exact analysis of alternating-offers profiles (negenv.alternating): zero NashConv at
the grid SPE, the exact gain against a responder who accepts anything, the profile's values
equal to the env's episodes, and a clear error on a scenario it cannot solve."""

from __future__ import annotations

import numpy as np
import pytest

import negenv
from negenv import rollout
from negenv.alternating import analyse, grid_spe
from tests.property_kit import GridSPE


class Pushover(GridSPE):
    """The grid SPE, except that it accepts every text put to a vote."""

    def accept(self, obs):
        return self.round_(obs) >= 1


def _profile(delta, kinds=(GridSPE, GridSPE)):
    env = negenv.parallel_env("rubinstein", discount=delta)
    sc = env.scenario
    a = grid_spe(delta, sc.proposal_levels, sc.max_rounds)
    return env, sc, a, [kind(env.layout, sc, a) for kind in kinds]


@pytest.mark.parametrize("delta", [0.5, 0.9])
def test_the_grid_spe_has_no_profitable_deviation_and_gives_its_share(delta):
    env, sc, a, seats = _profile(delta)
    out = analyse(sc, seats)
    top = sc.proposal_levels - 1
    assert out.nash_conv == pytest.approx(0.0, abs=1e-12)
    assert out.first_share == pytest.approx(a[1] / top)
    assert out.agreed_round == 1
    assert out.profile == pytest.approx((delta * a[1] / top, delta * (1 - a[1] / top)))
    # the responder accepts exactly the shares worth its continuation: posting a[2] next
    assert out.threshold == pytest.approx(1 - a[1] / top)
    assert out.continuation == pytest.approx(delta * a[2] / top)
    assert out.threshold >= out.continuation - 1e-12


def test_against_a_responder_who_accepts_anything_the_proposer_asks_for_everything():
    delta = 0.8
    env, sc, a, seats = _profile(delta, (GridSPE, Pushover))
    out = analyse(sc, seats)
    top = sc.proposal_levels - 1
    # party 0 posts a[1] and keeps it; its best response posts the whole pie in round 0
    assert out.profile[0] == pytest.approx(delta * a[1] / top)
    assert out.best_response[0] == pytest.approx(delta * 1.0)
    assert out.gains[0] == pytest.approx(delta * (1 - a[1] / top))
    assert out.gains[1] == pytest.approx(
        0.0, abs=1e-12
    )  # the pushover is not exploited as a proposer
    assert out.threshold == 0.0


@pytest.mark.parametrize("delta", [0.5, 0.95])
def test_the_profile_values_are_the_env_episodes(delta):
    """The state grid is the env: the analysis's values equal a played episode's utilities,
    for a profile whose path runs past the first vote (party 1 rejects until round 3)."""
    env = negenv.parallel_env("rubinstein", discount=delta)
    sc = env.scenario
    a = grid_spe(delta, sc.proposal_levels, sc.max_rounds)
    seats = [GridSPE(env.layout, sc, a, reject_before=3) for _ in range(2)]
    out = analyse(sc, seats)
    rec = rollout.run(sc, dict(zip(env.parties, seats)), 1, backend="pettingzoo")
    np.testing.assert_allclose(out.profile, rec["utility"][0], atol=1e-12)
    assert out.agreed_round == rec["agreed_round"][0] == 3


def test_a_scenario_it_cannot_solve_is_one_clear_error():
    with pytest.raises(ValueError, match="multilateral_5.*an unmediated scenario.*two parties"):
        analyse("multilateral_5", [])


def test_the_probe_values_a_greedy_rejection_at_the_analysis_continuation():
    """benchmarks/rubinstein_probe.py plays the rest greedily on the batched env after the
    responder rejects the first text: the analysis's continuation, times delta. The profile:
    each party asks 0.6 and accepts a share of at least 0.35 (ego texts, threshold votes), so
    party 1's rejection of 0.4 is followed by its own 0.6, accepted in round 2."""
    import importlib.util
    from pathlib import Path

    import torch

    from agents.learned import LearnedPolicy
    from agents.ordinal import EgoView, OrdinalActor, VoteThreshold
    from negenv.layout import Layout

    sc = negenv.parallel_env("rubinstein", discount=0.8).scenario
    lay = Layout.of(sc)
    votes, view = VoteThreshold(lay), EgoView(lay)
    nvec = lay.party_nvec
    actor = OrdinalActor(
        lay.party_obs.size, nvec, (4,), (4,), view=view, log_precision=True, votes=votes
    )
    with torch.no_grad():
        for head in (actor.bell, actor.vote, actor.free):
            head.weight.zero_()
        actor.bell.bias.copy_(torch.tensor([0.4, 6.0]))  # concede 0.4: ask 0.6
        actor.vote.bias.copy_(torch.tensor([0.35, 3.0]))  # accept a share >= 0.35
    policy = LearnedPolicy(actor, lay.party_nvec)
    out = analyse(sc, [policy, policy])
    assert out.first_share == pytest.approx(0.6) and out.agreed_round == 1
    assert out.continuation == pytest.approx(0.8 * 0.6)
    path = Path(__file__).parents[1] / "benchmarks" / "rubinstein_probe.py"
    spec = importlib.util.spec_from_file_location("rubinstein_probe", path)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    value = probe.reject_value(sc, actor, 60, episodes=4, greedy=True)
    assert value == pytest.approx(sc.discount * out.continuation, abs=1e-6)
    # sampled play is another profile: the bells and the free choices are random
    assert probe.reject_value(sc, actor, 60, episodes=64, greedy=False) != pytest.approx(value)
