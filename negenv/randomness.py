"""All randomness of an episode, drawn from its counter-based key (:mod:`negenv.rng`).

The rules never draw: :func:`sample_types` draws the private types at reset and
:func:`draw_noise` draws the uniform noise of an episode's step t, and both are handed to the
pure rules. Every draw is a function of the episode's key and a counter, so element b of a
batch gets the same draws as the same episode run alone, on numpy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from negenv import rng
from negenv.backend import namespace
from negenv.scenario import Scenario

Array = Any
BATNA_MAX = 0.95

# counters of the reset draws; step t uses counter t >= 0
# (one draw serves BATNA and risk noise, one the first proposer and kappa_0: every draw is a
# dozen tensor ops, and the batched env draws types whenever an episode resets)
_POWER, _IDEAL, _WEIGHT, _NOISE, _SEEN, _RECOGNISE = -1, -2, -3, -4, -5, -9


@dataclass(frozen=True)
class TypeDraw:
    """Private types (batch-first arrays) and the mediator's view of them."""

    power: Array  # (B, N), sums to 1
    ideal: Array  # (B, N, K) in [0, 1]
    weight: Array  # (B, N, K), rows sum to 1
    batna: Array  # (B, N) in [0, BATNA_MAX]
    risk: Array  # (B, N) in [0, 1]
    capability: Array  # (B, N), sums to 1
    credibility: Array  # (B,) the mediator's initial credibility kappa_0
    seen_ideal: Array
    seen_weight: Array
    seen_batna: Array
    seen_risk: Array
    recognise: Array  # (B,) noise for recognising the first proposer


def _fixed(xp: Any, values: Any, key: Array, dtype: Any) -> Array:
    v = xp.asarray(values, dtype=dtype, device=key.device)
    # a real array, not a broadcast view: batched shells write episodes into it in place
    return xp.zeros((key.shape[0], *v.shape), dtype=dtype, device=key.device) + v


def _power(sc: Scenario, key: Array, dtype: Any) -> Array:
    xp, n, spec = namespace(key), sc.n_parties, sc.types.power
    if spec.kind == "fixed":
        p = _fixed(xp, spec.values, key, dtype)
    elif spec.kind == "dirichlet":
        p = rng.dirichlet(key, _POWER, spec.concentration, (n,), dtype)
    else:
        p = xp.exp(spec.sigma * rng.normal(key, _POWER, (n,), dtype))
    p = xp.maximum(p, 1e-9)  # keep every party's power positive
    return p / xp.sum(p, axis=1, keepdims=True)


def sample_types(sc: Scenario, key: Array, dtype: Any = None) -> TypeDraw:
    """Draw every party's private type for episodes with int64 keys (B,)."""
    xp = namespace(key)
    dtype = dtype if dtype is not None else xp.float64
    n, k, t = sc.n_parties, sc.n_issues, sc.types
    power = _power(sc, key, dtype)
    if t.ideals is not None:
        ideal = _fixed(xp, t.ideals, key, dtype)
    else:
        u = xp.reshape(rng.uniform(key, _IDEAL, n * k, dtype), (-1, n, k))
        ideal = 0.5 + t.conflict * (u - 0.5)
    if t.weights is not None:
        weight = _fixed(xp, t.weights, key, dtype)
        weight = weight / xp.sum(weight, axis=2, keepdims=True)
    else:
        weight = rng.dirichlet(key, _WEIGHT, t.weight_concentration, (n, k), dtype)
    batna = t.batna_base + t.batna_slope * power
    risk = t.risk_base - t.risk_slope * power
    if t.batna_noise > 0 or t.risk_noise > 0:
        z = rng.normal(key, _NOISE, (2 * n,), dtype)
        batna = batna + t.batna_noise * z[:, :n]
        risk = risk + t.risk_noise * z[:, n:]
    batna = xp.minimum(xp.maximum(batna, 0.0), BATNA_MAX)
    risk = xp.minimum(xp.maximum(risk, 0.0), 1.0)
    cap = power**t.capability_exponent
    cap = cap / xp.sum(cap, axis=1, keepdims=True)
    if sc.burden_issue:
        ideal = _burden_ideal(xp, ideal, cap)
    low, high = sc.mediator.credibility
    u = rng.uniform(key, _RECOGNISE, 2, dtype)
    credibility = low + (high - low) * u[:, 1]
    seen = _mediator_view(sc, key, ideal, weight, batna, risk)
    return TypeDraw(power, ideal, weight, batna, risk, cap, credibility, *seen, u[:, 0])


def _burden_ideal(xp: Any, ideal: Array, cap: Array) -> Array:
    """On the burden issue a party's ideal is the end it prefers: 0 (equal shares) when its
    capability exceeds 1/N by more than 1e-6, else 1 (shares by capability). Within 1e-6 of
    1/N the party is indifferent (its share is 1/N at every text) and gets 1, in both float
    dtypes alike."""
    n = cap.shape[1]
    end = xp.where(cap > 1.0 / n + 1e-6, 0.0, 1.0)
    return xp.concat([ideal[..., :-1], xp.astype(end, ideal.dtype)[..., None]], axis=-1)


def _mediator_view(sc: Scenario, key: Array, ideal, weight, batna, risk):
    xp, info, eps = namespace(key), sc.mediator.information, sc.mediator.type_noise
    if info == "exact":
        return ideal, weight, batna, risk
    if info == "none":
        return (
            xp.zeros_like(ideal),
            xp.zeros_like(weight),
            xp.zeros_like(batna),
            xp.zeros_like(risk),
        )
    b, n, k = ideal.shape
    z = rng.normal(key, _SEEN, (2 * n * k + 2 * n,), ideal.dtype)
    z_ideal = xp.reshape(z[:, : n * k], (b, n, k))
    z_weight = xp.reshape(z[:, n * k : 2 * n * k], (b, n, k))
    z_batna, z_risk = z[:, 2 * n * k : 2 * n * k + n], z[:, 2 * n * k + n :]
    seen_w = xp.maximum(weight + eps * z_weight, 0.0) + 1e-9
    return (
        xp.minimum(xp.maximum(ideal + eps * z_ideal, 0.0), 1.0),
        seen_w / xp.sum(seen_w, axis=2, keepdims=True),
        xp.minimum(xp.maximum(batna + eps * z_batna, 0.0), 1.0),
        xp.minimum(xp.maximum(risk + eps * z_risk, 0.0), 1.0),
    )


@dataclass(frozen=True)
class Noise:
    """One step's uniform [0, 1) noise, batch-first."""

    ratify: Array  # (B, N) audience decisions
    detect: Array  # (B, N) monitoring detects a defection when below m
    honour: Array  # (B, N) a guarantee claim is honoured when below kappa
    shock: Array  # (B, N) a shock hits when below shock_prob
    recognise: Array  # (B,) next proposer under power recognition


def draw_noise(key: Array, clock: Array, n: int, dtype: Any) -> Noise:
    """The noise of step ``clock`` (B,) of episodes with keys (B,)."""
    return split_noise(rng.uniform(key, clock, 4 * n + 1, dtype), n)


class NoiseOnDemand:
    """The noise of :func:`draw_noise`, drawn when the rules first read it, for the rows that
    read it: a step of a large batch reads the audiences' noise only where a text passed and
    the stages' only where an agreement runs (:mod:`negenv.rows`), and the counter-based
    draws give each row its numbers whichever rows are drawn with it. The fields one rule
    reads together (a stage's detection, honouring and shocks) are drawn together."""

    # field groups: (first column, in units of N; fields in column order)
    _GROUPS = ((0, ("ratify",)), (1, ("detect", "honour", "shock")), (4, ("recognise",)))
    _FIELDS = {name: group for group in _GROUPS for name in group[1]}

    def __init__(self, key: Array, clock: Array, n: int, dtype: Any):
        self.key, self.clock, self.n, self.dtype = key, clock, n, dtype

    def __getattr__(self, name: str) -> Array:
        # reached only for a field not drawn yet
        if name not in self._FIELDS:
            raise AttributeError(name)
        first, names = self._FIELDS[name]
        n = self.n
        if names == ("recognise",):
            self.__dict__[name] = rng.uniform(self.key, self.clock, 1, self.dtype, 4 * n)[:, 0]
            return self.__dict__[name]
        u = rng.uniform(self.key, self.clock, len(names) * n, self.dtype, start=first * n)
        for i, field in enumerate(names):
            self.__dict__[field] = u[:, i * n : (i + 1) * n]
        return self.__dict__[name]

    def take_rows(self, idx: Array) -> NoiseOnDemand:
        """The same noise for the rows ``idx`` (fields drawn already are gathered)."""
        part = NoiseOnDemand(
            self.key.index_select(0, idx), self.clock.index_select(0, idx), self.n, self.dtype
        )
        for name in self._FIELDS.keys() & self.__dict__.keys():
            part.__dict__[name] = self.__dict__[name].index_select(0, idx)
        return part


def split_noise(u: Array, n: int) -> Noise:
    """The :class:`Noise` held in rows (B, 4N + 1) of uniforms, as :func:`draw_noise` lays them.

    One episode can draw the rows of many steps at once (``rng.uniform`` with its key
    repeated and the steps as counters) and split one row per step: the same numbers.
    """
    return Noise(u[:, :n], u[:, n : 2 * n], u[:, 2 * n : 3 * n], u[:, 3 * n : 4 * n], u[:, 4 * n])
