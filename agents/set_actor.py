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

from agents.activations import tanh_
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
        """Per cell (M, N, K, 3: ideal, weight, demand), per party (M, N, PARTY_IN), per
        episode (M, EPISODE_IN) features, the standing text (M, K), the powers (M, N) and the
        observed ideals (M, N, K). A cell's other two inputs, the text and its gap to the
        ideal, are the text's: see :meth:`_token_layer`."""
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
        cell = torch.stack(
            [ideal, get("weights").reshape(m, n, k), get("demands").reshape(m, n, k)], -1
        )
        return cell, torch.stack(party, -1), episode, get("proposal"), get("powers"), ideal

    def _token_layer(self, cell, party, episode, proposal, heads):
        """The token encoder's tanh layer ``t = tanh(cell_in(cell) + party_in(party) +
        episode_in(episode))`` (M, N, K, H), broadcast over parties and issues, read the two
        ways :meth:`forward` needs (see :class:`_TokenPools`): ``t @ heads.T`` (M, N, K, 3)
        and its sum over issues (M, N, H).

        The proposal is the same for every party, and ``ideal - proposal`` is linear in both,
        so the cell block of the first layer splits into a per-cell part over three features
        (ideal, weight, demand) and a per-issue part over the proposal: building t takes one
        broadcast add, one matmul accumulating into it in place and the tanh."""
        wc = self.cell_in.weight  # (H, CELL_IN): ideal, weight, demand, proposal, gap
        per_cell = torch.stack([wc[:, 0] + wc[:, 4], wc[:, 1], wc[:, 2]])  # (3, H)
        per_issue = proposal[..., None] * (wc[:, 3] - wc[:, 4]) + self.cell_in.bias
        episode_in = _ThinInput.apply(episode, self.episode_in.weight)
        per_issue = per_issue + episode_in[:, None]  # (M, K, H)
        per_party = _ThinInput.apply(party, self.party_in.weight)  # (M, N, H)
        return _TokenPools.apply(per_issue, per_party, cell, per_cell, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cell, party, episode, proposal, power, ideal = self._features(x)
        m, k, h = x.shape[0], self.k, self.width
        w = power / power.sum(-1, keepdim=True).clamp_min(1e-9)  # (M, N)
        wo, bo = self.out.weight, self.out.bias
        # The encodings are out(t), and every head below is affine in them, or in their means
        # over parties or issues: `out` and each head's weights on the encoding fold into one
        # vector over t, so only t itself is (M, N, K, H). Per cell: the attention score and
        # the shift and precision of the issue's text (averaged over parties).
        ws, wp, wg = self.shift.weight, self.precision.weight, self.guarantee.weight  # (1, 3H)
        heads = torch.cat([self.score.weight, ws[:, :h], wp[:, :h]]) @ wo  # (3, H)
        # r (M, N, K, 3): t @ heads.T; t_sum (M, N, H): t summed over issues
        r, t_sum = self._token_layer(cell, party, episode, proposal, heads)
        t_mean = t_sum / k  # (M, N, H): each party's tanh layer averaged over issues
        # pooled: over issues, the mean and the power-weighted sum of encodings over parties
        # (written out: a batched matmul over N = 5 costs several times these on CPU)
        over = torch.stack([t_mean.mean(1), (w[..., None] * t_mean).sum(1)], 1)  # (M, 2, H)
        bias = torch.stack([torch.ones_like(w[:, 0]), w.sum(-1)], 1)[..., None] * bo
        pooled = (over @ wo.T + bias).reshape(m, 2 * h)  # (M, 2H)

        # text: attention over parties (from log power) mixes ideals into a centre per issue
        c = self.score.weight @ bo + self.score.bias
        score = r[..., 0] + (c + torch.log(w.clamp_min(1e-6)))[..., None]  # (M, N, K)
        centre = (torch.softmax(score, 1) * ideal).sum(1)  # (M, K)
        w_sp = torch.cat([ws, wp])  # (2, 3H): encoding part, then pooled part
        b_sp = (
            w_sp[:, :h] @ bo
            + pooled @ w_sp[:, h:].T
            + torch.cat([self.shift.bias, self.precision.bias])
        )
        sp = r[..., 1:].mean(1) + b_sp[:, None]  # (M, K, 2): shift and precision per issue
        mu = centre + sp[..., 0]
        beta = precision(sp[..., 1], self.beta0, self.log_precision)
        text = -beta[..., None] * (self.grid - mu[..., None]) ** 2  # (M, K, L)

        # guarantee: one logit per party from its encoding averaged over issues, and "keep"
        g = t_mean @ (wg[:, :h] @ wo)[0] + (
            wg[:, :h] @ bo + pooled @ wg[:, h:].T + self.guarantee.bias
        )
        guarantee = torch.cat([self.keep(pooled), g], -1)
        return torch.cat([text.reshape(m, -1), guarantee, self.monitor(pooled)], -1)


class _TokenPools(torch.autograd.Function):
    """``t = tanh(per_issue + per_party + cell3 @ per_cell)`` (M, N, K, H), broadcast over
    parties and issues, read two ways, ``t @ heads.T`` (M, N, K, R) and ``t.sum(2)``
    (M, N, H), with one pass back.

    Autograd would form t's gradient from each reading separately and add them; here the
    sum over issues' gradient is broadcast into a buffer once and the heads' part accumulates
    into it, and tanh's derivative is applied in place (on CPU, a product of an (M N K, R)
    by an (R, H) matrix into a new tensor costs twice the accumulation into one). The
    observations (``cell3``) take no gradient."""

    @staticmethod
    def forward(ctx, per_issue, per_party, cell3, per_cell, heads):
        if ctx.needs_input_grad[2]:
            raise ValueError("the set actor takes no gradient through its observations")
        m, n, k, _ = cell3.shape
        h = per_cell.shape[1]
        t = torch.add(per_issue[:, None], per_party[:, :, None]).view(-1, h)
        t = tanh_(t.addmm_(cell3.reshape(-1, 3), per_cell))
        ctx.save_for_backward(t, cell3, heads)
        return (t @ heads.T).view(m, n, k, -1), t.view(m, n, k, h).sum(2)

    @staticmethod
    def backward(ctx, g_heads, g_sum):
        t, cell3, heads = ctx.saved_tensors
        m, n, k, _ = g_heads.shape
        h = t.shape[1]
        g_heads = g_heads.reshape(-1, heads.shape[0])
        # copy_ into a new tensor: `expand(...).contiguous()` and the addmm_ into it ran
        # 5.5 ms here against 3.1 ms (16,384 rows, two threads; the same values)
        grad = g_sum.new_empty((m, n, k, h)).copy_(g_sum[:, :, None].expand(m, n, k, h))
        grad = grad.view(-1, h).addmm_(g_heads, heads)
        grad = torch.ops.aten.tanh_backward.grad_input(grad, t, grad_input=grad)
        grad_heads = _tall_product(g_heads, t)
        grad_cell = _tall_product(cell3.reshape(-1, 3), grad)
        grad = grad.view(m, n, k, h)
        return grad.sum(1), grad.sum(2), None, grad_cell, grad_heads


class _ThinInput(torch.autograd.Function):
    """``x @ weight.T``, a bias-free linear layer, whose weight gradient is formed by
    :func:`_tall_product`: for a few input features (8 or 11 here) over tens of thousands of
    rows, the ``g.T @ x`` of autograd's linear ran 4-7x slower on CPU."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return x @ weight.T

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        g_x = g @ weight if ctx.needs_input_grad[0] else None
        g_w = _tall_product(x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])).T
        return g_x, g_w


#: row blocks of :func:`_tall_product`, and the fewest rows per block worth one
TALL_BLOCKS, TALL_MIN_ROWS = 64, 256


def _tall_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a.T @ b`` for tall, narrow ``a`` (rows, R) and ``b`` (rows, H): on CPU a batched
    product over blocks of rows, summed. torch 2.13's CPU ``mm`` ran this shape on one
    thread, and slowly: at 327,680 rows, R = 3, H = 32, 7.2 ms (one thread) and 7.4 ms
    (two) against 4.4 ms and 2.6 ms this way (and 73 ms for ``b.T @ a``). The blocks are
    fixed, so the sum's order is too (same inputs, same bits)."""
    rows = a.shape[0]
    size = rows // TALL_BLOCKS
    if a.device.type != "cpu" or size < TALL_MIN_ROWS:
        return a.T @ b
    bulk = size * TALL_BLOCKS
    blocks_a = a[:bulk].view(TALL_BLOCKS, size, a.shape[1]).transpose(1, 2)
    out = torch.bmm(blocks_a, b[:bulk].view(TALL_BLOCKS, size, b.shape[1])).sum(0)
    return out.addmm_(a[bulk:].T, b[bulk:]) if bulk < rows else out
