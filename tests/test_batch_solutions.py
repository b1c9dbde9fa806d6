"""The batched solver against dense linear algebra, closed forms and the scipy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytest import approx

from negenv import ipm, rng
from negenv.batch_solutions import Types, pareto_gaps, solve_types, texts
from negenv.randomness import sample_types
from negenv.scenario import load, with_overrides
from negenv.solutions import solve_batch_scipy

SCENARIOS = ("bilateral_asymmetric", "multilateral_5", "lilliput", "burden_sharing", "rubinstein")


def dense_rows(pr: ipm.Programs, b: int) -> np.ndarray:
    """Program b's constraint matrix G, row groups in ipm.GROUPS order, columns (x, t, lam)."""
    _, n, p = pr.y.shape
    k, lam = pr.cx.shape[1], pr.s is not None
    width = k + n * p + lam
    rows = []
    for group in ipm.GROUPS:
        for i in range(n if group in "pmtc" else 1):
            for j in range(p if group in "pmt" else k if group in "ul" else 1):
                r = np.zeros(width)
                col = k + i * p + j
                if group == "p":
                    r[j], r[col] = 1, -1
                elif group == "m":
                    r[j], r[col] = -1, -1
                elif group == "t":
                    r[col] = 1
                elif group in "ul":
                    r[j] = 1 if group == "u" else -1
                else:
                    r[:k], r[k + i * p : k + (i + 1) * p] = pr.a[b, i], pr.b[b, i]
                    if lam:
                        r[-1] = pr.s[b, i]
                rows.append(r)
    return np.array(rows)


def flat(*parts) -> np.ndarray:
    return np.concatenate([np.asarray(p).ravel() for p in parts if p is not None])


@pytest.mark.parametrize("with_lam", [False, True])
def test_structured_normal_equations_match_dense_linear_algebra(with_lam):
    g = np.random.default_rng(1)
    bsz, n, k, p = 3, 3, 3, 2
    t = lambda *shape: torch.from_numpy(g.random(shape))  # noqa: E731
    pr = ipm.Programs(
        y=t(bsz, n, p),
        a=t(bsz, n, k) - 0.5,
        b=t(bsz, n, p),
        h=t(bsz, n),
        cx=t(bsz, k),
        ct=t(bsz, n, p),
        s=t(bsz, n) + 0.1 if with_lam else None,
    )
    w = {name: v + 0.1 for name, v in ((gr, torch.rand_like(h)) for gr, h in ipm._rhs(pr).items())}
    rhs = (t(bsz, k), t(bsz, n, p), t(bsz) if with_lam else None)
    got = ipm._Normal(pr, w).solve(*rhs)
    z = (t(bsz, k), t(bsz, n, p), t(bsz) if with_lam else None)
    v = {gr: torch.randn_like(h) for gr, h in w.items()}
    rows, back = ipm._rows(pr, *z), ipm._transpose(pr, v)
    for b in range(bsz):
        big = dense_rows(pr, b)
        wv = flat(*(w[gr][b] for gr in ipm.GROUPS))
        normal = big.T @ (wv[:, None] * big)
        want = np.linalg.solve(normal, flat(*(r[b] for r in rhs if r is not None)))
        assert flat(*(x[b] for x in got if x is not None)) == approx(want, rel=1e-9, abs=1e-12)
        zb = flat(*(x[b] for x in z if x is not None))
        assert flat(*(rows[gr][b] for gr in ipm.GROUPS)) == approx(big @ zb)
        vb = flat(*(v[gr][b] for gr in ipm.GROUPS))
        assert flat(*(x[b] for x in back if x is not None)) == approx(big.T @ vb)


def split_the_pie(batnas, powers) -> Types:
    """Episodes of 2 parties, 1 issue, ideals 1 and 0: u_0 = x, u_1 = 1 - x."""
    m = len(batnas)
    return Types(
        np.tile([[[1.0], [0.0]]], (m, 1, 1)),
        np.ones((m, 2, 1)),
        np.array(batnas, float),
        np.array(powers, float),
        np.full((m, 2), 0.5),
        False,
    )


def test_closed_forms_in_one_batch_with_an_empty_bargaining_set():
    ty = split_the_pie(
        [(0.0, 0.0), (0.2, 0.0), (0.0, 0.3), (0.6, 0.6), (0.0, 0.0), (0.0, 0.5)],
        [(0.5, 0.5)] * 4 + [(0.7, 0.3), (0.5, 0.5)],
    )
    out = solve_types(ty)
    assert out["nbs"][:, 0] == approx([0.5, 0.6, 0.35, np.nan, 0.5, 0.25], abs=1e-7, nan_ok=True)
    assert out["nbs_power"][4] == approx([0.7, 0.3], abs=1e-7)
    assert out["ideal_gain"][1] == approx([0.8, 0.8]) and out["ideal_gain"][5] == approx([0.5, 0.5])
    assert out["ks"][1, 0] == approx(0.6) and out["ks"][5, 0] == approx(0.25)
    assert out["egalitarian"][1, 0] == approx(0.6)
    assert out["utilitarian"][1].sum() == approx(1.0)
    assert np.isnan(out["ks"][3]).all() and np.isnan(out["ideal_gain"][3]).all()
    assert texts(ty, "nbs")[:, 0] == approx([0.5, 0.6, 0.35, np.nan, 0.5, 0.25], nan_ok=True)
    assert texts(ty, "nbs_power")[4, 0] == approx(0.7)
    with pytest.raises(ValueError, match="solution = 'ks' is invalid"):
        texts(ty, "ks")


def drawn_types(name: str, episodes: int) -> Types:
    if name == "burden_only":  # the only issue is the burden issue (no distance rows)
        quiet = {"types.batna_base": 0.0, "types.batna_slope": 0.0, "types.batna_noise": 0.0}
        sc = with_overrides(load("burden_sharing"), {"n_issues": 1, **quiet})
    else:
        sc = load(name)
    keys = rng.episode_keys(5, np.arange(episodes), np.zeros(episodes, np.int64))
    t = sample_types(sc, keys, np.float64)
    return Types(t.ideal, t.weight, t.batna, t.power, t.capability, sc.burden_issue)


def nash(u, d, alpha):
    return (alpha * np.log(np.maximum(u - d, 1e-300))).sum(axis=1)


@pytest.mark.parametrize("name", [*SCENARIOS, "burden_only"])
def test_batched_solutions_match_the_scipy_reference(name):
    ty = drawn_types(name, 24)
    n = ty.batna.shape[1]
    agreement = np.random.default_rng(0).random((len(ty), ty.ideal.shape[2]))
    records = {f: getattr(ty, f) for f in ("ideal", "weight", "batna", "power", "capability")}
    records |= {"agreed_round": np.zeros(len(ty), int), "agreement": agreement}
    ref = solve_batch_scipy(records, ty.burden)
    got = solve_types(ty)
    for key in ("nbs", "nbs_power", "ks", "egalitarian", "utilitarian", "ideal_gain"):
        assert np.array_equal(np.isnan(got[key]), np.isnan(ref[key])), key
    ok = ~np.isnan(ref["nbs"][:, 0])
    assert ok.sum() >= 5  # enough episodes with a bargaining set to compare on
    d = ty.batna[ok]
    # Nash programs: at least as good as scipy (SLSQP sometimes stops short on burden_sharing)
    for key, alpha in (("nbs", np.full(n, 1.0 / n)), ("nbs_power", ty.power[ok])):
        assert np.all(nash(got[key][ok], d, alpha) >= nash(ref[key][ok], d, alpha) - 1e-7)
        assert np.all(got[key][ok] >= d - 1e-9)
    # linear programs: the optimal values (their optimal texts need not be unique)
    assert got["ideal_gain"] == approx(ref["ideal_gain"], abs=1e-7, nan_ok=True)

    def worst(sol):
        return (sol["egalitarian"] - ty.batna).min(1)[ok]

    assert worst(got) == approx(worst(ref), abs=1e-7)
    assert got["utilitarian"].sum(1)[ok] == approx(ref["utilitarian"].sum(1)[ok], abs=1e-7)
    span = ref["ideal_gain"][ok]
    ks = ~np.isnan(ref["ks"][ok][:, 0])
    got_ks = ((got["ks"][ok] - d) / span)[ks].min(1)
    ref_ks = ((ref["ks"][ok] - d) / span)[ks].min(1)
    assert got_ks == approx(ref_ks, abs=1e-6)
    u = ty.utility(agreement)
    assert pareto_gaps(ty, u) == approx(ref["pareto_gap"], abs=1e-7)


def test_programs_that_do_not_converge_fall_back_to_scipy(monkeypatch):
    ty = drawn_types("burden_sharing", 6)
    want, want_text = solve_types(ty), texts(ty, "nbs")
    batched = ipm.solve
    monkeypatch.setattr(ipm, "solve", lambda pr: batched(pr, max_iter=2))  # nothing converges
    got, got_text = solve_types(ty), texts(ty, "nbs")
    assert np.array_equal(np.isnan(got["nbs"]), np.isnan(want["nbs"]))
    assert got["ideal_gain"] == approx(want["ideal_gain"], abs=1e-6, nan_ok=True)
    ok = ~np.isnan(want["nbs"][:, 0])
    alpha = np.full(ty.batna.shape[1], 1.0 / ty.batna.shape[1])
    d = ty.batna[ok]  # scipy's SLSQP may stop short of the batched optimum, never beyond it
    assert np.all(nash(got["nbs"][ok], d, alpha) <= nash(want["nbs"][ok], d, alpha) + 1e-7)
    assert np.all(nash(got["nbs"][ok], d, alpha) > -np.inf)
    assert np.array_equal(np.isnan(got_text), np.isnan(want_text))
