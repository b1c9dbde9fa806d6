"""A TorchRL ``EnvBase`` view of :class:`negenv.vector.VectorNegotiationEnv`.

Tensordicts are grouped by role, as TorchRL's multi-agent losses and BenchMARL expect:
``("party", "observation")`` (B, N, D), ``("party", "action_mask")`` (B, N, A) bool,
``("party", "action")`` (B, N, components), ``("party", "reward")`` (B, N, 1), the same under
``"mediator"`` without the agent dimension, ``"state"`` (B, D) for centralised critics, and
``done`` / ``terminated`` / ``truncated`` (B, 1) shared by every agent. Finished episodes are
reset by TorchRL through the ``"_reset"`` mask (the batched env's own auto-reset is off).
:class:`MaskedMultiCategorical` (from :mod:`negenv.distributions`) is the masked MultiDiscrete
distribution a ``ProbabilisticActor`` needs for these actions. Needs the ``torchrl`` extra.
"""

from __future__ import annotations

from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Binary, Bounded, Categorical, Composite, MultiCategorical, Unbounded
from torchrl.envs import EnvBase

from negenv.distributions import MaskedMultiCategorical
from negenv.vector import VectorNegotiationEnv

__all__ = ["MaskedMultiCategorical", "NegotiationTorchRLEnv", "pettingzoo_wrapper"]


class NegotiationTorchRLEnv(EnvBase):
    """``num_envs`` negotiations as one TorchRL env with batch size ``[num_envs]``.

    Args:
        scenario: as for :func:`negenv.parallel_env`.
        num_envs: batch size.
        device: torch device.
        dtype: float dtype of observations and rewards.
        mediator_agent_dim: give the mediator group an agent dimension of 1, ``(B, 1, ...)``,
            as multi-agent libraries that expect one in every group do (BenchMARL).
        **kwargs: passed to :class:`VectorNegotiationEnv` (``action_mode``, ``max_cycles``,
            scenario overrides). In the continuous mode actions are ``Bounded`` floats, one per
            component, and ``action_mask`` marks the components that matter this step.
    """

    def __init__(
        self,
        scenario: Any = "multilateral_5",
        num_envs: int = 64,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        mediator_agent_dim: bool = False,
        **kwargs: Any,
    ):
        self.mediator_agent_dim = mediator_agent_dim
        self.venv = VectorNegotiationEnv(
            scenario, num_envs=num_envs, device=device, dtype=dtype, autoreset=False, **kwargs
        )
        super().__init__(device=self.venv.device, batch_size=torch.Size([num_envs]))
        self._seed = 0
        self._make_specs()

    def _make_specs(self) -> None:
        v, lay, b, dev = self.venv, self.venv.layout, self.venv.num_envs, self.venv.device
        n, dtype = lay.n, v.dtype
        groups = {"party": ((b, n), lay.party_obs.size, lay.party_nvec)}
        if v.scenario.mediated:
            med_shape = (b, 1) if self.mediator_agent_dim else (b,)
            groups["mediator"] = (med_shape, lay.mediator_obs.size, lay.mediator_nvec)
        obs, act, rew = {}, {}, {}
        for role, (shape, size, nvec) in groups.items():
            width = sum(nvec) if v.action_mode == "discrete" else v.action_shape(role)[-1]
            obs[role] = Composite(
                observation=Bounded(-1.0, 1.0, (*shape, size), dtype=dtype, device=dev),
                action_mask=Binary(width, (*shape, width), dtype=torch.bool, device=dev),
                shape=shape,
                device=dev,
            )
            if v.action_mode == "discrete":
                action = MultiCategorical(list(nvec), (*shape, len(nvec)), device=dev)
            else:  # one float per component in its bounds (the codec rounds or thresholds)
                low, high = (t.to(dev, dtype) for t in v.action_bounds(role))
                action = Bounded(
                    low.expand(*shape, -1),
                    high.expand(*shape, -1),
                    (*shape, low.numel()),
                    dtype=dtype,
                    device=dev,
                )
            act[role] = Composite(action=action, shape=shape, device=dev)
            rew[role] = Composite(
                reward=Unbounded((*shape, 1), dtype=dtype, device=dev), shape=shape, device=dev
            )
        state_size = lay.global_state.size
        self.observation_spec = Composite(
            **obs,
            state=Bounded(-1.0, 1.0, (b, state_size), dtype=dtype, device=dev),
            shape=(b,),
            device=dev,
        )
        self.action_spec = Composite(**act, shape=(b,), device=dev)
        self.reward_spec = Composite(**rew, shape=(b,), device=dev)
        flag = {
            k: Categorical(2, (b, 1), dtype=torch.bool, device=dev)
            for k in ("done", "terminated", "truncated")
        }
        self.done_spec = Composite(**flag, shape=(b,), device=dev)

    def _pack(self, obs: dict) -> TensorDict:
        b, n = self.venv.num_envs, self.venv.layout.n
        out = TensorDict({}, batch_size=[b], device=self.device)
        for role, parts in obs.items():
            shape = [b, n] if role == "party" else [b]
            x, m = parts["observation"], parts["action_mask"].bool()
            if role == "mediator" and self.mediator_agent_dim:
                shape, x, m = [b, 1], x.unsqueeze(1), m.unsqueeze(1)
            out[role] = TensorDict(
                {"observation": x, "action_mask": m}, batch_size=shape, device=self.device
            )
        out["state"] = self.venv.global_state()
        return out

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDict:
        if tensordict is not None and "_reset" in tensordict.keys():  # noqa: SIM118 (a TensorDict)
            obs = self.venv.reset_where(tensordict["_reset"].reshape(-1))
        else:
            obs = self.venv.reset(seed=self._seed)
        out = self._pack(obs)
        zeros = torch.zeros((self.venv.num_envs, 1), dtype=torch.bool, device=self.device)
        for key in ("done", "terminated", "truncated"):
            out[key] = zeros.clone()
        return out

    def _step(self, tensordict: TensorDictBase) -> TensorDict:
        actions = {role: tensordict[role, "action"] for role in self.venv.roles}
        if "mediator" in actions and self.mediator_agent_dim:
            actions["mediator"] = actions["mediator"].squeeze(1)
        obs, rewards, terminated, truncated, _ = self.venv.step(actions)
        out = self._pack(obs)
        out["party", "reward"] = rewards["party"][..., None]
        if "mediator" in rewards and self.venv.scenario.mediated:
            reward = rewards["mediator"][..., None]
            out["mediator", "reward"] = reward.unsqueeze(1) if self.mediator_agent_dim else reward
        out["terminated"], out["truncated"] = terminated[:, None], truncated[:, None]
        out["done"] = (terminated | truncated)[:, None]
        return out

    def _set_seed(self, seed: int | None) -> None:
        self._seed = 0 if seed is None else int(seed)


def pettingzoo_wrapper(scenario: Any = "multilateral_5", device: str = "cpu", **kwargs: Any):
    """negenv's PettingZoo env through TorchRL's ``PettingZooWrapper``.

    Agents are grouped by role (``"party"``: every party seat, ``"mediator"``), masks are
    honoured (``use_mask=True``: random actions and TorchRL's masked distributions follow
    them) and MultiDiscrete actions stay categorical. TorchRL's plain form
    ``PettingZooWrapper(negenv.parallel_env(...))`` works too (every step's infos are the same
    numbers); the outcome record of an ended episode is ``wrapper._env.outcome`` until the
    next reset.

    Args:
        scenario: as for :func:`negenv.parallel_env`.
        device: the wrapper's device.
        **kwargs: :class:`negenv.NegotiationEnv` arguments (``max_cycles``, overrides).
    """
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    from negenv.env import NegotiationEnv

    env = NegotiationEnv(scenario, **kwargs)
    groups = {"party": list(env.parties)}
    if env.scenario.mediated:
        groups["mediator"] = ["mediator"]
    return PettingZooWrapper(
        env, group_map=groups, use_mask=True, categorical_actions=True, device=device
    )
