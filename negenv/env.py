"""The PettingZoo shell: one episode of the batch-first rules, with a batch of one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from negenv import core, observe, rng
from negenv.actions import ActionCodec, check_illegal_mode, illegal_message
from negenv.layout import MEDIATOR, Layout, Phase, party_names
from negenv.outcome import outcome_batch, unbatch
from negenv.randomness import Noise, sample_types, split_noise
from negenv.render import Recorder
from negenv.scenario import Scenario, ScenarioError, load, with_overrides
from negenv.spaces import MaskedBox, MaskedMultiDiscrete

AgentID = str
ObsDict = dict[AgentID, Any]
ACTION_MODES = ("discrete", "continuous")
RENDER_MODES = ("ansi", "rgb_array", "human")
DONE = int(Phase.DONE)  # a plain int: comparing a numpy scalar with an IntEnum is slow
INFO_KEYS = ("round", "stage", "phase", "trust", "illegal_action")
#: most sequential episodes drawn at once by reset(): a batch costs about what one costs
RESET_BLOCK = 32
PARTY_INFO_KEYS = tuple(f"reward_{k}" for k in core.COMPONENTS)
PARTY_INFO = INFO_KEYS + PARTY_INFO_KEYS


class NegotiationEnv(ParallelEnv):
    """Mediated multilateral negotiation under asymmetric power.

    ## Description
    N parties with private, unequal types (power p, ideal points y, issue weights w, BATNA d
    rising with power, perceived risk rho falling with power, both with private noise,
    capability c) bargain over K issues in [0, 1]. Under the ``mediated`` protocol a mediator
    posts a single text, allocates guarantees from a budget G and sets a monitoring level;
    under ``alternating_offers`` a recognised party posts the text. A text that passes the
    decision rule goes to domestic ratification, then is implemented in S stages in which
    every party may comply or defect (claw back its concessions). Parties may bind themselves
    into coalitions that vote as blocs. The full model is docs/model.md (rules 2.1); every
    constant is a field of :class:`negenv.Scenario`.

    The end game is real: at monitoring 0 a party loses nothing by defecting in the last
    stage, nor in any stage whose late reveal leaves trust above the collapse threshold (with
    the defaults a strong party breaks three of four stages for free). Under ``max_cycles``
    a running agreement is scored on the stages it reached (the rest at the BATNAs, monitoring
    charged for the stages reached), so stalling never pays the mediator; the stage before a
    cap is a last stage for the parties.

    A text x entering into force at round t is worth ``W_i = d_i + delta**t (u_i(x) - d_i)``
    to party i if everyone complies: votes, audiences, the ``worth`` observation and rewards
    all use this one quantity. Round 0 has no vote: the first text is posted in round 0 and
    voted on from round 1; a text posted at step t is voted on at step t + 1.

    ## Agents
    ``party_0 ... party_{N-1}`` and, under the mediated protocol, ``mediator``. No agent leaves
    before the end: all live agents act at every step, and a part of an action the current
    phase does not read is masked.

    ## Action Space
    ``action_mode="discrete"`` (default), a :class:`MaskedMultiDiscrete`:

    | agent | component | options |
    |---|---|---|
    | party | vote | 0 reject, 1 accept (only 0 in round 0: no vote) |
    | party | comply | 0 comply, 1 defect |
    | party | coalition | 0 keep, 1 leave, 2+c join c (only 0 when coalitions are off) |
    | party | demand, per issue | 0 down, 1 hold, 2 up |
    | party | proposal, per issue | level 0 .. L-1 (alternating offers only; the proposer's) |
    | mediator | proposal, per issue | level 0 .. L-1 |
    | mediator | guarantee | 0 keep, 1+j move ``guarantee_step`` of the allocation to j |
    | mediator | monitoring | level 0 .. M-1, spread over [0, 1] |

    Proposals are absolute: level l of ``L = proposal_levels`` is the text ``l / (L - 1)`` on
    that issue. Coalition declarations take effect from the next round. ``action_mode=
    "continuous"``, a :class:`MaskedBox`: party (vote, defect, coalition, demand per issue in
    [-1, 1], proposal per issue), mediator (proposal per issue, guarantee weight per party,
    monitoring), with the thresholds of :class:`negenv.layout.Layout`. Components the mask
    marks 0 are ignored. Choosing a masked option in discrete mode sets
    ``infos[agent]["illegal_action"] = 1`` and, by ``illegal_action``: ``"noop"`` (default)
    the choice is ignored; ``"raise"`` raises ``ValueError`` naming the agent, the component
    and its legal options, before anything changes; ``"penalty"`` ignores it and subtracts
    ``illegal_penalty`` (default 0.05) from that agent's reward for the step, outside the
    rules (the outcome record, ``utility`` included, does not count it). An action outside the
    space, or an action for an agent that is not live, raises ``ValueError`` naming the
    agent.

    ## Observation Space
    ``{"observation": Box(-1, 1, (D,), float32), "action_mask": Box(0, 1, (A,), int8)}``, or
    the bare observation vector with ``flat_obs=True`` (the mask then in
    ``infos[agent]["action_mask"]``). Slices, in order (``Layout.party_obs`` /
    ``Layout.mediator_obs`` give exact offsets):

    | slice | size | meaning |
    |---|---|---|
    | self (party) | N | one-hot own index |
    | risk, capability (party) | 2 | own perceived risk and capability |
    | ideal, weight (party) | 2K | own ideal point and issue weights |
    | power, batna (party) | 2 | own power and BATNA (after shocks) |
    | worth (party) | 1 | ``W_i`` of the standing text were it to enter into force now |
    | powers | N | every party's power |
    | phase | 2 | one-hot negotiate, implement |
    | round, stage | 2 | t / T and stage / S |
    | proposal | K | the standing text (the agreement once in force) |
    | guarantees | N | guarantee shares of the pool |
    | monitoring, trust, credibility, budget_left | 4 | public levels in [0, 1] |
    | last_votes | N | -1 reject, 0 none, 1 accept (bloc votes for coalition members) |
    | proposer | N | one-hot recognised proposer (alternating offers only) |
    | detected, holdout | 2N | detected defections / S, outvoted on the text in force |
    | coalitions | N*C | one-hot coalition of each party (when C > 0) |
    | demands | N*K | last demand signals; a party sees only its own under private channels |
    | ideals, weights, batnas, risks (mediator) | 2NK+2N | party types: exact, noisy or zeros |
    | context (``observe_context``) | 16 | scenario constants in [0, 1] (``context_features``) |

    Every feature lies in [-1, 1] in float32 and float64 (those rounding could push out are
    clipped where they are computed).

    ``state()`` concatenates the public slices, every private type, the signals, the agreement
    and the guarantee cover left, in ``Box(-1, 1)``.

    ## Rewards
    In utility units, undiscounted within the episode. A party receives, per implementation
    stage, ``W_i / S`` for the text in force; a defector adds its claw-back
    ``lambda_i delta**t (1 - u_i) / S`` with ``lambda_i = min(1, gamma (N p_i)**leverage)``;
    every other party loses ``l W_i / S`` times the power share of the defectors among the
    others; a detected defector pays ``sanction + sanction_rate * gain``; victims are
    compensated from their guarantee cover when the guarantor honours a claim (probability
    kappa; a defection is claimed when it becomes known: at once if detected, a stage later
    otherwise, at the end for the last stage). On collapse the lost stages pay
    ``(d_i - relapse_cost) / S`` each; at breakdown a party receives ``d_i - conflict_cost``;
    with S = 0 an agreement pays ``W_i`` at once. No return exceeds 1. The sum of a party's
    rewards equals ``utility`` in the outcome record, and ``infos[party]`` splits each step's
    reward into ``reward_value``, ``reward_temptation``, ``reward_loss`` (subtracted),
    ``reward_sanction`` (subtracted), ``reward_compensation`` and ``reward_fallback``.

    The mediator is paid once, in the step where the episode ends (also at truncation, on
    the episode so far), the weighted objective of ``Scenario.objective``; by default the
    share of party-stages complied with times the normalised Nash welfare of protected gains
    (agreement, compensation and fallback, without temptation gains or sanctions; a stage lost
    to a collapse counts at ``min(fallback, (1 - l) W_i / S)``),
    ``prod((g_i)+ / (1 - d_i)) ** (1/N)``, minus ``0.1`` times the share of the budget
    committed to monitoring at entry into force. No extra defection can raise it. There is no
    shaping.

    ## Starting State
    ``reset(seed)`` draws every type and the mediator's credibility kappa_0 (public) from the
    scenario; the standing text is ``initial_proposal`` on every issue, with no guarantees, no
    monitoring, trust ``trust_initial``, no coalitions.

    ## Episode End
    Terminated for every agent at once when the agreement is completed, collapses, or
    negotiation breaks down at round T. Truncated for every agent at once when
    ``max_cycles`` steps have been taken first (``None``: no cap; natural episodes last at
    most T + S steps). When the episode ends, ``env.outcome`` holds its outcome record until the
    next reset. Every step's infos hold the same numeric keys, which is what frameworks that
    stack infos into tensors need (TorchRL's ``PettingZooWrapper(negenv.parallel_env(...))``
    works as its documentation writes it); ``outcome_in_infos=True`` also puts the record in
    ``infos[agent]["outcome"]`` at the final step.

    ## Arguments
    ``scenario`` (built-in name, YAML path, dict or :class:`Scenario`), ``render_mode``
    (``ansi``, ``rgb_array``, ``human`` or None), ``action_mode``, ``flat_obs``,
    ``max_cycles``, ``outcome_in_infos``, ``illegal_action``, ``illegal_penalty``, ``record``
    (keep :meth:`episode_log`, the episode as events for ``negenv.replay``), and any
    scenario field as a keyword override, nested
    fields by double underscores (``implementation__n_stages=6``) or, through ``**{...}``, dots.

    ## Version History
    * v0: initial release; rules version 2 (docs/model.md): worth ``W``, absolute proposals on a
      grid, defection as claw-back, sanctions proportional to gains, claims on every known
      defection, collapse only when a defection becomes known, no vote in round 0, coalition
      declarations effective the next round, compliance-weighted mediator objective.
    """

    metadata = {
        "name": "negotiation_v0",
        "render_modes": ["ansi", "rgb_array", "human"],
        "is_parallelizable": True,
        "render_fps": 1,
    }

    def __init__(
        self,
        scenario: str | Scenario | dict = "multilateral_5",
        render_mode: str | None = None,
        action_mode: str = "discrete",
        flat_obs: bool = False,
        max_cycles: int | None = None,
        outcome_in_infos: bool = False,
        illegal_action: str = "noop",
        illegal_penalty: float = 0.05,
        record: bool = False,
        **overrides: Any,
    ):
        sc = load(scenario)
        self.scenario: Scenario = with_overrides(sc, overrides) if overrides else sc
        _check_arg("render_mode", render_mode, (None, *RENDER_MODES))
        _check_arg("action_mode", action_mode, ACTION_MODES)
        if not isinstance(flat_obs, (bool, np.bool_)):
            raise ValueError(f"flat_obs = {flat_obs!r} is invalid: must be True or False")
        if max_cycles is not None and (
            not isinstance(max_cycles, (int, np.integer))
            or isinstance(max_cycles, (bool, np.bool_))
            or max_cycles < 1
        ):
            raise ValueError(f"max_cycles = {max_cycles!r} is invalid: must be None or an int >= 1")
        if not isinstance(outcome_in_infos, (bool, np.bool_)):
            raise ValueError(
                f"outcome_in_infos = {outcome_in_infos!r} is invalid: must be True or False"
            )
        self.illegal_penalty = check_illegal_mode(illegal_action, illegal_penalty)
        self.illegal_action = illegal_action
        self.render_mode, self.action_mode, self.flat_obs = render_mode, action_mode, flat_obs
        self.outcome_in_infos = bool(outcome_in_infos)
        self.max_cycles = max_cycles
        self.layout = Layout.of(self.scenario)
        # noise rows drawn per batch: a natural episode's worth (T rounds, S stages, the end)
        self._noise_chunk = self.scenario.max_rounds + self.scenario.implementation.n_stages + 1
        self.codec = ActionCodec(self.scenario, continuous=action_mode == "continuous")
        self._templates = (self.codec.party_templates, self.codec.mediator_templates)
        self._no_flags = np.zeros((1, self.scenario.n_parties + 1), dtype=bool)
        self._no_flags.setflags(write=False)
        self._mask_cache: dict[tuple[int, int, bool], tuple] = {}
        n = self.scenario.n_parties
        self.parties = party_names(n)
        self.possible_agents = self.parties + ([MEDIATOR] if self.scenario.mediated else [])
        self.agents: list[AgentID] = []
        self._live = frozenset(self.possible_agents)  # every agent acts until the episode ends
        self._build_spaces()
        self.np_random, self.np_random_seed = seeding.np_random(None)
        self._episodes = 0
        self._block: tuple | None = None  # (base, first episode, states, static, noise)
        self._state: core.State | None = None
        self.outcome: dict[str, Any] | None = None
        if not isinstance(record, (bool, np.bool_)):
            raise ValueError(f"record = {record!r} is invalid: must be True or False")
        self._recorder = Recorder(self.scenario) if render_mode or record else None

    # ---------------------------------------------------------------------------- spaces
    def _build_spaces(self) -> None:
        lay = self.layout
        if self.action_mode == "discrete":
            party_a = MaskedMultiDiscrete(np.asarray(lay.party_nvec, dtype=np.int64))
            med_a = MaskedMultiDiscrete(np.asarray(lay.mediator_nvec, dtype=np.int64))
        else:
            box = lay.party_box
            low, high = np.zeros(box.size, np.float32), np.ones(box.size, np.float32)
            low[box["demand"]] = -1.0
            party_a = MaskedBox(low, high, dtype=np.float32)
            med_a = MaskedBox(0.0, 1.0, (lay.mediator_box.size,), dtype=np.float32)
        self._action_spaces = {a: party_a for a in self.parties}
        obs = {a: self._obs_space(lay.party_obs.size, party_a) for a in self.parties}
        if self.scenario.mediated:
            self._action_spaces[MEDIATOR] = med_a
            obs[MEDIATOR] = self._obs_space(lay.mediator_obs.size, med_a)
        self._obs_spaces = obs
        self.state_space = spaces.Box(-1.0, 1.0, (lay.global_state.size,), np.float32)

    def _obs_space(self, size: int, action_space: spaces.Space) -> spaces.Space:
        vec = spaces.Box(-1.0, 1.0, (size,), np.float32)
        if self.flat_obs:
            return vec
        n_mask = (
            int(np.sum(action_space.nvec))
            if self.action_mode == "discrete"
            else (action_space.shape[0])
        )
        return spaces.Dict(
            {"observation": vec, "action_mask": spaces.Box(0, 1, (n_mask,), np.int8)}
        )

    def _fresh_state(self, key: int) -> core.State:
        keys = np.asarray([key], dtype=np.int64)
        return core.reset_state(self.scenario, keys, sample_types(self.scenario, keys))

    def observation_space(self, agent: AgentID) -> spaces.Space:
        return self._obs_spaces[agent]

    def action_space(self, agent: AgentID) -> spaces.Space:
        return self._action_spaces[agent]

    # ------------------------------------------------------------------------ reset/step
    def reset(self, seed: int | None = None, options: dict | None = None):
        """Start an episode; ``options={"key": k}`` replays the episode with key k.

        The k-th episode after ``reset(seed=s)`` has key ``rng.episode_keys(s, [0], [k])``,
        the same as batch slot 0 of the batched env, so every backend replays it.
        """
        if seed is not None:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
            self._episodes = 0
        key = (options or {}).get("key")
        if key is None:
            self._state, self._static, self._noise_rows = self._next_episode()
            self._episodes += 1
        else:
            self._state = self._fresh_state(key)
            self._static = observe.static_features(self.scenario, self.layout, self._state)
            self._noise_rows = np.zeros((0, 4 * len(self.parties) + 1), self._state.trust.dtype)
        self.agents = list(self.possible_agents)
        self.outcome = None
        if self._recorder:
            self._recorder.start(self._state)
        obs, infos = self._observe(self._no_flags, core.components(self._state, self._state))
        return obs, infos

    def step(self, actions: dict[AgentID, Any]):
        if self._state is None:
            raise RuntimeError("step() called before reset(); call reset() first")
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        party, mediator = self._gather(actions)
        illegal = self._illegal(party, mediator)
        if self.illegal_action == "raise" and illegal.any():
            raise ValueError(self._illegal_error(illegal[0], party[0], mediator))
        before = self._state
        decoded = self.codec.decode(before, party, mediator, illegal)
        noise = self._noise(before)
        self._state, party_r, med_r = core.step_state(self.scenario, before, decoded, noise)
        done = int(self._state.phase[0]) == DONE
        steps = int(self._state.clock[0])
        truncated = not done and self.max_cycles is not None and steps >= self.max_cycles
        if truncated:  # the mediator is paid its objective on the episode so far
            self._state, extra = core.settle(self.scenario, self._state, np.ones(1, bool))
            med_r = med_r + extra
        if self._recorder:
            self._recorder.record(before, self._state, decoded, party_r)
        obs, infos = self._observe(illegal, core.components(before, self._state))
        if self.illegal_action == "penalty":  # outside the rules: the outcome record is unchanged
            party_r = party_r - self.illegal_penalty * illegal[:, : len(self.parties)]
            med_r = med_r - self.illegal_penalty * illegal[:, -1]
        rewards = dict(zip(self.parties, party_r[0].tolist()))
        if self.scenario.mediated:
            rewards[MEDIATOR] = float(med_r[0])
        terms = dict.fromkeys(self.agents, done)
        truncs = dict.fromkeys(self.agents, truncated)
        if done or truncated:
            self.outcome = unbatch(
                outcome_batch(self.scenario, self._state, np.asarray([truncated])),
                0,
                self.scenario.name,
            )
            if self.outcome_in_infos:
                for info in infos.values():
                    info["outcome"] = self.outcome
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def _next_episode(self) -> tuple[core.State, tuple, np.ndarray]:
        """The starting state, static features and noise rows of the next sequential episode.

        They are drawn in blocks of episodes (keys, types and a natural episode's noise are
        counter-based per episode, so an episode drawn in a block is the one drawn alone) and
        handed out as read-only one-episode views: the rules never write into a state, and a
        write would raise rather than reach another episode. A block holds one episode after
        a reseed (a caller that reseeds every episode draws no more than it plays), then
        twice the last block's, up to :data:`RESET_BLOCK`.
        """
        base = self.np_random_seed % (1 << 63)  # unseeded gymnasium seeds are 128-bit
        k = self._episodes
        block = self._block
        if block is not None and block[0] != base:
            block = None  # reseeded: the episodes drawn belong to another seed
        size = 0 if block is None else len(block[2].key)
        if block is None or not block[1] <= k < block[1] + size:
            size = min(2 * size, RESET_BLOCK) if block is not None and k else 1
            episodes = np.arange(k, k + size, dtype=np.int64)
            keys = rng.episode_keys(base, np.zeros_like(episodes), episodes)
            states = core.reset_state(self.scenario, keys, sample_types(self.scenario, keys))
            static = observe.static_features(self.scenario, self.layout, states)
            chunk = self._noise_chunk
            noise = rng.uniform(
                np.repeat(keys, chunk),
                np.tile(np.arange(chunk, dtype=np.int64), size),
                4 * len(self.parties) + 1,
                states.trust.dtype,
            ).reshape(size, chunk, -1)
            for array in (*vars(states).values(), *static, noise):
                array.setflags(write=False)
            self._block = block = (base, k, states, static, noise)
        j = k - block[1]
        state = object.__new__(core.State)
        state.__dict__.update({name: v[j : j + 1] for name, v in vars(block[2]).items()})
        static = tuple(v[j : j + 1] for v in block[3])
        return state, static, block[4][j]

    def _noise(self, s: core.State) -> Noise:
        """The step's noise, from rows drawn for a whole episode at a time: one counter-based
        draw over many clocks costs what one clock costs on a batch of one."""
        clock, rows = int(s.clock[0]), self._noise_rows
        if clock >= rows.shape[0]:
            start = rows.shape[0]
            count = max(clock + 1 - start, self._noise_chunk)
            clocks = np.arange(start, start + count, dtype=np.int64)
            keys = np.full(count, s.key[0], dtype=np.int64)
            new = rng.uniform(keys, clocks, rows.shape[1], rows.dtype)
            self._noise_rows = rows = np.concatenate([rows, new])
        return split_noise(rows[clock : clock + 1], len(self.parties))

    def _gather(self, actions: dict[AgentID, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        """Stack the action dict into batch-first arrays, checking every action is in space."""
        if type(actions) is not dict and not isinstance(actions, Mapping):
            raise ValueError(f"actions must be a dict from agent to action; got {type(actions)}")
        if actions.keys() != self._live:  # one set comparison on the usual step
            missing = [a for a in self.agents if a not in actions]
            if missing:
                raise ValueError(f"no action given for agents {missing}; every live agent must act")
            unknown = [a for a in actions if a not in self.agents]
            raise ValueError(f"actions given for unknown agents {unknown}; agents: {self.agents}")
        party = _stack_checked(
            self._action_spaces[self.parties[0]], [actions[a] for a in self.parties], self.parties
        )
        mediator = None
        if self.scenario.mediated:
            mediator = _stack_checked(
                self._action_spaces[MEDIATOR], [actions[MEDIATOR]], [MEDIATOR]
            )  # already (1, A'): a batch of one
        return party[None], mediator

    def _illegal(self, party: np.ndarray, mediator: np.ndarray | None) -> np.ndarray:
        """The codec's (1, N+1) flags; an all-legal step (the usual one) is one lookup in the
        step's flattened masks, and only a step with a masked choice asks the codec which."""
        if self.action_mode == "continuous":
            return self._no_flags
        legal = self._legal_lookup
        chosen = party.reshape(-1) + legal[1]
        if mediator is not None:
            chosen = np.concatenate([chosen, mediator.reshape(-1) + legal[2]])
        if legal[0][chosen].all():
            return self._no_flags
        return self.codec.illegal(party, mediator, self._masks)

    def _illegal_error(self, flags: np.ndarray, party: np.ndarray, mediator) -> str:
        lay, i = self.layout, int(np.flatnonzero(flags)[0])
        party_mask, med_mask = self._masks
        if i < len(self.parties):
            names, nvec = lay.party_components, lay.party_nvec
            who = f"agent {self.parties[i]!r}"
            return illegal_message(who, names, nvec, party_mask[0, i], party[i])
        names, nvec = lay.mediator_components, lay.mediator_nvec
        return illegal_message(f"agent {MEDIATOR!r}", names, nvec, med_mask[0], mediator[0])

    def _observe(self, illegal: np.ndarray, parts: dict[str, np.ndarray]) -> tuple[ObsDict, dict]:
        s = self._state
        party_obs, med_obs = observe.observations(
            self.scenario, self.layout, s, self._static, _fresh_float32
        )
        self._masks, mask_rows, self._legal_lookup = self._current_masks(s)
        obs_rows = list(party_obs[0])
        if med_obs is not None:
            obs_rows.append(med_obs[0])
        base = (int(s.round[0]), int(s.stage[0]), int(s.phase[0]), float(s.trust[0]))
        flags = illegal[0].view(np.int8).tolist()  # 0/1 ints, as the infos promise
        # one tolist per component, then one dict per agent from a tuple (no per-key work)
        per_party = zip(*(parts[k][0].tolist() for k in core.COMPONENTS))
        infos = {
            a: dict(zip(PARTY_INFO, (*base, flag, *row)))
            for a, flag, row in zip(self.parties, flags, per_party)
        }
        if self.scenario.mediated:
            infos[MEDIATOR] = dict(zip(INFO_KEYS, (*base, flags[-1])))
        if self.flat_obs:
            for info, m in zip(infos.values(), mask_rows):
                info["action_mask"] = m
            return dict(zip(self.possible_agents, obs_rows)), infos
        obs = {
            a: {"observation": o, "action_mask": m}
            for a, o, m in zip(self.possible_agents, obs_rows, mask_rows)
        }
        return obs, infos

    def _current_masks(self, s: core.State) -> tuple:
        """The step's masks, one read-only row per agent, and the flat lookup of
        :meth:`_illegal`. Masks depend only on (phase, proposer, round 0): each is built once."""
        key = (int(s.phase[0]), int(s.proposer[0]), int(s.round[0]) == 0)
        if key not in self._mask_cache:
            masks = self.codec.masks(s, self._templates)
            for m in masks:
                m.setflags(write=False)
            party_mask, med_mask = masks
            rows = list(party_mask[0]) + ([med_mask[0]] if self.scenario.mediated else [])
            n, width = party_mask.shape[1:]
            flat = np.concatenate([m.reshape(-1) for m in rows]).astype(bool)
            party_at = (np.arange(n)[:, None] * width + self.codec.offsets).reshape(-1)
            med_at = n * width + self.codec.mediator_offsets
            self._mask_cache[key] = masks, rows, (flat, party_at, med_at)
        return self._mask_cache[key]

    # ---------------------------------------------------------------------------- extras
    def state(self) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("state() called before reset()")
        return observe.global_state(self.scenario, self.layout, self._state)[0].astype(np.float32)

    @property
    def core_state(self) -> core.State:
        """The rules' state of this episode (a batch of one), for inspection and tests."""
        return self._state

    def render(self, mode: str | None = None) -> Any:
        """The episode so far in the env's ``render_mode``. ``mode``, which older wrappers
        pass (RLlib's ``ParallelPettingZooEnv.render()``), must be None or that mode."""
        if mode is not None and mode != self.render_mode:
            raise ValueError(
                f"render(mode={mode!r}): this env renders in render_mode "
                f"{self.render_mode!r}; set render_mode at construction"
            )
        if self.render_mode is None:
            return None
        text = self._recorder.transcript()
        if self.render_mode == "ansi":
            return text
        if self.render_mode == "human":
            print(text)
            return None
        return self._recorder.figure()

    def episode_log(self) -> list[dict[str, Any]]:
        """The current episode as JSON-able events (``record=True`` or a render mode): a
        header (scenario and the types drawn), one entry per step (the public record after
        it: texts, votes, ratification, coalitions, stages, defections detected and not,
        trust, guarantees paid, rewards) and, once over, the outcome record. This is what
        ``python -m negenv.replay`` renders."""
        if self._recorder is None:
            raise RuntimeError("episode_log() needs NegotiationEnv(record=True) or a render_mode")
        events = list(self._recorder.events)
        if self.outcome is not None:
            record = {k: np.asarray(v).tolist() for k, v in self.outcome.items()}
            events.append({"type": "outcome", "record": record})
        return events

    def close(self) -> None:
        pass


def _fresh_float32(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    # observations are written straight into new float32 arrays: each step's are the user's
    return np.empty(shape, np.float32)


def _check_arg(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} = {value!r} is invalid: must be one of {allowed}")


def _in_space(space: spaces.Space, arr: np.ndarray) -> bool:
    if arr.shape[-len(space.shape) :] != space.shape:
        return False
    # ndarray methods: np.all's dispatch costs more than the comparison on a few actions
    if isinstance(space, spaces.MultiDiscrete):
        return arr.dtype.kind in "iu" and arr.min() >= 0 and bool((arr < space.nvec).all())
    return arr.dtype.kind == "f" and bool((arr >= space.low).all() and (arr <= space.high).all())


def _stack_checked(space: spaces.Space, acts: list[Any], agents: list[AgentID]) -> np.ndarray:
    """One array of every agent's action, or a ValueError naming the first agent out of space."""
    try:
        arr = np.asarray(acts)
        if arr.ndim == len(space.shape) + 1 and _in_space(space, arr):
            return arr
    except ValueError:  # ragged actions: find the culprit below
        pass
    for agent, act in zip(agents, acts):
        one = np.asarray(act)
        if one.shape != space.shape or not _in_space(space, one):
            raise ValueError(
                f"action {act!r} of agent {agent!r} is outside its action space {space}"
            )
    raise ValueError(f"actions of agents {agents} are not a valid batch for {space}")


def parallel_env(
    scenario: str | Scenario | dict = "multilateral_5", **kwargs: Any
) -> NegotiationEnv:
    """The ParallelEnv of a scenario; see :class:`NegotiationEnv` for every argument."""
    return NegotiationEnv(scenario, **kwargs)


def env(scenario: str | Scenario | dict = "multilateral_5", **kwargs: Any):
    """The AEC view of :func:`parallel_env` (PettingZoo's ``parallel_to_aec``)."""
    return parallel_to_aec(parallel_env(scenario, **kwargs))


__all__ = ["NegotiationEnv", "parallel_env", "env", "ScenarioError"]
