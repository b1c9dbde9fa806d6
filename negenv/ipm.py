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

import numpy as np


@dataclass(frozen=True)
class Programs:
    """B programs of the shape in the module docstring (numpy float64).

    ``s is None`` drops ``lam``. ``tau`` (B, N) >= 0 marks Nash rows (0: an ordinary row).
    """

    y: np.ndarray  # (B, N, P) ideal points on the distance-measured issues (P <= K)
    a: np.ndarray  # (B, N, K)
    b: np.ndarray  # (B, N, P)
    h: np.ndarray  # (B, N)
    cx: np.ndarray  # (B, K)
    ct: np.ndarray  # (B, N, P)
    s: np.ndarray | None = None  # (B, N)
    cl: np.ndarray | None = None  # (B,)
    tau: np.ndarray | None = None  # (B, N)


@dataclass(frozen=True)
class Solution:
    x: np.ndarray  # (B, K)
    lam: np.ndarray | None  # (B,)
    converged: np.ndarray  # (B,) bool
    iterations: int


# Rows come in groups, each an array shaped like its slack:
#   "p": x_j - t_ij <= y_ij      "m": -x_j - t_ij <= -y_ij     "t": t_ij <= 1   (B, N, P)
#   "u": x_j <= 1                "l": -x_j <= 0                                 (B, K)
#   "c": a_i.x + b_i.t_i + s_i lam <= h_i                                      (B, N)
GROUPS = ("p", "m", "t", "u", "l", "c")


def _rows(pr: Programs, x, t, lam) -> dict[str, np.ndarray]:
    """G z, by row group."""
    p = pr.y.shape[2]
    xp = x[:, None, :p]
    c = np.einsum("bnk,bk->bn", pr.a, x) + (pr.b * t).sum(axis=2)
    if pr.s is not None:
        c = c + pr.s * lam[:, None]
    return {"p": xp - t, "m": -xp - t, "t": t, "u": x, "l": -x, "c": c}


def _rhs(pr: Programs) -> dict[str, np.ndarray]:
    """h, by row group."""
    ones = np.ones_like(pr.cx)
    return {"p": pr.y, "m": -pr.y, "t": np.ones_like(pr.y), "u": ones, "l": 0 * ones, "c": pr.h}


def _transpose(pr: Programs, v: dict[str, np.ndarray]):
    """G^T v for row values v: gradients with respect to (x, t, lam)."""
    p = pr.y.shape[2]
    gx = v["u"] - v["l"] + np.einsum("bnk,bn->bk", pr.a, v["c"])
    gx[:, :p] += (v["p"] - v["m"]).sum(axis=1)
    gt = -v["p"] - v["m"] + v["t"] + pr.b * v["c"][..., None]
    gl = (pr.s * v["c"]).sum(axis=1) if pr.s is not None else None
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

    def __init__(self, pr: Programs, w: dict[str, np.ndarray]):
        bsz, n, p = pr.y.shape
        k = pr.cx.shape[1]
        self.k, self.p, self.lam = k, p, pr.s is not None
        root = np.sqrt(w["c"])
        e = pr.a if not self.lam else np.concatenate([pr.a, pr.s[..., None]], axis=2)
        self.ew = e * root[..., None]  # (B, N, nc)
        self.d = w["p"] + w["m"] + w["t"]  # (B, N, P)
        self.u = pr.b * root[..., None]
        self.dinv_u = self.u / self.d
        self.sm = 1.0 / (1.0 + (self.u * self.dinv_u).sum(axis=2))  # 1 / (1 + q_i)
        self.skew = w["m"] - w["p"]  # E_i's entries
        r = self.ew.copy()
        r[:, :, :p] -= self.skew * self.dinv_u
        schur = np.einsum("bni,bnj,bn->bij", r, r, self.sm)
        g = (4.0 * w["p"] * w["m"] + (w["p"] + w["m"]) * w["t"]) / self.d
        idx = np.arange(k)
        schur[:, idx, idx] += w["u"] + w["l"]
        schur[:, idx[:p], idx[:p]] += g.sum(axis=1)
        self.chol = _cholesky(schur)

    def _block_solve(self, v: np.ndarray) -> np.ndarray:
        """T_i^{-1} v for v (B, N, P), by Sherman-Morrison."""
        dv = v / self.d
        return dv - self.dinv_u * ((self.u * dv).sum(axis=2) * self.sm)[..., None]

    def solve(self, rx, rt, rl):
        """Solve M (dx, dt, dl) = (rx, rt, rl)."""
        p = self.p
        rc = rx if rl is None else np.concatenate([rx, rl[:, None]], axis=1)
        tr = self._block_solve(rt)  # C_i^T T_i^-1 r_t = E_i^T (.) + e_i u_i^T (.)
        rc = rc - np.einsum("bni,bn->bi", self.ew, (self.u * tr).sum(axis=2))
        rc[:, :p] -= (self.skew * tr).sum(axis=1)
        dc = _cho_solve(self.chol, rc)
        cdc = self.u * np.einsum("bni,bi->bn", self.ew, dc)[..., None]
        cdc += self.skew * dc[:, None, :p]
        dt = self._block_solve(rt - cdc)
        k = self.k
        return dc[:, :k], dt, (dc[:, k] if self.lam else None)


def _cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a batch of small SPD matrices (B, n, n).

    Pivots are clamped at a tiny fraction of the diagonal: near the end of an interior-point
    run the weights span 30 orders of magnitude and cancellation can leave a pivot at or just
    below zero; clamping keeps the step finite, and the program's residuals still decide
    whether it converged.
    """
    n = a.shape[1]
    low = np.zeros_like(a)
    for j in range(n):
        pivot = a[:, j, j] - (low[:, j, :j] ** 2).sum(axis=1)
        low[:, j, j] = np.sqrt(np.maximum(pivot, 1e-14 * np.abs(a[:, j, j]) + 1e-300))
        for i in range(j + 1, n):
            dot = (low[:, i, :j] * low[:, j, :j]).sum(axis=1)
            low[:, i, j] = (a[:, i, j] - dot) / low[:, j, j]
    return low


def _cho_solve(chol: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve L L^T x = r for batches of small lower-triangular L (B, n, n), r (B, n)."""
    n = r.shape[1]
    z = np.empty_like(r)
    for i in range(n):  # forward
        z[:, i] = (r[:, i] - (chol[:, i, :i] * z[:, :i]).sum(axis=1)) / chol[:, i, i]
    x = np.empty_like(r)
    for i in reversed(range(n)):  # backward with L^T
        x[:, i] = (z[:, i] - (chol[:, i + 1 :, i] * x[:, i + 1 :]).sum(axis=1)) / chol[:, i, i]
    return x


def _take(tree, idx):
    """Rows ``idx`` of every array in a Programs, dict or tuple (None stays None)."""
    if isinstance(tree, Programs):
        return Programs(**{f: _take(v, idx) for f, v in tree.__dict__.items()})
    if isinstance(tree, dict):
        return {g: v[idx] for g, v in tree.items()}
    return None if tree is None else tree[idx]


def _per_program(v: np.ndarray, how) -> np.ndarray:
    return how(v.reshape(len(v), -1), axis=1)


class _Iterate:
    """Primal-dual point of a batch of programs: x, t, lam, slacks and duals by row group."""

    def __init__(self, pr: Programs):
        bsz, n, p = pr.y.shape
        self.x = np.full((bsz, pr.cx.shape[1]), 0.5)
        self.t = np.full((bsz, n, p), 0.75)  # strictly inside |x - y| <= t <= 1
        self.lam = np.zeros(bsz) if pr.s is not None else None
        h = _rhs(pr)
        self.slack = {g: np.maximum(h[g] - v, 0.1) for g, v in _rows(pr, *self.z).items()}
        self.dual = {g: np.ones_like(v) for g, v in self.slack.items()}

    @property
    def z(self):
        return self.x, self.t, self.lam


def _newton(pr: Programs, it: _Iterate, free: dict, tau: dict, tol: float):
    """One predictor-corrector step of the programs in ``pr``; returns (step, done)."""
    bsz = len(pr.y)
    lam_on = pr.s is not None
    s, y = it.slack, it.dual
    h, gz = _rhs(pr), _rows(pr, *it.z)
    r_p = {g: gz[g] + s[g] - h[g] for g in GROUPS}
    gx, gt, gl = _transpose(pr, y)
    r_d = (pr.cx + gx, pr.ct + gt, (pr.cl + gl) if lam_on else None)
    m_free = sum(_per_program(f, np.sum) for f in free.values())

    def gap(s_, y_):
        return sum(_per_program(f * s_[g] * y_[g], np.sum) for g, f in free.items())

    mu = gap(s, y) / m_free
    worst = [_per_program(np.abs(v), np.max) for v in (*r_p.values(), r_d[0], r_d[1])]
    worst += [_per_program(np.abs((1 - free[g]) * (s[g] * y[g] - tau[g])), np.max) for g in GROUPS]
    err = np.maximum.reduce(worst + [mu] + ([np.abs(r_d[2])] if lam_on else []))
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
        fall = np.zeros(bsz)  # the fastest relative decrease, -min(dv / v)
        for v, dv in [(s[g], ds[g]) for g in GROUPS] + [(y[g], dy[g]) for g in GROUPS]:
            fall = np.maximum(fall, -_per_program(dv / v, np.min))
        return 1.0 / np.maximum(fall, 1.0)

    # predictor: aim at the targets tau alone; corrector: re-centre by sigma mu, Mehrotra's rule
    _, ds, dy = direction({g: s[g] * y[g] - tau[g] for g in GROUPS})
    a = longest(ds, dy)
    s_aff = {g: s[g] + _bcast(a, ds[g]) * ds[g] for g in GROUPS}
    y_aff = {g: y[g] + _bcast(a, dy[g]) * dy[g] for g in GROUPS}
    sigma = np.clip(gap(s_aff, y_aff) / np.maximum(m_free * mu, 1e-300), 0.0, 1.0) ** 3
    r_c = {
        g: s[g] * y[g] + ds[g] * dy[g] - tau[g] - free[g] * _bcast(sigma * mu, free[g])
        for g in GROUPS
    }
    dz, ds, dy = direction(r_c)
    return (dz, ds, dy, np.minimum(1.0, 0.995 * longest(ds, dy))), done


def solve(pr: Programs, tol: float = 1e-9, max_iter: int = 60) -> Solution:
    """Mehrotra predictor-corrector from an infeasible start. A program stops when its
    primal and dual residuals, its complementarity gap and its Nash rows' distance to their
    targets are all below ``tol``; only the programs still running are iterated."""
    bsz, n, _ = pr.y.shape
    lam_on = pr.s is not None
    if pr.cl is None:
        pr = Programs(**(pr.__dict__ | {"cl": np.zeros(bsz)}))
    it = _Iterate(pr)
    tau = {g: np.zeros_like(v) for g, v in it.slack.items()}
    free = {g: np.ones_like(v) for g, v in it.slack.items()}
    if pr.tau is not None:
        tau["c"], free["c"] = pr.tau, (pr.tau <= 0).astype(float)
    done = np.zeros(bsz, dtype=bool)
    active = np.arange(bsz)
    for count in range(max_iter):
        sub = _Iterate.__new__(_Iterate)
        sub.x, sub.t, sub.lam = it.x[active], it.t[active], _take(it.lam, active)
        sub.slack, sub.dual = _take(it.slack, active), _take(it.dual, active)
        (dz, ds, dy, alpha), finished = _newton(
            _take(pr, active), sub, _take(free, active), _take(tau, active), tol
        )
        alpha = np.where(finished, 0.0, alpha)
        it.x[active] += alpha[:, None] * dz[0]
        it.t[active] += alpha[:, None, None] * dz[1]
        if lam_on:
            it.lam[active] += alpha * dz[2]
        for g in GROUPS:
            it.slack[g][active] += _bcast(alpha, ds[g]) * ds[g]
            it.dual[g][active] += _bcast(alpha, dy[g]) * dy[g]
        done[active[finished]] = True
        active = active[~finished]
        if not len(active):
            break
    return Solution(it.x, it.lam, done, count)


def _bcast(v: np.ndarray, like: np.ndarray) -> np.ndarray:
    return v.reshape(v.shape + (1,) * (like.ndim - 1))
