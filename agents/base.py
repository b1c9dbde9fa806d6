"""The policy interface shared by scripted and learned agents."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Policy(Protocol):
    """Anything with ``act(obs (M, D), mask (M, A)) -> actions (M, ...)``."""

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def act(policies: dict[str, Policy], obs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Actions for every agent in ``obs``; agents sharing a policy object act as one batch.

    ``policies`` maps an agent name to its policy. Observations are negenv's
    ``{"observation", "action_mask"}`` dicts.
    """
    groups: dict[int, list[str]] = {}
    for agent in obs:
        groups.setdefault(id(policies[agent]), []).append(agent)
    actions: dict[str, np.ndarray] = {}
    for agents in groups.values():
        x = np.stack([obs[a]["observation"] for a in agents])
        m = np.stack([obs[a]["action_mask"] for a in agents])
        for agent, action in zip(agents, policies[agents[0]].act(x, m)):
            actions[agent] = action
    return actions


def legalise(actions: np.ndarray, mask: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """Replace every masked choice of a MultiDiscrete action by the first allowed option."""
    out = actions.copy()
    rows = np.arange(len(out))
    start = 0
    for j, n in enumerate(nvec):
        seg = mask[:, start : start + n]
        masked = seg[rows, out[:, j]] != 1
        if masked.any():  # usually few rows: the first allowed option of those alone
            out[masked, j] = np.argmax(seg[masked], axis=1)
        start += n
    return out
