"""negenv scenarios as TextArena environments (``pip install textarena``).

TextArena's games are turn-based: ``get_observation()`` names the player to move and
``step(action)`` takes that player's text. negenv's agents act simultaneously, so a step of
the negotiation is played as a round of turns: player ids ``0 .. N-1`` are the parties and
``N`` the mediator (mediated scenarios), each answers in turn, and the env steps once every
live agent has answered. An unusable answer (not a JSON object matching the schema and the
mask) is returned to the same player with the error, ``retries`` times, before the default is
taken and counted (:mod:`negenv.adapters.text_session`). Observations are strings: the role
brief on a player's first turn, then the step's prompt.

    import textarena as ta
    from negenv.adapters.textarena import register_scenarios
    register_scenarios()  # ids "negenv-<scenario>-v0"
    env = ta.make("negenv-multilateral_5-v0")
    env.reset(num_players=6, seed=0)
    done = False
    while not done:
        player, observation = env.get_observation()
        done, info = env.step(my_agent(observation))
    rewards, game_info = env.close()

``seed`` picks episode 0 of that seed, the episode every negenv backend plays first; rewards
are the players' episode returns.
"""

from __future__ import annotations

from typing import Any

import textarena as ta

from negenv.adapters.text_session import Sessions
from negenv.layout import MEDIATOR
from negenv.scenario import BUILTIN_DIR, load


class NegotiationTextArena(ta.Env):
    """One negenv scenario as a TextArena env (see the module docstring)."""

    def __init__(self, scenario: str = "multilateral_5", retries: int = 2):
        self.scenario = load(scenario)
        self._sessions = Sessions(retries, max_sessions=1)
        self._sid: str | None = None
        self._agents: list[str] = []
        self._briefed: set[str] = set()
        self._error: dict[str, str] = {}

    @property
    def num_players(self) -> int:
        return self.scenario.n_parties + int(self.scenario.mediated)

    def reset(self, num_players: int, seed: int | None = None) -> None:
        if num_players != self.num_players:
            raise ValueError(
                f"num_players = {num_players} is invalid for {self.scenario.name!r}: it seats "
                f"{self.scenario.n_parties} parties"
                + (" and a mediator" if self.scenario.mediated else "")
                + f" ({self.num_players} players)"
            )
        started = self._sessions.start(self.scenario, seed or 0, 0)
        self._sid, self._agents = started["session"], started["agents"]
        self._briefed, self._error = set(), {}

    def _current(self) -> str | None:
        s = self._sessions.session(self._sid)
        return next((a for a in s.env.agents if a not in s.pending), None)

    def get_observation(self) -> tuple[int, str]:
        if self._sid is None:
            raise RuntimeError("get_observation() before reset(num_players=...)")
        agent = self._current()
        if agent is None:
            return -1, "The episode is over."
        parts = []
        if agent not in self._briefed:
            parts.append(self._sessions.brief(self._sid, agent)["brief"])
            self._briefed.add(agent)
        if agent in self._error:
            parts.append(f"Your answer could not be used: {self._error.pop(agent)}.")
        parts.append(self._sessions.observe(self._sid, agent)["prompt"])
        return self._agents.index(agent), "\n\n".join(parts)

    def step(self, action: str) -> tuple[bool, dict[str, Any]]:
        agent = self._current()
        if agent is None:
            raise RuntimeError("step() on a finished episode; call reset() first")
        reply = self._sessions.act(self._sid, agent, action)
        if not reply["accepted"] and reply.get("tries_left", 0) > 0:
            self._error[agent] = reply["error"]
        done = bool(reply.get("done"))
        return done, {"player": self._agents.index(agent), **reply}

    def close(self) -> tuple[dict[int, float], dict[int, dict[str, Any]]]:
        if self._sid is None:
            return {}, {}
        out = self._sessions.outcome(self._sid)
        returns = self._sessions.session(self._sid).returns
        rewards = {i: float(returns[a]) for i, a in enumerate(self._agents)}
        info = {
            i: {"agent": a, "role": MEDIATOR if a == MEDIATOR else "party", **out}
            for i, a in enumerate(self._agents)
        }
        return rewards, info


def register_scenarios(retries: int = 2) -> list[str]:
    """Register every built-in scenario as ``negenv-<name>-v0`` (again: a no-op); returns
    the ids."""
    ids = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        env_id = f"negenv-{path.stem}-v0"
        ids.append(env_id)
        if env_id in ta.envs.registration.ENV_REGISTRY:
            continue
        ta.envs.registration.register(
            id=env_id,
            entry_point="negenv.adapters.textarena:NegotiationTextArena",
            scenario=path.stem,
            retries=retries,
        )
    return ids
