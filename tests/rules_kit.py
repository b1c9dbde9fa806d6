"""Hand-built situations for rule tests: fixed types, explicit actions and explicit noise."""

from __future__ import annotations

import numpy as np

from negenv import core
from negenv.layout import Phase
from negenv.randomness import Noise, sample_types
from negenv.scenario import Scenario, from_dict


def scenario(**fields) -> Scenario:
    """A small fixed-type scenario (2 parties, 1 issue, ideals 0.2 and 0.8) with overrides."""
    base = {
        "n_parties": 2,
        "n_issues": 1,
        "protocol": "mediated",
        "decision_rule": "unanimity",
        "discount": 1.0,
        "initial_proposal": 0.5,
        "max_rounds": 10,
        "types": {
            "power": {"kind": "fixed", "values": [0.5, 0.5]},
            "ideals": [[0.2], [0.8]],
            "weights": [[1.0], [1.0]],
            "batna_base": 0.3,
            "batna_slope": 0.0,
            "risk_base": 0.2,
            "risk_slope": 0.0,
            "batna_noise": 0.0,
            "risk_noise": 0.0,
        },
        "ratification": {"enabled": False},
        "implementation": {
            "n_stages": 2,
            "temptation": 0.3,
            "victim_loss": 0.5,
            "sanction": 0.02,
            "sanction_rate": 2.0,
            "trust_loss": 0.15,
            "late_factor": 2.0,
            "trust_recovery": 0.05,
            "collapse_threshold": 0.5,
            "relapse_cost": 0.1,
            "holdout_temptation": 0.0,
        },
        "mediator": {
            "budget": 1.0,
            "monitoring_cost": 0.1,
            "credibility": [0.9, 0.9],
            "credibility_loss": 0.1,
            "information": "exact",
        },
    }
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return from_dict(base)


def start(sc: Scenario, round_: int = 1) -> core.State:
    """Round ``round_`` of negotiation (default 1: round 0 has no vote)."""
    key = np.zeros(1, dtype=np.int64)
    return core.reset_state(sc, key, sample_types(sc, key)).replace(round=np.array([round_]))


def implementing(
    sc: Scenario, x: float = 0.5, cover=(0.3, 0.3), monitoring: float = 1.0, trust: float = 1.0
) -> core.State:
    """A state in stage 0 of an agreement x (entered at round 0) with given cover."""
    s = start(sc, 0)
    u = core.utility(sc, s.ideal, s.weight, s.capability, np.full((1, sc.n_issues), x))
    stages = sc.implementation.n_stages
    return s.replace(
        phase=np.array([int(Phase.IMPLEMENT)]),
        agreed_round=np.array([0]),
        agreement=np.full((1, sc.n_issues), x),
        proposal=np.full((1, sc.n_issues), x),
        cover=np.array([cover], dtype=float),
        agreed_monitoring=np.array([monitoring]),
        stage_value=core.worth(sc, u, s.batna, s.round) / stages,
        stage_concession=(1.0 - u) / stages,
        trust=np.array([trust]),
    )


def actions(
    sc: Scenario,
    s: core.State,
    vote=None,
    defect=None,
    coalition=None,
    demand=None,
    proposal=None,
    med_proposal=None,
    med_guarantee=None,
    med_monitoring=None,
):
    n, k = sc.n_parties, sc.n_issues
    return core.Actions(
        vote=np.array([vote if vote is not None else [0] * n], dtype=bool),
        defect=np.array([defect if defect is not None else [0] * n], dtype=bool),
        coalition=np.array([coalition if coalition is not None else [-2] * n]),
        demand=np.array([demand if demand is not None else [[0.0] * k] * n], dtype=float),
        proposal=np.array([proposal if proposal is not None else [[0.5] * k] * n], dtype=float),
        med_proposal=(
            np.array([med_proposal], dtype=float) if med_proposal is not None else s.proposal
        ),
        med_guarantee=(
            np.array([med_guarantee], dtype=float) if med_guarantee is not None else s.guarantee
        ),
        med_monitoring=(
            np.array([med_monitoring], dtype=float) if med_monitoring is not None else s.monitoring
        ),
    )


def noise(n: int, ratify=0.0, detect=0.0, honour=0.0, shock=1.0, recognise=0.0) -> Noise:
    """Explicit noise; the defaults ratify, detect and honour everything, and shock nobody."""

    def row(v):
        return np.array([v if np.ndim(v) else [v] * n], dtype=float)

    return Noise(row(ratify), row(detect), row(honour), row(shock), np.array([recognise]))
