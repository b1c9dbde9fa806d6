"""Outcome records: the one interface between running episodes and judging them.

A record is a dict of numpy arrays with a leading batch dimension (docs/model.md section 7).
:func:`unbatch` turns element b into a record of one episode, as the PettingZoo env hands
out. Metrics read records only, never an env.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negenv.core import State, realised
from negenv.layout import Status
from negenv.scenario import Scenario

STATUS_NAMES = tuple(s.name.lower() for s in Status)

FIELDS = {
    "status": "completed, collapsed, breakdown, or truncated (a step cap ended the episode)",
    "agreed_round": "round at which the text entered into force, -1 if none",
    "rounds": "negotiation rounds played",
    "steps": "steps the episode lasted (every live agent acts at each)",
    "agreement": "(K,) the text in force (zeros if none)",
    "utility": "(N,) realised utility: the sum of the party's rewards",
    "gain": "(N,) realised utility minus the BATNA drawn at reset",
    "mediator_utility": "the mediator's objective (sum of its rewards)",
    "stages_completed": "implementation stages delivered",
    "n_stages": "stages the agreement had (S)",
    "defections_detected": "(N,) defections detected by monitoring",
    "defections_undetected": "(N,) defections not detected",
    "guarantees_paid": "(N,) compensation received from guarantees",
    "claims_refused": "(N,) claims on existing guarantee cover that the guarantor refused",
    "sanctions": "(N,) sanctions paid",
    "temptation": "(N,) gains from defecting",
    "loss": "(N,) stage value lost to others' defections",
    "budget_spent": "monitoring and guarantee payments",
    "ratification_failures": "texts passed but not ratified",
    "coalition": "(N,) coalition at the end, -1 for none",
    "holdout": "(N,) outvoted on the text in force",
    "overridden": "(N,) its audience rejected the text in force (entered into force anyway)",
    "illegal_actions": "(N,) steps on which the party chose an option its action mask forbade",
    "mediator_illegal_actions": "steps on which the mediator chose a masked option",
    "voice": "(N,) issue-rounds in which the text moved as the party asked",
    "shocks": "(N,) shocks suffered",
    "first_violation": "stage (1-based) of the first defection, -1 if none",
    "guarantee": "(N,) guarantee shares of the pool in the text in force (zeros if none)",
    "monitoring": "monitoring level of the text in force (0 if none)",
    "trust": "public trust at the end",
    "credibility": "mediator credibility at the end",
    "credibility_initial": "mediator credibility kappa_0 drawn at reset",
    "power": "(N,) power drawn at reset",
    "ideal": "(N, K) ideal points",
    "weight": "(N, K) issue weights",
    "batna": "(N,) BATNA drawn at reset",
    "risk": "(N,) perceived risk",
    "capability": "(N,) capability",
}


def outcome_batch(sc: Scenario, s: State, truncated: Any = None) -> dict[str, np.ndarray]:
    """Records of B episodes (numpy arrays, whatever namespace the state lives in)."""

    def np_(a: Any) -> np.ndarray:
        return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)

    status = np_(s.status).astype(np.int64)
    if truncated is not None:
        status = np.where(np_(truncated) & (status == Status.RUNNING), Status.TRUNCATED, status)
    names = np.asarray(STATUS_NAMES)[status]
    utility = np_(realised(s))
    return {
        "status": names,
        "agreed_round": np_(s.agreed_round),
        "rounds": np_(s.round),
        "steps": np_(s.clock),
        "agreement": np.where(np_(s.agreed_round)[:, None] >= 0, np_(s.agreement), 0.0),
        "utility": utility,
        "gain": utility - np_(s.batna0),
        "mediator_utility": np_(s.mediator_utility),
        "stages_completed": np_(s.stage),
        "n_stages": np.full(status.shape, sc.implementation.n_stages),
        "defections_detected": np_(s.detected),
        "defections_undetected": np_(s.undetected),
        "guarantees_paid": np_(s.compensation),
        "claims_refused": np_(s.refused),
        "sanctions": np_(s.sanction),
        "temptation": np_(s.temptation),
        "loss": np_(s.loss),
        "budget_spent": np_(s.budget_spent),
        "ratification_failures": np_(s.ratification_failures),
        "coalition": np_(s.coalition),
        "holdout": np_(s.holdout),
        "overridden": np_(s.overridden),
        "illegal_actions": np_(s.illegal),
        "mediator_illegal_actions": np_(s.mediator_illegal),
        "voice": np_(s.voice),
        "shocks": np_(s.shocks),
        "first_violation": np_(s.first_violation),
        "guarantee": np.where(np_(s.agreed_round)[:, None] >= 0, np_(s.guarantee), 0.0),
        "monitoring": np.where(np_(s.agreed_round) >= 0, np_(s.agreed_monitoring), 0.0),
        "trust": np_(s.trust),
        "credibility": np_(s.credibility),
        "credibility_initial": np_(s.credibility0),
        "power": np_(s.power0),
        "ideal": np_(s.ideal),
        "weight": np_(s.weight),
        "batna": np_(s.batna0),
        "risk": np_(s.risk),
        "capability": np_(s.capability),
    }


def unbatch(records: dict[str, np.ndarray], b: int, scenario_name: str) -> dict[str, Any]:
    """The record of episode b: scalars as Python numbers, vectors as arrays."""
    one: dict[str, Any] = {"scenario": scenario_name}
    for key, value in records.items():
        v = value[b]
        one[key] = v.item() if np.ndim(v) == 0 else v
    return one
