"""All randomness of an episode, drawn from an injected generator.

The rules never draw: :func:`sample_types` draws the private types at reset and
:func:`draw_noise` draws one step's uniform noise, and both are handed to the pure rules.
Draws are made per batch element in a fixed order, so element b depends only on its own
generator stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from negenv.scenario import Scenario

BATNA_MAX = 0.95


@dataclass(frozen=True)
class TypeDraw:
    """Private types (batch-first numpy arrays) and the mediator's view of them."""

    power: np.ndarray  # (B, N), sums to 1
    ideal: np.ndarray  # (B, N, K) in [0, 1]
    weight: np.ndarray  # (B, N, K), rows sum to 1
    batna: np.ndarray  # (B, N) in [0, BATNA_MAX]
    risk: np.ndarray  # (B, N) in [0, 1]
    capability: np.ndarray  # (B, N), sums to 1
    seen_ideal: np.ndarray
    seen_weight: np.ndarray
    seen_batna: np.ndarray
    seen_risk: np.ndarray
    recognise: np.ndarray  # (B,) noise for recognising the first proposer


def _power(sc: Scenario, rng: np.random.Generator, b: int) -> np.ndarray:
    n, spec = sc.n_parties, sc.types.power
    if spec.kind == "fixed":
        p = np.broadcast_to(np.asarray(spec.values, dtype=float), (b, n))
    elif spec.kind == "dirichlet":
        p = rng.dirichlet(np.full(n, spec.concentration), size=b)
    else:
        p = np.exp(spec.sigma * rng.standard_normal((b, n)))
    p = np.maximum(p, 1e-9)  # a Dirichlet draw can underflow to exactly 0
    return p / p.sum(axis=1, keepdims=True)


def _weights(sc: Scenario, rng: np.random.Generator, b: int) -> np.ndarray:
    n, k, t = sc.n_parties, sc.n_issues, sc.types
    if t.weights is not None:
        w = np.broadcast_to(np.asarray(t.weights, dtype=float), (b, n, k))
    else:
        w = rng.dirichlet(np.full(k, t.weight_concentration), size=(b, n))
    return w / w.sum(axis=2, keepdims=True)


def sample_types(sc: Scenario, rng: np.random.Generator, batch: int = 1) -> TypeDraw:
    """Draw every party's private type for ``batch`` episodes."""
    n, k, t = sc.n_parties, sc.n_issues, sc.types
    power = _power(sc, rng, batch)
    if t.ideals is not None:
        ideal = np.broadcast_to(np.asarray(t.ideals, dtype=float), (batch, n, k)).copy()
    else:
        ideal = 0.5 + t.conflict * (rng.random((batch, n, k)) - 0.5)
    weight = _weights(sc, rng, batch)
    noise = t.batna_noise * rng.standard_normal((batch, n))
    batna = np.clip(t.batna_base + t.batna_slope * power + noise, 0.0, BATNA_MAX)
    risk = np.clip(t.risk_base - t.risk_slope * power, 0.0, 1.0)
    cap = power**t.capability_exponent
    cap = cap / cap.sum(axis=1, keepdims=True)
    seen = _mediator_view(sc, rng, ideal, weight, batna, risk)
    return TypeDraw(power, ideal, weight, batna, risk, cap, *seen, rng.random(batch))


def _mediator_view(sc, rng, ideal, weight, batna, risk):
    info, eps = sc.mediator.information, sc.mediator.type_noise
    if info == "exact":
        return ideal.copy(), weight.copy(), batna.copy(), risk.copy()
    if info == "none":
        return (
            np.zeros_like(ideal),
            np.zeros_like(weight),
            np.zeros_like(batna),
            np.zeros_like(risk),
        )
    seen_w = np.maximum(weight + eps * rng.standard_normal(weight.shape), 0.0) + 1e-9
    return (
        np.clip(ideal + eps * rng.standard_normal(ideal.shape), 0.0, 1.0),
        seen_w / seen_w.sum(axis=2, keepdims=True),
        np.clip(batna + eps * rng.standard_normal(batna.shape), 0.0, 1.0),
        np.clip(risk + eps * rng.standard_normal(risk.shape), 0.0, 1.0),
    )


@dataclass(frozen=True)
class Noise:
    """One step's uniform [0, 1) noise, batch-first."""

    ratify: np.ndarray  # (B, N) audience decisions
    detect: np.ndarray  # (B, N) monitoring detects a defection when below m
    honour: np.ndarray  # (B, N) a guarantee claim is honoured when below kappa
    shock: np.ndarray  # (B, N) a shock hits when below shock_prob
    recognise: np.ndarray  # (B,) next proposer under power recognition


def noise_width(n: int) -> int:
    return 4 * n + 1


def split_noise(u, n: int) -> Noise:
    """Slice a (B, 4N+1) uniform array (numpy or torch) into the named noise fields."""
    return Noise(u[:, :n], u[:, n : 2 * n], u[:, 2 * n : 3 * n], u[:, 3 * n : 4 * n], u[:, 4 * n])


def draw_noise(rng: np.random.Generator, batch: int, n: int) -> Noise:
    return split_noise(rng.random((batch, noise_width(n))), n)
