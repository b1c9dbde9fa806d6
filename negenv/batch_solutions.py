"""The reference solutions of many episodes at once, by the batched interior point of
:mod:`negenv.ipm`; :class:`negenv.solutions.Problem` (scipy, one episode at a time) is the
reference implementation it is tested against and the fallback for the rare program the
batched method does not bring under tolerance.

Utilities are affine in ``(x, t)``: ``u_i = c_i + ux_i.x - w_i.t_i`` with ``t_ij = |x_j -
y_ij|`` on the distance-measured issues (all issues, or all but the burden issue, whose cost
is linear in x). The order of work: egalitarian (it decides whether the bargaining set has an
interior), then on the episodes where it does, each party's ideal point, the utilitarian
solution and both Nash solutions in one batch, then Kalai-Smorodinsky and the Pareto gaps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from negenv import ipm
from negenv.core import text_utility
from negenv.solutions import SOLUTIONS, Problem

EPS = 1e-9  # a bargaining set whose best max-min gain is below this has no interior


class Types:
    """Types of B episodes (numpy float64) and the affine form of their utilities."""

    def __init__(self, ideal, weight, batna, power, capability, burden: bool):
        f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        self.ideal, self.weight, self.batna = f(ideal), f(weight), f(batna)
        self.power, self.capability, self.burden = f(power), f(capability), burden
        bsz, n, k = self.ideal.shape
        p = k - 1 if burden else k
        self.c, self.ux = np.ones((bsz, n)), np.zeros((bsz, n, k))
        if burden:  # cost_i(x) = ((1 - x)/N + x c_i) / max(1/N, c_i)
            scale = np.maximum(1.0 / n, self.capability)
            self.c = self.c - self.weight[..., -1] * (1.0 / n) / scale
            self.ux[..., -1] = -self.weight[..., -1] * (self.capability - 1.0 / n) / scale
        self.w, self.y = self.weight[..., :p], self.ideal[..., :p]

    def __len__(self) -> int:
        return len(self.batna)

    def take(self, idx: np.ndarray) -> Types:
        return Types(
            *(a[idx] for a in (self.ideal, self.weight, self.batna, self.power, self.capability)),
            self.burden,
        )

    def utility(self, x: np.ndarray) -> np.ndarray:
        """(B, N) utilities of texts x (B, K), by the rules."""
        return text_utility(self.ideal, self.weight, self.capability, x, self.burden)

    def solve(self, reps: int, **fields: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Solve ``reps`` programs per episode (episode-major) with its rows, fields given by
        program: (texts clipped to [0, 1], lam or None, converged)."""
        rep = lambda a: np.repeat(a, reps, axis=0)  # noqa: E731
        bsz, n, k = self.ideal.shape
        base = {
            "y": rep(self.y),
            "a": rep(-self.ux),
            "b": rep(self.w),
            "cx": np.zeros((bsz * reps, k)),
            "ct": np.zeros((bsz * reps, *self.w.shape[1:])),
        }
        pr = ipm.Programs(**{k: torch.from_numpy(v) for k, v in (base | fields).items()})
        sol = ipm.solve(pr)
        lam = sol.lam.numpy() if sol.lam is not None else None
        return np.clip(sol.x.numpy(), 0.0, 1.0), lam, sol.converged.numpy()


def _max_min(ty: Types, scale: np.ndarray, reference: np.ndarray):
    """max lam s.t. u_i - reference_i >= lam scale_i: (texts, lam, converged)."""
    return ty.solve(1, s=scale, h=ty.c - reference, cl=-np.ones(len(ty)))


def texts(ty: Types, name: str) -> np.ndarray:
    """(B, K) texts of one solution: ``"egalitarian"``, ``"nbs"`` or ``"nbs_power"``; NaN
    where the bargaining set has no interior (what a mediator aims at)."""
    if name not in ("egalitarian", "nbs", "nbs_power"):
        raise ValueError(f"solution = {name!r} is invalid: egalitarian, nbs or nbs_power")
    bsz, n, k = ty.ideal.shape
    x, lam, ok = _max_min(ty, np.ones((bsz, n)), ty.batna)
    inner = np.flatnonzero(ok & (lam > EPS))
    bad = list(np.flatnonzero(~ok))
    out = np.full((bsz, k), np.nan)
    if name == "egalitarian":
        out[inner] = x[inner]
    else:
        sub = ty.take(inner)
        alpha = np.full((len(sub), n), 1.0 / n) if name == "nbs" else sub.power
        found, _, conv = sub.solve(1, h=sub.c - sub.batna, tau=alpha)
        out[inner] = found
        bad += list(inner[~conv])
    for b in bad:  # the scipy reference, for stragglers
        prob = _problem(ty, b)
        if name == "egalitarian":
            out[b] = prob.egalitarian()[0]
        else:
            out[b] = prob.nash(prob.power if name == "nbs_power" else None)[0]
    return out


def _problem(ty: Types, b: int) -> Problem:
    return Problem(ty.ideal[b], ty.weight[b], ty.batna[b], ty.power[b], ty.capability[b], ty.burden)


def _central(ty: Types) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each party's ideal point, the utilitarian and both Nash solutions: N + 3 programs per
    episode over the bargaining set. Returns texts (B, N + 3, K) in that order, the ideal
    gains (B, N) and whether all of an episode's programs converged (B,)."""
    bsz, n, k = ty.ideal.shape
    p, reps, party = ty.w.shape[2], n + 3, np.arange(n)
    ct, cx = np.zeros((bsz, reps, n, p)), np.zeros((bsz, reps, k))
    ct[:, party, party], cx[:, party] = ty.w, ty.ux  # minimise -u_i
    ct[:, n], cx[:, n] = ty.w, ty.ux.sum(axis=1)  # minimise -sum_i u_i
    tau = np.zeros((bsz, reps, n))
    tau[:, n + 1], tau[:, n + 2] = 1.0 / n, ty.power  # the two Nash products
    x, _, conv = ty.solve(
        reps,
        h=np.repeat(ty.c - ty.batna, reps, axis=0),
        cx=-cx.reshape(bsz * reps, k),
        ct=ct.reshape(bsz * reps, n, p),
        tau=tau.reshape(bsz * reps, n),
    )
    x = x.reshape(bsz, reps, k)
    best = np.stack([ty.utility(x[:, i])[:, i] for i in range(n)], axis=1)
    return x, best - ty.batna, conv.reshape(bsz, reps).all(axis=1)


def solve_types(ty: Types) -> dict[str, np.ndarray]:
    """Utilities (B, N) of every solution and the ideal gains, NaN where the bargaining set
    has no interior."""
    bsz, n, k = ty.ideal.shape
    found = {name: np.full((bsz, k), np.nan) for name in SOLUTIONS}
    gains = np.full((bsz, n), np.nan)
    x, lam, ok = _max_min(ty, np.ones((bsz, n)), ty.batna)
    inner = ok & (lam > EPS)
    bad = list(np.flatnonzero(~ok))
    found["egalitarian"][inner] = x[inner]

    idx = np.flatnonzero(inner)
    x, gains[idx], conv = _central(ty.take(idx))
    bad += list(idx[~conv])
    for name, j in (("utilitarian", n), ("nbs", n + 1), ("nbs_power", n + 2)):
        found[name][idx] = x[:, j]

    # Kalai-Smorodinsky: max lam s.t. u_i - d_i >= lam (a_i - d_i)
    ks = np.flatnonzero(inner & np.all(gains > EPS, axis=1))
    sub = ty.take(ks)
    x, lam, ok = _max_min(sub, gains[ks], sub.batna)
    found["ks"][ks[ok & (lam > EPS)]] = x[ok & (lam > EPS)]
    bad += list(ks[~ok])

    out = {"ideal_gain": gains}
    for name, texts_ in found.items():
        out[name] = np.full((bsz, n), np.nan)
        fine = np.flatnonzero(np.isfinite(texts_[:, 0]))
        out[name][fine] = ty.take(fine).utility(texts_[fine])
    for b in sorted(set(int(i) for i in bad)):  # the scipy reference, for stragglers
        prob = _problem(ty, b)
        for name, (_, u) in prob.solve().items():
            out[name][b] = u
        out["ideal_gain"][b] = prob.ideal_gains()
    return out


def pareto_gaps(ty: Types, u: np.ndarray) -> np.ndarray:
    """(B,) the largest uniform gain over utilities u (B, N) that some text offers all."""
    _, lam, ok = _max_min(ty, np.ones_like(u), u)
    gap = np.maximum(lam, 0.0)
    for b in np.flatnonzero(~ok):
        prob = _problem(ty, b)
        gap[b] = prob.pareto_gap(u[b])
    return gap


def _types(records: dict[str, Any], burden: bool) -> Types:
    fields = ("ideal", "weight", "batna", "power", "capability")
    return Types(*(records[f] for f in fields), burden)


def agreement_gaps(records: dict[str, Any], burden: bool) -> np.ndarray:
    """(B,) Pareto gap of each episode's agreement, NaN where there is none."""
    ty = _types(records, burden)
    out = np.full(len(ty), np.nan)
    agreed = np.flatnonzero(np.asarray(records["agreed_round"]) >= 0)
    if len(agreed):
        sub = ty.take(agreed)
        out[agreed] = pareto_gaps(sub, sub.utility(records["agreement"][agreed]))
    return out


def solve_records(records: dict[str, Any], burden: bool) -> dict[str, np.ndarray]:
    """:func:`negenv.solutions.solve_batch`: solutions, ideal gains and Pareto gaps."""
    out = solve_types(_types(records, burden))
    out["pareto_gap"] = agreement_gaps(records, burden)
    return out
