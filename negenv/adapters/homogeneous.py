"""A homogeneous view of the PettingZoo env: every agent has the same spaces.

Tools that stack agents into one batch (SuperSuit's ``pettingzoo_env_to_vec_env_v1``,
Tianshou, PufferLib) need identical observation and action spaces, and SuperSuit's own
padding wrappers do not pad MultiDiscrete actions. This view does it for both roles:

* observation: ``[is_party, is_mediator, own observation zero-padded to the longer role's]``
  in ``Box(-1, 1, (2 + D,), float32)`` (``D = max(D_party, D_mediator)``);
* action: ``MultiDiscrete(party_nvec + mediator_nvec)``, a party block then a mediator block;
  each agent acts in its own block, and the other block's mask allows only option 0;
* mask: the flat mask over both blocks (the agent's own mask in its block), in the
  observation dict as in the env, or in ``infos[agent]["action_mask"]`` with ``flat_obs``.

A nonzero option in the other role's block is ignored and flagged in ``illegal_action`` like
any masked choice (raised under ``illegal_action="raise"``, penalised under ``"penalty"``);
the outcome record counts the masked choices the env itself saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR
from negenv.spaces import MaskedMultiDiscrete


class HomogeneousEnv(ParallelEnv):
    """:class:`negenv.NegotiationEnv` (discrete actions) with one observation and one action
    space for every agent; arguments as for :func:`negenv.parallel_env`."""

    def __init__(self, scenario: Any = "multilateral_5", flat_obs: bool = False, **kwargs: Any):
        if kwargs.get("action_mode", "discrete") != "discrete":
            raise ValueError(
                f"action_mode = {kwargs['action_mode']!r} is invalid for the homogeneous view: "
                "it pads MultiDiscrete actions ('discrete' only)"
            )
        self.env = NegotiationEnv(scenario, **kwargs)
        self.flat_obs = bool(flat_obs)
        lay = self.env.layout
        self.metadata = {**self.env.metadata, "name": "negotiation_homogeneous_v0"}
        self.possible_agents = list(self.env.possible_agents)
        self.render_mode = self.env.render_mode
        party_nvec, med_nvec = list(lay.party_nvec), list(lay.mediator_nvec)
        if not self.env.scenario.mediated:
            med_nvec = []
        self._width = max(lay.party_obs.size, lay.mediator_obs.size if med_nvec else 0)
        self._split = int(sum(party_nvec))  # flat mask: party block, then mediator block
        self._n_party = len(party_nvec)
        nvec = np.asarray(party_nvec + med_nvec, dtype=np.int64)
        self._action = MaskedMultiDiscrete(nvec)  # sample(mask) takes the flat mask
        vec = spaces.Box(-1.0, 1.0, (2 + self._width,), np.float32)
        mask = spaces.Box(0, 1, (int(nvec.sum()),), np.int8)
        self._obs_space = (
            vec if flat_obs else spaces.Dict({"observation": vec, "action_mask": mask})
        )
        # the other block's mask: only option 0 of each of its components
        self._zero = {
            "party": _only_zero(med_nvec),
            "mediator": _only_zero(party_nvec),
        }

    @property
    def agents(self) -> list[str]:
        return self.env.agents

    @property
    def outcome(self) -> dict[str, Any] | None:
        return self.env.outcome

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return self._convert(obs, infos)

    def step(self, actions: dict[str, Any]):
        inner, stray = {}, {}
        for agent, a in actions.items():
            a = np.asarray(a)
            if a.shape != self._action.shape or not self._action.contains(a.astype(np.int64)):
                raise ValueError(
                    f"action {a!r} of agent {agent!r} is outside its action space {self._action}"
                )
            own, other = (
                (a[self._n_party :], a[: self._n_party])
                if agent == MEDIATOR
                else (a[: self._n_party], a[self._n_party :])
            )
            inner[agent], stray[agent] = own, bool(other.any())
        if self.env.illegal_action == "raise" and any(stray.values()):
            agent = next(a for a, s in stray.items() if s)
            raise ValueError(
                f"agent {agent!r} chose a nonzero option in the other role's block of the "
                "homogeneous action, which the mask forbids; illegal_action='raise'"
            )
        obs, rewards, terms, truncs, infos = self.env.step(inner)
        for agent, s in stray.items():
            if s and agent in infos:
                if self.env.illegal_action == "penalty" and not infos[agent]["illegal_action"]:
                    rewards[agent] -= self.env.illegal_penalty
                infos[agent]["illegal_action"] = 1
        obs, infos = self._convert(obs, infos)
        return obs, rewards, terms, truncs, infos

    def _convert(self, obs: dict, infos: dict) -> tuple[dict, dict]:
        out = {}
        for agent, o in obs.items():
            x, m = o["observation"], o["action_mask"]
            is_med = agent == MEDIATOR
            vec = np.zeros(2 + self._width, np.float32)
            vec[int(is_med)] = 1.0
            vec[2 : 2 + x.shape[0]] = x
            zero = self._zero["mediator" if is_med else "party"]
            mask = np.concatenate([zero, m] if is_med else [m, zero]).astype(np.int8)
            if self.flat_obs:
                out[agent] = vec
                infos[agent] = {**infos[agent], "action_mask": mask}
            else:
                out[agent] = {"observation": vec, "action_mask": mask}
        return out, infos

    def state(self) -> np.ndarray:
        return self.env.state()

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _only_zero(nvec: list[int]) -> np.ndarray:
    parts = [np.eye(1, n, 0, dtype=np.int8)[0] for n in nvec]
    return np.concatenate(parts) if parts else np.zeros(0, np.int8)


def homogeneous_env(scenario: Any = "multilateral_5", **kwargs: Any) -> HomogeneousEnv:
    """The homogeneous view of a scenario (see the module docstring)."""
    return HomogeneousEnv(scenario, **kwargs)
