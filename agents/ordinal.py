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

from agents.activations import Tanh
from agents.bell import base_precision, precision
from agents.learned import mlp
from negenv.layout import Layout

#: the party-observation blocks with one entry per party, in seat order
PER_PARTY = ("self", "powers", "guarantees", "last_votes", "proposer", "detected", "holdout")


class EgoView:
    """A party observation (M, D) seen from the party's own seat (see the module docstring).

    Args:
        layout: the scenario layout whose party observations are read.
        seat: keep the one-hot of the party's own seat as it is (not rotated to a constant),
            so that the shared policy can tell the seats apart where the game treats them
            differently (in ``rubinstein`` the seat fixes who proposes in the last round).
    """

    def __init__(self, layout: Layout, seat: bool = False):
        obs, n, k = layout.party_obs, layout.n, layout.k
        self.k, self.seat = k, seat
        self.me, self.ideal, self.proposal = obs["self"], obs["ideal"], obs["proposal"]
        # columns[s]: the observation's columns in the order party s reads them, its own
        # entry of every per-party block first (one gather per call)
        columns = torch.arange(obs.size).repeat(n, 1)
        rotated = [name for name in PER_PARTY if not (seat and name == "self")]
        for sl, width in [(obs[name], 1) for name in rotated] + [(obs["demands"], k)]:
            block = torch.arange(sl.start, sl.stop).reshape(n, width)
            for who in range(n):
                columns[who, sl] = block.roll(-who, 0).reshape(-1)
        self.columns = columns

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the seat-relative observation, the party's ideal (M, K))."""
        self.columns = self.columns.to(x.device)
        ideal = x[:, self.ideal]
        y = x.gather(1, self.columns[x[:, self.me].argmax(-1)])
        y[:, self.proposal] = 1.0 - (x[:, self.proposal] - ideal).abs()
        y[:, self.ideal] = 0.0
        return y, ideal


class VoteThreshold:
    """Votes as a threshold on the standing text's utility (``OrdinalActor(votes=...)``,
    ``train.py --threshold-votes``).

    A free vote logit must learn, state by state, that a responder who rejects a share of
    0.26 should also reject 0.25; with free logits the learned acceptance stays a soft ramp
    several grid steps wide around the threshold (a proposer facing it asks less, and the
    analysis, which reads the most likely vote, finds the responder lenient). Here the accept
    logit is ``kappa * (u - theta)``: ``u = 1 - sum_k w_k |x_k - y_k|`` is the party's
    utility of the standing text (from its own type in the observation), the network emits
    the reservation utility ``theta`` and the log of the sharpness ``kappa``, and the reject
    logit is 0. Acceptance is monotone in the text's utility at every state, and it sharpens
    by ratios (:mod:`agents.bell`). Measured in ``rubinstein`` (docs/results.md) it did not
    bring the responders' thresholds to their continuation; it is kept as an option, off by
    default.

    Args:
        layout: the scenario layout whose party observations are read.
        sharpness: ``kappa`` at a zero network output (per unit of utility).
    """

    def __init__(self, layout: Layout, sharpness: float = 10.0):
        obs = layout.party_obs
        self.ideal, self.weight, self.proposal = obs["ideal"], obs["weight"], obs["proposal"]
        self.component = layout.party_components.index("vote")
        self.sharpness = sharpness

    def utility(self, x: torch.Tensor) -> torch.Tensor:
        """(M,) the party's utility of the standing text, from the raw observation."""
        gap = (x[:, self.proposal] - x[:, self.ideal]).abs()
        return 1.0 - (x[:, self.weight] * gap).sum(-1)


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
        votes: score the vote component as a threshold on the text's utility
            (:class:`VoteThreshold`) instead of by free logits.
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
        votes: VoteThreshold | None = None,
    ):
        super().__init__()
        if not ordinal or not hidden:
            raise ValueError("OrdinalActor needs at least one ordinal component and one layer")
        if view is not None and len(ordinal) != view.k:
            raise ValueError(f"an EgoView needs one text per issue ({view.k}); got {len(ordinal)}")
        self.view = view
        self.nvec, self.ordinal = tuple(int(n) for n in nvec), tuple(ordinal)
        self.votes = votes
        special = (*self.ordinal, votes.component) if votes is not None else self.ordinal
        self.free_sizes = [n for i, n in enumerate(self.nvec) if i not in special]
        self.trunk = nn.Sequential(*list(mlp([obs_dim, *hidden], 2**0.5)), Tanh())
        self.free = nn.Linear(hidden[-1], sum(self.free_sizes))
        self.bell = nn.Linear(hidden[-1], 2 * len(self.ordinal))  # centre, precision
        heads = [self.free, self.bell]
        if votes is not None:
            if self.nvec[votes.component] != 2:
                raise ValueError("threshold votes need a two-option vote (reject, accept)")
            self.vote = nn.Linear(hidden[-1], 2)  # reservation utility, log sharpness
            heads.append(self.vote)
        for head in heads:
            nn.init.orthogonal_(head.weight, 0.01)
            nn.init.zeros_(head.bias)
        with torch.no_grad():
            self.bell.bias[: len(self.ordinal)] = 0.5  # centres start mid-grid
            if votes is not None:
                self.vote.bias[0] = 0.5  # accept texts worth at least 1/2 at first
        self.log_precision = log_precision
        self.beta0 = base_precision(prior_width, log_precision)
        for i in self.ordinal:
            self.register_buffer(f"grid{i}", torch.linspace(0, 1, self.nvec[i]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = x
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
            elif self.votes is not None and i == self.votes.component:
                theta, log_kappa = self.vote(h).unbind(-1)
                kappa = precision(log_kappa, self.votes.sharpness, True)
                accept = kappa * (self.votes.utility(raw) - theta)
                parts.append(torch.stack([torch.zeros_like(accept), accept], -1))
            else:
                parts.append(next(f))
        return torch.cat(parts, -1)
