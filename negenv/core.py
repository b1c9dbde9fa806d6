"""The rules of negenv: pure, batch-first functions over a :class:`State`.

Every array has a leading batch dimension B; N is the number of parties, K of issues. The
functions take their array namespace from their inputs (numpy for one PettingZoo episode,
torch for batches), take randomness as pre-drawn uniform noise, and return new states. A
step reads as the phases of the model: :func:`negotiate` (with coalitions, the decision rule
and :func:`ratify`), then :func:`implement`, then :func:`settle` for episodes that ended.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from negenv import rows
from negenv.backend import compiling, namespace, needed
from negenv.layout import Phase, Status
from negenv.randomness import Noise, TypeDraw
from negenv.scenario import TRUST_UNIT, Scenario

Array = Any


@dataclass(frozen=True)
class Actions:
    """Decoded actions in absolute terms, whichever action mode produced them."""

    vote: Array  # (B, N) bool: accept the standing text
    defect: Array  # (B, N) bool: defect at this stage
    coalition: Array  # (B, N) int: -2 keep membership, -1 leave, c >= 0 join coalition c
    demand: Array  # (B, N, K) float in {-1, 0, 1}: demand signal per issue
    proposal: Array  # (B, N, K) float: a party's proposed text (read for the proposer only)
    med_proposal: Array  # (B, K) float: the mediator's next text
    med_guarantee: Array  # (B, N) float: guarantee shares of the pool, summing to <= 1
    med_monitoring: Array  # (B,) float in [0, 1]
    illegal: Array | None = None  # (B, N+1) bool: masked choices (parties, then the mediator)


@dataclass(frozen=True)
class State:
    """Everything about B episodes. Fields are arrays with a leading batch dimension."""

    key: Array  # (B,) int64 key of each episode's random draws
    clock: Array  # (B,) steps taken: the counter of the next step's draws
    # private types as drawn at reset, and the mediator's view of them
    power0: Array
    ideal: Array
    weight: Array
    batna0: Array
    risk: Array
    capability: Array
    seen_ideal: Array
    seen_weight: Array
    seen_batna: Array
    seen_risk: Array
    # power and BATNA after shocks
    power: Array
    batna: Array
    # clock and texts
    phase: Array  # (B,) Phase
    status: Array  # (B,) Status
    round: Array  # (B,) negotiation round t
    stage: Array  # (B,) stages implemented
    proposer: Array  # (B,) recognised proposer (alternating offers), else -1
    proposal: Array  # (B, K) standing text
    guarantee: Array  # (B, N) standing guarantee shares of the pool
    monitoring: Array  # (B,) standing monitoring level
    # the agreement in force
    agreed_round: Array  # (B,) round of entry into force, -1 if none
    agreement: Array  # (B, K)
    cover: Array  # (B, N) guarantee left to pay each party
    agreed_monitoring: Array  # (B,)
    stage_value: Array  # (B, N) worth W_i / S delivered per complied stage
    stage_concession: Array  # (B, N) delta**t (1 - u_i) / S: what a stage concedes
    # public record
    trust: Array
    credibility: Array
    credibility0: Array  # (B,) kappa_0 as drawn at reset
    hidden: Array  # (B,) undetected defections of the last stage, revealed next stage
    pending: Array  # (B, N) victims' claims on those hidden defections, due next stage
    first_violation: Array  # (B,) stage (1-based) of the first defection, -1 if none
    votes: Array  # (B, N) last effective votes: -1 reject, 0 none, 1 accept
    demands: Array  # (B, N, K) last demand signals (coalition-mixed)
    coalition: Array  # (B, N) coalition of each party, -1 for none
    holdout: Array  # (B, N) outvoted on the text in force
    overridden: Array  # (B, N) its audience rejected the text in force (imposed on it)
    illegal: Array  # (B, N) steps on which a party chose a masked option
    mediator_illegal: Array  # (B,) steps on which the mediator chose a masked option
    detected: Array  # (B, N) detected defections
    refused: Array  # (B, N) claims on existing cover that the guarantor refused
    undetected: Array  # (B, N) undetected defections
    ratification_failures: Array  # (B,)
    voice: Array  # (B, N) issue-rounds on which the text moved the way a party asked
    shocks: Array  # (B, N) shocks suffered
    # accounting: realised utility = value + temptation - loss - sanction + compensation + fallback
    value: Array
    temptation: Array
    loss: Array
    sanction: Array
    compensation: Array
    fallback: Array
    fallback_protected: Array  # (B, N) the fallback as the mediator's objective counts it
    budget_spent: Array  # (B,)
    mediator_utility: Array  # (B,)

    def replace(self, **changes: Array) -> State:
        if compiling():  # some torch versions cannot trace the dict copy below
            return dataclasses.replace(self, **changes)
        # dataclasses.replace re-runs __init__ over ~50 fields; a dict copy is 10x cheaper
        new = object.__new__(State)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


def utility(sc: Scenario, ideal: Array, weight: Array, capability: Array, x: Array) -> Array:
    """u_i(x) = 1 - sum_k w_ik dist_ik(x) for texts x of shape (B, K); returns (B, N).

    On a burden issue (the last one, when enabled) the distance is the party's burden share
    ``(1 - x)/N + x c_i`` over its largest possible share ``max(1/N, c_i)``.
    """
    return text_utility(ideal, weight, capability, x, sc.burden_issue)


def text_utility(ideal: Array, weight: Array, capability: Array, x: Array, burden: bool) -> Array:
    """:func:`utility` without a scenario: ``burden`` says whether the last issue is one."""
    xp = namespace(x)
    dist = xp.abs(x[:, None, :] - ideal)
    if burden:
        n, xb = ideal.shape[1], x[:, -1:]
        cost = ((1 - xb) / n + xb * capability) / xp.maximum(capability, 1.0 / n)
        dist = xp.concat([dist[..., :-1], cost[..., None]], axis=-1)
    return 1.0 - xp.sum(weight * dist, axis=-1)


def worth(sc: Scenario, u: Array, batna: Array, round_: Array) -> Array:
    """``W_i = d_i + delta**t (u_i - d_i)``: a text entering into force at round t, complied
    with, is worth its BATNA plus the discounted gain over it (B, N)."""
    xp = namespace(u)
    return batna + sc.discount ** xp.astype(round_, u.dtype)[:, None] * (u - batna)


def recognise(sc: Scenario, power: Array, u: Array, round_: Array) -> Array:
    """The proposer of a round: drawn with odds p ** a from uniform ``u``, or in turn."""
    xp = namespace(power)
    if sc.recognition.rule == "turn":
        return round_ % sc.n_parties
    odds = power**sc.recognition.agenda_exponent
    cdf = xp.cumulative_sum(odds / xp.sum(odds, axis=1, keepdims=True), axis=1)
    below = xp.astype(cdf < u[:, None], round_.dtype)
    return xp.minimum(xp.sum(below, axis=1), sc.n_parties - 1)


def guarantee_pool(sc: Scenario, monitoring: Array) -> Array:
    """Budget left for guarantees once monitoring over every stage is paid for."""
    xp = namespace(monitoring)
    cost = sc.mediator.monitoring_cost * monitoring * sc.implementation.n_stages
    return xp.maximum(sc.mediator.budget - cost, 0.0)


def reset_state(sc: Scenario, key: Array, draw: TypeDraw) -> State:
    """The state at round 0 of episodes with int64 keys (B,) and their drawn types.

    Arrays live in the namespace, dtype and device of the draw. Every field is an array of
    its own (no two fields share memory), so that batched shells may write episodes into
    them in place.
    """
    xp = namespace(draw.power)
    b, n = draw.power.shape

    def f(value: float = 0.0) -> Array:  # (B, N) floats
        return xp.zeros_like(draw.power) + value

    def i(value: int = 0, shape: tuple[int, ...] = (b,)) -> Array:  # ints
        return xp.zeros(shape, dtype=key.dtype, device=key.device) + value

    def zb(value: float = 0.0) -> Array:  # (B,) floats
        return f(value)[:, 0]

    proposer = recognise(sc, draw.power, draw.recognise, i()) if not sc.mediated else i(-1)
    proposal = xp.zeros_like(draw.ideal[:, 0, :]) + sc.initial_proposal
    return State(
        key=key,
        clock=i(),
        power0=draw.power,
        ideal=draw.ideal,
        weight=draw.weight,
        batna0=draw.batna,
        risk=draw.risk,
        capability=draw.capability,
        seen_ideal=draw.seen_ideal + 0.0,
        seen_weight=draw.seen_weight + 0.0,
        seen_batna=draw.seen_batna + 0.0,
        seen_risk=draw.seen_risk + 0.0,
        power=draw.power + 0.0,
        batna=draw.batna + 0.0,
        phase=i(int(Phase.NEGOTIATE)),
        status=i(int(Status.RUNNING)),
        round=i(),
        stage=i(),
        proposer=proposer,
        proposal=proposal,
        guarantee=f(),
        monitoring=zb(),
        agreed_round=i(-1),
        agreement=xp.zeros_like(proposal),
        cover=f(),
        agreed_monitoring=zb(),
        stage_value=f(),
        stage_concession=f(),
        trust=zb(_steps(sc.implementation.trust_initial) * TRUST_UNIT),
        credibility=draw.credibility + 0.0,
        credibility0=draw.credibility + 0.0,
        hidden=i(),
        pending=f(),
        first_violation=i(-1),
        votes=i(0, (b, n)),
        demands=xp.zeros_like(draw.ideal),
        coalition=i(-1, (b, n)),
        holdout=f() != 0,
        overridden=f() != 0,
        illegal=i(0, (b, n)),
        mediator_illegal=i(),
        detected=i(0, (b, n)),
        refused=i(0, (b, n)),
        undetected=i(0, (b, n)),
        ratification_failures=i(),
        voice=i(0, (b, n)),
        shocks=i(0, (b, n)),
        value=f(),
        temptation=f(),
        loss=f(),
        sanction=f(),
        compensation=f(),
        fallback=f(),
        fallback_protected=f(),
        budget_spent=zb(),
        mediator_utility=zb(),
    )


# ------------------------------------------------------------------------------ coalitions


def group_all(flags: Array, coalition: Array, c: int) -> tuple[Array, Array]:
    """Each coalition member's flag becomes 'every member's flag is set'.

    Returns the effective flags and, per party, whether its coalition was split (mixed).
    """
    xp = namespace(flags)
    if c == 0:
        return flags, flags & ~flags
    member = coalition[..., None] == xp.arange(c, device=coalition.device)  # (B, N, C)
    size = xp.sum(xp.astype(member, coalition.dtype), axis=1)
    yes = xp.sum(xp.astype(member & flags[..., None], coalition.dtype), axis=1)
    idx = xp.maximum(coalition, 0)
    all_yes = xp.take_along_axis(yes == size, idx, axis=1)
    mixed = xp.take_along_axis((yes > 0) & (yes < size), idx, axis=1) & (coalition >= 0)
    return xp.where(coalition >= 0, all_yes, flags), mixed


def coalition_signal(demand: Array, power: Array, coalition: Array, c: int) -> Array:
    """A coalition member's demand signal is the power-weighted mix of its members'."""
    xp = namespace(demand)
    if c == 0:
        return demand
    member = xp.astype(
        coalition[..., None] == xp.arange(c, device=demand.device), demand.dtype
    )  # (B, N, C)
    weight = member * power[..., None]
    mix = xp.sum(weight[..., None] * demand[:, :, None, :], axis=1)  # (B, C, K)
    mix = mix / xp.maximum(xp.sum(weight, axis=1), 1e-12)[..., None]
    mix = xp.minimum(xp.maximum(mix, -1.0), 1.0)  # a weighted mean, up to rounding
    idx = xp.broadcast_to(xp.maximum(coalition, 0)[..., None], demand.shape)
    return xp.where(coalition[..., None] >= 0, xp.take_along_axis(mix, idx, axis=1), demand)


def decide(sc: Scenario, yes: Array, power: Array) -> Array:
    """The decision rule over (effective) yes-flags of shape (B, N)."""
    xp = namespace(yes)
    if sc.decision_rule == "unanimity":
        return xp.all(yes, axis=1)
    if sc.decision_rule == "qualified_majority":
        # powers sum to 1 only up to rounding (1e-7 in float32): a tolerance far above it
        # lets both dtypes pass exactly the same texts
        return xp.sum(power * yes, axis=1) >= sc.quota - 1e-6
    return 2 * xp.sum(xp.astype(yes, power.dtype), axis=1) > sc.n_parties


# ----------------------------------------------------------------------------- negotiation


def ratify(sc: Scenario, s: State, u: Array, coalition: Array, noise: Array) -> Array:
    """Whether each episode's standing text survives domestic ratification.

    An audience ratifies with probability sigmoid((W - rho l W + v - d - margin) / temp): it
    discounts the text's worth W by the loss it fears from defections (perceived risk rho
    times the victim loss l), and values guarantees up to that fear, times the mediator's
    credibility. A coalition ratifies only if every member's audience does (the blocs in
    force this round); the decision rule then applies. Returns the decision (B,) and each
    party's own audience's verdict (B, N): under a qualified majority a text can enter into
    force over audiences that rejected it.
    """
    xp = namespace(u)
    r = sc.ratification
    w = worth(sc, u, s.batna, s.round)
    cover = s.guarantee * guarantee_pool(sc, s.monitoring)[:, None]
    exposure = s.risk * sc.implementation.victim_loss * w
    v = s.credibility[:, None] * xp.minimum(cover, exposure)
    logit = (w - exposure + v - s.batna - r.margin) / r.temperature
    yes = noise < 1.0 / (1.0 + xp.exp(-logit))
    blocs = group_all(yes, coalition, sc.coalitions.max_coalitions)[0]
    return decide(sc, blocs, s.power), yes


def _declare(coalition: Array, choice: Array, active: Array) -> Array:
    xp = namespace(coalition)
    new = xp.where(choice == -2, coalition, choice)
    return xp.where(active[:, None], new, coalition)


def _next_text(sc: Scenario, s: State, a: Actions) -> tuple[Array, Array, Array]:
    """The text, guarantees and monitoring standing for the next round."""
    xp = namespace(s.proposal)
    if sc.mediated:
        return a.med_proposal, a.med_guarantee, a.med_monitoring
    idx = xp.broadcast_to(s.proposer[:, None, None], (s.proposal.shape[0], 1, sc.n_issues))
    return xp.take_along_axis(a.proposal, idx, axis=1)[:, 0], s.guarantee, s.monitoring


def negotiate(sc: Scenario, s: State, a: Actions, noise: Noise, active: Array) -> State:
    """One round for episodes where ``active``: vote, then conclude or revise the text."""
    seen, blocs = s.demands, s.coalition
    s, passed = vote(sc, s, a, active)
    in_force = passed
    if needed(passed):
        s, in_force = rows.branch(
            passed, functools.partial(conclude, sc), s, a.vote, passed, noise, blocs
        )
    return revise(sc, s, a, noise, active & ~in_force, seen)


def vote(sc: Scenario, s: State, a: Actions, active: Array) -> tuple[State, Array]:
    """Bloc votes under the coalitions in force, the decision rule, then declarations.

    Round 0 has no vote (the status quo is not votable). A coalition whose members disagree
    splits; declarations made now take effect from the next round, so no party can join or
    leave a bloc to change the vote of the round in which it declares.
    """
    xp, c = namespace(s.proposal), sc.coalitions.max_coalitions
    col = active[:, None]
    voting = active & (s.round > 0)
    accept, split = group_all(a.vote, s.coalition, c)
    passed = voting & decide(sc, accept, s.power)
    signal = coalition_signal(a.demand, s.power, s.coalition, c)
    kept = xp.where(voting[:, None] & split, -1, s.coalition)
    s = s.replace(
        coalition=_declare(kept, a.coalition, active),
        votes=xp.where(voting[:, None], xp.where(accept, 1, -1), s.votes),
        demands=xp.where(col[..., None], signal, s.demands),
    )
    return s, passed


def conclude(sc: Scenario, s: State, own_vote: Array, passed: Array, noise: Noise, blocs: Array):
    """Ratify passed texts; those ratified enter into force, the others cost trust.

    A party is a holdout on a text in force only if it voted against it itself; it is
    overridden if its own audience rejected the text (imposed on it by the decision rule).
    """
    xp = namespace(s.proposal)
    u = utility(sc, s.ideal, s.weight, s.capability, s.proposal)
    in_force, overridden = passed, s.overridden
    if sc.ratification.enabled:
        ratified, audience = ratify(sc, s, u, blocs, noise.ratify)
        in_force = passed & ratified
        overridden = xp.where(in_force[:, None], ~audience, s.overridden)
    failed = passed & ~in_force
    s = s.replace(
        holdout=xp.where(in_force[:, None], ~own_vote, s.holdout),
        overridden=overridden,
        trust=xp.where(failed, _move_trust(s.trust, -_steps(sc.ratification.trust_cost)), s.trust),
        ratification_failures=s.ratification_failures + xp.astype(failed, s.round.dtype),
    )
    return _enter_into_force(sc, s, in_force, u), in_force


def revise(sc: Scenario, s: State, a: Actions, noise: Noise, stays: Array, seen: Array) -> State:
    """For episodes still negotiating: the next text, the clock, breakdown at round T.

    ``seen`` are the demand signals the mediator had when it chose the next text.
    """
    xp = namespace(s.proposal)
    text, guarantee, monitoring = _next_text(sc, s, a)
    round_ = s.round + xp.astype(stays, s.round.dtype)
    voice, proposer = s.voice, s.proposer
    if sc.mediated:  # the text moved the way a party asked in its last signal
        # (a zero step where negotiation has ended: a signal is heard when its product with
        # the step is positive, which needs both nonzero and of one sign)
        moved = xp.sign(text - s.proposal) * xp.astype(stays, text.dtype)[:, None]
        heard = seen * moved[:, None, :] > 0
        voice = voice + xp.sum(xp.astype(heard, voice.dtype), axis=2)
    else:
        proposer = xp.where(stays, recognise(sc, s.power, noise.recognise, round_), proposer)
    s = s.replace(
        voice=voice,
        proposal=xp.where(stays[:, None], text, s.proposal),
        guarantee=xp.where(stays[:, None], guarantee, s.guarantee),
        monitoring=xp.where(stays, monitoring, s.monitoring),
        round=round_,
        proposer=proposer,
    )
    breakdown = stays & (round_ >= sc.max_rounds)
    if not needed(breakdown):
        return s
    fallback = xp.where(breakdown[:, None], s.batna - sc.conflict_cost, 0.0)
    return s.replace(
        phase=xp.where(breakdown, int(Phase.DONE), s.phase),
        status=xp.where(breakdown, int(Status.BREAKDOWN), s.status),
        fallback=s.fallback + fallback,
        fallback_protected=s.fallback_protected + fallback,
    )


def _enter_into_force(sc: Scenario, s: State, in_force: Array, u: Array) -> State:
    """Fix the text in force: its worth W per stage, the concession a defector can claw back,
    the guarantee cover; with no stages W is paid at once."""
    xp = namespace(u)
    col, n_stages = in_force[:, None], sc.implementation.n_stages
    w = worth(sc, u, s.batna, s.round)
    conceded = sc.discount ** xp.astype(s.round, u.dtype)[:, None] * (1.0 - u)
    cover = s.guarantee * guarantee_pool(sc, s.monitoring)[:, None]
    after = int(Phase.IMPLEMENT) if n_stages > 0 else int(Phase.DONE)
    per = 1.0 / max(n_stages, 1)
    s = s.replace(
        agreed_round=xp.where(in_force, s.round, s.agreed_round),
        agreement=xp.where(col, s.proposal, s.agreement),
        cover=xp.where(col, cover, s.cover),
        agreed_monitoring=xp.where(in_force, s.monitoring, s.agreed_monitoring),
        stage_value=xp.where(col, w * per, s.stage_value),
        stage_concession=xp.where(col, conceded * per, s.stage_concession),
        phase=xp.where(in_force, after, s.phase),
    )
    if n_stages == 0:
        s = s.replace(
            value=s.value + xp.where(col, w, 0.0),
            status=xp.where(in_force, int(Status.COMPLETED), s.status),
        )
    return s


# ---------------------------------------------------------------------------- implementation


def _exclusive_sums(v: Array) -> Array:
    """Sums over the other parties j != i along axis 1 of v (B, N, F), without subtracting
    v_i from a total (in float32, ``1 - p_i`` of a near-dominant party cancels to zero):
    exclusive prefix sums from both ends, in one cumulative sum."""
    xp = namespace(v)
    m = v.shape[-1]
    both = xp.cumulative_sum(xp.concat([v, xp.flip(v, axis=1)], axis=-1), axis=1)
    shifted = xp.concat([both[:, :1] * 0.0, both[:, :-1]], axis=1)
    return shifted[..., :m] + xp.flip(shifted[..., m:], axis=1)


def _victim_shares(power: Array, flags: Array) -> Array:
    """(B, N, F): for each flag (B, N, F), the power share of the *other* parties that raised
    it, over the others' powers, in [0, 1]."""
    xp = namespace(power)
    p = power[..., None]
    stacked = xp.concat([p, xp.where(flags, p, 0.0)], axis=-1)
    others = _exclusive_sums(stacked)
    return xp.minimum(others[..., 1:] / xp.maximum(others[..., :1], 1e-30), 1.0)


def implement(sc: Scenario, s: State, a: Actions, noise: Noise, active: Array) -> State:
    """One stage of the agreement in force for episodes where ``active``.

    Each party receives its stage value W/S. A defector claws back ``lambda_i`` of its
    stage concession; every other party loses ``l`` times its stage value times the power
    share of the defectors among the others. Monitoring detects a defection at once with
    probability m (the defector pays ``sanction + sanction_rate * gain``, burned); an
    undetected one becomes known a stage later, or at the end. :func:`_trust_and_end` moves
    trust and decides collapse; victims then claim every defection known by now from their
    cover (:func:`_settle_claims`).
    """
    xp = namespace(s.trust)
    im, n, col, dt = sc.implementation, sc.n_parties, active[:, None], s.trust.dtype
    defect = a.defect & col
    detected = defect & (noise.detect < s.agreed_monitoring[:, None])
    hidden = defect & ~detected
    shares = _victim_shares(s.power, xp.stack([defect, detected, hidden], axis=2))
    any_share, detected_share, hidden_share = shares[..., 0], shares[..., 1], shares[..., 2]
    lever = (n * s.power) ** im.leverage * (1.0 + im.holdout_temptation * xp.astype(s.holdout, dt))
    gain = xp.where(defect, xp.minimum(im.temptation * lever, 1.0) * s.stage_concession, 0.0)
    victim = im.victim_loss * s.stage_value
    s, stage, done, collapse = _trust_and_end(sc, s, detected, hidden, active)
    ended = done | collapse
    late = victim * hidden_share  # known next stage, or now if the agreement ends now
    claim = victim * detected_share + s.pending + xp.where(ended[:, None], late, 0.0)
    s = _settle_claims(sc, s, claim, noise.honour)
    lost = xp.astype(im.n_stages - stage, dt)[:, None]
    per_lost = (s.batna - im.relapse_cost) / im.n_stages
    guarded = xp.minimum(per_lost, (1.0 - im.victim_loss) * s.stage_value)
    spent = xp.where(active, sc.mediator.monitoring_cost * s.agreed_monitoring, 0.0)
    s = s.replace(
        value=s.value + xp.where(col, s.stage_value, 0.0),
        temptation=s.temptation + gain,
        loss=s.loss + victim * any_share,
        sanction=s.sanction + xp.where(detected, im.sanction + im.sanction_rate * gain, 0.0),
        fallback=s.fallback + xp.where(collapse[:, None], lost * per_lost, 0.0),
        fallback_protected=s.fallback_protected + xp.where(collapse[:, None], lost * guarded, 0.0),
        pending=xp.where(col, xp.where(ended[:, None], 0.0, late), s.pending),
        budget_spent=s.budget_spent + spent,
        detected=s.detected + xp.astype(detected, s.detected.dtype),
        undetected=s.undetected + xp.astype(hidden, s.detected.dtype),
        first_violation=xp.where(
            (s.first_violation < 0) & xp.any(defect, axis=1), stage, s.first_violation
        ),
        stage=stage,
        phase=xp.where(ended, int(Phase.DONE), s.phase),
        status=xp.where(
            done, int(Status.COMPLETED), xp.where(collapse, int(Status.COLLAPSED), s.status)
        ),
    )
    return shock(sc, s, noise.shock, active & ~ended)


def _steps(x: float) -> int:
    """A trust constant in whole trust units (the scenario checks that it is one)."""
    return round(x / TRUST_UNIT)


def _move_trust(trust: Array, steps: Array | int) -> Array:
    """Trust moved by a whole number of units and kept in [0, 1]. The count is exact in both
    float dtypes (integers far below 2**24), so rounding never decides a collapse."""
    xp = namespace(trust)
    units = xp.round(trust / TRUST_UNIT) + steps
    return xp.minimum(xp.maximum(units, 0.0), float(_steps(1.0))) * TRUST_UNIT


def _trust_and_end(sc: Scenario, s: State, detected: Array, hidden: Array, active: Array):
    """Trust after the stage's known defections, and which agreements end.

    Detected defections cost ``trust_loss`` now; last stage's hidden ones ``late_factor``
    times that now; a stage with no defection recovers trust. An agreement collapses only
    at a stage where a defection becomes known while trust is below the threshold.
    Returns the state (trust, hidden count), the new stage count, done and collapse flags.
    """
    xp, im, dt = namespace(s.trust), sc.implementation, s.trust.dtype
    n_det = xp.sum(xp.astype(detected, dt), axis=1)
    n_hid = xp.sum(xp.astype(hidden, dt), axis=1)
    late = xp.astype(s.hidden, dt)
    calm = xp.astype((n_det + n_hid) == 0, dt)
    steps = (
        _steps(im.trust_recovery) * calm
        - _steps(im.trust_loss) * n_det
        - _steps(im.trust_loss * im.late_factor) * late
    )
    trust = _move_trust(s.trust, steps)
    stage = s.stage + xp.astype(active, s.stage.dtype)
    done = active & (stage >= im.n_stages)
    known = (n_det > 0) | (late > 0)
    below = xp.round(trust / TRUST_UNIT) < _steps(im.collapse_threshold)
    collapse = active & ~done & known & below
    s = s.replace(
        trust=xp.where(active, trust, s.trust),
        hidden=xp.where(active, xp.astype(n_hid, s.hidden.dtype), s.hidden),
    )
    return s, stage, done, collapse


def _settle_claims(sc: Scenario, s: State, claim: Array, honour: Array) -> State:
    """Victims' claims paid from their cover when the guarantor honours them (probability
    kappa). Only a claim on cover that exists can be refused, and only a refusal costs
    credibility."""
    xp = namespace(claim)
    covered = (claim > 0) & (s.cover > 0)
    honoured = covered & (honour < s.credibility[:, None])
    paid = xp.where(honoured, xp.minimum(claim, s.cover), 0.0)
    refused = covered & ~honoured
    n_refused = xp.sum(xp.astype(refused, claim.dtype), axis=1)
    return s.replace(
        refused=s.refused + xp.astype(refused, s.refused.dtype),
        compensation=s.compensation + paid,
        cover=s.cover - paid,
        budget_spent=s.budget_spent + xp.sum(paid, axis=1),
        credibility=xp.maximum(s.credibility - sc.mediator.credibility_loss * n_refused, 0.0),
    )


def shock(sc: Scenario, s: State, u: Array, active: Array) -> State:
    """Exogenous shocks raise a party's power (renormalised) and its BATNA."""
    if sc.implementation.shock_prob == 0.0:
        return s
    xp = namespace(u)
    im = sc.implementation
    hit = active[:, None] & (u < im.shock_prob)
    power = s.power * (1.0 + im.shock_power * xp.astype(hit, u.dtype))
    # renormalised only where a shock hit: dividing by a sum that rounds off 1 would move
    # every other episode's powers by an ulp a step
    struck = xp.any(hit, axis=1)[:, None]
    return s.replace(
        power=xp.where(struck, power / xp.sum(power, axis=1, keepdims=True), s.power),
        batna=xp.where(hit, xp.minimum(s.batna + im.shock_batna, 1.0), s.batna),
        shocks=s.shocks + xp.astype(hit, s.shocks.dtype),
    )


# ----------------------------------------------------------------------------------- step

COMPONENTS = ("value", "temptation", "loss", "sanction", "compensation", "fallback")


def realised(s: State) -> Array:
    """Each party's realised utility so far, from its accounting components."""
    return s.value + s.temptation - s.loss - s.sanction + s.compensation + s.fallback


def components(before: State, after: State) -> dict[str, Array]:
    """Each party's reward of a step split into its accounting components (B, N); the
    reward is value + temptation - loss - sanction + compensation + fallback."""
    return {name: getattr(after, name) - getattr(before, name) for name in COMPONENTS}


def protected(s: State) -> Array:
    """What the agreement, compensation and fallback gave each party, net of losses, without
    defectors' temptation gains and sanctions; lost stages at the capped fallback."""
    return s.value - s.loss + s.compensation + s.fallback_protected


def nash_welfare_norm(s: State, utility: Array) -> Array:
    """Geometric mean of gains ``utility - d`` over the geometric mean of ideal-point gains
    ``1 - d``, with d the BATNAs drawn at reset. Zero when any party ends at or below its
    BATNA; 1 when every party gets its ideal."""
    xp = namespace(s.trust)
    gain = xp.maximum(utility - s.batna0, 0.0)
    ratio = gain / xp.maximum(1.0 - s.batna0, 1e-9)
    return xp.exp(xp.mean(xp.log(xp.maximum(ratio, 1e-30)), axis=1)) * xp.all(gain > 0, axis=1)


def compliance(sc: Scenario, s: State) -> Array:
    """Share of the N * S party-stages complied with; stages never implemented (lost to a
    collapse, or no agreement) count as not complied. With S = 0, 1 for an agreement. An
    agreement still running (a step cap ended the episode) counts only the stages reached."""
    xp, dt = namespace(s.trust), s.trust.dtype
    agreed = xp.astype(s.agreed_round >= 0, dt)
    n_stages = sc.implementation.n_stages
    if n_stages == 0:
        return agreed
    defections = xp.astype(xp.sum(s.detected + s.undetected, axis=1), dt)
    due = xp.astype(xp.where(s.phase == int(Phase.IMPLEMENT), s.stage, n_stages), dt)
    return (sc.n_parties * xp.astype(s.stage, dt) - defections) / xp.maximum(
        sc.n_parties * due, 1.0
    )


def settle(sc: Scenario, s: State, ended: Array) -> tuple[State, Array]:
    """The mediator's objective (:class:`negenv.scenario.Objective`), paid in the step where
    an episode ends; the shells also pay it at truncation, on what was delivered so far.

    An agreement still running at truncation is scored on the stages it reached: the stages
    not reached count at the parties' BATNAs (no gain, no loss), compliance is over the
    stages reached, and monitoring is charged for those stages only. A partly implemented
    agreement therefore scores about (stages reached / S) of a complete one, and a text
    nobody accepts (zero) never beats it.
    """
    xp = namespace(s.trust)
    ob, dt = sc.objective, s.trust.dtype
    agreed = xp.astype(s.agreed_round >= 0, dt)
    n_stages, budget = sc.implementation.n_stages, sc.mediator.budget
    completion = xp.astype(s.stage, dt) / n_stages if n_stages > 0 else agreed
    running = s.phase == int(Phase.IMPLEMENT)
    unreached = xp.where(running, 1.0 - completion, 0.0) if n_stages > 0 else agreed * 0.0
    fair = nash_welfare_norm(s, protected(s) + unreached[:, None] * s.batna0)
    charged = xp.where(running, xp.astype(s.stage, dt), float(n_stages))
    committed = agreed * s.agreed_monitoring * sc.mediator.monitoring_cost * charged
    committed = committed / budget if budget > 0 else committed * 0.0
    score = (
        ob.agreement * agreed
        + ob.durability * completion
        + ob.fairness * fair
        + ob.compliant_fairness * compliance(sc, s) * fair
        - ob.budget * committed
    )
    reward = xp.where(ended, score, 0.0)
    return s.replace(mediator_utility=s.mediator_utility + reward), reward


def step_state(sc: Scenario, s: State, a: Actions, noise: Noise) -> tuple[State, Array, Array]:
    """Advance every episode still running by one step.

    Returns the new state, party rewards (B, N) and mediator rewards (B,). Episodes already
    done are left unchanged with zero reward.
    """
    xp = namespace(s.trust)
    before = realised(s)
    negotiating = s.phase == int(Phase.NEGOTIATE)
    implementing = s.phase == int(Phase.IMPLEMENT)
    running = negotiating | implementing
    s = s.replace(clock=s.clock + xp.astype(running, s.clock.dtype))
    if a.illegal is not None:  # counted for the record; what a masked choice does is the shell's
        bad = xp.astype(a.illegal & running[:, None], s.illegal.dtype)
        s = s.replace(
            illegal=s.illegal + bad[:, :-1], mediator_illegal=s.mediator_illegal + bad[:, -1]
        )
    # a branch runs on the episodes that take it when few do (negenv.rows: same values)
    if needed(negotiating):
        s = rows.branch(negotiating, functools.partial(negotiate, sc), s, a, noise, negotiating)
    if needed(implementing):
        s = rows.branch(implementing, functools.partial(implement, sc), s, a, noise, implementing)
    ended = (negotiating | implementing) & (s.phase == int(Phase.DONE))
    mediator_reward = s.trust * 0.0
    if needed(ended):
        s, mediator_reward = rows.branch(ended, functools.partial(settle, sc), s, ended)
    return s, realised(s) - before, mediator_reward
