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

With ``view`` (an :class:`EgoView`, ``train.py --party-actor ego``) the actor reads and writes
from its own seat: per-party blocks of the observation are rotated so that its own entry
comes first, the standing text is read as its closeness to the party's ideal, the ideal
itself is not read, and the centre of each text is ``ideal + c * (1 - 2 * ideal)`` for a
network output ``c`` (0 asks for the party's ideal, 1 for its mirror image ``1 - ideal``,
1/2 for mid-grid). Two parties in mirrored situations then see the same input and post
mirrored texts, so a policy shared by the seats cannot learn one seat's texts for the other
(in ``rubinstein`` a shared absolute-level policy learned to post, from both seats, texts
that only the first proposer wanted). Two limits: demand signals, which are directions on the
grid, are read and sent as they are (not mirrored); and a party whose ideal is 1/2 has no
mirror axis: its texts stay centred at 1/2 (near 1/2 it needs a large ``c`` to move).
"""

from __future__ import annotations

import torch
from torch import nn

from agents.bell import base_precision, precision
from agents.learned import mlp
from negenv.layout import Layout

#: the party-observation blocks with one entry per party, in seat order
PER_PARTY = ("self", "powers", "guarantees", "last_votes", "proposer", "detected", "holdout")


class EgoView:
    """A party observation (M, D) seen from the party's own seat (see the module docstring).

    Args:
        layout: the scenario layout whose party observations are read.
    """

    def __init__(self, layout: Layout):
        obs, n, k = layout.party_obs, layout.n, layout.k
        self.k = k
        self.me, self.ideal, self.proposal = obs["self"], obs["ideal"], obs["proposal"]
        # columns[s]: the observation's columns in the order party s reads them, its own
        # entry of every per-party block first (one gather per call)
        columns = torch.arange(obs.size).repeat(n, 1)
        for sl, width in [(obs[name], 1) for name in PER_PARTY] + [(obs["demands"], k)]:
            block = torch.arange(sl.start, sl.stop).reshape(n, width)
            for seat in range(n):
                columns[seat, sl] = block.roll(-seat, 0).reshape(-1)
        self.columns = columns

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the seat-relative observation, the party's ideal (M, K))."""
        self.columns = self.columns.to(x.device)
        ideal = x[:, self.ideal]
        y = x.gather(1, self.columns[x[:, self.me].argmax(-1)])
        y[:, self.proposal] = 1.0 - (x[:, self.proposal] - ideal).abs()
        y[:, self.ideal] = 0.0
        return y, ideal


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
        log_precision: the precision is ``exp`` of the network's output, not ``softplus`` of
            it (:mod:`agents.bell`): a bell narrows by a ratio per unit of the output.
        view: read and write from the party's own seat (:class:`EgoView`; the proposal
            components must be the K texts, in issue order).
    """

    def __init__(
        self,
        obs_dim: int,
        nvec: tuple[int, ...],
        hidden: tuple[int, ...],
        ordinal: tuple[int, ...],
        prior_width: float = 0.5,
        view: EgoView | None = None,
        log_precision: bool = False,
    ):
        super().__init__()
        if not ordinal or not hidden:
            raise ValueError("OrdinalActor needs at least one ordinal component and one layer")
        if view is not None and len(ordinal) != view.k:
            raise ValueError(f"an EgoView needs one text per issue ({view.k}); got {len(ordinal)}")
        self.view = view
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
        self.log_precision = log_precision
        self.beta0 = base_precision(prior_width, log_precision)
        for i in self.ordinal:
            self.register_buffer(f"grid{i}", torch.linspace(0, 1, self.nvec[i]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.view is not None:
            x, ideal = self.view(x)
        h = self.trunk(x)
        free = self.free(h).split(self.free_sizes, -1)
        mu, rho = self.bell(h).chunk(2, -1)
        if self.view is not None:  # mu is the concession c, mapped onto the party's own axis
            mu = ideal + mu * (1.0 - 2.0 * ideal)
        beta = precision(rho, self.beta0, self.log_precision)
        parts, f, o = [], iter(free), 0
        for i in range(len(self.nvec)):
            if i in self.ordinal:
                grid = getattr(self, f"grid{i}")
                parts.append(-beta[:, o, None] * (grid - mu[:, o, None]) ** 2)
                o += 1
            else:
                parts.append(next(f))
        return torch.cat(parts, -1)
