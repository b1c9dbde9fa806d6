"""Text sessions: one negotiation episode played through text answers, one agent at a time.

:class:`Sessions` is the state behind the MCP tool server (:mod:`negenv.adapters.mcp`) and
the TextArena adapter (:mod:`negenv.adapters.textarena`): an episode of the PettingZoo env,
each agent's prompt from :class:`negenv.text.TextView`, and answers parsed without ghost
moves. An unusable answer comes back with the error and the tries left (``retries`` per
agent and step); when none are left the agent takes the text view's default and the failure
is counted in the outcome's ``answer_failures``. The env steps once every live agent has an
action.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from negenv import rng
from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR
from negenv.scenario import load
from negenv.text import AnswerError, TextView


def jsonable(value: Any) -> Any:
    """numpy values (and dicts and lists of them) as plain JSON values."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class Session:
    env: NegotiationEnv
    views: dict[str, TextView]
    retries: int
    obs: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, np.ndarray] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[str]] = field(default_factory=dict)
    returns: dict[str, float] = field(default_factory=dict)

    def view_of(self, agent: str) -> TextView:
        return self.views[MEDIATOR if agent == MEDIATOR else "party"]


class Sessions:
    """The server's state, apart from the MCP layer (so it is testable and reusable)."""

    def __init__(self, retries: int = 2, max_sessions: int = 64):
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries = {retries!r} is invalid: must be an int >= 0")
        self.retries, self.max_sessions = retries, max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._ids = itertools.count()

    def _get(self, session: str, agent: str | None = None) -> Session:
        if session not in self._sessions:
            raise ValueError(
                f"session = {session!r} is unknown; open sessions: {list(self._sessions)}"
            )
        s = self._sessions[session]
        if agent is not None and agent not in s.env.possible_agents:
            raise ValueError(f"agent = {agent!r} is invalid; agents: {s.env.possible_agents}")
        return s

    def session(self, session: str) -> Session:
        """The state of an open session."""
        return self._get(session)

    def start(self, scenario: Any = "multilateral_5", seed: int = 0, episode: int = 0) -> dict:
        sc = load(scenario)
        if episode < 0:
            raise ValueError(f"episode = {episode} is invalid: must be >= 0")
        env = NegotiationEnv(sc)
        key = int(rng.episode_keys(seed, np.asarray([episode]), np.zeros(1, np.int64))[0])
        obs, _ = env.reset(options={"key": key})
        views = {"party": TextView(sc, "party")}
        if sc.mediated:
            views[MEDIATOR] = TextView(sc, MEDIATOR)
        sid = f"s{next(self._ids)}"
        s = Session(env, views, self.retries, obs=obs)
        s.failures = dict.fromkeys(env.possible_agents, 0)
        s.returns = dict.fromkeys(env.possible_agents, 0.0)
        s.history = {a: [] for a in env.possible_agents}
        self._sessions[sid] = s
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return {"session": sid, "scenario": sc.name, "agents": list(env.possible_agents)}

    def brief(self, session: str, agent: str) -> dict:
        s = self._get(session, agent)
        tv = s.view_of(agent)
        return {"brief": tv.brief(agent), "schema": tv.schema}

    def observe(self, session: str, agent: str) -> dict:
        s = self._get(session, agent)
        if agent not in s.obs or not s.env.agents:
            return {"done": True, "prompt": None, "view": None, "reads": []}
        tv, o = s.view_of(agent), s.obs[agent]
        view = tv.view(o["observation"])
        return {
            "done": False,
            "prompt": tv.prompt(view, o["action_mask"], s.history[agent]),
            "view": view,
            "reads": tv.reads(o["action_mask"]),
            "waiting_for": [a for a in s.env.agents if a not in s.pending],
        }

    def act(self, session: str, agent: str, answer: str) -> dict:
        s = self._get(session, agent)
        if not s.env.agents:
            raise ValueError(f"session {session!r} is over: read its outcome")
        if agent in s.pending:
            raise ValueError(f"agent {agent!r} has already acted in this step")
        tv, o = s.view_of(agent), s.obs[agent]
        view = tv.view(o["observation"])
        # illegal_action: 1 when this agent's step action is the default after failed answers
        out: dict[str, Any] = {
            "accepted": True,
            "error": None,
            "stepped": False,
            "illegal_action": 0,
        }
        try:
            s.pending[agent] = tv.parse(answer, view, o["action_mask"])
        except AnswerError as err:
            used = s.tries.get(agent, 0) + 1
            s.tries[agent] = used
            left = s.retries + 1 - used
            out.update(accepted=False, error=str(err), tries_left=max(left, 0))
            if left > 0:
                return out
            s.pending[agent] = tv.default(view, o["action_mask"])  # no tries left
            s.failures[agent] += 1
            out.update(defaulted=True, illegal_action=1)
        if all(a in s.pending for a in s.env.agents):
            out |= self._step(s)
        return out

    def _step(self, s: Session) -> dict:
        for agent in s.env.agents:
            s.history[agent].append(
                s.view_of(agent).summary(s.view_of(agent).view(s.obs[agent]["observation"]))
            )
        actions, s.pending, s.tries = s.pending, {}, {}
        s.obs, rewards, *_ = s.env.step(actions)
        for a, r in rewards.items():
            s.returns[a] += r
        return {"stepped": True, "rewards": rewards, "done": not s.env.agents}

    def outcome(self, session: str) -> dict:
        s = self._get(session)
        if s.env.outcome is None:
            return {"done": False}
        record = dict(s.env.outcome)
        parties = s.env.parties
        record["answer_failures"] = [s.failures[p] for p in parties]
        if MEDIATOR in s.failures:
            record["mediator_answer_failures"] = s.failures[MEDIATOR]
        return {"done": True, "record": jsonable(record), "returns": s.returns}

    def close(self, session: str) -> dict:
        self._get(session)
        del self._sessions[session]
        return {"closed": session}
