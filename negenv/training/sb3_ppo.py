"""The stable-baselines3 backend: sb3-contrib's MaskablePPO on negenv's single-agent views.

``learn="mediator"``: a ``DummyVecEnv`` of :class:`negenv.adapters.gymnasium.MediatorEnv`
(env i plays against population ``i mod len(populations)``). ``learn="parties"``: one policy
shared by every party seat through :class:`negenv.adapters.sb3.SeatVecEnv`. Like the torch
backend, every update starts fresh episodes and reseeds SB3 from (seed, update), so a
resumed run equals the uninterrupted one; checkpoints hold the policy's and the optimiser's
state dicts (read back with ``weights_only=True``), not SB3's pickled zip.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch

from negenv import rng
from negenv.training.config import TrainConfig


def update_seed(seed: int, update: int) -> int:
    return int(rng.episode_keys(seed, np.array([update]), np.array([1 << 21]))[0] % 2**31)


def make_venv(cfg: TrainConfig):
    if cfg.learn == "parties":
        from negenv.adapters.sb3 import SeatVecEnv

        return SeatVecEnv(cfg.load_scenario(), num_episodes=cfg.num_envs, mediator=cfg.mediator)
    from stable_baselines3.common.vec_env import DummyVecEnv

    from negenv.adapters.gymnasium import MediatorEnv

    sc, pops = cfg.load_scenario(), cfg.populations
    return DummyVecEnv([partial(MediatorEnv, sc, pops[i % len(pops)]) for i in range(cfg.num_envs)])


def make_model(cfg: TrainConfig, venv):
    from sb3_contrib import MaskablePPO

    batch = cfg.num_envs * cfg.rollout_steps * (venv.num_envs // cfg.num_envs)
    return MaskablePPO(
        "MlpPolicy",
        venv,
        n_steps=cfg.rollout_steps,
        batch_size=max(1, batch // cfg.minibatches),
        n_epochs=cfg.epochs,
        learning_rate=cfg.lr,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        policy_kwargs={"net_arch": list(cfg.hidden), "activation_fn": torch.nn.Tanh},
        seed=cfg.seed,
        device="cpu",
        verbose=0,
    )


def role(cfg: TrainConfig) -> str:
    return "party" if cfg.learn == "parties" else "mediator"


def state(model, cfg: TrainConfig) -> dict[str, Any]:
    space = model.observation_space
    return {
        role(cfg): {
            "obs_dim": int(space.shape[0]),
            "nvec": [int(n) for n in model.action_space.nvec],
            "hidden": list(cfg.hidden),
            "policy": model.policy.state_dict(),
            "optim": model.policy.optimizer.state_dict(),
        }
    }


def load(model, entry: dict[str, Any], steps: int) -> None:
    model.policy.load_state_dict(entry["policy"])
    model.policy.optimizer.load_state_dict(entry["optim"])
    model.num_timesteps = steps


def run_update(model, venv, cfg: TrainConfig, update: int) -> list[dict[str, np.ndarray]]:
    """One PPO update (a rollout of ``rollout_steps`` steps in every env, then the epochs) on
    fresh episodes; returns the outcome records of the episodes that ended."""
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.utils import set_random_seed

    outcomes: list[dict[str, Any]] = []

    class Outcomes(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "outcome" in info:
                    outcomes.append({k: np.asarray(v)[None] for k, v in info["outcome"].items()})
            return True

    s = update_seed(cfg.seed, update)
    set_random_seed(s)
    model.action_space.seed(s)
    venv.seed(s)
    model._last_obs = None  # learn() resets the envs: every update plays fresh episodes
    model.learn(
        cfg.batch_steps * (venv.num_envs // cfg.num_envs),
        callback=Outcomes(),
        reset_num_timesteps=False,
        progress_bar=False,
    )
    if hasattr(venv, "outcomes"):
        outcomes += venv.outcomes
        venv.outcomes = []
    return outcomes
