"""The masked MultiDiscrete distribution of negenv's action layout, in plain torch.

Used by the learned agents and the trainers, and re-exported next to the TorchRL adapter
(:mod:`negenv.adapters.torchrl`), where a ``ProbabilisticActor`` takes it as its
``distribution_class`` with ``in_keys={"logits": ..., "mask": "action_mask"}`` and
``distribution_kwargs={"nvec": ...}``.
"""

from __future__ import annotations

import numpy as np
import torch

NEG = -1e9  # logit of a masked option: exp underflows to exactly 0, no NaN from -inf - -inf


def pad_index(nvec: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, M) indices into the flat logits laying component k's options in row k, and the
    (K, M) validity of each cell (M = the largest component)."""
    width = max(nvec)
    starts = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    cols = np.arange(width)
    valid = cols[None, :] < np.asarray(nvec)[:, None]
    idx = np.where(valid, starts[:, None] + cols[None, :], 0)
    return torch.as_tensor(idx), torch.as_tensor(valid)


class MaskedMultiCategorical(torch.distributions.Distribution):
    """Independent masked categoricals over the components of a MultiDiscrete action.

    Args:
        logits: (..., A) flat logits, A = sum(nvec).
        mask: (..., A) 0/1 or bool, the legal options.
        nvec: options per component.
    """

    arg_constraints: dict = {}

    def __init__(self, logits: torch.Tensor, mask: torch.Tensor, nvec: tuple[int, ...]):
        idx, valid = pad_index(tuple(nvec))
        idx, valid = idx.to(logits.device), valid.to(logits.device)
        flat = idx.reshape(-1)  # index_select: several times faster than [..., idx] on CPU
        padded = (*logits.shape[:-1], *idx.shape)
        self.legal = mask.index_select(-1, flat).view(padded).bool() & valid
        self.log_p = torch.log_softmax(
            logits.index_select(-1, flat).view(padded).masked_fill(~self.legal, NEG), -1
        )
        super().__init__(batch_shape=logits.shape[:-1], validate_args=False)

    def log_prob(self, action: torch.Tensor) -> torch.Tensor:
        picked = self.log_p.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
        return picked.sum(-1)

    def entropy(self) -> torch.Tensor:
        # masked options' log_p is about NEG: exp of it (or of anything below -87, where
        # float32 underflows) took torch's slow path, 6x the time; their terms are zeroed
        p = self.log_p.clamp_min(-80.0).exp()
        return -(p * self.log_p).masked_fill(~self.legal, 0.0).sum((-2, -1))

    @property
    def mode(self) -> torch.Tensor:
        return self.log_p.argmax(-1)

    @property
    def deterministic_sample(self) -> torch.Tensor:
        return self.mode

    def sample(self, sample_shape=(), generator: torch.Generator | None = None):
        """Gumbel-max draws; pass ``generator`` for injected randomness."""
        shape = torch.Size(sample_shape) + self.log_p.shape
        u = torch.rand(shape, generator=generator, device=self.log_p.device)
        gumbel = -torch.log(-torch.log(u.clamp_min(1e-20)))
        return (self.log_p + gumbel.to(self.log_p.dtype)).masked_fill(~self.legal, NEG).argmax(-1)
