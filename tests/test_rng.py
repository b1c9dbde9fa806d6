"""The counter-based generator against a plain-Python splitmix64, on both array backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from negenv import rng

MASK = (1 << 64) - 1
GOLDEN, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def mix(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * M1) & MASK
    z = ((z ^ (z >> 27)) * M2) & MASK
    return z ^ (z >> 31)


def signed(z: int) -> int:
    return z - (1 << 64) if z >> 63 else z


def key_of(seed: int, slot: int, episode: int) -> int:
    z = mix(seed)
    z = mix(z + GOLDEN * (slot + 1))
    return signed(mix(z + M1 * (episode + 1)))


def uniforms(key: int, counter: int, width: int) -> list[float]:
    z = mix(key * GOLDEN + counter * M2 + GOLDEN)
    return [(mix(z + j * GOLDEN) >> 40) / (1 << 24) for j in range(1, width + 1)]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_keys_and_uniforms_are_splitmix64(backend):
    slots, episodes = [0, 1, 7, 2**40], [0, 3, 0, 12]
    xs = [np.asarray(slots), np.asarray(episodes)]
    if backend == "torch":
        xs = [torch.as_tensor(x) for x in xs]
    before = [x.tolist() for x in xs]
    keys = rng.episode_keys(2**62 + 5, *xs)
    assert [int(k) for k in keys] == [key_of(2**62 + 5, s, e) for s, e in zip(slots, episodes)]
    assert [x.tolist() for x in xs] == before  # the inputs are not written
    key_before = keys.tolist()
    dtype = np.float64 if backend == "numpy" else torch.float64
    u = rng.uniform(keys, 11, 6, dtype)
    want = [uniforms(k, 11, 6) for k in key_before]
    assert np.asarray(u).tolist() == want
    assert keys.tolist() == key_before
    # float32 holds the same 24-bit values
    u32 = rng.uniform(keys, 11, 6, np.float32 if backend == "numpy" else torch.float32)
    assert np.asarray(u32, dtype=np.float64).tolist() == want
    # a draw from column `start` is those columns of a wider draw
    part = rng.uniform(keys, 11, 2, dtype, start=3)
    assert np.asarray(part).tolist() == [row[3:5] for row in want]
