"""A stable-baselines3 (Maskable)PPO policy from a ``train.py --backend sb3`` checkpoint, as an
agent with the scripted agents' interface. Needs the ``sb3`` extra."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces


def build_policy(obs_dim: int, nvec: tuple[int, ...], hidden: tuple[int, ...]):
    """The MaskableActorCriticPolicy that ``train.py --backend sb3`` trains."""
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

    return MaskableActorCriticPolicy(
        spaces.Box(-1.0, 1.0, (obs_dim,), np.float32),
        spaces.MultiDiscrete(list(nvec)),
        lambda _: 0.0,
        net_arch=list(hidden),
        activation_fn=torch.nn.Tanh,
    )


class SB3Policy:
    """``act(obs, mask)`` of a saved MaskablePPO policy (deterministic by default)."""

    def __init__(self, entry: dict[str, Any], nvec: tuple[int, ...], deterministic: bool = True):
        self.policy = build_policy(int(entry["obs_dim"]), nvec, tuple(entry["hidden"]))
        self.policy.load_state_dict(entry["policy"])
        self.policy.set_training_mode(False)
        self.deterministic = deterministic

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        actions, _ = self.policy.predict(
            np.asarray(obs, np.float32),
            deterministic=self.deterministic,
            action_masks=np.asarray(mask, bool),
        )
        return np.asarray(actions, np.int64)
