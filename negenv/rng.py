"""Counter-based random numbers: every draw is a pure function of (key, counter, index).

An episode owns one int64 key; the draws of its reset and of its step t use their own
counters. So an episode's randomness is the same whether it runs alone in the PettingZoo env
or as element b of a batch of any size, on numpy or on torch, on any device. The generator is
the splitmix64 finaliser on int64 arithmetic (wrapping multiplication, masked shifts); uniforms
keep 24 bits, so that float32 and float64 hold the same values.
"""

from __future__ import annotations

import math
from typing import Any

from negenv.backend import namespace

Array = Any

_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_M1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_M2 = 0x94D049BB133111EB - (1 << 64)


def _srl(x: Array, s: int) -> Array:
    """Logical right shift of int64 values."""
    out = x >> s
    out &= (1 << (64 - s)) - 1
    return out


def _mix(z: Array) -> Array:
    """splitmix64's finaliser, in place: ``z`` must be a temporary of the caller (on large
    batches, new arrays for every operation cost more than the arithmetic)."""
    z ^= _srl(z, 30)
    z *= _M1
    z ^= _srl(z, 27)
    z *= _M2
    z ^= _srl(z, 31)
    return z


def episode_keys(seed: int, slots: Array, episodes: Array) -> Array:
    """Keys of the ``episodes``-th episodes run in batch ``slots`` after ``reset(seed)``.

    ``slots`` and ``episodes`` are int64 arrays (numpy or torch). The PettingZoo env is slot
    0: its k-th episode after ``reset(seed=s)`` has key ``episode_keys(s, [0], [k])``.
    """
    if not 0 <= seed < (1 << 63):
        raise ValueError(f"seed = {seed!r} is invalid: must be an int in [0, 2**63)")
    z = _mix(slots * 0 + seed)
    z = _mix(z + _GOLDEN * (slots + 1))
    return _mix(z + _M1 * (episodes + 1))


def uniform(key: Array, counter: Array | int, width: int, dtype: Any, start: int = 0) -> Array:
    """(B, width) uniforms in [0, 1) for keys (B,) and one counter per key (or a constant):
    the columns ``start .. start + width - 1`` of what a wider draw gives."""
    xp = namespace(key)
    j = xp.arange(start + 1, start + width + 1, dtype=key.dtype, device=key.device)
    counter = key * 0 + counter  # an int64 array even when a Python int is given
    z = _mix(_mix(key * _GOLDEN + counter * _M2 + _GOLDEN)[:, None] + j * _GOLDEN)
    z >>= 40  # the top 24 bits, as a logical shift would leave them
    z &= (1 << 24) - 1
    out = xp.astype(z, dtype)
    out *= 1.0 / (1 << 24)
    return out


def normal(key: Array, counter: int, shape: tuple[int, ...], dtype: Any) -> Array:
    """(B, *shape) standard normals by the Box-Muller transform."""
    xp = namespace(key)
    m = math.prod(shape)
    u = uniform(key, counter, 2 * m, dtype)
    z = xp.sqrt(-2.0 * xp.log(1.0 - u[:, :m])) * xp.cos(2.0 * math.pi * u[:, m:])
    return xp.reshape(z, (key.shape[0], *shape))


def gamma(
    key: Array, counter: int, alpha: float, shape: tuple[int, ...], dtype: Any, attempts: int = 8
) -> Array:
    """(B, *shape) Gamma(alpha, 1) draws.

    Integer shapes up to 8 sum exponentials. Others use Marsaglia-Tsang with a fixed number
    of attempts: each is accepted with probability above 0.95, so all eight fail with
    probability below 4e-11, and such a draw falls back to the mode ``d``. Shapes below 1
    use the boost ``Gamma(a) = Gamma(a + 1) * U ** (1 / a)``.
    """
    xp = namespace(key)
    m = math.prod(shape)
    if float(alpha).is_integer() and alpha <= 8:
        # Gamma(a) for integer a is a sum of a unit exponentials: exact and cheap
        u = xp.reshape(uniform(key, counter, int(alpha) * m, dtype), (-1, int(alpha), m))
        return xp.reshape(-xp.sum(xp.log(1.0 - u), axis=1), (key.shape[0], *shape))
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    x = normal(key, counter, (attempts, m), dtype)
    u = uniform(key, counter - 1_000_003, attempts * m + m, dtype)
    v = (1.0 + c * x) ** 3
    log_u = xp.log(1.0 - xp.reshape(u[:, : attempts * m], (-1, attempts, m)))
    ok = (v > 0) & (log_u < 0.5 * x * x + d - d * v + d * xp.log(xp.maximum(v, 1e-30)))
    first = xp.argmax(xp.astype(ok, dtype), axis=1)  # first accepted attempt
    draw = xp.take_along_axis(d * v, first[:, None, :], axis=1)[:, 0]
    draw = xp.where(xp.any(ok, axis=1), draw, d)
    if alpha < 1.0:
        draw = draw * (1.0 - u[:, attempts * m :]) ** (1.0 / alpha)
    return xp.reshape(draw, (key.shape[0], *shape))


def dirichlet(key: Array, counter: int, alpha: float, shape: tuple[int, ...], dtype: Any) -> Array:
    """(B, *shape) symmetric Dirichlet draws over the last axis."""
    xp = namespace(key)
    g = xp.maximum(gamma(key, counter, alpha, shape, dtype), 1e-30)
    return g / xp.sum(g, axis=-1, keepdims=True)
