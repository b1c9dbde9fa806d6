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


# keys of an SB3 file that negenv supplies itself, so SB3 does not unpickle them
_SUPPLIED = ("observation_space", "action_space", "lr_schedule", "clip_range", "learning_rate")


def is_sb3_model(name: str) -> bool:
    return isinstance(name, str) and name.endswith(".zip")


def check_sb3_model(path: str) -> None:
    """Fail early, naming the file, when ``path`` is not an SB3 model file."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            json.loads(z.read("data"))
            z.getinfo("policy.pth")
    except FileNotFoundError:
        raise FileNotFoundError(f"SB3 model file {path!r} does not exist") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise ValueError(
            f"{path!r} is not a stable-baselines3 model file (a .zip from model.save): {err}"
        ) from None


class SB3ModelPolicy:
    """``act(obs, mask)`` of a model saved by stable-baselines3 (``model.save("x.zip")``),
    trained on one of negenv's single-agent views (``MediatorEnv``, ``PartyEnv``).

    A MaskablePPO policy (sb3-contrib) is given the mask; a plain PPO policy is not, so its
    masked choices show in the scorecard's illegal rates. The spaces, schedules and policy
    class come from negenv, not from the file; what else the file pickles (``policy_kwargs``
    holding classes) SB3 unpickles, so load files you trust. Weights load on the CPU.
    """

    def __init__(self, path: str, obs_dim: int, nvec: tuple[int, ...], deterministic=True):
        import json
        import zipfile

        from sb3_contrib import MaskablePPO
        from stable_baselines3 import PPO

        check_sb3_model(path)
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
        module = data.get("policy_class", {}).get("__module__", "")
        self.masked = "maskable" in module
        algo = MaskablePPO if self.masked else PPO
        obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        act_space = spaces.MultiDiscrete(list(nvec))
        saved = data.get("observation_space", {})
        if "_shape" in saved and tuple(saved["_shape"]) != (obs_dim,):
            raise ValueError(
                f"SB3 model {path!r} observes {tuple(saved['_shape'])} features; this role of "
                f"this scenario has ({obs_dim},): it was trained on another scenario or role"
            )
        custom = dict.fromkeys(_SUPPLIED, 0.0) | {
            "observation_space": obs_space,
            "action_space": act_space,
            "lr_schedule": lambda _: 0.0,
            "clip_range": lambda _: 0.2,
        }
        self.model = algo.load(path, device="cpu", custom_objects=custom)
        self.deterministic = deterministic

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        kwargs = {"action_masks": np.asarray(mask, bool)} if self.masked else {}
        actions, _ = self.model.predict(
            np.asarray(obs, np.float32), deterministic=self.deterministic, **kwargs
        )
        return np.asarray(actions, np.int64)
