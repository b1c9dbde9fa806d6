"""Mixtures of policies: a meta-strategy of the league as one mediator or one population.

A mixture file (``*.mix.json``, written by :mod:`negenv.training.league`) names a role
(``"mediator"`` or ``"party"``), its components (registry names or checkpoint paths; a relative
checkpoint path is read from the file's folder) and their weights. Loaded through
:mod:`agents.registry` it is an ordinary ``--mediator`` or ``--population``.

A mixture plays one component for a whole episode. Episode slot ``e`` of a batch (the row of
a mediator, the rows ``e * N ... e * N + N - 1`` of a population over N seats, as
:mod:`negenv.rollout` and the trainers call policies) plays the component where the point
``frac((e + 0.5) * c)`` falls in the cumulative weights, with c the golden ratio's conjugate for
mediators and sqrt(2) - 1 for populations: a low-discrepancy (Kronecker) sequence, so any run
of slots holds each component in its share to within a slot or two, with no random stream to
seed, and since 1, c_mediator and c_population are independent over the rationals the pairs
of a mediator mixture and a population mixture cover the product of their weights too. The
PettingZoo backend plays one episode at a time, each as slot 0; score mixtures on the batched
backend (the default everywhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from negenv.atomic import write_atomic

ROLES = ("mediator", "party")
STRIDE = {"mediator": (5**0.5 - 1) / 2, "party": 2**0.5 - 1}


def components_of(episodes: int, weights: np.ndarray, role: str = "mediator") -> np.ndarray:
    """(episodes,) the component each episode slot plays (see the module doc)."""
    points = ((np.arange(episodes) + 0.5) * STRIDE[role]) % 1.0
    edges = np.cumsum(weights) / weights.sum()
    return np.minimum(np.searchsorted(edges, points, side="right"), len(weights) - 1)


def check_weights(weights: Any, n: int, source: str) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"{source}: weights = {list(np.ravel(weights))!r} are invalid: need {n} finite "
            "non-negative numbers, one per component, with a positive sum"
        )
    return w / w.sum()


class MixtureMediator:
    """Each episode's mediator is one component, by its slot."""

    def __init__(self, policies: list[Any], weights: Any):
        self.policies = list(policies)
        self.weights = check_weights(weights, len(self.policies), "mixture")

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        which = components_of(len(obs), self.weights)
        out: np.ndarray | None = None
        for j in np.flatnonzero(self.weights):
            rows = np.flatnonzero(which == j)
            if rows.size == 0:
                continue
            a = np.asarray(self.policies[j].act(obs[rows], mask[rows]))
            if out is None:
                out = np.zeros((len(obs), *a.shape[1:]), dtype=a.dtype)
            out[rows] = a
        assert out is not None
        return out


class MixturePopulation:
    """Each episode's parties are one component population (a policy per seat), by its slot.
    Serves all ``n`` seats as one policy object: rows are (episode, seat) in episode-major
    order."""

    def __init__(self, populations: list[list[Any]], weights: Any):
        self.populations = [list(p) for p in populations]
        self.n = len(self.populations[0])
        self.weights = check_weights(weights, len(self.populations), "mixture")

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if len(obs) % self.n:
            raise ValueError(
                f"a mixture population serves all {self.n} seats at once: got {len(obs)} rows"
            )
        e = len(obs) // self.n
        o, m = obs.reshape(e, self.n, -1), mask.reshape(e, self.n, -1)
        which = components_of(e, self.weights, "party")
        out: np.ndarray | None = None
        for j in np.flatnonzero(self.weights):
            eps = np.flatnonzero(which == j)
            if eps.size == 0:
                continue
            seats_of: dict[int, tuple[Any, list[int]]] = {}
            for s, policy in enumerate(self.populations[j]):
                seats_of.setdefault(id(policy), (policy, []))[1].append(s)
            for policy, seats in seats_of.values():
                rows = np.ix_(eps, seats)
                a = np.asarray(
                    policy.act(o[rows].reshape(-1, o.shape[2]), m[rows].reshape(-1, m.shape[2]))
                )
                if out is None:
                    out = np.zeros((e, self.n, a.shape[-1]), dtype=a.dtype)
                out[rows] = a.reshape(len(eps), len(seats), -1)
        assert out is not None
        return out.reshape(e * self.n, -1)


def write(path: str | Path, role: str, components: list[str], weights: Any, **meta: Any) -> None:
    """Write a mixture file atomically; checkpoint paths (given relative to the working
    directory, or absolute) are stored relative to the file's folder, which is where
    :func:`read` finds them, so a tree of runs can move as a whole."""
    path = Path(path)
    if role not in ROLES:
        raise ValueError(f"role = {role!r} is invalid: must be one of {ROLES}")
    w = check_weights(weights, len(components), str(path))

    def rel(name: str) -> str:
        if name.endswith(".pt"):
            return os.path.relpath(Path(name).resolve(), path.parent.resolve())
        return name

    data = {"role": role, "components": [rel(c) for c in components]}
    data |= {"weights": [float(x) for x in w], **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: json.dump(data, f, indent=1))


def is_mixture_name(name: str) -> bool:
    return str(name).endswith(".mix.json")


def read(path: str | Path, role: str) -> tuple[list[str], np.ndarray]:
    """A mixture file's components (checkpoint paths resolved) and weights; one clear error if
    it is missing, malformed or of the other role."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mixture file {str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"mixture file {str(path)!r} is not valid JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("components"), list):
        raise ValueError(f"mixture file {str(path)!r} needs 'role', 'components' and 'weights'")
    if data.get("role") != role:
        raise ValueError(
            f"mixture file {str(path)!r} is a {data.get('role')!r} mixture; "
            f"a {role!r} one is needed here"
        )
    names = [str(c) for c in data["components"]]
    if not names:
        raise ValueError(f"mixture file {str(path)!r} has no components")
    weights = check_weights(data.get("weights"), len(names), str(path))
    here = [
        str(path.parent / n) if n.endswith(".pt") and not Path(n).is_absolute() else n
        for n in names
    ]
    return here, weights


def build_mediator(path: str, env: Any, named: Callable[[str], Any]) -> MixtureMediator:
    names, weights = read(path, "mediator")
    return MixtureMediator([named(n).build(env) for n in names], weights)


def build_population(path: str, env: Any, named: Callable[[str, Any], dict]) -> dict[str, Any]:
    names, weights = read(path, "party")
    pops = [named(n, env) for n in names]
    policy = MixturePopulation([[p[a] for a in env.parties] for p in pops], weights)
    return {a: policy for a in env.parties}
