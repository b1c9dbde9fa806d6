"""Single-agent gymnasium views: one role learns, every other agent follows a given policy.

:class:`MediatorEnv` hands the mediator's observation and action to the learner while the
parties follow a background population from :mod:`agents.registry`; :class:`PartyEnv` does the
same for one party seat, with a scripted mediator and the other seats from a population. Both
are thin shells over one PettingZoo episode (:class:`negenv.NegotiationEnv`), so they play the
very rules and episodes of the multi-agent env. Observations are the bare float32 vector; the
flat action mask is in ``info["action_mask"]`` and in :meth:`action_masks`, the method
sb3-contrib's ``MaskablePPO`` reads. ``reset(seed=s)`` plays the same episodes as the
PettingZoo env after ``reset(seed=s)``.

Registered in gymnasium as ``negenv/Mediator-<scenario>-v0`` and ``negenv/Party-<scenario>-v0``
for every built-in scenario (``gymnasium.make("negenv/Mediator-multilateral_5-v0")``), with
``max_episode_steps`` the built-in scenario's longest natural episode (``max_rounds +
n_stages``: the time limit never cuts one of its episodes short, and ``TimeAwareObservation``
has its horizon; overrides that lengthen episodes need ``max_episode_steps=`` in
``gymnasium.make``, as :func:`natural_steps` gives it) and a
``vector_entry_point`` (:mod:`negenv.adapters.gymnasium_vector`) that ``gymnasium.make_vec``
uses. ``render_mode`` is any of the PettingZoo env's (``"rgb_array"`` frames for
``RecordVideo``).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR
from negenv.scenario import Scenario, ScenarioError, builtin_names


class _RoleEnv(gymnasium.Env):
    """One agent of a :class:`NegotiationEnv` as a gymnasium env; the others follow policies."""

    metadata = {"render_modes": list(NegotiationEnv.metadata["render_modes"]), "render_fps": 1}

    def __init__(self, env: NegotiationEnv, agent: str, others: dict[str, Any]):
        self.env, self.agent, self.others = env, agent, others
        self.render_mode = env.render_mode
        self.observation_space = env.observation_space(agent)["observation"]
        self.action_space = env.action_space(agent)
        self._obs: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._obs, infos = self.env.reset(seed=seed, options=options)
        return self._own(infos)

    def step(self, action: Any):
        from agents import act

        if not self.env.agents:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        actions = act(self.others, {a: o for a, o in self._obs.items() if a != self.agent})
        actions[self.agent] = np.asarray(action)
        self._obs, rewards, terms, truncs, infos = self.env.step(actions)
        obs, info = self._own(infos)
        return obs, float(rewards[self.agent]), terms[self.agent], truncs[self.agent], info

    def _own(self, infos: dict[str, dict]) -> tuple[np.ndarray, dict]:
        own = self._obs[self.agent]
        return own["observation"], {**infos[self.agent], "action_mask": own["action_mask"].copy()}

    def action_masks(self) -> np.ndarray:
        """The flat boolean mask of the current step (sb3-contrib's MaskablePPO convention)."""
        return self._obs[self.agent]["action_mask"].astype(bool)

    def render(self) -> Any:
        return self.env.render()


class MediatorEnv(_RoleEnv):
    """The mediator learns; the parties follow the background ``population``.

    Args:
        scenario: a mediated scenario (built-in name, YAML path, dict or :class:`Scenario`).
        population: a party population of :mod:`agents.registry` (``threshold``, ``mixed``...).
        **kwargs: :class:`negenv.NegotiationEnv` arguments (``max_cycles``, overrides...).
    """

    def __init__(
        self,
        scenario: str | Scenario | dict = "multilateral_5",
        population: str = "threshold",
        **kwargs: Any,
    ):
        from agents import registry

        _no_flat_obs(kwargs)
        env = NegotiationEnv(scenario, **kwargs)
        if not env.scenario.mediated:
            raise ScenarioError(
                f"scenario {env.scenario.name!r} has no mediator (protocol "
                f"{env.scenario.protocol!r}); MediatorEnv needs protocol 'mediated'"
            )
        super().__init__(env, MEDIATOR, registry.population(population, env))


class PartyEnv(_RoleEnv):
    """Party ``seat`` learns; the other seats follow ``population``, the mediator ``mediator``.

    Args:
        scenario: any scenario.
        seat: the learning party's index.
        population: the other seats' population of :mod:`agents.registry`.
        mediator: a scripted mediator of :mod:`agents.registry` (ignored without a mediator);
            its scenario overrides (full information) are applied.
        **kwargs: :class:`negenv.NegotiationEnv` arguments.
    """

    def __init__(
        self,
        scenario: str | Scenario | dict = "multilateral_5",
        seat: int = 0,
        population: str = "threshold",
        mediator: str = "nbs_signals",
        **kwargs: Any,
    ):
        from agents import registry
        from negenv.scenario import load, with_overrides

        _no_flat_obs(kwargs)
        sc = load(scenario)
        spec = registry.mediator(mediator) if sc.mediated else None
        if spec is not None and spec.overrides:
            sc = with_overrides(sc, spec.overrides)
        env = NegotiationEnv(sc, **kwargs)
        if not isinstance(seat, int) or not 0 <= seat < sc.n_parties:
            raise ValueError(f"seat = {seat!r} is invalid: must be an int in [0, {sc.n_parties})")
        others = registry.population(population, env)
        if spec is not None:
            others[MEDIATOR] = spec.build(env)
        super().__init__(env, env.parties[seat], others)


def natural_steps(sc: Scenario) -> int:
    """The most steps a natural episode takes: every round, then every stage."""
    return sc.max_rounds + sc.implementation.n_stages


def _no_flat_obs(kwargs: dict) -> None:
    if "flat_obs" in kwargs:
        raise ValueError(
            f"flat_obs = {kwargs['flat_obs']!r} is not an argument of the gymnasium views: "
            "their observation is already the flat float32 vector, and the mask is in "
            "info['action_mask'] and action_masks()"
        )


def env_ids(name: str) -> tuple[str, str]:
    return f"negenv/Mediator-{name}-v0", f"negenv/Party-{name}-v0"


def register_builtin() -> None:
    """Register the mediator view of every mediated built-in scenario and the party view of
    every built-in scenario in gymnasium's registry."""
    from negenv.scenario import load

    vector = "negenv.adapters.gymnasium_vector"
    for name in builtin_names():
        sc = load(name)
        mediator_id, party_id = env_ids(name)
        for env_id, cls, wanted in (
            (mediator_id, "MediatorEnv", sc.mediated),
            (party_id, "PartyEnv", True),
        ):
            if wanted and env_id not in gymnasium.registry:
                gymnasium.register(
                    env_id,
                    entry_point=f"{__name__}:{cls}",
                    vector_entry_point=f"{vector}:{cls.replace('Env', 'VectorEnv')}",
                    max_episode_steps=natural_steps(sc),
                    kwargs={"scenario": name},
                )
