"""Action masks and decoding of raw actions into :class:`negenv.core.Actions`.

Both action modes decode to the same absolute actions, so the rules see one format. Masks
mark the parts of an action that the rules read in the current phase; everything else is
ignored. What a masked choice does is the shells' ``illegal_action`` setting
(:data:`ILLEGAL_MODES`): a flagged no-op, an error, or a flagged no-op with a reward penalty.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from negenv.backend import namespace
from negenv.core import Actions, State
from negenv.layout import Layout, Phase
from negenv.scenario import Scenario

Array = Any
ILLEGAL_MODES = ("noop", "raise", "penalty")


def check_illegal_mode(mode: Any, penalty: Any) -> float:
    """Validate the shells' ``illegal_action`` and ``illegal_penalty``; the penalty as a float."""
    if mode not in ILLEGAL_MODES:
        raise ValueError(f"illegal_action = {mode!r} is invalid: must be one of {ILLEGAL_MODES}")
    number = not isinstance(penalty, bool) and isinstance(penalty, (int, float, np.floating))
    if not number or not 0.0 <= float(penalty) < float("inf"):
        raise ValueError(f"illegal_penalty = {penalty!r} is invalid: must be a number >= 0")
    return float(penalty)


def illegal_message(
    who: str, names: tuple[str, ...], nvec: tuple[int, ...], mask: Any, action: Any
) -> str:
    """Which component of one agent's MultiDiscrete ``action`` picks a masked option."""
    mask, action = np.asarray(mask).reshape(-1), np.asarray(action).reshape(-1)
    starts = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    for name, n, start, a in zip(names, nvec, starts, action):
        legal = np.flatnonzero(mask[start : start + n])
        if int(a) not in legal:
            return (
                f"{who} chose option {int(a)} of component {name!r}, which the action "
                f"mask forbids now (legal options: {legal.tolist()}); the env was made with "
                "illegal_action='raise' ('noop' or 'penalty' carry on)"
            )
    return f"{who} chose a masked option (illegal_action='raise')"


def _masked_choice(mask: Array, action: Array, offsets: np.ndarray) -> Array:
    """(B, M) whether any component of M agents' actions (B, M, C) picks a masked option."""
    xp = namespace(mask)
    idx = action + xp.asarray(offsets, device=mask.device)
    # a min over the few components is several times cheaper than all(... == 1) in torch
    return xp.min(xp.take_along_axis(mask, idx, axis=-1), axis=-1) == 0


def _unit(xp: Any, x: Array) -> Array:
    return xp.minimum(xp.maximum(x, 0.0), 1.0)


class ActionCodec:
    """Masks and decoding for one scenario, in either action mode."""

    def __init__(self, sc: Scenario, continuous: bool = False):
        self.sc, self.lay, self.continuous = sc, Layout.of(sc), continuous
        # where each component's options start in a flat action row (plain attributes, so
        # that torch.compile reads constants instead of tracing their computation)
        self.offsets = np.concatenate([[0], np.cumsum(self.lay.party_nvec)[:-1]])
        self.mediator_offsets = np.concatenate([[0], np.cumsum(self.lay.mediator_nvec)[:-1]])

    # ------------------------------------------------------------------------- templates
    def _discrete_party(self, phase: Phase, voting: bool, proposer: bool) -> np.ndarray:
        lay, neg = self.lay, phase == Phase.NEGOTIATE

        def only_first(size: int) -> list[int]:
            return [1] + [0] * (size - 1)

        parts = [
            [1, 1] if neg and voting else [1, 0],
            [1, 1] if phase == Phase.IMPLEMENT else [1, 0],
            [1] * lay.coalition_choices if neg else only_first(lay.coalition_choices),
            ([1, 1, 1] if neg else [0, 1, 0]) * lay.k,
        ]
        if not lay.mediated:
            levels = lay.proposal_levels
            parts.append(([1] * levels if neg and proposer else only_first(levels)) * lay.k)
        return np.concatenate([np.asarray(p, dtype=np.int8) for p in parts])

    def _discrete_mediator(self, phase: Phase) -> np.ndarray:
        lay = self.lay
        if phase == Phase.NEGOTIATE:
            return np.ones(sum(lay.mediator_nvec), dtype=np.int8)
        return np.concatenate([np.eye(1, size, dtype=np.int8)[0] for size in lay.mediator_nvec])

    def _box_party(self, phase: Phase, voting: bool, proposer: bool) -> np.ndarray:
        box, neg = self.lay.party_box, phase == Phase.NEGOTIATE
        m = np.zeros(box.size, dtype=np.int8)
        m[box["vote"]] = neg and voting
        m[box["defect"]] = phase == Phase.IMPLEMENT
        m[box["coalition"]] = neg and self.lay.c > 0
        m[box["demand"]] = neg
        m[box["proposal"]] = neg and proposer
        return m

    @cached_property
    def party_templates(self) -> np.ndarray:
        """(6, A) masks by code: negotiate, negotiate as proposer, implement, done, then the
        two negotiate codes again for round 0 (no vote)."""
        build = self._box_party if self.continuous else self._discrete_party
        neg, imp, done = Phase.NEGOTIATE, Phase.IMPLEMENT, Phase.DONE
        rows = [
            build(neg, True, False),
            build(neg, True, True),
            build(imp, False, False),
            build(done, False, False),
            build(neg, False, False),
            build(neg, False, True),
        ]
        return np.stack(rows)

    @cached_property
    def mediator_templates(self) -> np.ndarray:
        """(2, A) masks: negotiate, otherwise."""
        if self.continuous:
            size = self.lay.mediator_box.size
            return np.stack([np.ones(size, np.int8), np.zeros(size, np.int8)])
        return np.stack(
            [self._discrete_mediator(Phase.NEGOTIATE), self._discrete_mediator(Phase.IMPLEMENT)]
        )

    # ----------------------------------------------------------------------------- masks
    def masks(self, s: State, templates: tuple[Array, Array] | None = None) -> tuple[Array, Array]:
        """Party masks (B, N, A) and mediator masks (B, A') as int8."""
        xp = namespace(s.phase)
        party_t, med_t = (
            templates
            if templates is not None
            else (
                xp.asarray(self.party_templates, device=s.phase.device),
                xp.asarray(self.mediator_templates, device=s.phase.device),
            )
        )
        neg = s.phase == int(Phase.NEGOTIATE)
        code = xp.where(
            neg, xp.where(s.round == 0, 4, 0), xp.where(s.phase == int(Phase.IMPLEMENT), 2, 3)
        )
        party_code = code[:, None] + xp.astype(
            neg[:, None]
            & (xp.arange(self.sc.n_parties, device=s.phase.device) == s.proposer[:, None]),
            code.dtype,
        )
        return xp.take(party_t, party_code), xp.take(med_t, xp.astype(~neg, code.dtype))

    def illegal(self, party: Array, mediator: Array | None, masks: tuple[Array, Array]) -> Array:
        """(B, N+1) flags: an agent chose a masked option (discrete mode; never in Box mode)."""
        xp = namespace(masks[0])
        b, n, _ = masks[0].shape
        none = xp.zeros((b, 1), dtype=xp.bool, device=masks[0].device)
        if self.continuous:
            return xp.zeros((b, n + 1), dtype=xp.bool, device=none.device)
        bad = _masked_choice(masks[0], party, self.offsets)
        if mediator is not None:
            none = _masked_choice(masks[1][:, None], mediator[:, None], self.mediator_offsets)
        return xp.concat([bad, none], axis=1)

    # ---------------------------------------------------------------------------- decode
    def decode(
        self, s: State, party: Array, mediator: Array | None, illegal: Array | None = None
    ) -> Actions:
        """Absolute actions from raw party (B, N, A) and mediator (B, A') actions; ``illegal``
        (B, N+1), the flags of :meth:`illegal`, rides along for the rules to count."""
        if self.continuous:
            return self._decode_box(s, party, mediator, illegal)
        return self._decode_discrete(s, party, mediator, illegal)

    def _decode_discrete(
        self, s: State, party: Array, mediator: Array | None, illegal: Array | None
    ) -> Actions:
        xp, k = namespace(s.proposal), self.lay.k
        dt, top = s.proposal.dtype, self.lay.proposal_levels - 1
        coal = party[..., 2]
        demand = xp.astype(party[..., 3 : 3 + k], dt) - 1.0
        if self.lay.mediated:
            proposal = xp.broadcast_to(s.proposal[:, None, :], demand.shape)
        else:
            proposal = xp.astype(party[..., 3 + k : 3 + 2 * k], dt) / top
        if mediator is None:
            med = (s.proposal, s.guarantee, s.monitoring)
        else:
            target = mediator[:, k]
            onehot = xp.astype(
                target[:, None] - 1 == xp.arange(self.lay.n, device=s.proposal.device), dt
            )
            eta = self.sc.mediator.guarantee_step
            med = (
                xp.astype(mediator[:, :k], dt) / top,
                xp.where(target[:, None] == 0, s.guarantee, (1 - eta) * s.guarantee + eta * onehot),
                xp.astype(mediator[:, k + 1], dt) / (self.lay.monitoring_levels - 1),
            )
        return Actions(
            party[..., 0] == 1,
            party[..., 1] == 1,
            coal - 2,  # KEEP -> -2, LEAVE -> -1, JOIN_0 + c -> c
            demand,
            proposal,
            *med,
            illegal,
        )

    def _decode_box(
        self, s: State, party: Array, mediator: Array | None, illegal: Array | None
    ) -> Actions:
        xp, lay = namespace(s.proposal), self.lay
        box, dt = lay.party_box, s.proposal.dtype
        choices = lay.coalition_choices
        bins = xp.floor(party[..., box["coalition"]][..., 0] * choices)
        coal = xp.astype(xp.minimum(xp.maximum(bins, 0), choices - 1), s.coalition.dtype)
        d = party[..., box["demand"]]
        demand = xp.where(d < -1 / 3, -1.0, xp.where(d > 1 / 3, 1.0, 0.0))
        proposal = _unit(xp, party[..., box["proposal"]])
        if mediator is None:
            med = (s.proposal, s.guarantee, s.monitoring)
        else:
            mb = lay.mediator_box
            w = _unit(xp, mediator[:, mb["guarantee"]])
            med = (
                _unit(xp, mediator[:, mb["proposal"]]),
                w / xp.maximum(xp.sum(w, axis=1, keepdims=True), 1.0),
                _unit(xp, mediator[:, mb["monitoring"]][:, 0]),
            )
        return Actions(
            party[..., 0] >= 0.5,
            party[..., 1] >= 0.5,
            coal - 2,
            xp.astype(demand, dt),
            xp.astype(proposal, dt),
            *(xp.astype(m, dt) for m in med),
            illegal,
        )
