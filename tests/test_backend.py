"""The rules' numpy namespace: its fast paths give numpy's own results."""

from __future__ import annotations

import numpy as np
import pytest

from negenv.backend import FAST_NUMPY


@pytest.mark.parametrize(
    ("shape", "index_shape", "axis"),
    [
        ((1, 5, 23), (1, 5, 7), -1),  # the illegal-action check of the one-episode env
        ((3, 4, 6), (3, 4, 2), 2),
        ((2, 1, 9), (2, 1, 1), -1),
        ((4, 6), (4, 3), 1),
        ((3, 0, 5), (3, 0, 2), -1),  # empty leading and index axes
        ((2, 3), (2, 0), -1),
        ((4, 6, 5), (4, 1, 5), 1),  # another axis: numpy's own path
        ((4, 6, 5), (1, 6, 2), -1),  # broadcast leading axes: numpy's own path
    ],
)
def test_take_along_axis_is_numpys(shape, index_shape, axis):
    gen = np.random.default_rng(0)
    x = gen.integers(0, 100, shape)
    idx = gen.integers(0, shape[axis], index_shape)
    got = FAST_NUMPY.take_along_axis(x, idx, axis=axis)
    assert got.shape == np.take_along_axis(x, idx, axis).shape
    assert np.array_equal(got, np.take_along_axis(x, idx, axis))
    # a strided view takes the same values as its copy
    t = np.swapaxes(x, 0, -1)
    ti = gen.integers(0, t.shape[-1], t.shape[:-1] + (2,))
    assert np.array_equal(FAST_NUMPY.take_along_axis(t, ti, -1), np.take_along_axis(t, ti, -1))


@pytest.mark.parametrize(
    ("shape", "axis"),
    [((1, 5), a) for a in (0, 1, 2, -1, -2, -3)]
    + [((3, 4, 2), a) for a in (0, 2, 3, -1, -4)]
    + [((2, 0), 1), ((), 0), ((), -1)],
)
def test_stack_is_numpys(shape, axis):
    gen = np.random.default_rng(1)
    arrays = [gen.random(shape) for _ in range(3)]
    got, want = FAST_NUMPY.stack(arrays, axis=axis), np.stack(arrays, axis=axis)
    assert got.shape == want.shape and np.array_equal(got, want)
    bools = [gen.random(shape) < 0.5 for _ in range(2)]
    assert np.array_equal(FAST_NUMPY.stack(bools, axis=axis), np.stack(bools, axis=axis))
    assert FAST_NUMPY.stack(bools, axis=axis).dtype == bool


def test_stack_of_unequal_shapes_raises_numpys_error():
    with pytest.raises(ValueError, match="same shape"):
        FAST_NUMPY.stack([np.zeros((2, 3)), np.zeros((3, 2))], axis=0)
