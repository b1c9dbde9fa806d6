"""Run a branch of the rules on the episodes that take it, not on the whole batch.

The rules are written batch-first and branch-free: a phase's step runs for every episode and
keeps its result where the phase's mask holds. On a large batch on the CPU that wastes most
of a branch whose mask is sparse: a step of random play on ``multilateral_5`` implements an
agreement in an eighth of the episodes and ends 7% of them (a text passes in a quarter).
:func:`branch` gathers the rows of such a branch, runs it on them alone
and writes what it changed back. Each episode's arithmetic is its own (the rules never mix
rows), so the values are the same either way; what changes is how much work a step does.

It is an eager, CPU-only measure. The PettingZoo env (numpy, one episode) already skips an
idle branch whole; ``torch.compile`` traces the branch-free form into one graph (indices
whose count depends on the data would break it); and on a GPU, where a step is bound by
kernel launches, the gathers would add launches to save arithmetic that costs little there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from negenv.backend import compiling

Array = Any

MIN_ROWS = 2048
"""Smaller batches run every branch whole: a gather costs more than it saves there."""

MAX_SHARE = 0.25
"""A branch taken by more than this share of the batch runs whole."""


def sparse_rows(mask: Array) -> Array | None:
    """The indices of ``mask``'s true rows when running a branch on them alone pays, else
    None: a torch CPU tensor of at least :data:`MIN_ROWS` rows, at most :data:`MAX_SHARE` of
    them true, outside ``torch.compile``."""
    if type(mask).__module__ != "torch" or mask.device.type != "cpu" or compiling():
        return None
    b = mask.shape[0]
    if b < MIN_ROWS:
        return None
    idx = mask.nonzero().squeeze(1)
    return idx if idx.shape[0] <= MAX_SHARE * b else None


def take(tree: Any, idx: Array) -> Any:
    """The rows ``idx`` of every array in ``tree`` (arrays, dataclasses of them, tuples,
    None, objects with their own ``take_rows``)."""
    if tree is None:
        return None
    own = getattr(tree, "take_rows", None)  # e.g. noise drawn on demand
    if own is not None:
        return own(idx)
    if dataclasses.is_dataclass(tree):
        return _rebuild(tree, {k: take(v, idx) for k, v in tree.__dict__.items()})
    if isinstance(tree, tuple):
        return tuple(take(t, idx) for t in tree)
    return tree.index_select(0, idx)


class Rows:
    """Some rows of a :class:`~negenv.core.State`, which the rules read and replace like the
    state itself; each field is gathered when a branch first reads it (a branch reads about
    half of the fields; gathering all 55 took 0.7-0.9 ms at 16,384 envs, a quarter of what
    the branches save). :func:`put` writes back the fields that changed."""

    def __init__(self, full: Any, idx: Array):
        self.__dict__.update(_full=full, _idx=idx, _gathered={})

    def replace(self, **changes: Array) -> Rows:
        new = object.__new__(Rows)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def __getattr__(self, name: str) -> Array:
        # reached only for a field not read yet by this view or those replaced from it
        d = self.__dict__
        gathered = d["_gathered"]
        if name not in gathered:
            if name.startswith("_"):
                raise AttributeError(name)
            gathered[name] = getattr(d["_full"], name).index_select(0, d["_idx"])
        d[name] = gathered[name]
        return d[name]

    def changed(self) -> dict[str, Array]:
        """The fields a branch set, by name (those not merely read)."""
        gathered = self.__dict__["_gathered"]
        return {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_") and v is not gathered.get(k)
        }


def put(full: Any, idx: Array, part: Rows) -> Any:
    """``full`` with the rows ``idx`` of every field the branch changed replaced by
    ``part``'s. Nothing is written in place: arrays the caller still holds keep their values."""
    changes = {k: getattr(full, k).index_copy(0, idx, v) for k, v in part.changed().items()}
    return full.replace(**changes) if changes else full


def branch(mask: Array, fn: Callable[..., Any], s: Any, *args: Any) -> Any:
    """``fn(s, *args)`` for a branch of the rules taken where ``mask`` (B,) is true.

    ``s`` is the state (a dataclass of batch-first arrays) and ``args`` are batch-first
    arrays, dataclasses of them or None (``mask`` among them when ``fn`` reads it). ``fn``
    returns the new state, or a tuple of it and arrays that are zero (or False) outside the
    mask, and leaves the rows outside the mask as they are: the rules' branches do on every
    state the rules reach (an agreement settles its pending claims when it ends, so none are
    left outside implementation). On sparse masks (:func:`sparse_rows`) ``fn`` runs on the
    masked rows only, with the same results (``tests/test_rows.py``).
    """
    idx = sparse_rows(mask)
    if idx is None:
        return fn(s, *args)
    out = fn(Rows(s, idx), *(take(a, idx) for a in args))
    new, extra = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
    merged = put(s, idx, new)
    if not extra:
        return merged
    b = mask.shape[0]
    zeros = [e.new_zeros((b, *e.shape[1:])).index_copy_(0, idx, e) for e in extra]
    return (merged, *zeros)


def _rebuild(obj: Any, fields: dict[str, Any]) -> Any:
    # the rules' dataclasses are frozen: fill a blank instance (cheaper than __init__)
    new = object.__new__(type(obj))
    new.__dict__.update(fields)
    return new
