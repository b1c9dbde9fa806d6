"""Reference bargaining solutions of an episode, computed from its types.

Utilities are concave and piecewise linear in the text x, so with one auxiliary variable per
(party, issue), ``t_ik >= |x_k - y_ik|``, every utility is affine in ``z = (x, t)`` over a
polytope. Utilitarian, egalitarian and Kalai-Smorodinsky solutions and the gap to the Pareto
frontier are linear programs (scipy's HiGHS); the symmetric and power-weighted Nash bargaining
solutions maximise ``sum_i a_i log(u_i - d_i)`` (SLSQP from the egalitarian point). All are
taken over the bargaining set ``u >= d``; where it has no interior (no text gives every party
more than its BATNA) the solutions are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize

from negenv.core import text_utility

SOLUTIONS = ("nbs", "nbs_power", "ks", "egalitarian", "utilitarian")


def solve_batch(records: dict[str, Any], burden: bool) -> dict[str, np.ndarray]:
    """Utilities (B, N) of every solution, each party's ideal gain ``a_i - d_i`` (B, N), and
    each agreement's Pareto gap (B,), by episode (batched; see :mod:`negenv.batch_solutions`).
    """
    from negenv.batch_solutions import solve_records

    return solve_records(records, burden)


def pareto_gaps(records: dict[str, Any], burden: bool) -> np.ndarray:
    """(B,) each agreement's Pareto gap alone (NaN without an agreement), batched."""
    from negenv.batch_solutions import agreement_gaps

    return agreement_gaps(records, burden)


@dataclass(frozen=True)
class Problem:
    """One episode's bargaining problem (numpy arrays of one episode)."""

    ideal: np.ndarray  # (N, K)
    weight: np.ndarray  # (N, K)
    batna: np.ndarray  # (N,)
    power: np.ndarray  # (N,)
    capability: np.ndarray  # (N,)
    burden: bool = False

    @cached_property
    def affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list]:
        """``u = c + U z``, constraints ``A z <= b``, bounds; z = (x (K), t (N, K'))."""
        n, k = self.ideal.shape
        plain = k - 1 if self.burden else k  # issues measured by |x - y|
        nz = k + n * plain
        c, u_mat = np.ones(n), np.zeros((n, nz))
        rows, rhs = [], []
        for i in range(n):
            for j in range(plain):
                col = k + i * plain + j
                u_mat[i, col] = -self.weight[i, j]
                for sign in (1.0, -1.0):  # sign * (x_j - y_ij) <= t_ij
                    row = np.zeros(nz)
                    row[j], row[col] = sign, -1.0
                    rows.append(row)
                    rhs.append(sign * self.ideal[i, j])
        if self.burden:  # cost_i(x) = ((1 - x)/N + x c_i) / max(1/N, c_i), linear in x
            scale = np.maximum(1.0 / n, self.capability)
            c = c - self.weight[:, -1] * (1.0 / n) / scale
            u_mat[:, k - 1] = -self.weight[:, -1] * (self.capability - 1.0 / n) / scale
        bounds = [(0.0, 1.0)] * k + [(0.0, None)] * (n * plain)
        a = np.asarray(rows).reshape(-1, nz)
        return c, u_mat, a, np.asarray(rhs), bounds

    def utility(self, x: np.ndarray) -> np.ndarray:
        """(N,) utilities of a text x (K,), by the rules."""
        return text_utility(
            self.ideal[None], self.weight[None], self.capability[None], x[None], self.burden
        )[0]

    # ------------------------------------------------------------------ linear programs
    def _lp(
        self,
        objective: np.ndarray,
        extra_rows=None,
        extra_rhs=None,
        lam: bool = False,
        ir: bool = True,
    ):
        """Maximise ``objective . (z, [lam])`` subject to the polytope and ``u >= d``."""
        c, u_mat, a, b, bounds = self.affine
        nz = u_mat.shape[1]
        width = nz + (1 if lam else 0)
        a_ub = [np.hstack([a, np.zeros((len(a), width - nz))])]
        b_ub = [b]
        if ir:  # d_i - c_i - U_i z <= 0
            a_ub.append(np.hstack([-u_mat, np.zeros((len(c), width - nz))]))
            b_ub.append(c - self.batna)
        if extra_rows is not None:
            a_ub.append(extra_rows)
            b_ub.append(extra_rhs)
        res = linprog(
            -objective,
            A_ub=np.vstack(a_ub),
            b_ub=np.concatenate(b_ub),
            bounds=bounds + ([(None, None)] if lam else []),
            method="highs",
        )
        return res.x if res.status == 0 else None

    def _x_and_u(self, z: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        k = self.ideal.shape[1]
        if z is None:
            return np.full(k, np.nan), np.full(len(self.batna), np.nan)
        x = np.clip(z[:k], 0.0, 1.0)
        return x, self.utility(x)

    def utilitarian(self):
        c, u_mat, *_ = self.affine
        return self._x_and_u(self._lp(u_mat.sum(axis=0)))

    def _max_min_gain(self, scale: np.ndarray) -> tuple[np.ndarray | None, float]:
        """max lam s.t. u_i - d_i >= lam * scale_i; returns z and lam."""
        c, u_mat, *_ = self.affine
        nz = u_mat.shape[1]
        rows = np.hstack([-u_mat, scale[:, None]])  # lam s_i - U_i z <= c_i - d_i
        objective = np.zeros(nz + 1)
        objective[-1] = 1.0
        z = self._lp(objective, rows, c - self.batna, lam=True, ir=False)
        return (None, -np.inf) if z is None else (z[:nz], z[-1])

    def egalitarian(self):
        z, lam = self._max_min_gain(np.ones(len(self.batna)))
        return self._x_and_u(z if lam > 1e-9 else None)

    def ideal_gains(self) -> np.ndarray:
        """a_i - d_i: each party's best utility in the bargaining set, minus its BATNA."""
        c, u_mat, *_ = self.affine
        best = [self._lp(u_mat[i]) for i in range(len(c))]
        if any(z is None for z in best):
            return np.full(len(c), np.nan)
        return np.array([c[i] + u_mat[i] @ z for i, z in enumerate(best)]) - self.batna

    def kalai_smorodinsky(self):
        span = self.ideal_gains()
        if not np.all(np.isfinite(span)) or np.any(span <= 1e-9):
            return self._x_and_u(None)
        z, lam = self._max_min_gain(span)
        return self._x_and_u(z if lam > 1e-9 else None)

    def pareto_gap(self, u: np.ndarray) -> float:
        """Largest uniform utility gain over ``u`` that some text offers every party (>= 0)."""
        c, u_mat, *_ = self.affine
        nz = u_mat.shape[1]
        rows = np.hstack([-u_mat, np.ones((len(c), 1))])  # lam - U_i z <= c_i - u_i
        objective = np.zeros(nz + 1)
        objective[-1] = 1.0
        z = self._lp(objective, rows, c - u, lam=True, ir=False)
        return float(max(z[-1], 0.0)) if z is not None else np.nan

    # ------------------------------------------------------------------------------ NBS
    def nash(self, alpha: np.ndarray | None = None):
        """argmax sum_i alpha_i log(u_i - d_i); alpha defaults to 1/N (symmetric NBS)."""
        n = len(self.batna)
        alpha = np.full(n, 1.0 / n) if alpha is None else np.asarray(alpha, float)
        z0, lam = self._max_min_gain(np.ones(n))
        if z0 is None or lam <= 1e-9:
            return self._x_and_u(None)
        c, u_mat, a, b, bounds = self.affine
        gain = c - self.batna

        def f(z):
            g = np.maximum(gain + u_mat @ z, 1e-12)
            return -alpha @ np.log(g), -(alpha / g) @ u_mat

        cons = [{"type": "ineq", "fun": lambda z: b - a @ z, "jac": lambda z: -a}] if len(a) else []
        cons.append(
            {"type": "ineq", "fun": lambda z: gain + u_mat @ z - 1e-10, "jac": lambda z: u_mat}
        )
        res = minimize(
            f,
            z0,
            jac=True,
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"ftol": 1e-12, "maxiter": 500},
        )
        z = res.x if res.success and f(res.x)[0] <= f(z0)[0] + 1e-12 else z0
        return self._x_and_u(z)

    def solve(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every reference solution as (text x, utilities u)."""
        return {
            "nbs": self.nash(),
            "nbs_power": self.nash(self.power),
            "ks": self.kalai_smorodinsky(),
            "egalitarian": self.egalitarian(),
            "utilitarian": self.utilitarian(),
        }


def problems(records: dict[str, Any], burden: bool) -> list[Problem]:
    """One :class:`Problem` per episode of a batch of outcome records."""
    return [
        Problem(
            records["ideal"][b],
            records["weight"][b],
            records["batna"][b],
            records["power"][b],
            records["capability"][b],
            burden,
        )
        for b in range(len(records["batna"]))
    ]


def solve_batch_scipy(records: dict[str, Any], burden: bool) -> dict[str, np.ndarray]:
    """:func:`solve_batch` one episode at a time with scipy (the reference implementation).

    Episodes with identical types share one solve.
    """
    cache: dict[bytes, dict[str, np.ndarray]] = {}
    rows = []
    for b, prob in enumerate(problems(records, burden)):
        key = b"".join(
            np.ascontiguousarray(a).tobytes()
            for a in (prob.ideal, prob.weight, prob.batna, prob.power, prob.capability)
        )
        if key not in cache:
            cache[key] = {name: u for name, (_, u) in prob.solve().items()}
            cache[key]["ideal_gain"] = prob.ideal_gains()
        row = dict(cache[key])
        agreed = records["agreed_round"][b] >= 0
        row["pareto_gap"] = (
            prob.pareto_gap(prob.utility(records["agreement"][b])) if agreed else np.nan
        )
        rows.append(row)
    return {name: np.stack([r[name] for r in rows]) for name in rows[0]}
