"""The array namespace of the rules: numpy for numpy arrays, array-api-compat otherwise.

The rules call ``xp.<function>`` on tiny arrays when the PettingZoo env steps one episode,
so numpy's Python-level wrappers (argument checks in ``np.sum``, ``np.astype``,
``np.broadcast_to``) cost more than the arithmetic. :data:`FAST_NUMPY` binds the hottest
functions straight to ndarray methods and passes everything else through to numpy; torch
tensors go through ``array_api_compat.torch``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from array_api_compat import array_namespace


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    # a copy is fine for the rules' read-only uses, and much cheaper than the view's setup
    return x + np.zeros(shape, dtype=x.dtype) if x.dtype != bool else np.broadcast_to(x, shape)


# Every public numpy name as a plain attribute (a __getattr__ fallback costs a microsecond).
FAST_NUMPY = SimpleNamespace(**{k: v for k, v in vars(np).items() if not k.startswith("_")})
FAST_NUMPY.__dict__.update(
    sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    any=lambda x, axis=None: x.any(axis=axis),
    all=lambda x, axis=None: x.all(axis=axis),
    mean=lambda x, axis=None: x.mean(axis=axis),
    astype=lambda x, dtype: x.astype(dtype),
    broadcast_to=_broadcast_to,
    reshape=lambda x, shape: x.reshape(shape),
)


def namespace(x: Any) -> Any:
    """The namespace the rules use for arrays like ``x``."""
    if type(x) is np.ndarray:
        return FAST_NUMPY
    return array_namespace(x)
