"""Metrics of docs/model.md section 7, computed from outcome records only (never from an env).

Records are a dict of numpy arrays with a leading episode dimension (``outcome_batch``, or
:func:`stack` of the PettingZoo env's records). :func:`episode_metrics` gives one row of
numbers per episode (tidy, ready for bootstrap CIs); :func:`summary` aggregates them by
family, with the Kaplan-Meier survival of agreements over stages. Formulas follow
``reference/metrics.md``; gains are realised utility minus the BATNA drawn at reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negenv.scenario import Scenario
from negenv.solutions import solve_batch

Records = dict[str, np.ndarray]


class RecordsError(ValueError):
    """Outcome records that cannot be judged together."""


def stack(records: list[dict[str, Any]], allow_mixed: bool = False) -> Records:
    """Stack the PettingZoo env's per-episode records into one batch of records."""
    if not records:
        raise RecordsError("no outcome records given: need at least one episode")
    names = {r.get("scenario") for r in records}
    if len(names) > 1 and not allow_mixed:
        raise RecordsError(
            f"records mix scenarios {sorted(map(str, names))}; judge each "
            "scenario apart or pass allow_mixed=True"
        )
    keys = [k for k in records[0] if k != "scenario"]
    out = {k: np.stack([np.asarray(r[k]) for r in records]) for k in keys}
    out["scenario"] = np.asarray([r.get("scenario", "") for r in records])
    return out


# ------------------------------------------------------------------------- distributions


def gini(x: np.ndarray) -> np.ndarray:
    """Gini coefficient over the last axis: sum_ij |x_i - x_j| / (2 N sum_i x_i); 0 if all 0."""
    x = np.asarray(x, float)
    n, total = x.shape[-1], x.sum(axis=-1)
    diff = np.abs(x[..., :, None] - x[..., None, :]).sum(axis=(-1, -2))
    return np.where(total > 0, diff / (2 * n * np.where(total > 0, total, 1.0)), 0.0)


def jain(x: np.ndarray) -> np.ndarray:
    """Jain's index over the last axis: (sum x)^2 / (N sum x^2), in [1/N, 1]; 1 if all 0."""
    x = np.asarray(x, float)
    sq = (x**2).sum(axis=-1)
    return np.where(sq > 0, x.sum(axis=-1) ** 2 / (x.shape[-1] * np.where(sq > 0, sq, 1.0)), 1.0)


# ---------------------------------------------------------------------------- survival


def kaplan_meier(durations: np.ndarray, events: np.ndarray, horizon: int) -> np.ndarray:
    """Survival S(t) for t = 0..horizon over integer durations, events False = censored.

    ``S(t) = prod_{k <= t} (1 - e_k / n_k)`` with e_k events at k and n_k at risk at k.
    """
    durations, events = np.asarray(durations), np.asarray(events, bool)
    surv, s = [1.0], 1.0
    for t in range(1, horizon + 1):
        at_risk = np.sum(durations >= t)
        ended = np.sum((durations == t) & events)
        s *= 1.0 - ended / at_risk if at_risk else 1.0
        surv.append(s)
    return np.asarray(surv)


def greenwood_band(
    durations: np.ndarray, events: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise 95% band of :func:`kaplan_meier` by Greenwood's variance,
    ``Var S(t) = S(t)**2 sum_{k <= t} e_k / (n_k (n_k - e_k))``, clipped to [0, 1]."""
    durations, events = np.asarray(durations), np.asarray(events, bool)
    surv = kaplan_meier(durations, events, horizon)
    acc, terms = 0.0, [0.0]
    for t in range(1, horizon + 1):
        n, e = np.sum(durations >= t), np.sum((durations == t) & events)
        acc += e / (n * (n - e)) if n > e else 0.0
        terms.append(acc)
    half = 1.96 * surv * np.sqrt(np.asarray(terms))
    return np.clip(surv - half, 0.0, 1.0), np.clip(surv + half, 0.0, 1.0)


def rmst(survival: np.ndarray, tau: int | None = None) -> float:
    """Restricted mean survival time: the area under the step curve S on [0, tau]."""
    tau = len(survival) - 1 if tau is None else tau
    return float(np.sum(survival[:tau]))


def hazard(durations: np.ndarray, events: np.ndarray, horizon: int) -> np.ndarray:
    """Discrete-time hazard h_t = e_t / n_t for t = 1..horizon (NaN where nobody is at risk)."""
    durations, events = np.asarray(durations), np.asarray(events, bool)
    out = []
    for t in range(1, horizon + 1):
        at_risk = np.sum(durations >= t)
        out.append(np.sum((durations == t) & events) / at_risk if at_risk else np.nan)
    return np.asarray(out)


def durations(records: Records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agreements in force: (mask of episodes, stages survived, collapsed?).

    A collapse is an event at the stage it happened; completed and truncated agreements are
    right-censored at the stages they reached.
    """
    agreed = (records["agreed_round"] >= 0) & (records["n_stages"] > 0)
    return agreed, records["stages_completed"][agreed], (records["status"] == "collapsed")[agreed]


# ---------------------------------------------------------------------------- per episode


def _geo_mean(x: np.ndarray) -> np.ndarray:
    pos = np.all(x > 0, axis=-1)
    return np.where(pos, np.exp(np.mean(np.log(np.where(x > 0, x, 1.0)), axis=-1)), 0.0)


def _spread(v: np.ndarray) -> np.ndarray:
    """max - min over the last axis ignoring NaN; NaN where a row has no value."""
    fin = np.isfinite(v)
    hi = np.where(fin, v, -np.inf).max(axis=-1)
    lo = np.where(fin, v, np.inf).min(axis=-1)
    return np.where(fin.any(axis=-1), hi - lo, np.nan)


def _rms_distance(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((u - v) ** 2, axis=-1))


def episode_metrics(
    records: Records, scenario: Scenario, solutions: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """One value per episode for every metric (NaN where it does not apply)."""
    sol = solutions if solutions is not None else solve_batch(records, scenario.burden_issue)
    n = scenario.n_parties
    u, d = records["utility"], records["batna"]
    gain = u - d
    pos = np.maximum(gain, 0.0)
    agreed = records["agreed_round"] >= 0
    stages = np.maximum(records["n_stages"], 1)
    nbs_gain = sol["nbs"] - d
    ideal_gain = sol["ideal_gain"]
    norm = pos / np.where(ideal_gain > 0, ideal_gain, np.nan)
    share = pos / np.where(pos.sum(axis=1, keepdims=True) > 0, pos.sum(axis=1, keepdims=True), 1)
    weakest = np.argmin(records["power"], axis=1)
    defections = (records["defections_detected"] + records["defections_undetected"]).sum(axis=1)
    done_stages = records["stages_completed"]
    sym, powd = _rms_distance(u, sol["nbs"]), _rms_distance(u, sol["nbs_power"])
    out = {
        "mediator_objective": records["mediator_utility"].astype(float),
        "agreed": agreed.astype(float),
        "rounds_to_agreement": np.where(agreed, records["agreed_round"], np.nan),
        "ratification_failures": records["ratification_failures"].astype(float),
        "utilitarian_gain": gain.sum(axis=1),
        "pareto_gap": sol["pareto_gap"],
        "nash_welfare_ratio": _geo_mean(pos)
        / np.where(_geo_mean(nbs_gain) > 0, _geo_mean(nbs_gain), np.nan),
        "distance_nbs": sym,
        "distance_nbs_power": powd,
        "power_transmission": sym - powd,
        "ks_deviation": _spread(norm),
        "gini_gain": gini(pos),
        "jain_gain": jain(pos),
        "worst_off_gain": gain.min(axis=1),
        "weakest_share": share[np.arange(len(u)), weakest],
        "ir_violations": (gain < -1e-9).mean(axis=1),
        "stage_completion": np.where(agreed, done_stages / stages, np.nan),
        "collapsed": np.where(agreed, records["status"] == "collapsed", np.nan),
        "compliance_rate": np.where(
            agreed & (done_stages > 0), 1 - defections / (n * np.maximum(done_stages, 1)), np.nan
        ),
        "first_violation": np.where(
            records["first_violation"] > 0, records["first_violation"], np.nan
        ),
        "holdout_rate": np.where(agreed, records["holdout"].mean(axis=1), np.nan),
        # an agreement in force over at least one audience that rejected it
        "imposed": np.where(agreed, records["overridden"].any(axis=1), np.nan),
        "voice": records["voice"].sum(axis=1)
        / (n * np.maximum(records["rounds"], 1) * scenario.n_issues),
        "weakest_guarantee": np.where(
            agreed, records["guarantee"][np.arange(len(u)), weakest], np.nan
        ),
    }
    if "illegal_actions" in records:  # records written before the field have no counts
        steps = np.maximum(records["steps"], 1)
        out["party_illegal_rate"] = records["illegal_actions"].sum(axis=1) / (n * steps)
        if scenario.mediated:
            out["mediator_illegal_rate"] = records["mediator_illegal_actions"] / steps
    if "answer_failures" in records:  # policies that answer in text (agents.llm)
        steps = np.maximum(records["steps"], 1)
        out["party_answer_failure_rate"] = records["answer_failures"].sum(axis=1) / (n * steps)
        every = records["answer_failures"].sum(axis=1)
        if "mediator_answer_failures" in records:
            out["mediator_answer_failure_rate"] = records["mediator_answer_failures"] / steps
            every = every + records["mediator_answer_failures"]
        agents = n + int("mediator_answer_failures" in records)
        out["answer_failure_rate"] = every / (agents * steps)
    margin = enforcement_margin(records, scenario)
    out["self_enforcing_share"] = np.where(agreed, (margin >= 0).mean(axis=1), np.nan)
    out["min_enforcement_margin"] = np.where(agreed, margin.min(axis=1), np.nan)
    if scenario.burden_issue:
        xb, cap = records["agreement"][:, -1:], records["capability"]
        burden = (1 - xb) / n + xb * cap
        out["burden_proportionality"] = np.where(
            agreed, 1 - 0.5 * np.abs(burden - cap).sum(1), np.nan
        )
    return out


def enforcement_margin(records: Records, scenario: Scenario) -> np.ndarray:
    """(B, N) self-enforcement margin of each party at the first stage of the text in force.

    What complying is worth over a one-stage deviation, the others complying and the deviator
    complying afterwards (>= 0: complying is a best reply)::

        m * (sanction + sanction_rate * gain) + E[value lost to a collapse it causes] - gain

    The gain is the claw-back ``lambda delta**t (1 - u) / S`` with
    ``lambda = min(1, gamma (N p)**leverage (1 + holdout bonus))``. Trust starts at
    ``trust_initial - trust_cost * ratification failures``. A detected deviation (probability
    m) costs ``trust_loss`` at once and collapses the agreement if trust falls below the
    threshold; an undetected one becomes known a stage later and costs
    ``late_factor * trust_loss`` after that stage's recovery. A collapse after stage k costs
    the remaining stage values net of the relapse, ``(S - k) (W - d + relapse_cost) / S``.
    Powers and BATNAs are those drawn at reset (shocks raise temptations later). NaN where
    there is no agreement or no stage.
    """
    from negenv.batch_solutions import Types

    im, n, stages = scenario.implementation, scenario.n_parties, scenario.implementation.n_stages
    if stages == 0:
        return np.full(records["power"].shape, np.nan)
    m = records["monitoring"][:, None]
    lever = (n * records["power"]) ** im.leverage * (1 + im.holdout_temptation * records["holdout"])
    fields = ("ideal", "weight", "batna", "power", "capability")
    u = Types(*(records[f] for f in fields), scenario.burden_issue).utility(records["agreement"])
    discount = scenario.discount ** np.maximum(records["agreed_round"], 0)[:, None]
    d = records["batna"]
    gain = np.minimum(im.temptation * lever, 1.0) * discount * (1.0 - u) / stages
    value = (d + discount * (u - d)) / stages
    lost = [(stages - k) * (value - (d - im.relapse_cost) / stages) for k in (1, 2)]
    trust = np.maximum(
        im.trust_initial - scenario.ratification.trust_cost * records["ratification_failures"], 0
    )[:, None]
    theta, loss, rec = im.collapse_threshold, im.trust_loss, im.trust_recovery
    caught = (stages > 1) & (np.maximum(trust - loss, 0.0) < theta)
    late = np.clip(trust - im.late_factor * loss + rec, 0.0, 1.0) < theta
    future = m * caught * lost[0] + (1 - m) * ((stages > 2) & late) * lost[1]
    margin = m * (im.sanction + im.sanction_rate * gain) + future - gain
    return np.where(records["agreed_round"][:, None] >= 0, margin, np.nan)


# ------------------------------------------------------------------------------- summary

FAMILIES = {
    "objective": ("mediator_objective",),
    "agreement": ("agreed", "rounds_to_agreement", "ratification_failures"),
    "efficiency": ("utilitarian_gain", "pareto_gap"),
    "fairness": (
        "nash_welfare_ratio",
        "distance_nbs",
        "distance_nbs_power",
        "power_transmission",
        "ks_deviation",
        "gini_gain",
        "jain_gain",
        "worst_off_gain",
        "weakest_share",
        "ir_violations",
        "burden_proportionality",
    ),
    "durability": (
        "stage_completion",
        "collapsed",
        "compliance_rate",
        "first_violation",
        "self_enforcing_share",
        "min_enforcement_margin",
    ),
    "procedure": ("holdout_rate", "imposed", "voice", "weakest_guarantee"),
    # agent-steps on which a masked option was chosen (what the env then did is its
    # ``illegal_action`` setting): a policy that ignores the masks shows here
    "legality": ("mediator_illegal_rate", "party_illegal_rate"),
    # agent-steps whose text answer could not be used and fell back to the default
    # (language-model policies; defined only for records of such runs)
    "answers": (
        "answer_failure_rate",
        "mediator_answer_failure_rate",
        "party_answer_failure_rate",
    ),
}


def power_bias(records: Records) -> float:
    """Slope of a party's share of the positive gains on its power, over agreed episodes."""
    agreed = records["agreed_round"] >= 0
    pos = np.maximum(records["utility"] - records["batna"], 0.0)[agreed]
    total = pos.sum(axis=1, keepdims=True)
    keep = total[:, 0] > 0
    if keep.sum() < 2:
        return float("nan")
    share = (pos[keep] / total[keep]).ravel()
    return float(np.polyfit(records["power"][agreed][keep].ravel(), share, 1)[0])


def summary(
    records: Records, scenario: Scenario, solutions: dict[str, np.ndarray] | None = None
) -> dict[str, Any]:
    """Means of every per-episode metric by family, plus survival, RMST and hazard."""
    if len(records["status"]) == 0:
        raise RecordsError("no outcome records given: need at least one episode")
    rows = episode_metrics(records, scenario, solutions)
    out: dict[str, Any] = {
        family: {
            m: float(np.nanmean(rows[m])) if np.isfinite(rows[m]).any() else float("nan")
            for m in metrics
            if m in rows
        }
        for family, metrics in FAMILIES.items()
        if any(m in rows for m in metrics)  # "answers" only for text-answering policies
    }
    out["fairness"]["power_bias"] = power_bias(records)
    curve = survival(records, scenario)
    if curve is not None:
        out["durability"] |= curve
        agreed, dur, event = durations(records)
        shocked = records["shocks"].sum(axis=1)[agreed] > 0
        if shocked.any():
            s = scenario.implementation.n_stages
            out["durability"]["rmst_shocked"] = rmst(kaplan_meier(dur[shocked], event[shocked], s))
    return out


def survival(records: Records, scenario: Scenario) -> dict[str, Any] | None:
    """Kaplan-Meier survival of the agreements over stages (collapse is the event; completed
    ones are censored at S) with its Greenwood 95% band, its restricted mean and the
    per-stage hazard (None where nobody is at risk); None without stages or agreements."""
    horizon = scenario.implementation.n_stages
    _, dur, event = durations(records)
    if horizon == 0 or not len(dur):
        return None
    curve = kaplan_meier(dur, event, horizon)
    low, high = greenwood_band(dur, event, horizon)
    return {
        "agreements": int(len(dur)),
        "survival": curve.tolist(),
        "low": low.tolist(),
        "high": high.tolist(),
        "rmst": rmst(curve),
        "hazard": [None if np.isnan(h) else float(h) for h in hazard(dur, event, horizon)],
    }
