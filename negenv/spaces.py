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
    """A MultiDiscrete whose ``sample`` also takes the concatenated per-component mask."""

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if isinstance(mask, np.ndarray) and mask.ndim == 1:
            mask = tuple(np.split(mask.astype(np.int8), np.cumsum(self.nvec)[:-1]))
        return super().sample(mask=mask, probability=probability)


class MaskedBox(spaces.Box):
    """A Box whose ``sample`` accepts a mask of the components the env reads.

    Components the mask leaves out are ignored by the env, so any value there is as good as
    another: the sample is uniform over the whole box either way.
    """

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        if mask is not None and np.shape(mask) != self.shape:
            raise ValueError(f"mask shape {np.shape(mask)} does not match the Box {self.shape}")
        return super().sample(probability=probability)
