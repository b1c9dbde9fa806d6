"""The flat-mask sampler of MaskedMultiDiscrete against gymnasium's own per-component one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from negenv.spaces import MaskedMultiDiscrete


def frequencies(space, mask, n):
    out = np.stack([space.sample(mask) for _ in range(n)])
    return [np.bincount(out[:, j], minlength=k) for j, k in enumerate(space.nvec)]


def test_flat_mask_sampling_has_gymnasium_distribution():
    nvec = np.array([2, 3, 5, 4, 1])
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1], dtype=np.int8)
    fast, slow = MaskedMultiDiscrete(nvec, seed=0), MaskedMultiDiscrete(nvec, seed=1)
    per_component = tuple(np.split(mask, np.cumsum(nvec)[:-1]))
    got = frequencies(fast, mask, 6000)
    want = frequencies(slow, per_component, 6000)
    for j, (g, w) in enumerate(zip(got, want)):
        allowed = np.split(mask, np.cumsum(nvec)[:-1])[j] == 1
        # both only ever pick allowed options (start where none is allowed)
        assert np.all(g[~allowed] == 0) or not allowed.any()
        assert np.array_equal(g > 0, w > 0), j
        if allowed.sum() > 1:  # and the same (uniform) distribution over them
            table = np.stack([g[allowed], w[allowed]])
            assert stats.chi2_contingency(table).pvalue > 1e-3, (j, table)
    assert got[3].tolist() == [6000, 0, 0, 0]  # no option allowed: start, like gymnasium


def test_flat_mask_of_the_wrong_length_is_refused():
    space = MaskedMultiDiscrete(np.array([2, 3]))
    with pytest.raises(ValueError, match="sum of nvec, 5"):
        space.sample(np.ones(4, dtype=np.int8))
