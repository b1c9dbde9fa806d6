"""The batched shell: ``num_envs`` episodes of one scenario as torch tensors on any device.

It runs the very rules of the PettingZoo env (:mod:`negenv.core`) over a leading batch
dimension. Roles are ``"party"`` (tensors shaped ``(B, N, ...)``) and ``"mediator"``
(``(B, ...)``, mediated scenarios only). Finished episodes reset in the same step
(Gymnasium's ``SAME_STEP`` autoreset): the step returns the first observation of the new
episode and hands the final observation and the outcome records of the finished ones in
``info``. Episode b of ``reset(seed)`` draws with key ``rng.episode_keys(seed, b, k)`` for its
k-th episode, so its trajectory does not depend on ``num_envs`` or the device, and equals
the PettingZoo env's episode with that key. The next episode of every slot is drawn ahead,
for all slots that need one at once, and an auto-reset gathers its rows: being keyed, an
episode is the same whenever it is drawn. (The env holds one more episode's state, masks and
first observations per slot for it: :meth:`state_bytes` counts the running episodes only.)
"""

from __future__ import annotations

from typing import Any

import torch

from negenv import core, observe, rng
from negenv.actions import ActionCodec, check_illegal_mode, illegal_message
from negenv.buffers import Recycler
from negenv.layout import Layout, Phase
from negenv.outcome import outcome_batch
from negenv.randomness import NoiseOnDemand, draw_noise, sample_types
from negenv.scenario import Scenario, load, with_overrides

TensorDict = dict[str, Any]
ROLES = ("party", "mediator")
# Inductor's CPU code vectorises the innermost dimension, which in the rules is a party, issue
# or option axis of 2-21 cells: with tail vectorisation each becomes a masked 16-lane
# operation per batch row: the compiled step of 4,096-16,384 multilateral_5 episodes ran
# 1.45-1.6x slower with it than without (both in one process; the tests that hold the
# compiled step to the eager one pass either way).
CPU_INDUCTOR = {"cpp.enable_loop_tail_vec": False}


def _device(device: str | torch.device) -> torch.device:
    try:
        # the device of a real tensor is canonical: "cuda" becomes "cuda:0"
        return torch.empty(0, device=torch.device(device)).device
    except (RuntimeError, AssertionError) as err:
        raise ValueError(f"device = {device!r} is not available here: {err}") from None


class VectorNegotiationEnv:
    """``num_envs`` negotiations stepped at once; see the module docstring.

    Args:
        scenario: a built-in name, YAML path, dict or :class:`Scenario`.
        num_envs: batch size B.
        device: a torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).
        action_mode: ``"discrete"`` (int64 MultiDiscrete rows) or ``"continuous"`` (floats).
        dtype: float dtype of the state and observations (float64 plays the PettingZoo env's
            episodes, equal to within a few ulps: numpy and torch may round a logarithm or a
            power differently in the Dirichlet and log-normal draws; float32 is the fast
            default).
        max_cycles: step cap per episode (truncation), or None.
        autoreset: reset finished episodes inside ``step`` (off for the TorchRL view, which
            resets through ``reset(mask=...)``).
        check_actions: verify action ranges every step (one device sync per role).
        illegal_action: what a masked discrete choice does: ``"noop"`` (ignored, flagged in
            ``info["illegal_action"]``), ``"raise"`` (``ValueError`` naming the role, the slot,
            the component and its legal options; one device sync per step), or ``"penalty"``
            (ignored, and ``illegal_penalty`` subtracted from that agent's reward, outside the
            rules: the outcome records do not count it). As for the PettingZoo env.
        illegal_penalty: the reward penalty per illegal agent-step in ``"penalty"`` mode.
        compile: run the step (rules, masks, observations) through ``torch.compile``:
            ``True`` for the defaults, or a dict of ``torch.compile`` options such as
            ``{"mode": "max-autotune-no-cudagraphs"}``. It pays on a GPU, where the eager step
            is bound by kernel launches; the first step compiles (seconds). On the CPU, with
            the default inductor backend, the options of :data:`CPU_INDUCTOR` are added unless
            ``mode`` is given (``torch.compile`` takes one or the other) or ``options`` sets
            them otherwise.
        **overrides: scenario fields, as for :func:`negenv.parallel_env`.
    """

    metadata = {"autoreset_mode": "same_step"}

    def __init__(
        self,
        scenario: str | Scenario | dict = "multilateral_5",
        num_envs: int = 1024,
        device: str | torch.device = "cpu",
        action_mode: str = "discrete",
        dtype: torch.dtype = torch.float32,
        max_cycles: int | None = None,
        autoreset: bool = True,
        check_actions: bool = True,
        compile: bool | dict = False,
        illegal_action: str = "noop",
        illegal_penalty: float = 0.05,
        **overrides: Any,
    ):
        sc = load(scenario)
        self.scenario = with_overrides(sc, overrides) if overrides else sc
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs = {num_envs!r} is invalid: must be an int >= 1")
        if action_mode not in ("discrete", "continuous"):
            raise ValueError(f"action_mode = {action_mode!r} is invalid: discrete or continuous")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype = {dtype!r} is invalid: torch.float32 or torch.float64")
        self.illegal_penalty = check_illegal_mode(illegal_action, illegal_penalty)
        self.illegal_action = illegal_action
        self.num_envs, self.device, self.dtype = num_envs, _device(device), dtype
        self.max_cycles, self.autoreset, self.check_actions = max_cycles, autoreset, check_actions
        self.layout = Layout.of(self.scenario)
        self.codec = ActionCodec(self.scenario, continuous=action_mode == "continuous")
        self.action_mode = action_mode
        self.roles = ROLES if self.scenario.mediated else ROLES[:1]
        self._templates = tuple(
            torch.as_tensor(t, device=self.device)
            for t in (self.codec.party_templates, self.codec.mediator_templates)
        )
        self._slots = torch.arange(num_envs, device=self.device)
        self.state: core.State | None = None
        if not isinstance(compile, (bool, dict)):
            raise ValueError(f"compile = {compile!r} is invalid: a bool or a dict of options")
        self._advance_fn = self._advance
        # eager on the CPU: observations are written into recycled tensors (fresh ones cost
        # page faults) and the noise is drawn for the rows that read it (negenv.rows)
        eager_cpu = self.device.type == "cpu" and compile is False
        self._out = Recycler().empty if eager_cpu else None
        self._noise = NoiseOnDemand if eager_cpu else draw_noise
        if compile is not False:
            options = {"dynamic": False, **(compile if isinstance(compile, dict) else {})}
            inductor = options.get("backend", "inductor") == "inductor"
            if inductor and self.device.type == "cpu" and "mode" not in options:
                options["options"] = {**CPU_INDUCTOR, **options.get("options", {})}
            self._advance_fn = torch.compile(self._advance, **options)

    # ---------------------------------------------------------------------- shapes
    def action_shape(self, role: str) -> tuple[int, ...]:
        lay, party = self.layout, role == "party"
        if self.action_mode == "discrete":
            width = len(lay.party_nvec if party else lay.mediator_nvec)
        else:
            width = (lay.party_box if party else lay.mediator_box).size
        return (self.num_envs, lay.n, width) if party else (self.num_envs, width)

    def action_bounds(self, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Inclusive (low, high) per action component."""
        lay, party = self.layout, role == "party"
        if self.action_mode == "discrete":
            nvec = torch.as_tensor(lay.party_nvec if party else lay.mediator_nvec)
            return torch.zeros_like(nvec), nvec - 1
        size = (lay.party_box if party else lay.mediator_box).size
        low = torch.zeros(size, dtype=self.dtype)
        if party:
            low[lay.party_box["demand"]] = -1.0
        return low, torch.ones(size, dtype=self.dtype)

    # ----------------------------------------------------------------------- reset
    def _fresh(self, slots: torch.Tensor, episodes: torch.Tensor) -> core.State:
        keys = rng.episode_keys(self._seed, slots + self._first_slot, episodes)
        return core.reset_state(self.scenario, keys, sample_types(self.scenario, keys, self.dtype))

    def reset(self, seed: int = 0, first_slot: int = 0) -> TensorDict:
        """Start episode 0 in every slot; returns observations by role.

        ``first_slot`` numbers the slots from there: batch element b plays the episodes of
        slot ``first_slot + b`` (run a large set of episodes in several batches).
        """
        if not isinstance(first_slot, int) or first_slot < 0:
            raise ValueError(f"first_slot = {first_slot!r} is invalid: must be an int >= 0")
        self._seed, self._first_slot = seed, first_slot
        self._episodes = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.state = self._fresh(self._slots, self._episodes)
        self._static = observe.static_features(self.scenario, self.layout, self.state)
        self._ahead, self._ready = None, torch.zeros_like(self._episodes, dtype=torch.bool)
        return self._observe()

    def reset_where(self, mask: torch.Tensor, obs: TensorDict | None = None) -> TensorDict:
        """Start the next episode in the slots where ``mask`` (B,) is true.

        ``obs``, the current observations, saves observing the slots that keep running.
        """
        idx = torch.nonzero(mask).squeeze(1)
        if not idx.numel():
            return obs if obs is not None else self._observe()
        self._prepare_ahead(mask)
        self._episodes = self._episodes + mask.to(torch.int64)
        self._ready &= ~mask
        state, static, masks, first = self._ahead

        def merge(old, new):
            # in place: the step just built these tensors and nothing else holds them
            return old.index_copy_(0, idx, new.index_select(0, idx))

        self.state = core.State(
            **{k: merge(v, getattr(state, k)) for k, v in self.state.__dict__.items()}
        )
        self._static = tuple(merge(old, new) for old, new in zip(self._static, static))
        if obs is None:
            return self._observe()
        self._masks = tuple(merge(old, new) for old, new in zip(self._masks, masks))
        return {
            role: {key: merge(obs[role][key], first[role][key]) for key in obs[role]}
            for role in obs
        }

    def _prepare_ahead(self, mask: torch.Tensor) -> None:
        """Make sure every slot in ``mask`` has its next episode ready (state, static
        features, masks and first observations), drawing them for every slot whose
        prepared episode is stale, at once.

        Drawing a few fresh episodes costs as much as drawing a thousand (hundreds of small
        tensor operations): prepared ahead, in one batch per episode length or so, an
        auto-reset is a gather of rows. Episodes are keyed by (seed, slot, episode number),
        so when an episode is drawn never changes what it is."""
        if not bool((mask & ~self._ready).any()):  # after reset() no slot is ready
            return
        rows = torch.nonzero(~self._ready).squeeze(1)
        fresh = self._fresh(rows, self._episodes.index_select(0, rows) + 1)
        static = observe.static_features(self.scenario, self.layout, fresh)
        masks = self._masks_of(fresh)
        prepared = (fresh, static, masks, self._observations(fresh, static, masks))
        if self._ahead is None:  # every slot was stale: the batch is the buffer
            self._ahead = prepared
        else:
            self._ahead = _write_rows(self._ahead, rows, prepared)
        self._ready[rows] = True

    # ------------------------------------------------------------------------ step
    def step(self, actions: TensorDict):
        """Advance every episode one step.

        Args:
            actions: ``{"party": (B, N, A), "mediator": (B, A')}`` tensors on the device.

        Returns:
            observations, rewards ``{"party": (B, N), "mediator": (B,)}``, terminated (B,),
            truncated (B,), info with ``illegal_action`` (B, N+1), ``reward_components``
            (party rewards split by accounting component, each (B, N)) and, when an episode ended,
            ``done`` (B,), and for the ended episodes only, in slot order:
            ``final_observation`` (tensors by role) and ``outcome`` (numpy records with their
            ``slot``).
        """
        if self.state is None:
            raise RuntimeError("step() called before reset()")
        party, mediator = self._check(actions)
        if self.illegal_action == "raise":
            self._raise_if_illegal(party, mediator)
        s = self.state
        # the noise stays eager: negenv.rng's hash wraps 64-bit products, which is undefined
        # for C++'s signed integers, and inductor's CPU code (torch 2.13) got some lanes wrong
        # (scalar loop tails; `arange * constant` folded into an index) against eager's bits
        noise = self._noise(s.key, s.clock, self.layout.n, self.dtype)
        self.state, party_r, med_r, illegal, self._masks, views = self._advance_fn(
            s, self._static, self._masks, party, mediator, noise
        )
        obs = self._pack(views, self._masks)
        terminated = self.state.phase == int(Phase.DONE)
        truncated = torch.zeros_like(terminated)
        if self.max_cycles is not None:
            truncated = ~terminated & (self.state.clock >= self.max_cycles)
            if bool(truncated.any()):  # the mediator is paid its objective so far
                self.state, extra = core.settle(self.scenario, self.state, truncated)
                med_r = med_r + extra
        if self.illegal_action == "penalty":  # outside the rules: the records are unchanged
            cost = self.illegal_penalty * illegal.to(party_r.dtype)
            party_r, med_r = party_r - cost[:, :-1], med_r - cost[:, -1]
        rewards = {"party": party_r, "mediator": med_r}
        info: dict[str, Any] = {
            "illegal_action": illegal,
            "reward_components": core.components(s, self.state),
        }
        done = terminated | truncated
        if bool(done.any()):
            idx = torch.nonzero(done).squeeze(1)
            # index_select: several times faster than advanced indexing on CPU
            rows = self.state.__dict__.items()
            ended = core.State(**{k: v.index_select(0, idx) for k, v in rows})
            info["outcome"] = outcome_batch(self.scenario, ended, truncated[idx])
            info["outcome"]["slot"] = idx.cpu().numpy()
            info["done"] = done
            info["final_observation"] = {
                role: {key: value.index_select(0, idx) for key, value in parts.items()}
                for role, parts in obs.items()
            }
            if self.autoreset:
                return self.reset_where(done, obs), rewards, terminated, truncated, info
        return obs, rewards, terminated, truncated, info

    def _raise_if_illegal(self, party: torch.Tensor, mediator: torch.Tensor | None) -> None:
        flags = self.codec.illegal(party, mediator, self._masks)
        if not bool(flags.any()):
            return
        slot, agent = (int(i) for i in torch.nonzero(flags)[0])
        lay, (party_mask, med_mask) = self.layout, self._masks
        if agent < lay.n:
            names, nvec, mask, act = (
                lay.party_components,
                lay.party_nvec,
                party_mask[slot, agent],
                party[slot, agent],
            )
            who = f"party {agent} of slot {slot}"
        else:
            names, nvec, mask, act = (
                lay.mediator_components,
                lay.mediator_nvec,
                med_mask[slot],
                mediator[slot],
            )
            who = f"mediator of slot {slot}"
        count = int(flags.sum())
        message = illegal_message(who, names, nvec, mask.cpu().numpy(), act.cpu().numpy())
        raise ValueError(f"{message} ({count} illegal agent-steps in this batch)")

    def _advance(self, s: core.State, static: tuple, masks: tuple, party, mediator, noise):
        """The rules' step and what every agent sees next: the part ``compile`` fuses."""
        illegal = self.codec.illegal(party, mediator, masks)
        decoded = self.codec.decode(s, party, mediator, illegal)
        s, party_r, med_r = core.step_state(self.scenario, s, decoded, noise)
        masks = self._masks_of(s)
        return (
            s,
            party_r,
            med_r,
            illegal,
            masks,
            observe.observations(self.scenario, self.layout, s, static, self._buffer),
        )

    def _check(self, actions: TensorDict) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = []
        for role in self.roles:
            if role not in actions:
                raise ValueError(f"no actions for role {role!r}; roles: {list(self.roles)}")
            a, shape = actions[role], self.action_shape(role)
            want = torch.int64 if self.action_mode == "discrete" else self.dtype
            if not isinstance(a, torch.Tensor) or tuple(a.shape) != shape or a.dtype != want:
                got = (tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else type(a)
                raise ValueError(
                    f"actions of role {role!r} must be a {want} tensor of shape {shape}; got {got}"
                )
            if a.device != self.device:
                raise ValueError(
                    f"actions of role {role!r} are on {a.device}, the env on {self.device}"
                )
            if self.check_actions:
                low, high = (t.to(self.device) for t in self.action_bounds(role))
                if bool(((a < low) | (a > high)).any()):
                    raise ValueError(
                        f"actions of role {role!r} out of range: each component "
                        f"must lie in [{low.tolist()}, {high.tolist()}]"
                    )
            out.append(a)
        return out[0], (out[1] if len(out) > 1 else None)

    # --------------------------------------------------------------------- observe
    def _observe(self) -> TensorDict:
        self._masks = self._masks_of(self.state)
        return self._observations(self.state, self._static, self._masks)

    def _masks_of(self, s: core.State) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.masks(s, self._templates)

    def _observations(self, s: core.State, static: tuple, masks: tuple) -> TensorDict:
        return self._pack(observe.observations(self.scenario, self.layout, s, static), masks)

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: torch.dtype):
        """Where the step writes an observation: None for a fresh tensor."""
        return None if self._out is None else self._out(name, shape, dtype, self.device)

    @staticmethod
    def _pack(views: tuple, masks: tuple) -> TensorDict:
        party, mediator = views
        obs = {"party": {"observation": party, "action_mask": masks[0]}}
        if mediator is not None:
            obs["mediator"] = {"observation": mediator, "action_mask": masks[1]}
        return obs

    def global_state(self) -> torch.Tensor:
        """(B, D) state vectors for centralised critics (the PettingZoo env's ``state()``)."""
        return observe.global_state(self.scenario, self.layout, self.state)

    def state_bytes(self) -> int:
        """Bytes of state held per environment."""
        total = sum(v.element_size() * v.numel() for v in self.state.__dict__.values())
        total += sum(v.element_size() * v.numel() for v in self._static)
        return total // self.num_envs


def _write_rows(held: Any, rows: torch.Tensor, new: Any) -> Any:
    """``held`` (a nest of tuples, dicts and :class:`core.State` over tensors) with its
    rows ``rows`` replaced, in place, by ``new``'s rows in order."""
    if isinstance(held, torch.Tensor):
        return held.index_copy_(0, rows, new)
    if isinstance(held, core.State):
        return core.State(**_write_rows(held.__dict__, rows, new.__dict__))
    if isinstance(held, dict):
        return {k: _write_rows(v, rows, new[k]) for k, v in held.items()}
    return tuple(_write_rows(h, rows, n) for h, n in zip(held, new))
