"""A party actor whose text choices are ordinal: a bell over the proposal grid.

The flat MLP of :func:`agents.learned.actor_net` gives every level of a proposal grid its own
logit. The levels are then unordered labels: a proposer that does well asking for 0.60 learns
nothing about 0.61, and it finds the level a responder just accepts only by sampling it.
:class:`OrdinalActor` keeps the MLP trunk and the other components' logits, and emits for
each proposal component a centre ``mu`` and a precision ``beta`` instead, with logits

    logit(level) = -beta * (level / (L - 1) - mu) ** 2

over the L levels (a discretised Gaussian). Raising the reward of a level moves ``mu``
towards it, so neighbouring levels share what is learned, and the bell narrows as the
precision grows. At initialisation ``mu`` = 1/2 and the bell is wide (``prior_width``), so
the first texts spread over the whole grid.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.learned import mlp


def ordinal_components(names: tuple[str, ...]) -> tuple[int, ...]:
    """The indices of a party layout's proposal components (the grid texts it posts)."""
    return tuple(i for i, name in enumerate(names) if name.startswith("proposal"))


class OrdinalActor(nn.Module):
    """Party logits (M, sum(nvec)) from observations (M, D); components ``ordinal`` of
    ``nvec`` are grids scored by a bell, the others by free logits.

    Args:
        obs_dim: observation width.
        nvec: options per action component.
        hidden: widths of the tanh trunk.
        ordinal: indices of the grid components (:func:`ordinal_components`).
        prior_width: the initial bell's width, in text units.
    """

    def __init__(
        self,
        obs_dim: int,
        nvec: tuple[int, ...],
        hidden: tuple[int, ...],
        ordinal: tuple[int, ...],
        prior_width: float = 0.5,
    ):
        super().__init__()
        if not ordinal or not hidden:
            raise ValueError("OrdinalActor needs at least one ordinal component and one layer")
        self.nvec, self.ordinal = tuple(int(n) for n in nvec), tuple(ordinal)
        self.free_sizes = [n for i, n in enumerate(self.nvec) if i not in self.ordinal]
        self.trunk = nn.Sequential(*list(mlp([obs_dim, *hidden], 2**0.5)), nn.Tanh())
        self.free = nn.Linear(hidden[-1], sum(self.free_sizes))
        self.bell = nn.Linear(hidden[-1], 2 * len(self.ordinal))  # centre, precision
        for head in (self.free, self.bell):
            nn.init.orthogonal_(head.weight, 0.01)
            nn.init.zeros_(head.bias)
        with torch.no_grad():
            self.bell.bias[: len(self.ordinal)] = 0.5  # centres start mid-grid
        # softplus(0) * beta0 = 1 / (2 width^2): the initial bell
        self.beta0 = 1.0 / (2 * prior_width**2 * math.log(2.0))
        for i in self.ordinal:
            self.register_buffer(f"grid{i}", torch.linspace(0, 1, self.nvec[i]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        free = self.free(h).split(self.free_sizes, -1)
        mu, rho = self.bell(h).chunk(2, -1)
        beta = nn.functional.softplus(rho) * self.beta0
        parts, f, o = [], iter(free), 0
        for i in range(len(self.nvec)):
            if i in self.ordinal:
                grid = getattr(self, f"grid{i}")
                parts.append(-beta[:, o, None] * (grid - mu[:, o, None]) ** 2)
                o += 1
            else:
                parts.append(next(f))
        return torch.cat(parts, -1)
