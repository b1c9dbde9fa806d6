"""Uniformly random legal actions, batched."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces


class RandomPolicy:
    """Uniform over the options the mask allows (discrete) or over the whole box (continuous).

    Args:
        space: the agent's action space (MultiDiscrete or Box).
        rng: the generator to draw from (seed it for reproducible runs).
    """

    def __init__(self, space: spaces.Space, rng: np.random.Generator):
        self.space, self.rng = space, rng
        if isinstance(space, spaces.MultiDiscrete):
            self.bounds = np.concatenate([[0], np.cumsum(space.nvec)])

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = obs.shape[0]
        if not isinstance(self.space, spaces.MultiDiscrete):
            return self.rng.uniform(self.space.low, self.space.high, (m, *self.space.shape)).astype(
                self.space.dtype
            )
        # random scores, lifted by 1 where allowed: the argmax of a segment is a uniform
        # draw among its allowed options
        scores = self.rng.random(mask.shape) + mask
        out = np.empty((m, len(self.space.nvec)), dtype=np.int64)
        for j, (lo, hi) in enumerate(zip(self.bounds[:-1], self.bounds[1:])):
            out[:, j] = np.argmax(scores[:, lo:hi], axis=1)
        return out
