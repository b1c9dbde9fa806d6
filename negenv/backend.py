"""The array namespace of the rules: numpy for numpy arrays, torch for tensors.

The rules call ``xp.<function>`` on tiny arrays when the PettingZoo env steps one episode,
so numpy's Python-level wrappers (argument checks in ``np.sum``, ``np.astype``,
``np.broadcast_to``) cost more than the arithmetic. :data:`FAST_NUMPY` binds the hottest
functions straight to ndarray methods and passes everything else through to numpy.

Tensors get :func:`torch_namespace`: the array-API functions the rules use, each mapped
straight onto its torch operation. (``array_api_compat.torch`` would do, but its wrappers
ask ``torch.result_type`` for dtypes, which costs time in eager mode and breaks
``torch.compile`` graphs.) Other arrays go through ``array_api_compat``.
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
from array_api_compat import array_namespace


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # a copy is fine for the rules' read-only uses, and much cheaper than the view's setup
    return x + np.zeros(shape, dtype=x.dtype) if x.dtype != bool else np.broadcast_to(x, shape)


def _take_along_axis(x: np.ndarray, idx: np.ndarray, axis: int = -1) -> np.ndarray:
    # numpy's version builds an index array per dimension; along the last axis of arrays of
    # the same leading shape (every use in the rules' hot path) one flat offset serves
    if axis in (-1, x.ndim - 1) and idx.ndim == x.ndim and idx.shape[:-1] == x.shape[:-1]:
        width = x.shape[-1]
        rows = np.arange(0, math.prod(idx.shape[:-1]) * width, width)
        return x.reshape(-1)[idx + rows.reshape(idx.shape[:-1] + (1,))]
    return np.take_along_axis(x, idx, axis=axis)


def _stack(arrays: list[np.ndarray], axis: int = 0) -> np.ndarray:
    # np.stack checks and expands in Python; the rules stack a few arrays of one shape
    first = arrays[0]
    if any(a.shape != first.shape for a in arrays):
        return np.stack(arrays, axis=axis)  # numpy's own error
    at = axis if axis >= 0 else axis + first.ndim + 1
    shape = first.shape[:at] + (1,) + first.shape[at:]
    return np.concatenate([a.reshape(shape) for a in arrays], axis=at)


# Every public numpy name as a plain attribute (a __getattr__ fallback costs a microsecond).
FAST_NUMPY = SimpleNamespace(**{k: v for k, v in vars(np).items() if not k.startswith("_")})
FAST_NUMPY.__dict__.update(
    sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    any=lambda x, axis=None: x.any(axis=axis),
    all=lambda x, axis=None: x.all(axis=axis),
    mean=lambda x, axis=None: x.mean(axis=axis),
    astype=lambda x, dtype: x.astype(dtype),
    broadcast_to=_broadcast_to,
    clip=lambda x, low, high: x.clip(low, high),
    reshape=lambda x, shape: x.reshape(shape),
    round=np.round,
    take=lambda x, idx: x[idx],
    take_along_axis=_take_along_axis,
    stack=_stack,
)


def _torch_namespace() -> SimpleNamespace:
    import torch

    def bound(op, arg: str):  # maximum/minimum of a tensor and a Python number
        def f(x, y):
            if isinstance(y, (int, float)):
                return torch.clamp(x, **{arg: y})
            if isinstance(x, (int, float)):
                return torch.clamp(y, **{arg: x})
            return op(x, y)

        return f

    def reduce(op):
        def f(x, axis=None, keepdims=False):
            return op(x) if axis is None else op(x, dim=axis, keepdim=keepdims)

        return f

    return SimpleNamespace(
        where=torch.where,
        astype=lambda x, dtype: x.to(dtype, copy=True),
        maximum=bound(torch.maximum, "min"),
        minimum=bound(torch.minimum, "max"),
        sum=reduce(torch.sum),
        any=reduce(torch.any),
        all=reduce(torch.all),
        min=reduce(torch.amin),
        mean=reduce(torch.mean),
        argmax=lambda x, axis=None: torch.argmax(x, dim=axis),
        reshape=torch.reshape,
        concat=lambda arrays, axis=0, out=None: torch.cat(arrays, dim=axis, out=out),
        stack=lambda arrays, axis=0: torch.stack(arrays, dim=axis),
        # gather where the index has x's rank (all the rules' uses): take_along_dim's
        # broadcasting costs a factor of 3 on CPU
        take_along_axis=lambda x, idx, axis=-1: (
            torch.gather(x, axis, idx) if idx.ndim == x.ndim else torch.take_along_dim(x, idx, axis)
        ),
        # rows of x by an index array of any shape (index_select is several times faster
        # than advanced indexing on CPU)
        take=lambda x, idx: torch.index_select(x, 0, idx.reshape(-1)).reshape(
            idx.shape + x.shape[1:]
        ),
        broadcast_to=torch.broadcast_to,
        cumulative_sum=lambda x, axis=None: torch.cumsum(x, dim=axis),
        flip=lambda x, axis=None: torch.flip(x, dims=(axis,)),
        clip=lambda x, low, high: torch.clamp(x, low, high),
        zeros=torch.zeros,
        zeros_like=torch.zeros_like,
        arange=torch.arange,
        eye=torch.eye,
        asarray=torch.asarray,
        **{
            f: getattr(torch, f)
            for f in ("log", "exp", "sign", "sqrt", "floor", "round", "cos", "abs")
        },
        bool=torch.bool,
        float64=torch.float64,
    )


_TORCH: list[SimpleNamespace] = []  # built on first use: importing torch is slow


def torch_namespace() -> SimpleNamespace:
    if not _TORCH:
        _TORCH.append(_torch_namespace())
    return _TORCH[0]


def namespace(x: Any) -> Any:
    """The namespace the rules use for arrays like ``x``."""
    if type(x) is np.ndarray:
        return FAST_NUMPY
    if type(x).__module__ == "torch" and type(x).__name__ == "Tensor":
        return torch_namespace()
    return array_namespace(x)


def compiling() -> bool:
    """Whether ``torch.compile`` is tracing the caller (never true without torch loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.compiler.is_compiling()


def needed(mask: Any) -> bool:
    """Whether a branch of the rules has work: some episode in ``mask`` is true.

    Skipping idle branches spares the one-episode env most of its work. While
    ``torch.compile`` traces the rules every branch runs (masked, with the same results), so
    the traced graph has no data-dependent control flow.
    """
    if type(mask) is np.ndarray:
        return bool(mask.any())
    return compiling() or bool(mask.any())
