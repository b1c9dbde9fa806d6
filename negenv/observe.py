"""Observations and the global state vector, batch-first, laid out by :mod:`negenv.layout`.

Every feature lies in [-1, 1] by construction: shares and levels are already in [0, 1],
counts are divided by their largest possible value, votes and demands are signed. The few
features that rounding could push past a bound by an ulp are clipped where they are computed
(the worth of the standing text here, coalition-mixed demand signals in the rules), so the
observation space holds in float32 and float64 without a pass over whole observations (which
would cost a tenth of a batched step). A float64 value in [-1, 1] stays there when cast to
float32.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from negenv.backend import namespace
from negenv.core import State, utility, worth
from negenv.layout import Layout, Phase
from negenv.scenario import Scenario

Array = Any


def _public(sc: Scenario, lay: Layout, s: State) -> list[Array]:
    xp, dt = namespace(s.trust), s.trust.dtype
    b, n = s.power.shape
    stages = max(sc.implementation.n_stages, 1)
    budget = sc.mediator.budget
    left = xp.maximum(1.0 - s.budget_spent / budget, 0.0) if budget > 0 else s.trust * 0.0
    # one column per running phase (NEGOTIATE = 0, IMPLEMENT = 1): a comparison with a range
    phase = s.phase[:, None] == xp.arange(int(Phase.DONE), device=s.trust.device)
    parts = [
        s.power,
        xp.astype(phase, dt),
        xp.astype(s.round, dt)[:, None] / sc.max_rounds,
        xp.astype(s.stage, dt)[:, None] / stages,
        s.proposal,
        s.guarantee,
        s.monitoring[:, None],
        s.trust[:, None],
        s.credibility[:, None],
        left[:, None],
        xp.astype(s.votes, dt),
    ]
    if not lay.mediated:
        parts.append(xp.astype(s.proposer[:, None] == xp.arange(n, device=s.trust.device), dt))
    parts += [xp.astype(s.detected, dt) / stages, xp.astype(s.holdout, dt)]
    if lay.c > 0:
        member = xp.astype(s.coalition[..., None] == xp.arange(lay.c, device=s.trust.device), dt)
        parts.append(xp.reshape(member, (b, n * lay.c)))
    return parts


def static_features(sc: Scenario, lay: Layout, s: State) -> tuple[Array, Array]:
    """The parts of the observations fixed at reset: (B, N, D) per party, (B, D') mediator.

    Compute them once per episode and pass them to :func:`observations`.
    """
    xp, dt = namespace(s.trust), s.trust.dtype
    b, n, k = s.ideal.shape
    eye = xp.broadcast_to(xp.eye(n, dtype=dt, device=s.trust.device), (b, n, n))
    party = xp.concat([eye, s.risk[..., None], s.capability[..., None], s.ideal, s.weight], axis=2)
    seen = [
        xp.reshape(s.seen_ideal, (b, n * k)),
        xp.reshape(s.seen_weight, (b, n * k)),
        s.seen_batna,
        s.seen_risk,
    ]
    return party, xp.concat(seen, axis=1)


def observations(
    sc: Scenario,
    lay: Layout,
    s: State,
    static: tuple[Array, Array] | None = None,
    out: Any = None,
) -> tuple[Array, Array | None]:
    """Party observations (B, N, D) and the mediator's (B, D'), or None without a mediator.

    Slices are ``Layout.party_obs`` and ``Layout.mediator_obs``; ``static`` is
    :func:`static_features` of the same episode (computed here when not given). ``out``, a
    function ``(name, shape, dtype) -> array``, gives the arrays to write them into (the
    batched env's recycled buffers; the PettingZoo env's fresh float32 arrays, which spares it
    a concatenation and a cast).
    """
    xp = namespace(s.trust)
    b, n, k = s.ideal.shape
    party_static, mediator_static = static if static is not None else static_features(sc, lay, s)
    public = xp.concat(_public(sc, lay, s), axis=1)
    u = utility(sc, s.ideal, s.weight, s.capability, s.proposal)
    own = _clip(xp.stack([s.power, s.batna, worth(sc, u, s.batna, s.round)], axis=2))
    # party i's view of the demand signals: every row, or its own row only (one-hot self)
    private = lay.mediated and sc.mediator.private_channels
    demands = None if private else xp.reshape(s.demands, (b, 1, n * k))
    parts = [party_static, own, public[:, None, :], demands]
    context = _context(sc, s) if lay.context else None
    if context is not None:
        parts.append(context[:, None, :])
    width = sum(n * k if p is None else p.shape[-1] for p in parts)
    buffer = out("party", (b, n, width), public.dtype) if out is not None else None
    if buffer is not None:
        party = _write(parts, s.demands, buffer)
    else:
        if private:
            eye = party_static[:, :, :n]
            parts[3] = xp.reshape(s.demands[:, None, :, :] * eye[..., None], (b, n, n * k))
        party = xp.concat([xp.broadcast_to(p, (b, n, p.shape[-1])) for p in parts], axis=2)
    if not lay.mediated:
        return party, None
    med = [public, xp.reshape(s.demands, (b, n * k)), mediator_static]
    if context is not None:
        med.append(context)
    shape = (b, sum(m.shape[1] for m in med))
    buffer = out("mediator", shape, public.dtype) if out is not None else None
    return party, xp.concat(med, axis=1, out=buffer) if buffer is not None else xp.concat(med, 1)


def _write(parts: list[Array | None], demands: Array, out: Array) -> Array:
    """The party observations written part by part into ``out`` (numpy or torch): a slice
    copy per part broadcasts the shared ones without building (B, N, ...) copies first (and
    casts to ``out``'s dtype as it goes). ``None`` stands for the private-channel demand
    block: zeros but for each party's own row."""
    b, n, k = demands.shape
    start = 0
    for part in parts:
        width = n * k if part is None else part.shape[-1]
        block = out[..., start : start + width]
        if part is None and isinstance(out, np.ndarray):
            block[...] = 0.0  # a slice of the last axis: reshaping it would copy
            out[(slice(None), *_own_rows(n, k, start))] = demands
        elif part is None:
            rows = block.unflatten(-1, (n, k))  # (B, N viewer, N row, K)
            rows.zero_()
            rows.diagonal(dim1=1, dim2=2).copy_(demands.transpose(1, 2))
        elif isinstance(out, np.ndarray):
            block[...] = part
        else:
            block.copy_(part)
        start += width
    return out


@functools.cache
def _own_rows(n: int, k: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """(viewer, column) indices of each party's own demand row in a party observation whose
    demand block starts at ``start``: built once per layout, not at every step."""
    own = np.arange(n)[:, None]
    cols = start + own * k + np.arange(k)
    own.setflags(write=False)  # shared by every call with this layout
    cols.setflags(write=False)
    return own, cols


def _clip(x: Array) -> Array:
    return namespace(x).clip(x, -1.0, 1.0)


def context_features(sc: Scenario) -> list[float]:
    """The scenario-context slice: constants of the rules, each scaled into [0, 1]."""
    im, med = sc.implementation, sc.mediator
    rule = ("unanimity", "qualified_majority", "majority").index(sc.decision_rule)
    raw = [
        sc.discount,
        sc.max_rounds / 100,
        im.n_stages / 16,
        sc.quota,
        rule / 2,
        float(sc.mediated),
        im.temptation,
        im.leverage / 2,
        im.victim_loss,
        im.sanction * 10,
        im.sanction_rate / 4,
        med.monitoring_cost * 10,
        med.budget,
        im.collapse_threshold,
        im.shock_prob,
        sc.n_parties / 64,
    ]
    return [min(max(float(v), 0.0), 1.0) for v in raw]


def _context(sc: Scenario, s: State) -> Array:
    xp = namespace(s.trust)
    row = xp.asarray(context_features(sc), dtype=s.trust.dtype, device=s.trust.device)
    return xp.zeros_like(s.trust)[:, None] + row


def global_state(sc: Scenario, lay: Layout, s: State) -> Array:
    """(B, D) everything a centralised critic may use: public facts, every private type,
    current power and BATNA, signals, the agreement and what is left of its guarantees."""
    xp, dt = namespace(s.trust), s.trust.dtype
    b, n, k = s.ideal.shape
    budget = max(sc.mediator.budget, 1e-9)
    per_party = [s.power0, s.batna0, s.batna, s.risk, s.capability, s.stage_value]
    per_party += [s.stage_concession, s.pending, s.cover / budget]
    per_issue = [xp.reshape(a, (b, n * k)) for a in (s.ideal, s.weight, s.demands)]
    tail = [s.agreement, xp.astype(s.hidden, dt)[:, None] / n]
    return _clip(xp.concat(_public(sc, lay, s) + per_party + per_issue + tail, axis=1))
