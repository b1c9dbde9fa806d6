"""Registration of every built-in scenario in PettingZoo's registry (``negenv/<name>-v0``).

PettingZoo has a registry (``pettingzoo.make``) from 1.27; with an older PettingZoo (1.24 to
1.26, which AgileRL pins) there is nothing to register in and the envs are built directly
(``negenv.parallel_env(name)``).
"""

from __future__ import annotations

import pettingzoo

from negenv.scenario import builtin_names


def env_id(name: str) -> str:
    return f"negenv/{name}-v0"


def has_registry() -> bool:
    return hasattr(pettingzoo, "register") and hasattr(pettingzoo, "parallel_registry")


def register_builtin() -> None:
    """Register the parallel and AEC versions of every scenario in ``negenv/scenarios``."""
    if not has_registry():
        return
    for name in builtin_names():
        for kind, entry in (("parallel", "negenv.env:parallel_env"), ("aec", "negenv.env:env")):
            if env_id(name) not in (
                pettingzoo.parallel_registry if kind == "parallel" else pettingzoo.aec_registry
            ):
                pettingzoo.register(
                    kind, env_id(name), entry_point=entry, kwargs={"scenario": name}
                )
