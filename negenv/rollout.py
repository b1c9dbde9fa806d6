"""Run policies for many episodes and collect their outcome records, on either backend.

Episode b of ``run(..., seed=s)`` is the episode with key ``rng.episode_keys(s, b, 0)``: slot
b of the batched env after ``reset(seed=s)``, and the PettingZoo env after
``reset(options={"key": k})``. Both backends therefore play the same episodes, and with
deterministic policies they give the same records (the batched env runs in float64 here, which
matches the PettingZoo env to within a few ulps, see :mod:`negenv.vector`; policies see float32
observations on both).

Policies follow :class:`agents.base.Policy` (``act(obs (M, D), mask (M, A))``): on the batched
env, every seat that shares a policy object is served by one call over all episodes.

Two optional attributes serve policies whose decisions cost something (language models,
:mod:`agents.llm`): a policy with ``rows_needed`` gets, before each call, the rows whose
episode still counts (a slot past its first episode only fills the batch), and a policy that
sets ``last_failed`` (a bool per row) after each call has those rows counted in the records'
``answer_failures`` (N,) and ``mediator_answer_failures``: decisions that fell back to a
default because the policy's answer could not be used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from negenv import rng
from negenv.env import NegotiationEnv
from negenv.layout import MEDIATOR, party_names
from negenv.metrics import Records, stack
from negenv.scenario import Scenario

BACKENDS = ("vector", "pettingzoo")


def keys(seed: int, episodes: int) -> np.ndarray:
    slots = np.arange(episodes, dtype=np.int64)
    return rng.episode_keys(seed, slots, np.zeros(episodes, np.int64))


def run(
    sc: Scenario,
    policies: dict[str, Any],
    episodes: int,
    seed: int = 0,
    backend: str = "vector",
    progress: tqdm | None = None,
    batch_size: int = 16384,
    hook: Callable[[Any, dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
    dtype: torch.dtype = torch.float64,
    action_mode: str = "discrete",
    max_cycles: int | None = None,
) -> Records:
    """Outcome records (batched, episode order) of ``episodes`` episodes of ``sc``.

    Args:
        policies: a policy per agent name (``party_0``..., ``mediator``).
        backend: ``"vector"`` (batches of up to ``batch_size`` episodes) or ``"pettingzoo"``
            (one by one).
        progress: a tqdm bar advanced by one per finished episode.
        hook: ``hook(env, actions) -> actions`` adjusts the batched actions before each step
            (vector backend only): oracles and paired deviations that read the env's state.
        dtype: float dtype of the batched env (float64, the default, plays the PettingZoo
            env's episodes; float32 is the fast training dtype).
        action_mode: ``"discrete"`` or ``"continuous"``; the policies act in that mode.
        max_cycles: step cap per episode (truncation, status ``truncated``), or None.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend = {backend!r} is invalid; choose one of {BACKENDS}")
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes = {episodes!r} is invalid: must be an int >= 1")
    agents = party_names(sc.n_parties) + ([MEDIATOR] if sc.mediated else [])
    missing = [a for a in agents if a not in policies]
    if missing:
        raise ValueError(f"no policy for agents {missing}")
    if backend == "pettingzoo":
        if hook is not None:
            raise ValueError("hook is supported on the vector backend only")
        return _run_pettingzoo(sc, policies, episodes, seed, progress, action_mode, max_cycles)
    chunks = [
        _run_vector(
            sc,
            policies,
            min(batch_size, episodes - first),
            seed,
            first,
            progress,
            hook,
            dtype,
            action_mode,
            max_cycles,
        )
        for first in range(0, episodes, batch_size)
    ]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def _run_pettingzoo(sc, policies, episodes, seed, progress, action_mode, max_cycles) -> Records:
    from agents import act

    env = NegotiationEnv(sc, action_mode=action_mode, max_cycles=max_cycles)
    count = _reports_failures(policies)
    records = []
    for key in keys(seed, episodes):
        obs, _ = env.reset(options={"key": int(key)})
        failures = dict.fromkeys(env.possible_agents, 0)
        while env.agents:
            actions = {}
            for agents in _groups(policies, obs):
                actions.update(act({a: policies[a] for a in agents}, {a: obs[a] for a in agents}))
                for agent, bad in zip(agents, _failed(policies[agents[0]], len(agents))):
                    failures[agent] += int(bad)
            obs, *_ = env.step(actions)
        record = env.outcome
        if count:
            record = record | _failure_fields(sc, failures)
        records.append(record)
        if progress is not None:
            progress.update()
    return stack(records)


def _groups(policies: dict[str, Any], obs: dict[str, Any]) -> list[list[str]]:
    """The agents of ``obs`` by policy object (one call each, as :func:`agents.act` makes)."""
    groups: dict[int, list[str]] = {}
    for agent in obs:
        groups.setdefault(id(policies[agent]), []).append(agent)
    return list(groups.values())


def _failure_fields(sc: Scenario, failures: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "answer_failures": np.asarray([failures[p] for p in party_names(sc.n_parties)])
    }
    if sc.mediated:
        out["mediator_answer_failures"] = np.int64(failures[MEDIATOR])
    return out


def seat_groups(policies: dict[str, Any], parties: list[str]) -> list[tuple[Any, list[int]]]:
    """The distinct policies among ``parties``' and the seats each serves."""
    groups: dict[int, tuple[Any, list[int]]] = {}
    for i, name in enumerate(parties):
        groups.setdefault(id(policies[name]), (policies[name], []))[1].append(i)
    return list(groups.values())


def party_actions(
    groups: list[tuple[Any, list[int]]],
    obs: dict[str, torch.Tensor],
    width: int,
    numbers: type,
    needed: np.ndarray | None = None,
    failures: np.ndarray | None = None,
) -> np.ndarray:
    """(B, N, width) actions of the batched party observations ``obs``: one call per policy
    over every episode and every seat it serves. ``needed`` (B,) marks the episodes that
    count, and ``failures`` (B, N) adds up the rows a policy reports in ``last_failed``."""
    po = obs["observation"].cpu().numpy().astype(np.float32)
    pm = obs["action_mask"].cpu().numpy()
    b = po.shape[0]
    out = np.empty((b, po.shape[1], width), dtype=numbers)
    for policy, seats in groups:
        if needed is not None and hasattr(policy, "rows_needed"):
            policy.rows_needed = np.repeat(needed, len(seats))
        # every seat in order: a view of po (this function's own copy), not another copy;
        # the masks are the env's, so a policy always gets its own
        every = len(seats) == po.shape[1] and seats == list(range(len(seats)))
        x = po.reshape(-1, po.shape[2]) if every else po[:, seats].reshape(-1, po.shape[2])
        rows = policy.act(x, pm[:, seats].reshape(-1, pm.shape[2]))
        out[:, seats] = np.asarray(rows).reshape(b, len(seats), -1)
        if failures is not None:
            failures[:, seats] += _failed(policy, b * len(seats)).reshape(b, len(seats))
    return out


def _failed(policy: Any, rows: int) -> np.ndarray:
    """The rows of the last call that a policy reports as failed decisions (zeros if none)."""
    flags = getattr(policy, "last_failed", None)
    if flags is None or len(flags) != rows:
        return np.zeros(rows, dtype=np.int64)
    return np.asarray(flags, dtype=np.int64)


def _reports_failures(policies: dict[str, Any]) -> bool:
    return any(hasattr(p, "last_failed") for p in policies.values())


def _failure_fields_batch(sc: Scenario, failures: np.ndarray) -> dict[str, np.ndarray]:
    out = {"answer_failures": failures[:, :-1].copy()}
    if sc.mediated:
        out["mediator_answer_failures"] = failures[:, -1].copy()
    return out


def _run_vector(
    sc, policies, episodes, seed, first_slot, progress, hook, dtype, action_mode, max_cycles
) -> Records:
    from negenv.vector import VectorNegotiationEnv

    env = VectorNegotiationEnv(
        sc,
        num_envs=episodes,
        dtype=dtype,
        check_actions=False,
        action_mode=action_mode,
        max_cycles=max_cycles,
    )
    numbers = np.int64 if action_mode == "discrete" else np.float32
    groups = seat_groups(policies, party_names(sc.n_parties))
    obs = env.reset(seed=seed, first_slot=first_slot)
    ended: list[dict[str, np.ndarray]] = []
    first = np.ones(episodes, dtype=bool)  # slots still in their first episode
    count = _reports_failures(policies)
    failures = np.zeros((episodes, sc.n_parties + 1), dtype=np.int64)  # the mediator last
    while first.any():
        party = party_actions(
            groups,
            obs["party"],
            env.action_shape("party")[2],
            numbers,
            needed=first.copy(),
            failures=failures[:, :-1] if count else None,
        )
        want = torch.int64 if action_mode == "discrete" else dtype
        actions = {"party": torch.from_numpy(party).to(want)}
        if "mediator" in obs:
            mediator = policies[MEDIATOR]
            if hasattr(mediator, "rows_needed"):
                mediator.rows_needed = first.copy()
            mo = obs["mediator"]["observation"].numpy().astype(np.float32)
            med = mediator.act(mo, obs["mediator"]["action_mask"].numpy())
            actions["mediator"] = torch.as_tensor(np.asarray(med)).to(want)
            if count:
                failures[:, -1] += _failed(mediator, episodes)
        if hook is not None:
            actions = hook(env, actions)
        obs, _, _, _, info = env.step(actions)
        if "outcome" in info:
            out = info["outcome"]
            keep = first[out["slot"]]
            if keep.any():
                done = {k: v[keep] for k, v in out.items()}
                if count:  # the episode's failures, read before the slot starts another
                    done |= _failure_fields_batch(sc, failures[done["slot"]])
                ended.append(done)
                first[out["slot"][keep]] = False
                if progress is not None:
                    progress.update(int(keep.sum()))
    records = {k: np.concatenate([e[k] for e in ended]) for k in ended[0]}
    order = np.argsort(records.pop("slot"))
    records = {k: v[order] for k, v in records.items()}
    records["scenario"] = np.full(episodes, sc.name)
    return records
