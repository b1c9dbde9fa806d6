"""Action spaces that accept the flat action mask found in every negenv observation.

negenv masks are flat int8 vectors, as sb3-contrib's MaskablePPO and RLlib expect for a
MultiDiscrete action. Gymnasium's ``MultiDiscrete.sample`` wants a tuple of per-component
masks and ``Box.sample`` refuses any mask; these subclasses accept the flat mask so that
``space.sample(obs["action_mask"])`` (PettingZoo's testers, quick baselines) just works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


class MaskedMultiDiscrete(spaces.MultiDiscrete):
    """A MultiDiscrete whose ``sample`` also takes the concatenated per-component mask.

    A flat mask is sampled in one vectorised pass with gymnasium's distribution: uniform over
    the allowed options of each component, ``start`` where a component allows none.
    (Gymnasium's recursive per-component path cost more than an env step.)
    """

    def __init__(self, nvec: Any, dtype: Any = np.int64, seed: Any = None, start: Any = None):
        super().__init__(nvec, dtype=dtype, seed=seed, start=start)
        if self.nvec.ndim == 1:
            width = int(self.nvec.max())
            offsets = np.concatenate([[0], np.cumsum(self.nvec)[:-1]])
            cols = np.arange(width)
            self._valid = cols < self.nvec[:, None]  # (C, width)
            self._index = np.where(self._valid, offsets[:, None] + cols, 0)

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if isinstance(mask, np.ndarray) and mask.ndim == 1:
            if probability is None and self.nvec.ndim == 1:
                return self._sample_flat(mask)
            mask = tuple(np.split(mask.astype(np.int8), np.cumsum(self.nvec)[:-1]))
        return super().sample(mask=mask, probability=probability)

    def _sample_flat(self, mask: np.ndarray) -> np.ndarray:
        if mask.shape != (int(self.nvec.sum()),):
            raise ValueError(
                f"flat mask of shape {mask.shape} does not match this space: its length must "
                f"be the sum of nvec, {int(self.nvec.sum())}"
            )
        allowed = (mask[self._index] == 1) & self._valid
        # random scores lifted by 1 where allowed: the argmax is uniform among allowed options
        scores = self.np_random.random(self._index.shape) + allowed
        choice = np.argmax(scores, axis=1)
        choice = np.where(allowed.any(axis=1), choice, 0)
        return (choice + self.start).astype(self.dtype)


class MaskedBox(spaces.Box):
    """A Box whose ``sample`` accepts a mask of the components the env reads.

    Components the mask leaves out are ignored by the env, so any value there is as good as
    another: the sample is uniform over the whole box either way.
    """

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if mask is not None and np.shape(mask) != self.shape:
            raise ValueError(f"mask shape {np.shape(mask)} does not match the Box {self.shape}")
        return super().sample(probability=probability)
