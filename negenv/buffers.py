"""Output tensors that the batched env reuses once nobody else holds them.

A fresh tensor of tens of MiB comes from ``mmap`` on Linux, and filling it costs a page
fault per 4 KiB: at 16,384 envs the party observations alone (23 MiB) cost more to
fault in than to compute. :class:`Recycler` hands out a tensor it made earlier when the
caller has let go of every reference to it (the tensor itself, any view of its memory, any
C++ holder such as autograd), and a fresh one otherwise. Recycling therefore never changes
what a caller holds: an observation kept across steps, or viewed, is never written again.
"""

from __future__ import annotations

import sys

import torch


def _storage_uses(t: torch.Tensor) -> int:
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)


class Recycler:
    """Up to ``depth`` tensors per (shape, dtype, device, name), reused when free."""

    def __init__(self, depth: int = 3):
        self.depth = depth
        self._pools: dict[tuple, list[torch.Tensor]] = {}
        # the reference counts come from private torch APIs: without them, never recycle
        self.enabled = hasattr(torch.Tensor, "_use_count") and hasattr(
            torch._C, "_storage_Use_Count"
        )
        if self.enabled:
            probe = [torch.empty(1)]  # the counts of a tensor that only a pool holds
            self._baseline = self._counts(probe, 0)

    @staticmethod
    def _counts(pool: list[torch.Tensor], i: int) -> tuple[int, int, int]:
        t = pool[i]
        return sys.getrefcount(t), t._use_count(), _storage_uses(t)

    def empty(
        self, name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """An uninitialised tensor: a free pooled one when there is one, else a new one."""
        if not self.enabled:
            return torch.empty(shape, dtype=dtype, device=device)
        pool = self._pools.setdefault((name, tuple(shape), dtype, device), [])
        for i in range(len(pool)):
            if self._counts(pool, i) == self._baseline:
                return pool[i]
        t = torch.empty(shape, dtype=dtype, device=device)
        if len(pool) < self.depth:
            pool.append(t)
        return t
