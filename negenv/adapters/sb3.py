"""Parameter sharing over party seats for stable-baselines3: every seat is one VecEnv env.

:class:`SeatVecEnv` wraps :class:`negenv.vector.VectorNegotiationEnv`: ``num_episodes``
negotiations run at once, and each party seat of each of them is one of the ``num_episodes *
N`` environments SB3 sees, so one policy learns from every seat (parameter sharing) while a
scripted mediator of :mod:`agents.registry` acts for the mediator. Observations are the
float32 party vectors (their one-hot ``self`` slice tells seats apart); masks come from
:meth:`SeatVecEnv.env_method` ``("action_masks")``, as sb3-contrib's ``MaskablePPO`` asks.
Episodes reset in the step that ends them, and ``infos[i]["terminal_observation"]`` and
``infos[i]["TimeLimit.truncated"]`` follow SB3's conventions. Needs the ``sb3`` extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from negenv.layout import MEDIATOR
from negenv.scenario import Scenario
from negenv.vector import VectorNegotiationEnv


class SeatVecEnv(VecEnv):
    """Every party seat of ``num_episodes`` batched negotiations as one SB3 environment.

    Args:
        scenario: any scenario (built-in name, YAML path, dict or :class:`Scenario`).
        num_episodes: negotiations stepped at once; SB3 sees ``num_episodes * N`` envs.
        mediator: a scripted mediator of :mod:`agents.registry` for mediated scenarios (its
            scenario overrides, such as full information, are applied).
        max_cycles: step cap per episode (truncation), or None.
        seed: seed of the batched env's first reset (SB3's ``seed()`` overrides it).
    """

    def __init__(
        self,
        scenario: str | Scenario | dict = "multilateral_5",
        num_episodes: int = 64,
        mediator: str = "nbs_signals",
        max_cycles: int | None = None,
        seed: int = 0,
    ):
        from agents import registry
        from negenv.env import NegotiationEnv
        from negenv.scenario import load, with_overrides

        sc = load(scenario)
        spec = registry.mediator(mediator) if sc.mediated else None
        if spec is not None and spec.overrides:
            sc = with_overrides(sc, spec.overrides)
        self.venv = VectorNegotiationEnv(
            sc, num_envs=num_episodes, dtype=torch.float32, max_cycles=max_cycles
        )
        shell = NegotiationEnv(sc)  # spaces and scripted policies are built against it
        self.mediator = spec.build(shell) if spec is not None else None
        self.n = sc.n_parties
        party = shell.parties[0]
        super().__init__(
            num_episodes * self.n,
            shell.observation_space(party)["observation"],
            shell.action_space(party),
        )
        self._seeds = [seed]
        self._obs: dict[str, Any] = {}
        self._actions: np.ndarray | None = None
        self.outcomes: list[dict[str, np.ndarray]] = []  # records of ended episodes; callers clear

    # ------------------------------------------------------------------------- VecEnv
    def reset(self) -> np.ndarray:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else 0
        self._obs = self.venv.reset(seed=int(seed))
        self._seeds = []
        return self._flat(self._obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64)

    def step_wait(self):
        b = self.venv.num_envs
        actions = {"party": torch.from_numpy(self._actions.reshape(b, self.n, -1))}
        if self.mediator is not None:
            mo = self._obs[MEDIATOR]
            act = self.mediator.act(mo["observation"].numpy(), mo["action_mask"].numpy())
            actions[MEDIATOR] = torch.as_tensor(np.asarray(act), dtype=torch.int64)
        self._obs, rewards, terminated, truncated, info = self.venv.step(actions)
        done = np.repeat((terminated | truncated).numpy(), self.n)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if "outcome" in info:
            self.outcomes.append(info["outcome"])
            final = info["final_observation"]["party"]["observation"].numpy()
            trunc = truncated.numpy()
            for row, slot in enumerate(info["outcome"]["slot"]):
                for i in range(self.n):  # only the seats of episodes that ended
                    infos[slot * self.n + i] = {
                        "terminal_observation": final[row, i],
                        "TimeLimit.truncated": bool(trunc[slot]),
                    }
        reward = rewards["party"].numpy().reshape(-1).astype(np.float32)
        return self._flat(self._obs), reward, done, infos

    def _flat(self, obs: dict[str, Any]) -> np.ndarray:
        x = obs["party"]["observation"].numpy()
        return x.reshape(-1, x.shape[-1])

    def action_masks(self) -> np.ndarray:
        """(num_envs, A) boolean masks of every seat, in env order."""
        m = self._obs["party"]["action_mask"].numpy()
        return m.reshape(-1, m.shape[-1]).astype(bool)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        if method_name != "action_masks":
            raise AttributeError(f"SeatVecEnv has no per-env method {method_name!r}")
        masks = self.action_masks()
        return list(masks[self._indices(indices)])

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        if attr_name == "action_masks":
            return [self.action_masks] * len(self._indices(indices))
        if attr_name == "render_mode":
            return [None] * len(self._indices(indices))
        raise AttributeError(f"SeatVecEnv has no per-env attribute {attr_name!r}")

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise AttributeError(f"SeatVecEnv cannot set per-env attribute {attr_name!r}")

    def env_is_wrapped(self, wrapper_class: type, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def close(self) -> None:
        pass

    def _indices(self, indices) -> np.ndarray:
        if indices is None:
            return np.arange(self.num_envs)
        return np.atleast_1d(np.arange(self.num_envs)[indices])
