"""Named mediators and party populations, for evaluations and command lines.

A mediator entry builds the policy for an env and says which scenario overrides it needs
(full information is an environment setting: ``mediator.information = "exact"``). A
population assigns a party policy to every seat. A checkpoint path written by ``train.py``
(``runs/<run>/best.pt``) names a learned mediator or a learned party population, a
stable-baselines3 model file (``model.zip``) one trained on a gymnasium view, a
``*.mix.json`` file a mixture of names (a league's meta-strategy, :mod:`agents.mixture`),
``llm:<model>@<base_url>`` a chat model on an OpenAI-compatible server (:mod:`agents.llm`), and
``module:attr`` a policy class or function of one's own (called with the env);
:func:`register_mediator` adds a name from Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents import learned, mixture
from agents import mediators as med
from agents import parties as par
from agents.random_policy import RandomPolicy


@dataclass(frozen=True)
class MediatorSpec:
    build: Callable[[Any], Any]  # env -> policy
    overrides: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


MEDIATORS: dict[str, MediatorSpec] = {
    "random": MediatorSpec(
        lambda env: RandomPolicy(env.action_space("mediator"), np.random.default_rng(0)),
        doc="uniformly random legal actions",
    ),
    "split": MediatorSpec(
        lambda env: med.SplitTheDifferenceMediator(env.layout),
        doc="follows the average demand signal",
    ),
    "power_centroid": MediatorSpec(
        lambda env: med.PowerCentroidMediator(env.layout),
        doc="the power-weighted mean of observed ideals",
    ),
    "nbs_full": MediatorSpec(
        lambda env: med.SolutionMediator(env.layout, env.scenario, "nbs", round_robin=True),
        {"mediator.information": "exact"},
        "the NBS of the exact types, guarantees round-robin, no monitoring",
    ),
    "nbs_signals": MediatorSpec(
        lambda env: med.NBSSignalsMediator(env.layout),
        doc="climbs the Nash product from demand signals and votes",
    ),
    "nbs_seen": MediatorSpec(
        lambda env: med.SolutionMediator(
            env.layout,
            env.scenario,
            "nbs",
            round_robin=True,
            monitoring=med.deterrent_level(env.layout, env.scenario),
        ),
        doc="the NBS of the types the mediator observes (noisy), guarantees round-robin, "
        "deterrent monitoring: the best fixed rule found for this solution",
    ),
    "egalitarian": MediatorSpec(
        lambda env: med.SolutionMediator(env.layout, env.scenario, "egalitarian"),
        {"mediator.information": "exact"},
        "the egalitarian solution of the exact types",
    ),
    "guarantees_monitoring": MediatorSpec(
        lambda env: med.GuaranteeMonitorMediator(env.layout, env.scenario),
        doc="split-the-difference texts, guarantees to the most fearful, deterrent monitoring",
    ),
    "guarantees_monitoring_off": MediatorSpec(
        lambda env: med.GuaranteeMonitorMediator(env.layout, env.scenario, False, False),
        doc="the same with guarantees and monitoring switched off",
    ),
}

PARTY_KINDS: dict[str, Callable[[Any], Any]] = {
    "threshold": lambda env: par.ThresholdParty(env.layout),
    "boulware": lambda env: par.boulware(env.layout),
    "linear": lambda env: par.linear(env.layout),
    "conceder": lambda env: par.conceder(env.layout),
    "tit_for_tat": lambda env: par.TitForTatParty(env.layout),
    "opportunistic": lambda env: par.OpportunisticDefector(env.layout, env.scenario),
    "exploiter": lambda env: par.Exploiter(env.layout, env.scenario),
}

POPULATIONS: dict[str, tuple[str, ...]] = {
    "threshold": ("threshold",),
    "mixed": ("threshold", "boulware", "conceder", "tit_for_tat", "opportunistic", "linear"),
    "opportunistic": ("opportunistic",),
    "exploiters": ("threshold", "exploiter"),
}


def _unknown(kind: str, name: str, known: dict) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; known: {', '.join(known)}")


def mediator(name: str) -> MediatorSpec:
    """A named mediator, the mediator of a ``train.py`` checkpoint (a path ending in .pt), or
    the ``"mediator"`` module of an RLlib checkpoint (``rllib:<checkpoint dir>``)."""
    if name.startswith("llm:"):  # a chat model through the text view (agents.llm)
        from agents import llm

        llm.config_from_env(name)  # a malformed name or option fails now
        return MediatorSpec(
            lambda env: llm.LLMPolicy(env.scenario, "mediator", llm.config_from_env(name)),
            doc=f"the language model {name.removeprefix('llm:')}",
        )
    if mixture.is_mixture_name(name):  # a league meta-strategy (agents.mixture)
        names, _ = mixture.read(name, "mediator")
        with_overrides = [n for n in names if mediator(n).overrides]
        if with_overrides:
            raise ValueError(
                f"mixture {name!r}: components {with_overrides} change the scenario "
                "(full information); a mixture's components must play the same scenario"
            )
        return MediatorSpec(
            lambda env: mixture.build_mediator(name, env, mediator),
            doc=f"the mediator mixture of {name}",
        )
    if learned.is_checkpoint_name(name):
        learned.load_checkpoint(name)  # missing or corrupt: fail now, not mid-evaluation
        return MediatorSpec(
            lambda env: learned.load_policy(name, "mediator", env.scenario),
            doc=f"the learned mediator of {name}",
        )
    if name.endswith(".zip"):  # a stable-baselines3 model file
        from agents.sb3_policy import SB3ModelPolicy, check_sb3_model

        check_sb3_model(name)
        return MediatorSpec(
            lambda env: SB3ModelPolicy(
                name, env.layout.mediator_obs.size, env.layout.mediator_nvec
            ),
            doc=f"the stable-baselines3 model {name}",
        )
    if name.startswith("rllib:"):
        path = name.removeprefix("rllib:")

        def build(env: Any) -> Any:
            from negenv.adapters.rllib import RLlibPolicy

            return RLlibPolicy(path, "mediator", env.layout.mediator_nvec)

        return MediatorSpec(build, doc=f"the mediator module of the RLlib checkpoint {path}")
    if name not in MEDIATORS and ":" in name:
        return MediatorSpec(_imported(name), doc=f"the mediator built by {name}")
    if name not in MEDIATORS:
        raise _unknown("mediator", name, MEDIATORS)
    return MEDIATORS[name]


def register_mediator(name: str, build: Callable[[Any], Any], overrides=None, doc="") -> None:
    """Make ``name`` a mediator everywhere a name is accepted (evaluations, train.py).
    ``build(env)`` returns the policy (an object with ``act(obs, mask)``) for an env."""
    MEDIATORS[name] = MediatorSpec(build, dict(overrides or {}), doc)


def _imported(spec: str) -> Callable[[Any], Any]:
    """``module:attr`` as a builder: ``attr`` is called with the env (a class whose
    constructor takes the env, or a function of the env)."""
    import importlib

    module, _, attr = spec.partition(":")
    try:
        target = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import {spec!r} (module:attr): {err}") from None
    if not callable(target):
        raise ValueError(f"{spec!r} is not callable: it must take the env and return a policy")
    return target


def population(name: str, env: Any) -> dict[str, Any]:
    """Party policies by seat: the population's kinds cycled over the seats, or the shared
    party policy of a ``train.py`` checkpoint (a path ending in .pt) at every seat."""
    if name.startswith("llm:"):  # one chat-model policy plays every seat
        from agents import llm

        policy = llm.LLMPolicy(env.scenario, "party", llm.config_from_env(name))
        return {p: policy for p in env.parties}
    if mixture.is_mixture_name(name):  # a league meta-strategy (agents.mixture)
        return mixture.build_population(name, env, population)
    if learned.is_checkpoint_name(name):
        policy = learned.load_policy(name, "party", env.scenario)
        return {p: policy for p in env.parties}
    if name.endswith(".zip"):  # a stable-baselines3 party model at every seat
        from agents.sb3_policy import SB3ModelPolicy

        lay = env.layout
        policy = SB3ModelPolicy(name, lay.party_obs.size, lay.party_nvec)
        return {p: policy for p in env.parties}
    if name not in POPULATIONS and ":" in name:  # one policy object for every seat
        policy = _imported(name)(env)
        return {p: policy for p in env.parties}
    if name not in POPULATIONS:
        raise _unknown("population", name, POPULATIONS)
    kinds = POPULATIONS[name]
    built = {kind: PARTY_KINDS[kind](env) for kind in kinds}
    return {p: built[kinds[i % len(kinds)]] for i, p in enumerate(env.parties)}
