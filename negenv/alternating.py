"""Exact analysis of the two-party alternating-offers game (``rubinstein``).

In an unmediated scenario with two parties, one issue, turn recognition and no ratification
or implementation, a round's state is small: the round t, the standing text (a grid level),
each party's last vote and last demand signal. Every observation is a function of that state,
so a deterministic profile (scripted, or learned and played by its most likely option, as
the evaluators play it) can be analysed exactly:

- :func:`grid_spe`: the subgame-perfect equilibrium of the grid game, by backward induction;
- :func:`analyse`: for each party, its best-response value against the others' policy by
  backward induction over every state (it may deviate in its vote, its text and its signal),
  the profile's own values, their gaps (NashConv is their sum), the first proposer's share,
  and the responder's acceptance threshold at the first vote beside its continuation value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from negenv import core, observe
from negenv.actions import ActionCodec
from negenv.layout import Layout, Phase
from negenv.scenario import Scenario, load


def grid_spe(
    delta: float, levels: int, horizon: int, tie_accept: bool = True, slack: float = 0.0
) -> np.ndarray:
    """The subgame-perfect equilibrium of the env's alternating-offers game, by backward
    induction on its grid: ``a[t]`` is the share (in grid levels) that the poster of the text
    voted in round t asks for, t = 1 … T-1 (a text posted in round t-1 is voted in round t and
    pays ``delta**t`` times the shares; the text posted in round T-1 is never voted; BATNAs 0).
    ``tie_accept``: whether a responder indifferent between accepting and rejecting accepts
    (the two tie-breaks give the two equilibria of the grid game).

    ``slack`` perturbs the responders: each accepts any share down to ``slack`` below its
    value of rejecting (a negative slack makes it ask for more), and posters best respond.
    With ``slack = 0`` this is the equilibrium; otherwise it measures how far responders'
    errors move the path (``benchmarks/rubinstein_sensitivity.py``)."""
    top = levels - 1
    a = np.zeros(horizon + 1, dtype=np.int64)
    for t in range(horizon - 1, 0, -1):
        # the responder's value of rejecting, in units of delta**t: it posts the next text
        rest = (0.0 if t == horizon - 1 else delta * a[t + 1] / top) - slack
        keep = 1 - np.arange(levels) / top
        ok = keep >= rest - 1e-12 if tie_accept else keep > rest + 1e-12
        if not ok.any():
            raise ValueError(f"slack = {slack!r} is invalid: no share is accepted in round {t}")
        a[t] = np.flatnonzero(ok).max()
        # the poster prefers this agreement to posting a text that fails (and responding next)
        if t < horizon - 1 and a[t] / top < delta * (1 - a[t + 1] / top):
            raise ValueError(
                f"slack = {slack!r} is invalid: in round {t} the poster would rather post a "
                "text that fails than the least one accepted (outside this induction)"
            )
    return a


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyse` finds; values are utilities (worth at agreement, else fallback)."""

    best_response: tuple[float, float]  # each party's best value against the other's policy
    profile: tuple[float, float]  # each party's value under the profile
    first_share: float  # party 0's share of the agreed text (nan without an agreement)
    agreed_round: int  # -1 without an agreement
    threshold: float  # least share party 1 accepts at the first vote (nan: accepts none)
    continuation: float  # party 1's value of rejecting the path's text there, as a share

    @property
    def gains(self) -> tuple[float, float]:
        return tuple(b - p for b, p in zip(self.best_response, self.profile))

    @property
    def nash_conv(self) -> float:
        return float(sum(self.gains))


def check_scenario(sc: Scenario) -> None:
    """One clear error when ``sc`` is not a game this module solves exactly."""
    needs = {
        "an unmediated scenario": not sc.mediated,
        "two parties": sc.n_parties == 2,
        "one issue": sc.n_issues == 1,
        "turn recognition": sc.recognition.rule == "turn",
        "no ratification": not sc.ratification.enabled,
        "no implementation stages": sc.implementation.n_stages == 0,
        "no coalitions": sc.coalitions.max_coalitions == 0,
        "at least two rounds": sc.max_rounds >= 2,
    }
    missing = [k for k, ok in needs.items() if not ok]
    if missing:
        raise ValueError(
            f"scenario {sc.name!r} is not an alternating-offers game this analysis solves: "
            f"it needs {', '.join(missing)}"
        )


class _Game:
    """Every state (t, level, votes, signals) of the scenario as one batched State."""

    SIGNALS = (-1, 0, 1)

    def __init__(self, sc: Scenario):
        import negenv

        check_scenario(sc)
        self.sc, self.lay = sc, Layout.of(sc)
        self.T, self.L = sc.max_rounds, sc.proposal_levels
        shell = negenv.parallel_env(sc)
        shell.reset(seed=0)
        s0 = shell.core_state
        shell.reset(seed=1)
        other = shell.core_state
        for name in ("ideal", "weight", "batna0", "power0", "risk", "capability"):
            if not np.array_equal(getattr(s0, name), getattr(other, name)):
                raise ValueError(f"scenario {sc.name!r} draws {name} at random: no exact analysis")
        self.s0 = s0
        # states in C order over (t, level, vote0, vote1, signal0, signal1)
        shape = (self.T, self.L, 3, 3, 3, 3)
        t, x, v0, v1, d0, d1 = (a.reshape(-1) for a in np.indices(shape))
        m = t.size
        fields = {k: np.repeat(v, m, axis=0) for k, v in s0.__dict__.items()}
        signal = np.asarray(self.SIGNALS)
        fields.update(
            round=t.astype(s0.round.dtype),
            clock=t.astype(s0.clock.dtype),
            proposer=(t % 2).astype(s0.proposer.dtype),
            phase=np.full(m, int(Phase.NEGOTIATE), s0.phase.dtype),
            proposal=(x / (self.L - 1))[:, None].astype(s0.proposal.dtype),
            votes=np.stack([signal[v0], signal[v1]], 1).astype(s0.votes.dtype),
            demands=np.stack([signal[d0], signal[d1]], 1)[..., None].astype(s0.demands.dtype),
        )
        self.state = core.State(**fields)
        self.shape = shape
        u = core.utility(
            sc, self.state.ideal, self.state.weight, self.state.capability, self.state.proposal
        )
        self.worth = core.worth(sc, u, self.state.batna, self.state.round)  # (M, 2)
        self.fallback = (s0.batna - sc.conflict_cost)[0]  # breakdown at round T
        yes = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=bool)
        passed = core.decide(sc, yes, np.repeat(s0.power, 4, axis=0))
        self.passes = passed.reshape(2, 2)  # [vote0, vote1]
        # action columns: vote (1 accepts), demand signal (option s is signal s - 1), text
        names = self.lay.party_components
        self.VOTE, self.SIGNAL, self.TEXT = (
            names.index(c) for c in ("vote", "demand_0", "proposal_0")
        )

    def after(self, t: int, a: np.ndarray, vote0: int, vote1: int) -> int:
        """The state of round t + 1 once round t's actions ``a`` (2, C) were played with
        these votes (1 accepts) and no agreement: round t's poster's text stands."""
        votes = [2 if v == 1 else 0 for v in (vote0, vote1)] if t > 0 else [1, 1]
        sig = a[:, self.SIGNAL]
        index = (t + 1, a[t % 2, self.TEXT], votes[0], votes[1], sig[0], sig[1])
        return int(np.ravel_multi_index(index, self.shape))

    def actions(self, policies: list[Any]) -> np.ndarray:
        """(M, 2, C) each seat's action at every state."""
        st = self.state
        party_obs, _ = observe.observations(self.sc, self.lay, st)
        masks, _ = ActionCodec(self.sc).masks(st)
        acts = [
            np.asarray(p.act(party_obs[:, i].astype(np.float32), masks[:, i]), dtype=np.int64)
            for i, p in enumerate(policies)
        ]
        return np.stack(acts, 1)

    def initial(self) -> int:
        level = int(round(float(self.s0.proposal[0, 0]) * (self.L - 1)))
        return int(np.ravel_multi_index((0, level, 1, 1, 1, 1), self.shape))


def _values(game: _Game, acts: np.ndarray, i: int, best: bool) -> np.ndarray:
    """(M,) party i's value at every state: best responding to the other's policy, or
    following its own (``best=False``)."""
    T, L = game.T, game.L
    j = 1 - i
    vote, signal, text = (acts[..., c] for c in (game.VOTE, game.SIGNAL, game.TEXT))
    V = np.full((T + 1,) + game.shape[1:], 0.0)
    V[T] = game.fallback[i]
    per_t = L * 81
    for t in range(T - 1, -1, -1):
        rows = slice(t * per_t, (t + 1) * per_t)
        nxt = V[t + 1]  # (L, 3, 3, 3, 3)
        vj, dj, tj = vote[rows, j], signal[rows, j], text[rows, j]
        proposer = t % 2
        # the deviator's options: vote (reject only at round 0), signal, and its text when it
        # posts; following the policy is the single option of its own action
        votes = (0, 1) if (best and t > 0) else (None,)
        signals = (0, 1, 2) if best else (None,)
        choices = []
        for vi_opt in votes:
            vi = vote[rows, i] if vi_opt is None else np.full(per_t, vi_opt)
            for di_opt in signals:
                di = signal[rows, i] if di_opt is None else np.full(per_t, di_opt)
                v_next = np.where(vi == 1, 2, 0) if t > 0 else np.ones(per_t, np.int64)
                w_next = np.where(vj == 1, 2, 0) if t > 0 else np.ones(per_t, np.int64)
                idx = (v_next, w_next) if i == 0 else (w_next, v_next)
                sig = (di, dj) if i == 0 else (dj, di)
                after = nxt[:, idx[0], idx[1], sig[0], sig[1]]  # (L, per_t): by next text
                if proposer == i:
                    cont = after.max(0) if best else after[text[rows, i], np.arange(per_t)]
                else:
                    cont = after[tj, np.arange(per_t)]
                yes = (vi, vj) if i == 0 else (vj, vi)
                agree = game.passes[yes[0], yes[1]] & (t > 0)
                choices.append(np.where(agree, game.worth[rows, i], cont))
        V[t] = np.max(choices, 0).reshape(game.shape[1:])
    return V[:T].reshape(-1)


def analyse(scenario: Any, policies: list[Any]) -> Analysis:
    """The exact analysis of a deterministic profile (one policy per seat, ``act(obs, mask)``
    as in :mod:`agents`) on a scenario :func:`check_scenario` accepts."""
    game = _Game(load(scenario) if not isinstance(scenario, Scenario) else scenario)
    acts = game.actions(policies)
    start = game.initial()
    best = tuple(float(_values(game, acts, i, True)[start]) for i in (0, 1))
    own = [_values(game, acts, i, False) for i in (0, 1)]
    profile = tuple(float(v[start]) for v in own)
    # the profile's path from round 0 to its agreement
    state, share, when, first_vote = start, float("nan"), -1, None
    for t in range(game.T):
        x = np.unravel_index(state, game.shape)[1]
        a = acts[state]
        vote0, vote1 = a[:, game.VOTE]
        if t > 0 and game.passes[vote0, vote1]:
            share, when = x / (game.L - 1), t
            break
        if t == game.T - 1:
            break
        state = game.after(t, a, vote0, vote1)
        first_vote = state if t == 0 else first_vote
    # party 1 at the first vote (round 1), on the path's votes and signals, over every text
    _, _, v0, v1, d0, d1 = np.unravel_index(first_vote, game.shape)
    rows = np.ravel_multi_index(
        (np.full(game.L, 1), np.arange(game.L), *(np.full(game.L, k) for k in (v0, v1, d0, d1))),
        game.shape,
    )
    accepts = acts[rows, 1, game.VOTE] == 1
    share1 = 1.0 - np.arange(game.L) / (game.L - 1)
    threshold = float(share1[accepts].min()) if accepts.any() else float("nan")
    # its value of rejecting the path's text there, under the profile
    a = acts[first_vote]
    reject = float(own[1][game.after(1, a, a[0, game.VOTE], 0)])
    batna = float(game.s0.batna[0, 1])
    continuation = batna + (reject - batna) / game.sc.discount
    return Analysis(best, profile, share, when, threshold, continuation)
