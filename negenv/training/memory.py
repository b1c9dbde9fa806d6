"""Keep the memory of freed large tensors in the process (glibc's allocator).

glibc serves every allocation above its mmap threshold (at most 32 MiB by default) with a
fresh ``mmap`` and returns it on free, so a tensor of that size, allocated and freed at every
minibatch, is page-faulted in again each time: one fault per 4 KiB, which on this project's
2-core CPU cost more than the arithmetic on the tensor. The set mediator actor's (M, N, K, H)
activations are 40 MiB at a 16,384-row minibatch. Raising the mmap and trim thresholds makes
glibc reuse the freed blocks from its heap instead; the process keeps up to ``threshold``
bytes of freed memory for later allocations. Results do not change, only their speed.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h


def retain_freed_memory(threshold: int = 1 << 30) -> bool:
    """Set glibc's mmap and trim thresholds to ``threshold`` bytes for this process; returns
    whether the allocator took them (False off Linux or on a libc without ``mallopt``)."""
    if threshold < 1 << 20:
        raise ValueError(f"threshold must be at least 1 MiB (1048576 bytes); got {threshold}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    value = min(threshold, 2**31 - 1)
    return bool(mallopt(M_MMAP_THRESHOLD, value)) and bool(mallopt(M_TRIM_THRESHOLD, value))
