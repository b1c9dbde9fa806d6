"""tanh for the learners' networks, written as ``2 sigmoid(2x) - 1`` on large CPU tensors.

The identity is exact; only the rounding differs (within 2e-7 of ``torch.tanh`` in float32).
It exists for speed: torch 2.13's CPU tanh kernel ran 26 ms on 10.5M floats where its sigmoid
ran 4.6 ms (one thread, AVX-512), so the identity (a sigmoid and three cheap passes) costs
about a third of ``torch.tanh``. On small tensors the extra passes' per-call cost outweighs
that, and on GPUs ``torch.tanh`` is already at memory speed; both keep ``torch.tanh``
(``benchmarks/bench_tanh.py`` measures the crossover). The backward is tanh's:
``(1 - t^2)`` times the incoming gradient, from the saved output.
"""

from __future__ import annotations

import torch
from torch import nn

#: below this many elements (or off the CPU) ``torch.tanh`` runs: measured crossover
MIN_ELEMENTS = 1 << 15


def _plain(x: torch.Tensor) -> bool:
    """Whether ``torch.tanh`` itself is the one for ``x``: the faster on small tensors and
    off the CPU, and the only accurate one in low precision (``2 s - 1`` from a bfloat16
    sigmoid near 1/2 keeps 2-3 bits of a small tanh)."""
    return (
        x.device.type != "cpu"
        or x.numel() < MIN_ELEMENTS
        or x.dtype not in (torch.float32, torch.float64)
    )


def _identity(x: torch.Tensor, inplace: bool) -> torch.Tensor:
    double = x.mul_(2.0) if inplace else torch.mul(x, 2.0)
    return double.sigmoid_().mul_(2.0).sub_(1.0)


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """``tanh`` in place, outside autograd (for a custom ``autograd.Function``'s forward)."""
    return x.tanh_() if _plain(x) else _identity(x, inplace=True)


class _SigmoidTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        t = _identity(x, inplace)
        if inplace:
            ctx.mark_dirty(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (t,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, t), None


def tanh(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """``tanh(x)``; with ``inplace`` the result may overwrite ``x`` (pass it only for a
    temporary that nothing else reads)."""
    if _plain(x):
        return x.tanh_() if inplace else torch.tanh(x)
    return _SigmoidTanh.apply(x, inplace)


class Tanh(nn.Module):
    """``nn.Tanh`` through :func:`tanh` (no parameters: state dicts are those of ``nn.Tanh``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tanh(x)
