"""RLlib (Ray) adapter: negenv as a ``MultiAgentEnv``, one RLModule per role, masks honoured.

:class:`NegotiationMultiAgentEnv` is a thin shell over :class:`negenv.NegotiationEnv` in the
form RLlib's action-masking modules read: every observation is
``{"observations": float32 vector, "action_mask": float32 flat mask}`` (RLlib's
``ActionMaskingTorchRLModule`` adds ``log(mask)`` to the MultiDiscrete logits, so masked
options are never drawn). Episodes end for every agent at once, every agent receives its
last observation, and terminated and truncated stay apart (``__all__`` keys). Workers build
the env from its class, so negenv must be installed where Ray runs (``pip install -e``).

:func:`ppo_config` is the recipe: multi-agent PPO with a ``"party"`` module shared by every
seat and a ``"mediator"`` module, on any number of env runners, locally or on a cluster
(``ray.init(address="auto")``). :class:`RLlibPolicy` turns a checkpoint's module into an
agent that :mod:`negenv.evaluate` scores (``--mediator rllib:<checkpoint dir>``). Needs the
``rllib`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR


def module_of(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """Policy mapping: every party seat shares ``"party"``; the mediator is ``"mediator"``."""
    return MEDIATOR if agent_id == MEDIATOR else "party"


class NegotiationMultiAgentEnv(MultiAgentEnv):
    """negenv for RLlib's new API stack.

    Args:
        config: RLlib's ``env_config``: ``scenario`` (default ``multilateral_5``) and any
            :class:`negenv.NegotiationEnv` argument (``max_cycles``, ``render_mode``, scenario
            overrides).
    """

    def __init__(self, config: dict[str, Any] | None = None):
        super().__init__()
        kwargs = dict(config or {})
        scenario = kwargs.pop("scenario", "multilateral_5")
        self.env = NegotiationEnv(scenario, outcome_in_infos=False, **kwargs)
        self.render_mode = self.env.render_mode
        self.agents = self.possible_agents = list(self.env.possible_agents)
        self.observation_spaces = {a: self._space(a) for a in self.possible_agents}
        self.action_spaces = {a: self.env.action_space(a) for a in self.possible_agents}

    def _space(self, agent: str) -> gymnasium.spaces.Dict:
        inner = self.env.observation_space(agent)
        size = int(np.prod(inner["action_mask"].shape))
        return gymnasium.spaces.Dict(
            {
                "observations": inner["observation"],
                "action_mask": gymnasium.spaces.Box(0.0, 1.0, (size,), np.float32),
            }
        )

    @staticmethod
    def _convert(obs: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
        return {
            a: {
                "observations": o["observation"],
                "action_mask": o["action_mask"].astype(np.float32),
            }
            for a, o in obs.items()
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._convert(obs), infos

    def step(self, action_dict: dict[str, Any]):
        obs, rewards, terms, truncs, infos = self.env.step(action_dict)
        terms["__all__"] = all(terms.values())
        truncs["__all__"] = all(truncs.values())
        return self._convert(obs), rewards, terms, truncs, infos

    @property
    def outcome(self) -> dict[str, Any] | None:
        """The outcome record of the episode that ended last."""
        return self.env.outcome

    def render(self) -> Any:
        return self.env.render()


def ppo_config(
    scenario: str = "multilateral_5",
    env_runners: int = 2,
    hidden: tuple[int, ...] = (64, 64),
    train_batch_size: int = 600,
    sample_timeout_s: float | None = None,
    **env_kwargs: Any,
):
    """Multi-agent PPO on negenv: a masked ``"party"`` module shared by every seat and a masked
    ``"mediator"`` module, ``env_runners`` remote env runners (0: sample in the driver).

    ``sample_timeout_s`` is how long one round of sampling may wait for the remote runners.
    RLlib's default (60 s) is too short for a first round on a loaded machine (each runner
    imports torch and builds its modules first): when no runner answers in time, PPO's
    ``training_step`` returns early and the result has no ``"env_runners"`` entry (a
    ``KeyError: 'env_runners'`` in code that reads it). ``None``, the default here, waits
    until the runners answer; set a number to fail over stalled runners instead.

    Returns an ``PPOConfig`` to adjust further (``.training(lr=...)``) and ``.build_algo()``.
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    env_config = {"scenario": scenario, **env_kwargs}
    probe = NegotiationMultiAgentEnv(env_config)
    modules = sorted({module_of(a) for a in probe.possible_agents})
    model = {"fcnet_hiddens": list(hidden), "fcnet_activation": "tanh"}
    return (
        PPOConfig()
        .environment(NegotiationMultiAgentEnv, env_config=env_config)
        .env_runners(
            num_env_runners=env_runners,
            num_envs_per_env_runner=1,
            sample_timeout_s=sample_timeout_s,
        )
        .multi_agent(policies=set(modules), policy_mapping_fn=module_of)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={
                    m: RLModuleSpec(module_class=ActionMaskingTorchRLModule, model_config=model)
                    for m in modules
                }
            )
        )
        .training(train_batch_size_per_learner=train_batch_size, minibatch_size=200, num_epochs=2)
        .callbacks(IllegalActions)
    )


def _callback_base():
    from ray.rllib.callbacks.callbacks import RLlibCallback

    return RLlibCallback


class IllegalActions(_callback_base()):
    """Logs ``illegal_actions``: the illegal-action flags the env raised in each episode (the
    masked modules should keep it at 0)."""

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        flags = 0
        for infos in episode.get_infos().values():
            flags += sum(int(info.get("illegal_action", 0)) for info in infos)
        if metrics_logger is not None:
            metrics_logger.log_value("illegal_actions", flags, reduce="sum")


class RLlibPolicy:
    """A module of an RLlib checkpoint as an agent: ``act(obs, mask)`` on numpy arrays,
    greedy over the masked logits of each MultiDiscrete component.

    Args:
        checkpoint: the directory an ``Algorithm.save_to_path()`` wrote.
        module: ``"mediator"`` or ``"party"``.
        nvec: options per action component of that role.
    """

    def __init__(self, checkpoint: str | Path, module: str, nvec: tuple[int, ...]):
        import torch
        from ray.rllib.core.rl_module.rl_module import RLModule

        path = Path(checkpoint) / "learner_group" / "learner" / "rl_module" / module
        if not path.is_dir():
            raise FileNotFoundError(
                f"{str(checkpoint)!r} holds no RLlib module {module!r} (looked for {str(path)!r})"
            )
        self.module, self.nvec, self.torch = RLModule.from_checkpoint(path), tuple(nvec), torch
        self.bounds = np.concatenate([[0], np.cumsum(self.nvec)])

    def act(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self.torch
        batch = {
            "obs": {
                "observations": torch.as_tensor(np.asarray(obs, np.float32)),
                "action_mask": torch.as_tensor(np.asarray(mask, np.float32)),
            }
        }
        with torch.no_grad():
            logits = self.module.forward_inference(batch)["action_dist_inputs"].numpy()
        return np.stack(
            [logits[:, lo:hi].argmax(axis=1) for lo, hi in zip(self.bounds[:-1], self.bounds[1:])],
            axis=1,
        ).astype(np.int64)
