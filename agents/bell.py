"""The precision of a bell over a grid, shared by the actors that score texts by one
(:class:`agents.set_actor.SetMediatorActor`, :class:`agents.ordinal.OrdinalActor`).

A bell's logits are ``-beta * (level - mu) ** 2`` with ``beta = beta0 * scale(rho)`` for a
network output ``rho``. ``softplus`` makes ``scale`` linear in large outputs: each unit of
``rho`` adds the same amount of precision, so a bell that must narrow tenfold needs a
hundredfold larger output, and with Adam's bounded steps it narrows slowly. ``exp`` (the
log-precision parameterisation) makes each unit a fixed ratio instead. Both start at the
same bell: ``beta0`` is chosen so that ``rho = 0`` gives the prior width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: the largest log-precision used: exp(30) is far past any grid's resolution, and keeps a
#: runaway output's logits finite
MAX_LOG_PRECISION = 30.0


def base_precision(prior_width: float, log_precision: bool) -> float:
    """``beta0`` such that ``rho = 0`` gives a bell of standard deviation ``prior_width``."""
    scale_at_zero = 1.0 if log_precision else math.log(2.0)
    return 1.0 / (2 * prior_width**2 * scale_at_zero)


def precision(rho: torch.Tensor, beta0: float, log_precision: bool) -> torch.Tensor:
    """The bell's precision for network outputs ``rho``."""
    if log_precision:
        return rho.clamp(max=MAX_LOG_PRECISION).exp() * beta0
    return nn.functional.softplus(rho) * beta0
