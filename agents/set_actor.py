"""A mediator actor over sets of parties and issues: one network for any scenario.

The flat MLP of :func:`agents.learned.actor_net` ties a policy to one scenario's layout and
must learn products such as "power times ideal point" from scratch. :class:`SetMediatorActor`
reads the mediator's observation through the scenario's :class:`negenv.layout.Layout` as a
(party, issue) grid of tokens, encodes every token with one shared network, pools over
parties and issues, and emits the flat logits of ``Layout.mediator_nvec``:

- **text**, per issue: attention over the parties (scores learned on the token encodings,
  starting from log power) mixes their observed ideal points into a centre ``c_k``; a learned
  shift and precision give the logits ``-beta_k (level - c_k - shift_k)^2`` over the
  proposal grid. At initialisation the policy is centred on the power-weighted centroid of
  the observed ideals and explores around it; training moves the weights, the shift and the
  precision.
- **guarantee**: one logit per party from its pooled encoding, one for "keep".
- **monitoring**: a logit per level from the pooled encoding.

Every weight is shared over parties and issues, so a checkpoint trained on one mediated
scenario loads on another with a different number of parties, issues or coalitions (the
proposal grid and monitoring levels must match). The scenario-context slice is not read.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.bell import base_precision, precision
from negenv.layout import Layout

#: the per-party scalar slices of the mediator observation, in token order
PARTY = ("powers", "last_votes", "guarantees", "detected", "holdout", "batnas", "risks")
#: the per-(party, issue) slices
CELL = ("ideals", "weights", "demands")
#: the episode-level slices
GLOBAL = ("phase", "round", "stage", "monitoring", "trust", "credibility", "budget_left")
#: feature widths: cells with the standing text and its gap to the ideal; party scalars and
#: coalition membership; the episode slices (phase is two wide) and 1/N, 1/K, coalitions on
CELL_IN, PARTY_IN, EPISODE_IN = len(CELL) + 2, len(PARTY) + 1, len(GLOBAL) + 1 + 3


class SetMediatorActor(nn.Module):
    """Mediator logits (M, sum(nvec)) from observations (M, D) of ``layout``.

    Args:
        layout: the scenario layout whose observations this instance reads; the weights do
            not depend on it (see :meth:`for_layout`).
        hidden: width of the token encoder and the pooled encodings.
        prior_width: standard deviation, in text units, of the initial text distribution.
        log_precision: the texts' precision is ``exp`` of the network's output, not
            ``softplus`` of it (:mod:`agents.bell`).
    """

    def __init__(
        self,
        layout: Layout,
        hidden: int = 64,
        prior_width: float = 0.1,
        log_precision: bool = False,
    ):
        super().__init__()
        self.levels, self.monitoring_levels = layout.proposal_levels, layout.monitoring_levels
        self.width = hidden
        self._bind(layout)
        self.cell_in = nn.Linear(CELL_IN, hidden)
        self.party_in = nn.Linear(PARTY_IN, hidden, bias=False)
        self.episode_in = nn.Linear(EPISODE_IN, hidden, bias=False)
        self.out = nn.Linear(hidden, hidden)
        for layer in (self.cell_in, self.party_in, self.episode_in, self.out):
            nn.init.orthogonal_(layer.weight, 2**0.5)
        nn.init.zeros_(self.cell_in.bias)
        nn.init.zeros_(self.out.bias)
        self.score = nn.Linear(hidden, 1)
        self.shift = nn.Linear(3 * hidden, 1)
        self.precision = nn.Linear(3 * hidden, 1)
        self.guarantee = nn.Linear(3 * hidden, 1)
        self.keep = nn.Linear(2 * hidden, 1)
        self.monitor = nn.Linear(2 * hidden, self.monitoring_levels)
        for head in (self.score, self.shift, self.precision, self.guarantee, self.keep):
            nn.init.orthogonal_(head.weight, 0.01)
            nn.init.zeros_(head.bias)
        nn.init.orthogonal_(self.monitor.weight, 0.01)
        nn.init.zeros_(self.monitor.bias)
        self.log_precision = log_precision
        self.beta0 = base_precision(prior_width, log_precision)

    def _bind(self, layout: Layout) -> None:
        if not layout.mediated:
            raise ValueError("SetMediatorActor needs a mediated scenario (a mediator acts)")
        obs = layout.mediator_obs
        self.n, self.k, self.c = layout.n, layout.k, layout.c
        self.slices = {name: obs[name] for name in obs.names}
        device = self.grid.device if hasattr(self, "grid") else None  # keep it where it is
        grid = torch.linspace(0.0, 1.0, layout.proposal_levels, device=device)
        self.register_buffer("grid", grid, persistent=False)

    def for_layout(self, layout: Layout) -> SetMediatorActor:
        """Rebind this actor (same weights) to another scenario's layout."""
        if (layout.proposal_levels, layout.monitoring_levels) != (
            self.levels,
            self.monitoring_levels,
        ):
            raise ValueError(
                f"this mediator acts on {self.levels} proposal levels and "
                f"{self.monitoring_levels} monitoring levels; the scenario has "
                f"{layout.proposal_levels} and {layout.monitoring_levels}"
            )
        self._bind(layout)
        return self

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per cell (M, N, K, CELL_IN), per party (M, N, PARTY_IN), per episode (M, EPISODE_IN)
        features, the powers (M, N) and the observed ideals (M, N, K)."""
        m, n, k = x.shape[0], self.n, self.k
        get = lambda name: x[:, self.slices[name]]  # noqa: E731
        party = [get(name) for name in PARTY]
        if self.c > 0:
            party.append(get("coalitions").reshape(m, n, self.c).sum(-1))
        else:
            party.append(party[0] * 0.0)
        sizes = x.new_tensor([1.0 / n, 1.0 / k, float(self.c > 0)]).expand(m, 3)
        episode = torch.cat([get(name) for name in GLOBAL] + [sizes], -1)
        ideal = get("ideals").reshape(m, n, k)
        proposal = get("proposal")[:, None, :].expand(m, n, k)
        cells = [ideal, get("weights").reshape(m, n, k), get("demands").reshape(m, n, k)]
        cell = torch.stack([*cells, proposal, ideal - proposal], -1)
        return cell, torch.stack(party, -1), episode, get("powers"), ideal

    def _tokens(self, cell: torch.Tensor, party: torch.Tensor, episode: torch.Tensor):
        """The token encoder's tanh layer, (M, N, K, H): ``tanh(cell_in(cell) +
        party_in(party) + episode_in(episode))`` broadcast over parties and issues; the
        encodings are ``out`` of it, which :meth:`forward` applies only after pooling.

        The proposal is the same for every party, and ``ideal - proposal`` is linear in both,
        so the cell block of the first layer splits into a per-cell part over three features
        (ideal, weight, demand) and a per-issue part over the proposal. Only the per-cell part,
        the two broadcast adds and the tanh touch (M, N, K, H) tensors; the adds are in place
        on the matmul's output, which its backward does not need."""
        wc = self.cell_in.weight  # (H, CELL_IN): ideal, weight, demand, proposal, gap
        per_cell = torch.stack([wc[:, 0] + wc[:, 4], wc[:, 1], wc[:, 2]])  # (3, H)
        per_issue = cell[:, 0, :, 3, None] * (wc[:, 3] - wc[:, 4]) + self.cell_in.bias
        per_issue = per_issue + self.episode_in(episode)[:, None]  # (M, K, H)
        first = cell[..., :3] @ per_cell
        first += per_issue[:, None]
        first += self.party_in(party)[:, :, None]
        return torch.tanh(first)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cell, party, episode, power, ideal = self._features(x)
        m, n, k = x.shape[0], self.n, self.k
        t = self._tokens(cell, party, episode)  # (M, N, K, H); the encodings are out(t)
        w = power / power.sum(-1, keepdim=True).clamp_min(1e-9)
        # `out` is linear, so it commutes with every pooling below: pool the tanh layer first
        # and apply `out` to the pooled (M, K, H) and (M, N, H) tensors, never to (M, N, K, H).
        # The mean and the power-weighted sum over parties are one batched matmul.
        weights = torch.stack([torch.full_like(w, 1.0 / n), w], 1)  # (M, 2, N)
        over_parties = (weights @ t.reshape(m, n, -1)).reshape(m, 2, k, -1)
        wo, bo = self.out.weight, self.out.bias
        issue = torch.cat(
            [
                nn.functional.linear(over_parties[:, 0], wo, bo),
                nn.functional.linear(over_parties[:, 1], wo) + w.sum(-1)[:, None, None] * bo,
            ],
            -1,
        )  # (M, K, 2H): mean and power-weighted sum of the encodings over parties
        pooled = issue.mean(1)  # (M, 2H)
        with_pool = lambda t: torch.cat([t, pooled[:, None].expand(-1, t.shape[1], -1)], -1)  # noqa: E731

        # text: attention over parties (from log power) mixes ideals into a centre per issue;
        # the score of an encoding is affine in it, so it folds into one vector over t
        v, c = (self.score.weight @ wo)[0], self.score.weight @ bo + self.score.bias
        score = t @ v + (c + torch.log(w.clamp_min(1e-6)))[..., None]  # (M, N, K)
        centre = (torch.softmax(score, 1) * ideal).sum(1)  # (M, K)
        per_issue = with_pool(issue[..., : wo.shape[0]])  # (M, K, 3H)
        mu = centre + self.shift(per_issue).squeeze(-1)
        beta = precision(self.precision(per_issue).squeeze(-1), self.beta0, self.log_precision)
        text = -beta[..., None] * (self.grid - mu[..., None]) ** 2  # (M, K, L)

        party = with_pool(nn.functional.linear(t.sum(2) / k, wo, bo))  # (M, N, 3H)
        guarantee = torch.cat([self.keep(pooled), self.guarantee(party).squeeze(-1)], -1)
        return torch.cat([text.reshape(m, -1), guarantee, self.monitor(pooled)], -1)
