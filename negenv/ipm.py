"""Batched primal-dual interior point for the bargaining programs of :mod:`negenv.solutions`.

Every reference solution of an episode is a program over the text ``x`` (K), one auxiliary
``t_ij >= |x_j - y_ij|`` per party and distance-measured issue (P of them), and for max-min
programs one more scalar ``lam``:

    minimise   cx.x + ct.t + cl lam
    subject to |x_j - y_ij| <= t_ij <= 1,   0 <= x <= 1,
               a_i.x + b_i.t_i + s_i lam <= h_i         (one coupling row per party i)

A coupling row with a positive ``tau_i`` is not an ordinary constraint: its slack ``g_i``
enters the objective as ``- tau_i log g_i``. With ``c = 0`` and ``g_i = u_i - d_i`` that is
the (power-weighted) Nash product, whose optimality conditions are exactly the
complementarity conditions ``g_i y_i = tau_i``; so one Mehrotra predictor-corrector method
solves the linear programs and the Nash programs alike.

The rows are never stored as a matrix. Each ``t_ij`` meets only ``x_j`` and party i's
coupling row, so the normal matrix is block-arrow: a diagonal-plus-rank-one block per party
(inverted by Sherman-Morrison) around a dense core ``(x, lam)`` of at most K+1 variables.
An iteration costs O(B N P (K+1)^2) elementwise work and one batch of tiny Cholesky
factorisations, with no Python loop over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Programs:
    """B programs of the shape in the module docstring (float64 tensors on one device).

    ``s is None`` drops ``lam``. ``tau`` (B, N) >= 0 marks Nash rows (0: an ordinary row).
    """

    y: Tensor  # (B, N, P) ideal points on the distance-measured issues (P <= K)
    a: Tensor  # (B, N, K)
    b: Tensor  # (B, N, P)
    h: Tensor  # (B, N)
    cx: Tensor  # (B, K)
    ct: Tensor  # (B, N, P)
    s: Tensor | None = None  # (B, N)
    cl: Tensor | None = None  # (B,)
    tau: Tensor | None = None  # (B, N)


@dataclass(frozen=True)
class Solution:
    x: Tensor  # (B, K)
    lam: Tensor | None  # (B,)
    converged: Tensor  # (B,) bool
    iterations: int


# Rows come in groups, each an array shaped like its slack:
#   "p": x_j - t_ij <= y_ij      "m": -x_j - t_ij <= -y_ij     "t": t_ij <= 1   (B, N, P)
#   "u": x_j <= 1                "l": -x_j <= 0                                 (B, K)
#   "c": a_i.x + b_i.t_i + s_i lam <= h_i                                      (B, N)
GROUPS = ("p", "m", "t", "u", "l", "c")


def _rows(pr: Programs, x, t, lam) -> dict[str, Tensor]:
    """G z, by row group."""
    p = pr.y.shape[2]
    xp = x[:, None, :p]
    c = (pr.a * x[:, None, :]).sum(dim=2) + (pr.b * t).sum(dim=2)
    if pr.s is not None:
        c = c + pr.s * lam[:, None]
    return {"p": xp - t, "m": -xp - t, "t": t, "u": x, "l": -x, "c": c}


def _rhs(pr: Programs) -> dict[str, Tensor]:
    """h, by row group."""
    ones = torch.ones_like(pr.cx)
    return {"p": pr.y, "m": -pr.y, "t": torch.ones_like(pr.y), "u": ones, "l": 0 * ones, "c": pr.h}


def _transpose(pr: Programs, v: dict[str, Tensor]):
    """G^T v for row values v: gradients with respect to (x, t, lam)."""
    p = pr.y.shape[2]
    gx = v["u"] - v["l"] + (pr.a * v["c"][..., None]).sum(dim=1)
    gx[:, :p] += (v["p"] - v["m"]).sum(dim=1)
    gt = -v["p"] - v["m"] + v["t"] + pr.b * v["c"][..., None]
    gl = (pr.s * v["c"]).sum(dim=1) if pr.s is not None else None
    return gx, gt, gl


class _Normal:
    """The normal matrix ``G^T W G`` (W = y / s per row), factored by block elimination.

    Party i's block is ``T_i = D_i + u_i u_i^T`` (D_i from its distance rows, u_i = b_i
    sqrt(wc_i) from its coupling row) and its coupling to the core ``(x, lam)`` is ``C_i =
    E_i + u_i e_i^T`` (E_i: ``wm - wp`` on ``x_j``; e_i = (a_i, s_i) sqrt(wc_i)). The Schur
    complement is assembled in the closed form

        core - sum_i C_i^T T_i^-1 C_i = diag(wu + wl + sum_i g_i) + sum_i r_i r_i^T / (1 + q_i)

    with ``g = (4 wp wm + (wp + wm) wt) / D``, ``q_i = u_i^T D_i^-1 u_i`` and ``r_i = e_i -
    E_i^T D_i^-1 u_i``: every term is non-negative, so no large weights cancel. (Subtracting
    ``C^T T^-1 C`` from the assembled core does cancel them once rows become active.)
    """

    def __init__(self, pr: Programs, w: dict[str, Tensor]):
        bsz, n, p = pr.y.shape
        k = pr.cx.shape[1]
        self.k, self.p, self.lam = k, p, pr.s is not None
        root = w["c"].sqrt()
        e = pr.a if not self.lam else torch.cat([pr.a, pr.s[..., None]], dim=2)
        self.ew = e * root[..., None]  # (B, N, nc)
        self.d = w["p"] + w["m"] + w["t"]  # (B, N, P)
        self.u = pr.b * root[..., None]
        self.dinv_u = self.u / self.d
        self.sm = 1.0 / (1.0 + (self.u * self.dinv_u).sum(dim=2))  # 1 / (1 + q_i)
        self.skew = w["m"] - w["p"]  # E_i's entries
        r = self.ew.clone()
        r[:, :, :p] -= self.skew * self.dinv_u
        schur = torch.einsum("bni,bnj->bij", r * self.sm[..., None], r)
        g = (4.0 * w["p"] * w["m"] + (w["p"] + w["m"]) * w["t"]) / self.d
        idx = torch.arange(k)
        schur[:, idx, idx] += w["u"] + w["l"]
        schur[:, idx[:p], idx[:p]] += g.sum(dim=1)
        self.chol = _cholesky(schur)

    def _block_solve(self, v: Tensor) -> Tensor:
        """T_i^{-1} v for v (B, N, P), by Sherman-Morrison."""
        dv = v / self.d
        return dv - self.dinv_u * ((self.u * dv).sum(dim=2) * self.sm)[..., None]

    def solve(self, rx, rt, rl):
        """Solve M (dx, dt, dl) = (rx, rt, rl)."""
        p = self.p
        rc = rx if rl is None else torch.cat([rx, rl[:, None]], dim=1)
        tr = self._block_solve(rt)  # C_i^T T_i^-1 r_t = E_i^T (.) + e_i u_i^T (.)
        rc = rc - (self.ew * (self.u * tr).sum(dim=2)[..., None]).sum(dim=1)
        rc[:, :p] -= (self.skew * tr).sum(dim=1)
        dc = _cho_solve(self.chol, rc)
        cdc = self.u * (self.ew * dc[:, None, :]).sum(dim=2)[..., None]
        cdc += self.skew * dc[:, None, :p]
        dt = self._block_solve(rt - cdc)
        k = self.k
        return dc[:, :k], dt, (dc[:, k] if self.lam else None)


def _cholesky(a: Tensor) -> Tensor:
    """Lower Cholesky factors of a batch of small SPD matrices (B, n, n).

    Pivots are clamped at a tiny fraction of the diagonal: near the end of an interior-point
    run the weights span 30 orders of magnitude and cancellation can leave a pivot at or just
    below zero; clamping keeps the step finite, and the program's residuals still decide
    whether it converged.
    """
    n = a.shape[1]
    low = torch.zeros_like(a)
    for j in range(n):
        pivot = a[:, j, j] - (low[:, j, :j] ** 2).sum(dim=1)
        low[:, j, j] = torch.maximum(pivot, 1e-14 * a[:, j, j].abs() + 1e-300).sqrt()
        for i in range(j + 1, n):
            dot = (low[:, i, :j] * low[:, j, :j]).sum(dim=1)
            low[:, i, j] = (a[:, i, j] - dot) / low[:, j, j]
    return low


def _cho_solve(chol: Tensor, r: Tensor) -> Tensor:
    """Solve L L^T x = r for batches of small lower-triangular L (B, n, n), r (B, n)."""
    n = r.shape[1]
    z = torch.empty_like(r)
    for i in range(n):  # forward
        z[:, i] = (r[:, i] - (chol[:, i, :i] * z[:, :i]).sum(dim=1)) / chol[:, i, i]
    x = torch.empty_like(r)
    for i in reversed(range(n)):  # backward with L^T
        x[:, i] = (z[:, i] - (chol[:, i + 1 :, i] * x[:, i + 1 :]).sum(dim=1)) / chol[:, i, i]
    return x


def _take(tree, idx):
    """Rows ``idx`` of every array in a Programs, dict or tuple (None stays None)."""
    if isinstance(tree, Programs):
        return Programs(**{f: _take(v, idx) for f, v in tree.__dict__.items()})
    if isinstance(tree, dict):
        return {g: v[idx] for g, v in tree.items()}
    return None if tree is None else tree[idx]


def _per_program(v: Tensor, how) -> Tensor:
    flat = v.reshape(len(v), -1)
    if flat.shape[1] == 0:  # an empty row group (a scenario whose only issue is a burden)
        return flat.new_zeros(len(v))
    return how(flat, dim=1)


class _Iterate:
    """Primal-dual point of a batch of programs: x, t, lam, slacks and duals by row group."""

    def __init__(self, pr: Programs):
        self.x = torch.full_like(pr.cx, 0.5)
        self.t = torch.full_like(pr.y, 0.75)  # strictly inside |x - y| <= t <= 1
        self.lam = torch.zeros_like(pr.h[:, 0]) if pr.s is not None else None
        h = _rhs(pr)
        self.slack = {g: (h[g] - v).clamp(min=0.1) for g, v in _rows(pr, *self.z).items()}
        self.dual = {g: torch.ones_like(v) for g, v in self.slack.items()}

    @property
    def z(self):
        return self.x, self.t, self.lam


def _newton(pr: Programs, it: _Iterate, free: dict, tau: dict, tol: float):
    """One predictor-corrector step of the programs in ``pr``; returns (step, done)."""
    lam_on = pr.s is not None
    s, y = it.slack, it.dual
    h, gz = _rhs(pr), _rows(pr, *it.z)
    r_p = {g: gz[g] + s[g] - h[g] for g in GROUPS}
    gx, gt, gl = _transpose(pr, y)
    r_d = (pr.cx + gx, pr.ct + gt, (pr.cl + gl) if lam_on else None)
    m_free = sum(_per_program(f, torch.sum) for f in free.values())

    def gap(s_, y_):
        return sum(_per_program(f * s_[g] * y_[g], torch.sum) for g, f in free.items())

    mu = gap(s, y) / m_free
    worst = [_per_program(v.abs(), torch.amax) for v in (*r_p.values(), r_d[0], r_d[1])]
    off_target = [((1 - free[g]) * (s[g] * y[g] - tau[g])).abs() for g in GROUPS]
    worst += [_per_program(v, torch.amax) for v in off_target]
    err = torch.stack(worst + [mu] + ([r_d[2].abs()] if lam_on else [])).amax(dim=0)
    done = err < tol
    normal = _Normal(pr, {g: y[g] / s[g] for g in GROUPS})

    def direction(r_c):
        q = {g: (y[g] * r_p[g] - r_c[g]) / s[g] for g in GROUPS}
        qx, qt, ql = _transpose(pr, q)
        dz = normal.solve(-r_d[0] - qx, -r_d[1] - qt, (-r_d[2] - ql) if lam_on else None)
        gdz = _rows(pr, *dz)
        ds = {g: -r_p[g] - gdz[g] for g in GROUPS}
        dy = {g: -(r_c[g] + y[g] * ds[g]) / s[g] for g in GROUPS}
        return dz, ds, dy

    def longest(ds, dy):  # the largest step in [0, 1] keeping slacks and duals >= 0
        fall = torch.zeros_like(pr.h[:, 0])  # the fastest relative decrease, -min(dv / v)
        for v, dv in [(s[g], ds[g]) for g in GROUPS] + [(y[g], dy[g]) for g in GROUPS]:
            fall = torch.maximum(fall, -_per_program(dv / v, torch.amin))
        return 1.0 / fall.clamp(min=1.0)

    # predictor: aim at the targets tau alone; corrector: re-centre by sigma mu, Mehrotra's rule
    _, ds, dy = direction({g: s[g] * y[g] - tau[g] for g in GROUPS})
    a = longest(ds, dy)
    s_aff = {g: s[g] + _bcast(a, ds[g]) * ds[g] for g in GROUPS}
    y_aff = {g: y[g] + _bcast(a, dy[g]) * dy[g] for g in GROUPS}
    sigma = (gap(s_aff, y_aff) / (m_free * mu).clamp(min=1e-300)).clamp(0.0, 1.0) ** 3
    r_c = {
        g: s[g] * y[g] + ds[g] * dy[g] - tau[g] - free[g] * _bcast(sigma * mu, free[g])
        for g in GROUPS
    }
    dz, ds, dy = direction(r_c)
    return (dz, ds, dy, (0.995 * longest(ds, dy)).clamp(max=1.0)), done


def solve(pr: Programs, tol: float = 1e-9, max_iter: int = 60) -> Solution:
    """Mehrotra predictor-corrector from an infeasible start. A program stops when its
    primal and dual residuals, its complementarity gap and its Nash rows' distance to their
    targets are all below ``tol``; only the programs still running are iterated."""
    bsz, n, _ = pr.y.shape
    lam_on = pr.s is not None
    if bsz == 0:
        return Solution(pr.cx.clone(), pr.h[:, 0].clone() if lam_on else None, pr.h[:, 0] > 0, 0)
    if pr.cl is None:
        pr = Programs(**(pr.__dict__ | {"cl": torch.zeros_like(pr.h[:, 0])}))
    it = _Iterate(pr)
    tau = {g: torch.zeros_like(v) for g, v in it.slack.items()}
    free = {g: torch.ones_like(v) for g, v in it.slack.items()}
    if pr.tau is not None:
        tau["c"], free["c"] = pr.tau, (pr.tau <= 0).to(pr.tau.dtype)
    out_x, out_lam = it.x.clone(), (it.lam.clone() if lam_on else None)
    done = torch.zeros(bsz, dtype=torch.bool, device=pr.h.device)
    active = torch.arange(bsz, device=pr.h.device)  # the programs in the working arrays
    for count in range(max_iter):  # noqa: B007 (reported as iterations)
        (dz, ds, dy, alpha), finished = _newton(pr, it, free, tau, tol)
        alpha = torch.where(finished, 0.0, alpha)
        it.x += alpha[:, None] * dz[0]
        it.t += alpha[:, None, None] * dz[1]
        if lam_on:
            it.lam += alpha * dz[2]
        for g in GROUPS:
            it.slack[g] += _bcast(alpha, ds[g]) * ds[g]
            it.dual[g] += _bcast(alpha, dy[g]) * dy[g]
        if bool(finished.any()):  # hand the finished ones out and drop them
            ended = active[finished]
            done[ended] = True
            out_x[ended] = it.x[finished]
            if lam_on:
                out_lam[ended] = it.lam[finished]
            keep = ~finished
            active = active[keep]
            if not active.numel():
                break
            pr, free, tau = _take(pr, keep), _take(free, keep), _take(tau, keep)
            it.x, it.t, it.lam = it.x[keep], it.t[keep], _take(it.lam, keep)
            it.slack, it.dual = _take(it.slack, keep), _take(it.dual, keep)
    if active.numel():  # unconverged: the last iterate
        out_x[active] = it.x
        if lam_on:
            out_lam[active] = it.lam
    return Solution(out_x, out_lam, done, count)


def _bcast(v: Tensor, like: Tensor) -> Tensor:
    return v.reshape(v.shape + (1,) * (like.ndim - 1))
