"""negenv: multilateral negotiation under asymmetric power, as a PettingZoo environment."""

from __future__ import annotations

from negenv.adapters.gymnasium import register_builtin as _register_gymnasium
from negenv.env import NegotiationEnv, env, parallel_env
from negenv.registry import register_builtin
from negenv.scenario import Scenario, ScenarioError, builtin_names, load

__version__ = "0.1.0"

register_builtin()
_register_gymnasium()

__all__ = [
    "NegotiationEnv",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "env",
    "load",
    "parallel_env",
]
