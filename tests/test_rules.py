"""Each mechanic of the rules on a hand-built situation, with exact expected values.

Base situation (rules_kit.scenario): 2 parties of equal power, 1 issue, ideals 0.2 and 0.8,
BATNA 0.3, text 0.5, so u = 0.7 each; with S = 2 a stage is worth 0.35.
"""

from __future__ import annotations

import numpy as np
import pytest
from pytest import approx

from negenv import core
from negenv.layout import Phase, Status
from tests import rules_kit as kit


def step(sc, s, a, nz):
    return core.step_state(sc, s, a, nz)


# ---------------------------------------------------------------------------- implementation


def test_detected_defection_pays_the_victim_its_guarantee_and_sanctions_the_defector():
    sc = kit.scenario()
    s = kit.implementing(sc, cover=(0.3, 0.3), monitoring=1.0)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=0.0, honour=0.0))
    # victim: 0.35 stage value - 0.5 * 0.35 loss + 0.175 compensation
    # defector: 0.35 + temptation 0.3 * (2 * 0.5) / 2 - sanction 0.2
    assert r[0] == approx([0.35, 0.30])
    assert s2.compensation[0] == approx([0.175, 0.0])
    assert s2.cover[0] == approx([0.125, 0.3])
    assert s2.sanction[0] == approx([0.0, 0.2])
    assert s2.budget_spent[0] == approx(0.175 + 0.1 * 1.0)
    assert s2.trust[0] == approx(0.85)
    assert s2.detected[0].tolist() == [0, 1] and int(s2.stage[0]) == 1


def test_undetected_defection_pays_nothing_and_costs_more_trust_a_stage_later():
    sc = kit.scenario()
    s = kit.implementing(sc, monitoring=0.5)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=0.7))
    assert r[0] == approx([0.35 - 0.175, 0.35 + 0.15])
    assert s2.compensation[0] == approx([0.0, 0.0]) and s2.sanction[0] == approx([0.0, 0.0])
    assert s2.trust[0] == approx(1.0) and int(s2.hidden[0]) == 1
    assert s2.undetected[0].tolist() == [0, 1] and int(s2.first_violation[0]) == 1
    s3, r, _ = step(sc, s2, kit.actions(sc, s2), kit.noise(2))
    assert s3.trust[0] == approx(1.0 - 0.15 * 2.0 + 0.05)  # late reveal, then a calm stage
    assert r[0] == approx([0.35, 0.35]) and int(s3.status[0]) == Status.COMPLETED
    assert int(s3.first_violation[0]) == 1  # kept: the first violation stays the first


def test_unhonoured_claim_pays_nothing_and_costs_credibility():
    sc = kit.scenario()
    s = kit.implementing(sc)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, honour=0.95))
    assert r[0] == approx([0.175, 0.30])
    assert s2.credibility[0] == approx(0.8)
    assert s2.cover[0] == approx([0.3, 0.3])


def test_collapse_below_threshold_pays_relapse_for_the_lost_stages():
    sc = kit.scenario(implementation={"n_stages": 4})
    s = kit.implementing(sc, trust=0.6)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2))
    relapse = 3 / 4 * (0.3 - 0.1)
    assert r[0] == approx([0.175 - 0.0875 + 0.0875 + relapse, 0.175 + 0.075 - 0.2 + relapse])
    assert int(s2.status[0]) == Status.COLLAPSED and int(s2.phase[0]) == Phase.DONE
    assert int(s2.stage[0]) == 1


def test_holdout_is_tempted_more():
    sc = kit.scenario()
    s = kit.implementing(sc).replace(holdout=np.array([[False, True]]))
    _, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=1.0))
    assert r[0][1] == approx(0.35 + 0.3 * 1.0 * 1.5 / 2)


def test_shock_raises_power_and_batna():
    sc = kit.scenario(
        implementation={"n_stages": 4, "shock_prob": 0.5, "shock_power": 0.5, "shock_batna": 0.1}
    )
    s = kit.implementing(sc)
    s2, _, _ = step(sc, s, kit.actions(sc, s), kit.noise(2, shock=[0.1, 0.9]))
    assert s2.power[0] == approx([0.6, 0.4])
    assert s2.batna[0] == approx([0.4, 0.3]) and s2.batna0[0] == approx([0.3, 0.3])
    assert s2.shocks[0].tolist() == [1, 0]
    # the stronger party is now tempted more: gamma (N p) / S
    s3, r, _ = step(sc, s2, kit.actions(sc, s2, defect=[1, 0]), kit.noise(2, detect=1.0))
    assert r[0][0] == approx(0.175 + 0.3 * (2 * 0.6) / 4)


def test_completed_agreement_pays_the_mediator_durable_fairness():
    sc = kit.scenario()
    s = kit.implementing(sc)
    s, _, m1 = step(sc, s, kit.actions(sc, s), kit.noise(2))
    s, _, m2 = step(sc, s, kit.actions(sc, s), kit.noise(2))
    assert int(s.status[0]) == Status.COMPLETED
    assert core.realised(s)[0] == approx([0.7, 0.7])
    assert m1[0] == 0.0 and m2[0] == approx(0.4 / 0.7)  # gain / ideal gain, all stages done


# ------------------------------------------------------------------------------ negotiation


def test_breakdown_at_the_deadline_pays_batnas_minus_conflict_cost():
    sc = kit.scenario(max_rounds=3, conflict_cost=0.05)
    s = kit.start(sc).replace(round=np.array([2]))
    s2, r, m = step(sc, s, kit.actions(sc, s, vote=[1, 0]), kit.noise(2))
    assert r[0] == approx([0.25, 0.25])
    assert int(s2.status[0]) == Status.BREAKDOWN and int(s2.round[0]) == 3 and m[0] == 0.0


@pytest.mark.parametrize(
    "rule, votes, passes",
    [
        ("unanimity", [1, 1, 0, 0], False),
        ("qualified_majority", [1, 1, 0, 0], True),  # power 0.7 >= 0.65
        ("majority", [1, 1, 0, 0], False),  # 2 of 4 is not more than half
        ("unanimity", [0, 1, 1, 1], False),
        ("qualified_majority", [0, 1, 1, 1], False),  # power 0.5
        ("majority", [0, 1, 1, 1], True),
        ("unanimity", [1, 1, 1, 1], True),
    ],
)
def test_decision_rules_on_the_same_votes(rule, votes, passes):
    sc = kit.scenario(
        n_parties=4,
        decision_rule=rule,
        quota=0.65,
        types={
            "power": {"kind": "fixed", "values": [0.5, 0.2, 0.2, 0.1]},
            "ideals": [[0.5]] * 4,
            "weights": [[1.0]] * 4,
        },
    )
    s = kit.start(sc)
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=votes), kit.noise(4))
    assert (int(s2.agreed_round[0]) == 0) == passes
    assert int(s2.phase[0]) == (Phase.IMPLEMENT if passes else Phase.NEGOTIATE)


def lilliput_kit(**extra):
    return kit.scenario(
        n_parties=4,
        decision_rule="qualified_majority",
        quota=0.65,
        coalitions={"max_coalitions": 1},
        types={
            "power": {"kind": "fixed", "values": [0.4, 0.3, 0.2, 0.1]},
            "ideals": [[0.5]] * 4,
            "weights": [[1.0]] * 4,
        },
        **extra,
    )


def test_coalition_votes_as_a_bloc_and_splits_when_members_disagree():
    sc = lilliput_kit()
    s = kit.start(sc)
    join = [-2, 0, 0, 0]
    # individually 0.4 + 0.3 + 0.2 = 0.9 would pass; the bloc requires every member
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 1, 0], coalition=join), kit.noise(4))
    assert int(s2.agreed_round[0]) == -1
    assert s2.votes[0].tolist() == [1, -1, -1, -1]
    assert s2.coalition[0].tolist() == [-1, -1, -1, -1]  # split
    s3, _, _ = step(sc, s, kit.actions(sc, s, vote=[0, 1, 1, 1], coalition=join), kit.noise(4))
    assert s3.coalition[0].tolist() == [-1, 0, 0, 0]  # united: kept, but 0.6 < 0.65
    assert int(s3.agreed_round[0]) == -1
    s4, _, _ = step(sc, s3, kit.actions(sc, s3, vote=[1, 1, 1, 1]), kit.noise(4))
    assert int(s4.agreed_round[0]) == 1 and s4.coalition[0].tolist() == [-1, 0, 0, 0]


def test_coalition_signal_is_the_power_weighted_mix_of_its_members():
    sc = lilliput_kit()
    s = kit.start(sc)
    a = kit.actions(sc, s, coalition=[-2, 0, 0, 0], demand=[[1.0], [1.0], [-1.0], [1.0]])
    s2, _, _ = step(sc, s, a, kit.noise(4))
    assert s2.demands[0, :, 0] == approx([1.0, 0.2 / 0.6, 0.2 / 0.6, 0.2 / 0.6])


def test_coalition_ratifies_only_if_every_member_audience_does():
    sc = lilliput_kit(ratification={"enabled": True})
    s = kit.start(sc)
    a = kit.actions(sc, s, vote=[1, 1, 1, 1], coalition=[-2, 0, 0, 0])
    fails = kit.noise(4, ratify=[0.0, 0.0, 0.0, 1.0])
    s2, _, _ = step(sc, s, a, fails)
    assert int(s2.agreed_round[0]) == -1 and int(s2.ratification_failures[0]) == 1
    alone = kit.actions(sc, s, vote=[1, 1, 1, 1])
    s3, _, _ = step(sc, s, alone, fails)  # without the coalition 0.9 ratifies
    assert int(s3.agreed_round[0]) == 0


def test_failed_ratification_returns_to_negotiation_and_costs_trust():
    sc = kit.scenario(
        ratification={"enabled": True, "temperature": 0.05, "margin": 0.0, "trust_cost": 0.1}
    )
    s = kit.start(sc).replace(guarantee=np.array([[0.5, 0.5]]))
    # u 0.7, feared loss 0.2 * 0.5 * 0.7 = 0.07, guarantee value 0.9 * min(0.5, 0.07) = 0.063
    prob = 1 / (1 + np.exp(-(0.7 - 0.07 + 0.063 - 0.3) / 0.05))
    a = kit.actions(sc, s, vote=[1, 1], med_proposal=[0.6])
    s2, r, _ = step(sc, s, a, kit.noise(2, ratify=[0.0, prob + 1e-9]))
    assert int(s2.phase[0]) == Phase.NEGOTIATE and int(s2.agreed_round[0]) == -1
    assert int(s2.round[0]) == 1 and int(s2.ratification_failures[0]) == 1
    assert s2.trust[0] == approx(0.9) and s2.proposal[0] == approx([0.6])
    assert r[0] == approx([0.0, 0.0])
    s3, _, _ = step(sc, s, a, kit.noise(2, ratify=[0.0, prob - 1e-9]))
    assert int(s3.agreed_round[0]) == 0


def test_guarantee_pool_is_what_monitoring_leaves_of_the_budget():
    sc = kit.scenario()
    s = kit.start(sc).replace(guarantee=np.array([[0.25, 0.5]]), monitoring=np.array([1.0]))
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1]), kit.noise(2))
    assert s2.cover[0] == approx([0.25 * 0.8, 0.5 * 0.8])  # 1 - 0.1 * 1.0 * 2 stages


def test_later_agreement_is_discounted():
    sc = kit.scenario(discount=0.9, implementation={"n_stages": 0})
    s = kit.start(sc).replace(round=np.array([3]))
    s2, r, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1]), kit.noise(2))
    assert r[0] == approx([0.9**3 * 0.7] * 2)
    assert int(s2.status[0]) == Status.COMPLETED


def test_voice_counts_text_moves_in_the_demanded_direction():
    sc = kit.scenario()
    s = kit.start(sc)
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=[[1.0], [-1.0]]), kit.noise(2))
    s, _, _ = step(sc, s, kit.actions(sc, s, med_proposal=[0.6]), kit.noise(2))
    assert s.voice[0].tolist() == [1, 0]


def three_proposers(**recognition):
    """Alternating offers among 3 parties of power 0.5, 0.3, 0.2 with the given recognition."""
    return kit.scenario(
        n_parties=3,
        protocol="alternating_offers",
        types={
            "power": {"kind": "fixed", "values": [0.5, 0.3, 0.2]},
            "ideals": [[0.5]] * 3,
            "weights": [[1.0]] * 3,
        },
        recognition=recognition,
    )


def test_alternating_offers_recognition_by_power_and_in_turn():
    sc = three_proposers(rule="power", agenda_exponent=1.0)
    p, r0 = np.array([[0.5, 0.3, 0.2]] * 3), np.zeros(3, dtype=np.int64)
    assert core.recognise(sc, p, np.array([0.1, 0.6, 0.85]), r0).tolist() == [0, 1, 2]
    sq = three_proposers(rule="power", agenda_exponent=2.0)
    # odds 0.25 : 0.09 : 0.04, cdf 0.658, 0.895, 1
    assert core.recognise(sq, p, np.array([0.65, 0.66, 0.9]), r0).tolist() == [0, 1, 2]
    turn = three_proposers(rule="turn")
    assert core.recognise(turn, p, np.zeros(3), np.array([0, 4, 5])).tolist() == [0, 1, 2]
    # through a round: the proposer's text stands, the next proposer is drawn
    s = kit.start(sc).replace(proposer=np.array([1]))
    a = kit.actions(sc, s, proposal=[[0.1], [0.7], [0.3]])
    s2, _, _ = step(sc, s, a, kit.noise(3, recognise=0.9))
    assert s2.proposal[0] == approx([0.7]) and int(s2.proposer[0]) == 2


def test_burden_issue_cost_follows_capability():
    sc = kit.scenario(
        burden_issue=True,
        types={"power": {"kind": "fixed", "values": [0.8, 0.2]}, "capability_exponent": 1.0},
    )
    s = kit.start(sc)
    u = core.utility(sc, s.ideal, s.weight, s.capability, np.array([[0.0], [1.0]]))
    # x = 0: equal shares 0.5; x = 1: shares = capability (0.8, 0.2)
    assert u == approx(np.array([[1 - 0.5 / 0.8, 0.0], [0.0, 1 - 0.2 / 0.5]]))


def test_outvoted_party_becomes_a_holdout():
    sc = kit.scenario(
        n_parties=3,
        decision_rule="qualified_majority",
        quota=0.65,
        types={
            "power": {"kind": "fixed", "values": [0.4, 0.3, 0.3]},
            "ideals": [[0.5]] * 3,
            "weights": [[1.0]] * 3,
        },
    )
    s = kit.start(sc)
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 0]), kit.noise(3))
    assert s2.holdout[0].tolist() == [False, False, True]
