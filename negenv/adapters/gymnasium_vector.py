"""Gymnasium ``VectorEnv`` views of the batched env, what ``gymnasium.make_vec`` builds.

:class:`MediatorVectorEnv` and :class:`PartyVectorEnv` are the batched twins of
:class:`negenv.adapters.gymnasium.MediatorEnv` and ``PartyEnv``: ``num_envs`` negotiations on
:class:`negenv.vector.VectorNegotiationEnv` (no Python loop over them), one role learning and
every other agent following a policy of :mod:`agents.registry`. Observations are float32
numpy arrays ``(num_envs, D)``, actions int64 ``(num_envs, components)``; the flat masks are
``info["action_mask"]`` and :meth:`action_masks`. Finished episodes reset in the same step
(gymnasium's ``AutoresetMode.SAME_STEP``): ``info["final_obs"]`` and ``info["_final_obs"]``
hold the last observations of the ended ones. ``reset(seed=s)`` plays, in env ``b``, the
episodes of slot ``b`` of the batched env after ``reset(seed=s)``.

``gymnasium.make_vec("negenv/Mediator-<scenario>-v0", num_envs=...)`` uses these (the
registered ``vector_entry_point``); ``vectorization_mode="sync"`` builds a ``SyncVectorEnv``
of the single views instead.
"""

from __future__ import annotations

import secrets
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR
from negenv.rollout import party_actions, seat_groups
from negenv.scenario import ScenarioError, load, with_overrides
from negenv.vector import VectorNegotiationEnv


class _RoleVectorEnv(gymnasium.vector.VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, sc, num_envs: int, role: str, seat: int | None, others: dict, kwargs):
        max_steps = kwargs.pop("max_episode_steps", None)
        if max_steps is not None:  # what make_vec passes from the spec: a step cap
            kwargs.setdefault("max_cycles", max_steps)
        self.venv = VectorNegotiationEnv(sc, num_envs=num_envs, **kwargs)
        self.role, self.seat, self.num_envs = role, seat, num_envs
        lay = self.venv.layout
        size, nvec = (
            (lay.party_obs.size, lay.party_nvec)
            if role == "party"
            else (lay.mediator_obs.size, lay.mediator_nvec)
        )
        self.single_observation_space = spaces.Box(-1.0, 1.0, (size,), np.float32)
        self.single_action_space = spaces.MultiDiscrete(np.asarray(nvec, dtype=np.int64))
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        parties = [f"party_{i}" for i in range(lay.n)]
        self._groups = seat_groups(others, parties) if parties[-1] in others else None
        self._mediator = others.get(MEDIATOR)
        self._obs: dict[str, Any] = {}

    def _own(self, obs: dict) -> tuple[np.ndarray, np.ndarray]:
        part = obs[self.role]
        x, m = part["observation"], part["action_mask"]
        if self.role == "party":
            x, m = x[:, self.seat], m[:, self.seat]
        return x.cpu().numpy().astype(np.float32), m.cpu().numpy().astype(bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None:  # gymnasium's convention: unseeded means fresh entropy
            seed = secrets.randbits(62)
        self._obs = self.venv.reset(seed=int(seed))
        x, m = self._own(self._obs)
        return x, {"action_mask": m}

    def step(self, actions: Any):
        v, obs = self.venv, self._obs
        own = torch.as_tensor(np.asarray(actions), dtype=torch.int64, device=v.device)
        acts: dict[str, torch.Tensor] = {}
        if "party" in v.roles:
            width = v.action_shape("party")[2]
            party = np.zeros((self.num_envs, v.layout.n, width), np.int64)
            if self._groups is not None:
                party = party_actions(self._groups, obs["party"], width, np.int64)
            acts["party"] = torch.from_numpy(party).to(v.device)
        if self._mediator is not None:
            mo = obs["mediator"]
            med = self._mediator.act(
                mo["observation"].cpu().numpy(), mo["action_mask"].cpu().numpy()
            )
            acts["mediator"] = torch.as_tensor(np.asarray(med), dtype=torch.int64, device=v.device)
        if self.role == "party":
            acts["party"][:, self.seat] = own
        else:
            acts["mediator"] = own
        self._obs, rewards, terminated, truncated, info = v.step(acts)
        x, m = self._own(self._obs)
        r = rewards[self.role][:, self.seat] if self.role == "party" else rewards["mediator"]
        column = self.seat if self.role == "party" else -1
        infos: dict[str, Any] = {
            "action_mask": m,
            "illegal_action": info["illegal_action"][:, column].cpu().numpy(),
        }
        if "done" in info:
            done = info["done"].cpu().numpy()
            last, _ = self._own(info["final_observation"])
            final = np.zeros_like(x)
            final[done] = last
            infos |= {"final_obs": final, "_final_obs": done, "outcome": info["outcome"]}
        return (
            x,
            r.cpu().numpy().astype(np.float32),
            terminated.cpu().numpy(),
            truncated.cpu().numpy(),
            infos,
        )

    def action_masks(self) -> np.ndarray:
        """(num_envs, A) boolean masks of the current step (MaskablePPO's convention)."""
        return self._own(self._obs)[1]


class MediatorVectorEnv(_RoleVectorEnv):
    """``num_envs`` negotiations; the mediator learns, the parties follow ``population``.

    Args:
        num_envs: batch size.
        scenario: a mediated scenario.
        population: a party population of :mod:`agents.registry`.
        **kwargs: :class:`negenv.vector.VectorNegotiationEnv` arguments (``device``,
            ``dtype``, ``max_cycles``, ``illegal_action``, scenario overrides).
    """

    def __init__(
        self,
        num_envs: int = 64,
        scenario: Any = "multilateral_5",
        population: str = "threshold",
        **kwargs: Any,
    ):
        from agents import registry

        sc = load(scenario)
        if not sc.mediated:
            raise ScenarioError(
                f"scenario {sc.name!r} has no mediator (protocol {sc.protocol!r}); "
                "MediatorVectorEnv needs protocol 'mediated'"
            )
        others = registry.population(population, NegotiationEnv(sc))
        super().__init__(sc, num_envs, "mediator", None, others, kwargs)


class PartyVectorEnv(_RoleVectorEnv):
    """``num_envs`` negotiations; party ``seat`` learns, the other seats follow
    ``population`` and the mediator the scripted ``mediator`` (its overrides applied).

    Args: as for :class:`MediatorVectorEnv`, plus ``seat`` and ``mediator``.
    """

    def __init__(
        self,
        num_envs: int = 64,
        scenario: Any = "multilateral_5",
        seat: int = 0,
        population: str = "threshold",
        mediator: str = "nbs_signals",
        **kwargs: Any,
    ):
        from agents import registry

        sc = load(scenario)
        spec = registry.mediator(mediator) if sc.mediated else None
        if spec is not None and spec.overrides:
            sc = with_overrides(sc, spec.overrides)
        if not isinstance(seat, int) or not 0 <= seat < sc.n_parties:
            raise ValueError(f"seat = {seat!r} is invalid: must be an int in [0, {sc.n_parties})")
        shell = NegotiationEnv(sc)
        others = registry.population(population, shell)
        if spec is not None:
            others[MEDIATOR] = spec.build(shell)
        super().__init__(sc, num_envs, "party", seat, others, kwargs)
