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
# A stage is worth W / S = 0.35; a stage concedes (1 - u) / S = 0.15; with equal powers
# lambda = min(1, 0.3 * (2 * 0.5)) = 0.3, so a defection claws back 0.045 and a detected one
# pays 0.02 + 2 * 0.045 = 0.11.


def test_detected_defection_pays_the_victim_its_guarantee_and_sanctions_the_defector():
    sc = kit.scenario()
    s = kit.implementing(sc, cover=(0.3, 0.3), monitoring=1.0)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=0.0, honour=0.0))
    # victim: 0.35 stage value - 0.5 * 0.35 loss + 0.175 compensation
    # defector: 0.35 + claw-back 0.045 - sanction 0.11
    assert r[0] == approx([0.35, 0.285])
    assert s2.temptation[0] == approx([0.0, 0.045])
    assert s2.compensation[0] == approx([0.175, 0.0])
    assert s2.cover[0] == approx([0.125, 0.3])  # sanctions are burned, never into the pool
    assert s2.sanction[0] == approx([0.0, 0.11])
    assert s2.budget_spent[0] == approx(0.175 + 0.1 * 1.0)
    assert s2.trust[0] == approx(0.85) and s2.credibility[0] == approx(0.9)
    assert s2.detected[0].tolist() == [0, 1] and int(s2.stage[0]) == 1


def test_undetected_defection_is_claimed_and_costs_more_trust_a_stage_later():
    sc = kit.scenario()
    s = kit.implementing(sc, monitoring=0.5)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=0.7))
    assert r[0] == approx([0.35 - 0.175, 0.35 + 0.045])
    assert s2.compensation[0] == approx([0.0, 0.0]) and s2.sanction[0] == approx([0.0, 0.0])
    assert s2.pending[0] == approx([0.175, 0.0])
    assert s2.trust[0] == approx(1.0) and int(s2.hidden[0]) == 1
    assert s2.undetected[0].tolist() == [0, 1] and int(s2.first_violation[0]) == 1
    s3, r, _ = step(sc, s2, kit.actions(sc, s2), kit.noise(2))
    assert s3.trust[0] == approx(1.0 - 0.15 * 2.0 + 0.05)  # late reveal, then a calm stage
    assert r[0] == approx([0.35 + 0.175, 0.35]) and int(s3.status[0]) == Status.COMPLETED
    assert s3.compensation[0] == approx([0.175, 0.0]) and s3.pending[0] == approx([0.0, 0.0])
    assert int(s3.first_violation[0]) == 1  # kept: the first violation stays the first


def test_last_stage_defection_is_claimed_at_the_end():
    sc = kit.scenario()
    s = kit.implementing(sc, monitoring=0.0)
    s, _, _ = step(sc, s, kit.actions(sc, s), kit.noise(2))
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=0.5))
    assert int(s2.status[0]) == Status.COMPLETED
    assert r[0] == approx([0.35 - 0.175 + 0.175, 0.35 + 0.045])
    assert s2.compensation[0] == approx([0.175, 0.0]) and s2.sanction[0] == approx([0.0, 0.0])


def test_refused_claim_on_existing_cover_pays_nothing_and_costs_credibility():
    sc = kit.scenario()
    s = kit.implementing(sc)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, honour=0.95))
    assert r[0] == approx([0.175, 0.285])
    assert s2.credibility[0] == approx(0.8)
    assert s2.cover[0] == approx([0.3, 0.3])


def test_credibility_never_moves_for_a_claim_without_cover():
    sc = kit.scenario()
    s = kit.implementing(sc, cover=(0.0, 0.3))
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, honour=0.95))
    assert s2.credibility[0] == approx(0.9) and r[0] == approx([0.175, 0.285])
    s3, _, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, honour=0.0))
    assert s3.credibility[0] == approx(0.9) and s3.compensation[0] == approx([0.0, 0.0])


def test_sanction_grows_with_the_gain():
    sc = kit.scenario(
        types={"power": {"kind": "fixed", "values": [0.8, 0.2]}},
        implementation={"temptation": 1.0},
    )
    s = kit.implementing(sc)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[1, 1]), kit.noise(2))
    # lambda = min(1, 1.0 * 2 * p): 1 for the strong party, 0.4 for the weak one
    gain = np.array([1.0 * 0.15, 0.4 * 0.15])
    assert s2.temptation[0] == approx(gain)
    assert s2.sanction[0] == approx(0.02 + 2.0 * gain)


def test_claw_back_is_capped_so_no_return_exceeds_one():
    sc = kit.scenario(
        types={"power": {"kind": "fixed", "values": [0.9, 0.1]}},
        implementation={"temptation": 5.0},
    )
    s = kit.implementing(sc, monitoring=0.0)
    total = 0.0
    for _ in range(2):
        s, r, _ = step(sc, s, kit.actions(sc, s, defect=[1, 0]), kit.noise(2, detect=0.5))
        total += r[0][0]
    # W + every concession = u + (1 - u) = 1 exactly, never more
    assert total == approx(1.0) and int(s.status[0]) == Status.COMPLETED


def test_collapse_at_a_known_defection_below_threshold_pays_relapse_for_the_lost_stages():
    sc = kit.scenario(implementation={"n_stages": 4})
    s = kit.implementing(sc, trust=0.6)
    s2, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2))
    relapse = 3 * (0.3 - 0.1) / 4
    gain = 0.3 * 0.3 / 4
    assert r[0] == approx(
        [0.175 - 0.0875 + 0.0875 + relapse, 0.175 + gain - 0.02 - 2 * gain + relapse]
    )
    assert int(s2.status[0]) == Status.COLLAPSED and int(s2.phase[0]) == Phase.DONE
    assert int(s2.stage[0]) == 1
    # the objective counts a lost stage at min(fallback, (1 - l) W / S) = min(0.05, 0.0875)
    assert s2.fallback_protected[0] == approx([3 * 0.05] * 2)


def test_compliant_agreement_never_collapses_whatever_the_trust():
    sc = kit.scenario(implementation={"n_stages": 4})
    s = kit.implementing(sc, trust=0.0)
    for _ in range(4):
        s, r, _ = step(sc, s, kit.actions(sc, s), kit.noise(2))
        assert r[0] == approx([0.175, 0.175])
    assert int(s.status[0]) == Status.COMPLETED and s.trust[0] == approx(0.2)


def test_holdout_bonus_raises_the_claw_back_share():
    sc = kit.scenario(implementation={"holdout_temptation": 0.5})
    s = kit.implementing(sc).replace(holdout=np.array([[False, True]]))
    _, r, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2, detect=1.0))
    assert r[0][1] == approx(0.35 + 0.3 * 1.0 * 1.5 * 0.15)


def test_shock_raises_power_and_batna():
    sc = kit.scenario(
        implementation={"n_stages": 4, "shock_prob": 0.5, "shock_power": 0.5, "shock_batna": 0.1}
    )
    s = kit.implementing(sc)
    s2, _, _ = step(sc, s, kit.actions(sc, s), kit.noise(2, shock=[0.1, 0.9]))
    assert s2.power[0] == approx([0.6, 0.4])
    assert s2.batna[0] == approx([0.4, 0.3]) and s2.batna0[0] == approx([0.3, 0.3])
    assert s2.shocks[0].tolist() == [1, 0]
    # the stronger party now claws back more: min(1, 0.3 * 2 * 0.6) of 0.3 / 4
    s3, r, _ = step(sc, s2, kit.actions(sc, s2, defect=[1, 0]), kit.noise(2, detect=1.0))
    assert r[0][0] == approx(0.175 + 0.36 * 0.075)


def test_a_stage_without_a_shock_leaves_the_powers_bit_for_bit():
    sc = kit.scenario(
        n_parties=3,
        types={
            "power": {"kind": "fixed", "values": [0.3, 0.6, 0.1]},
            "ideals": [[0.2]] * 3,
            "weights": [[1.0]] * 3,
        },
        implementation={"n_stages": 4, "shock_prob": 0.5, "shock_power": 0.5},
    )
    # powers whose float sum is not 1: dividing by it would move each by an ulp
    power = np.array([[0.3, 0.6, 0.1]])
    assert power.sum() != 1.0
    s = kit.implementing(sc, cover=(0.0, 0.0, 0.0)).replace(power=power)
    calm = core.shock(sc, s, np.full((1, 3), 0.9), np.array([True]))
    assert calm.power.tobytes() == power.tobytes()
    hit = core.shock(sc, s, np.array([[0.1, 0.9, 0.9]]), np.array([True]))
    assert hit.power[0] == approx(np.array([0.45, 0.6, 0.1]) / 1.15)


def test_victim_shares_stay_exact_for_a_near_dominant_party_in_float32():
    power = np.array([[1.0, 1e-9, 1e-9]], dtype=np.float32)  # 1 - p_0 rounds to 0
    flags = np.array([[[False], [True], [False]]])
    share = core._victim_shares(power, flags)[..., 0]
    assert share.dtype == np.float32
    assert share[0] == approx([0.5, 0.0, 1e-9], abs=1e-6)  # 1e-9 of 2e-9 for party 0
    assert np.all((share >= 0) & (share <= 1))


def test_compliant_agreement_pays_the_mediator_protected_fairness_minus_committed_monitoring():
    sc = kit.scenario()
    s = kit.implementing(sc)
    s, _, m1 = step(sc, s, kit.actions(sc, s), kit.noise(2))
    s, _, m2 = step(sc, s, kit.actions(sc, s), kit.noise(2))
    assert int(s.status[0]) == Status.COMPLETED
    assert core.realised(s)[0] == approx([0.7, 0.7])
    # gain / ideal gain, all stages complied, minus 0.1 * (1.0 * 0.1 * 2 stages / budget 1)
    assert m1[0] == 0.0 and m2[0] == approx(0.4 / 0.7 - 0.1 * 0.2)


def test_a_defection_lowers_the_mediator_reward_through_compliance_not_temptation():
    sc = kit.scenario()
    s = kit.implementing(sc)
    s, _, _ = step(sc, s, kit.actions(sc, s, defect=[0, 1]), kit.noise(2))
    s, _, m = step(sc, s, kit.actions(sc, s), kit.noise(2))
    # the victim was made whole and the defector's gain does not count: the Nash welfare of
    # protected gains is unchanged, 3 of 4 party-stages were complied with
    assert core.protected(s)[0] == approx([0.7, 0.7])
    assert m[0] == approx(0.75 * 0.4 / 0.7 - 0.1 * 0.2)


# ------------------------------------------------------------------------------ negotiation


def test_breakdown_at_the_deadline_pays_batnas_minus_conflict_cost():
    sc = kit.scenario(max_rounds=3, conflict_cost=0.05)
    s = kit.start(sc, 2)
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
    assert (int(s2.agreed_round[0]) == 1) == passes
    assert int(s2.phase[0]) == (Phase.IMPLEMENT if passes else Phase.NEGOTIATE)


def lilliput_kit(powers=(0.4, 0.3, 0.2, 0.1), **extra):
    return kit.scenario(
        n_parties=4,
        decision_rule="qualified_majority",
        quota=0.65,
        coalitions={"max_coalitions": 1},
        types={
            "power": {"kind": "fixed", "values": list(powers)},
            "ideals": [[0.5]] * 4,
            "weights": [[1.0]] * 4,
        },
        **extra,
    )


def test_coalition_votes_as_a_bloc_and_splits_when_members_disagree():
    sc = lilliput_kit()
    s = kit.start(sc).replace(coalition=np.array([[-1, 0, 0, 0]]))
    # individually 0.4 + 0.3 + 0.2 = 0.9 would pass; the bloc requires every member
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 1, 0]), kit.noise(4))
    assert int(s2.agreed_round[0]) == -1
    assert s2.votes[0].tolist() == [1, -1, -1, -1]
    assert s2.coalition[0].tolist() == [-1, -1, -1, -1]  # split
    s3, _, _ = step(sc, s, kit.actions(sc, s, vote=[0, 1, 1, 1]), kit.noise(4))
    assert s3.coalition[0].tolist() == [-1, 0, 0, 0]  # united: kept, but 0.6 < 0.65
    assert int(s3.agreed_round[0]) == -1
    s4, _, _ = step(sc, s3, kit.actions(sc, s3, vote=[1, 1, 1, 1]), kit.noise(4))
    assert int(s4.agreed_round[0]) == 2 and s4.coalition[0].tolist() == [-1, 0, 0, 0]


def test_coalition_declared_in_a_round_does_not_change_that_rounds_vote():
    sc = lilliput_kit()
    s = kit.start(sc)
    join = [-2, 0, 0, 0]
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 1, 0], coalition=join), kit.noise(4))
    assert int(s2.agreed_round[0]) == 1  # 0.9 passes: the bloc binds from the next round
    assert s2.coalition[0].tolist() == [-1, 0, 0, 0] and s2.holdout[0].tolist() == [0, 0, 0, 1]
    # nor can a member leave to escape its bloc's vote in the round it leaves
    s = s.replace(coalition=np.array([[-1, 0, 0, 0]]))
    leave = [-2, -2, -2, -1]
    s3, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 1, 0], coalition=leave), kit.noise(4))
    assert int(s3.agreed_round[0]) == -1


def test_only_own_no_voters_are_holdouts():
    sc = lilliput_kit(powers=(0.7, 0.1, 0.1, 0.1))
    s = kit.start(sc).replace(coalition=np.array([[-1, 0, 0, -1]]))
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1, 0, 1]), kit.noise(4))
    assert int(s2.agreed_round[0]) == 1  # the bloc {1, 2} rejected; 0.8 passes without it
    assert s2.votes[0].tolist() == [1, -1, -1, 1]
    assert s2.holdout[0].tolist() == [False, False, True, False]


def test_round_zero_has_no_vote():
    sc = kit.scenario()
    s = kit.start(sc, 0)
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1], med_proposal=[0.4]), kit.noise(2))
    assert int(s2.agreed_round[0]) == -1 and s2.votes[0].tolist() == [0, 0]
    assert int(s2.round[0]) == 1 and s2.proposal[0] == approx([0.4])
    s3, _, _ = step(sc, s2, kit.actions(sc, s2, vote=[1, 1]), kit.noise(2))
    assert int(s3.agreed_round[0]) == 1 and s3.agreement[0] == approx([0.4])


def test_coalition_signal_is_the_power_weighted_mix_of_its_members():
    sc = lilliput_kit()
    s = kit.start(sc).replace(coalition=np.array([[-1, 0, 0, 0]]))
    a = kit.actions(sc, s, demand=[[1.0], [1.0], [-1.0], [1.0]])
    s2, _, _ = step(sc, s, a, kit.noise(4))
    assert s2.demands[0, :, 0] == approx([1.0, 0.2 / 0.6, 0.2 / 0.6, 0.2 / 0.6])


def test_coalition_ratifies_only_if_every_member_audience_does():
    sc = lilliput_kit(ratification={"enabled": True})
    s = kit.start(sc).replace(coalition=np.array([[-1, 0, 0, 0]]))
    a = kit.actions(sc, s, vote=[1, 1, 1, 1])
    fails = kit.noise(4, ratify=[0.0, 0.0, 0.0, 1.0])
    s2, _, _ = step(sc, s, a, fails)
    assert int(s2.agreed_round[0]) == -1 and int(s2.ratification_failures[0]) == 1
    alone = s.replace(coalition=np.array([[-1, -1, -1, -1]]))
    s3, _, _ = step(sc, alone, a, fails)  # without the coalition 0.9 ratifies
    assert int(s3.agreed_round[0]) == 1


def test_audiences_overridden_by_the_decision_rule_are_recorded():
    sc = lilliput_kit(ratification={"enabled": True})
    s = kit.start(sc)
    a = kit.actions(sc, s, vote=[1, 1, 1, 1])
    # the two weakest audiences reject (0.3 of the power): 0.7 >= quota 0.65 ratifies anyway
    s2, _, _ = step(sc, s, a, kit.noise(4, ratify=[0.0, 0.0, 1.0, 1.0]))
    assert int(s2.agreed_round[0]) == 1
    assert s2.overridden[0].tolist() == [False, False, True, True]
    assert s2.holdout[0].tolist() == [False] * 4  # they voted for it: not holdouts
    # 0.4 of the power rejecting blocks the text: nobody is overridden, trust pays
    s3, _, _ = step(sc, s, a, kit.noise(4, ratify=[1.0, 0.0, 0.0, 0.0]))
    assert int(s3.agreed_round[0]) == -1 and not s3.overridden.any()
    # without ratification no audience speaks and nobody is overridden
    plain = lilliput_kit()
    s4, _, _ = step(plain, kit.start(plain), a, kit.noise(4, ratify=1.0))
    assert int(s4.agreed_round[0]) == 1 and not s4.overridden.any()


def test_failed_ratification_returns_to_negotiation_and_costs_trust():
    sc = kit.scenario(
        ratification={"enabled": True, "temperature": 0.05, "margin": 0.0, "trust_cost": 0.1}
    )
    sc = kit.scenario(
        discount=0.9,
        ratification={"enabled": True, "temperature": 0.05, "margin": 0.0, "trust_cost": 0.1},
    )
    s = kit.start(sc, 2).replace(guarantee=np.array([[0.5, 0.5]]))
    # worth at round 2: W = 0.3 + 0.81 * 0.4 = 0.624; feared loss 0.2 * 0.5 * W = 0.0624,
    # guarantee value 0.9 * min(0.5, 0.0624)
    w = 0.3 + 0.81 * 0.4
    prob = 1 / (1 + np.exp(-(w - 0.1 * w + 0.9 * 0.1 * w - 0.3) / 0.05))
    a = kit.actions(sc, s, vote=[1, 1], med_proposal=[0.6])
    s2, r, _ = step(sc, s, a, kit.noise(2, ratify=[0.0, prob + 1e-9]))
    assert int(s2.phase[0]) == Phase.NEGOTIATE and int(s2.agreed_round[0]) == -1
    assert int(s2.round[0]) == 3 and int(s2.ratification_failures[0]) == 1
    assert s2.trust[0] == approx(0.9) and s2.proposal[0] == approx([0.6])
    assert r[0] == approx([0.0, 0.0])
    s3, _, _ = step(sc, s, a, kit.noise(2, ratify=[0.0, prob - 1e-9]))
    assert int(s3.agreed_round[0]) == 2


def test_guarantee_pool_is_what_monitoring_leaves_of_the_budget():
    sc = kit.scenario()
    s = kit.start(sc).replace(guarantee=np.array([[0.25, 0.5]]), monitoring=np.array([1.0]))
    s2, _, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1]), kit.noise(2))
    assert s2.cover[0] == approx([0.25 * 0.8, 0.5 * 0.8])  # 1 - 0.1 * 1.0 * 2 stages


def test_later_agreement_is_worth_the_batna_plus_the_discounted_gain():
    sc = kit.scenario(discount=0.9, implementation={"n_stages": 0})
    s = kit.start(sc, 3)
    s2, r, _ = step(sc, s, kit.actions(sc, s, vote=[1, 1]), kit.noise(2))
    assert r[0] == approx([0.3 + 0.9**3 * (0.7 - 0.3)] * 2)
    assert int(s2.status[0]) == Status.COMPLETED


def test_worth_keeps_a_text_above_the_batna_above_it_at_every_round():
    sc = kit.scenario(discount=0.5)
    u, d = np.array([[0.31, 0.9]]), np.array([[0.3, 0.3]])
    for t in range(0, 40, 7):
        w = core.worth(sc, u, d, np.array([t]))
        assert np.all(w >= d) and w[0] == approx(d[0] + 0.5**t * (u[0] - d[0]))


def test_voice_counts_text_moves_in_the_demanded_direction():
    sc = kit.scenario()
    s = kit.start(sc, 0)
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=[[1.0], [-1.0]]), kit.noise(2))
    s, _, _ = step(sc, s, kit.actions(sc, s, med_proposal=[0.6]), kit.noise(2))
    assert s.voice[0].tolist() == [1, 0]


def test_voice_needs_a_signal_a_move_and_a_negotiation_that_goes_on():
    three = {"power": {"kind": "fixed", "values": [0.4, 0.3, 0.3]}}
    three |= {"ideals": [[0.2], [0.8], [0.5]], "weights": [[1.0]] * 3}
    sc = kit.scenario(n_parties=3, types=three)
    s = kit.start(sc, 0)
    signals = [[1.0], [-1.0], [0.0]]  # up, down, hold
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=signals), kit.noise(3))
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=signals, med_proposal=[0.6]), kit.noise(3))
    assert s.voice[0].tolist() == [1, 0, 0]  # the text moved up: only the up signal is heard
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=signals), kit.noise(3))
    assert s.voice[0].tolist() == [1, 0, 0]  # the text did not move: nobody is heard
    s, _, _ = step(sc, s, kit.actions(sc, s, demand=signals, med_proposal=[0.4]), kit.noise(3))
    assert s.voice[0].tolist() == [1, 1, 0]  # moved down
    # the text passes this round, so the mediator's next text is never posted: no voice
    yes = [1, 1, 1]
    s, _, _ = step(sc, s, kit.actions(sc, s, yes, demand=signals, med_proposal=[0.6]), kit.noise(3))
    assert int(s.phase[0]) != Phase.NEGOTIATE and s.voice[0].tolist() == [1, 1, 0]


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


def test_proposals_are_absolute_levels_on_the_grid():
    from negenv.actions import ActionCodec

    sc = kit.scenario(proposal_levels=21)
    s = kit.start(sc, 0)
    codec = ActionCodec(sc)
    party = np.array([[[0, 0, 0, 1], [0, 0, 0, 1]]])
    a = codec.decode(s, party, np.array([[7, 2, 4]]))  # level 7, guarantee to party_1, m 1
    assert a.med_proposal[0] == approx([0.35]) and a.med_monitoring[0] == approx(1.0)
    s2, _, _ = step(sc, s, a, kit.noise(2))
    assert s2.proposal[0] == approx([0.35])  # posted in one round from anywhere on the grid
    # round 0 masks the accept vote; from round 1 both votes are allowed
    masks = codec.masks(s)[0][0]
    assert masks[:, :2].tolist() == [[1, 0], [1, 0]]
    assert codec.masks(s2)[0][0][:, :2].tolist() == [[1, 1], [1, 1]]
    alt = kit.scenario(protocol="alternating_offers", proposal_levels=11)
    t = kit.start(alt, 0).replace(proposer=np.array([1]))
    alt_codec = ActionCodec(alt)
    levels = np.array(
        [[[0, 0, 0, 1, 3], [0, 0, 0, 1, 8]]]
    )  # vote, comply, coalition, demand, level
    t2, _, _ = step(alt, t, alt_codec.decode(t, levels, None), kit.noise(2))
    assert t2.proposal[0] == approx([0.8])  # the recognised proposer's level 8 of 11
    proposer_mask = alt_codec.masks(t)[0][0]
    assert proposer_mask[1, -11:].sum() == 11 and proposer_mask[0, -11:].tolist() == [1] + [0] * 10
