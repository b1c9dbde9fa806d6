"""DESIGN.md section 8: the properties of the rules, over populations of episodes.

Comparisons of two behaviours are paired: the same episodes (keys, types, noise) run twice on
the batched env with one behaviour changed (:mod:`agents.deviations`). Parties are truthful
threshold parties unless a test says otherwise; the mediator is ``nbs_full`` (NBS of the
exact types, guarantees round-robin) with its monitoring pinned where a test needs it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

import negenv
from agents import RandomPolicy, ThresholdParty, registry
from agents.deviations import Deviation, FixedMonitoring, StrategicNo, deviator_mask, paired
from negenv import core, rollout
from negenv.batch_solutions import Types
from negenv.randomness import draw_noise
from negenv.scenario import with_overrides
from negenv.vector import VectorNegotiationEnv

SCENARIOS = negenv.builtin_names()
MEDIATED = [n for n in SCENARIOS if negenv.load(n).mediated]
STAGED = [n for n in SCENARIOS if negenv.load(n).implementation.n_stages > 0]
EPISODES = 600


def setup(name: str, level: int | None = 0, population: str = "threshold", **overrides):
    """Scenario, env and policies; ``level`` pins the mediator's monitoring (-1: the top)."""
    sc = with_overrides(negenv.load(name), overrides) if overrides else negenv.load(name)
    spec = registry.mediator("nbs_full") if sc.mediated else None
    if spec:
        sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc)
    policies = registry.population(population, env)
    if spec:
        top = env.layout.monitoring_levels - 1
        policies["mediator"] = FixedMonitoring(
            spec.build(env), env.layout, top if level == -1 else level
        )
    return sc, env, policies


def deviate(name, level, who, stages, population="threshold", episodes=EPISODES, seed=0):
    sc, env, policies = setup(name, level, population)
    s = sc.implementation.n_stages
    dev = Deviation(policies["party_0"], env.layout, s, who, tuple(stages))
    if population != "threshold":  # keep every seat's own behaviour, change the deviator's
        devs = {p: Deviation(policies[p], env.layout, s, who, tuple(stages)) for p in env.parties}
    else:
        devs = {p: dev for p in env.parties}
    return (*paired(sc, policies, devs, episodes, seed), sc)


def worth_of(sc, rec):
    fields = ("ideal", "weight", "batna", "power", "capability")
    u = Types(*(rec[f] for f in fields), sc.burden_issue).utility(rec["agreement"])
    t = np.maximum(rec["agreed_round"], 0)[:, None]
    return rec["batna"] + sc.discount**t * (u - rec["batna"])


# ------------------------------------------------------------------ 1-4: accounting, worth


class Complying:
    """Random Box actions that always comply (continuous mode)."""

    def __init__(self, env, agent, rng):
        self.random, self.box = RandomPolicy(env.action_space(agent), rng), env.layout.party_box

    def act(self, obs, mask):
        out = self.random.act(obs, mask)
        out[:, self.box["defect"]] = 0.0
        return out


@cache
def complied_runs(name: str, mode: str, dtype: torch.dtype):
    if mode == "discrete" and name == "rubinstein":  # threshold parties never agree there
        sc, env, policies = setup(name)
        policies = dict.fromkeys(env.parties, SubgamePerfect(env.layout, 0.53))
    elif mode == "discrete":
        sc, env, policies = setup(name)
    else:
        sc = negenv.load(name)
        env = negenv.parallel_env(sc, action_mode="continuous")
        rng = np.random.default_rng(0)
        policies = {a: Complying(env, a, rng) for a in env.parties}
        if sc.mediated:
            policies["mediator"] = RandomPolicy(env.action_space("mediator"), rng)
    if mode == "continuous":
        return sc, _continuous_run(sc, policies, dtype)
    return sc, rollout.run(sc, policies, EPISODES, seed=3, dtype=dtype)


def _continuous_run(sc, policies, dtype):
    env = VectorNegotiationEnv(sc, num_envs=EPISODES, action_mode="continuous", dtype=dtype)
    obs = env.reset(seed=3)
    records, first = [], np.ones(EPISODES, bool)
    while first.any():
        po = obs["party"]["observation"].numpy().astype(np.float32)
        pm = obs["party"]["action_mask"].numpy()
        acts = policies["party_0"].act(po.reshape(-1, po.shape[2]), pm.reshape(-1, pm.shape[2]))
        actions = {"party": torch.as_tensor(acts.reshape(EPISODES, sc.n_parties, -1), dtype=dtype)}
        if "mediator" in obs:
            mo = obs["mediator"]["observation"].numpy()
            med = policies["mediator"].act(mo, obs["mediator"]["action_mask"].numpy())
            actions["mediator"] = torch.as_tensor(med, dtype=dtype)
        obs, _, _, _, info = env.step(actions)
        if "outcome" in info:
            keep = first[info["outcome"]["slot"]]
            records.append({k: v[keep] for k, v in info["outcome"].items()})
            first[info["outcome"]["slot"][keep]] = False
    return {k: np.concatenate([r[k] for r in records]) for k in records[0]}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", ["discrete", "continuous"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_complied_agreements_never_collapse_and_pay_their_worth(name, mode, dtype):
    sc, rec = complied_runs(name, mode, dtype)
    agreed = rec["agreed_round"] >= 0
    complied = agreed & ((rec["defections_detected"] + rec["defections_undetected"]).sum(1) == 0)
    assert complied.sum() >= 20, complied.sum()
    assert not np.any(rec["status"][complied] == "collapsed")
    tol = 1e-9 if dtype == torch.float64 else 2e-5
    np.testing.assert_allclose(rec["utility"][complied], worth_of(sc, rec)[complied], atol=tol)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_discount_trap_for_yes_voters(name):
    # threshold parties vote yes exactly when the observed worth is at least BATNA + 0.02
    sc, rec = complied_runs(name, "discrete", torch.float64)
    agreed = rec["agreed_round"] >= 0
    complied = agreed & ((rec["defections_detected"] + rec["defections_undetected"]).sum(1) == 0)
    yes = complied[:, None] & ~rec["holdout"]
    assert yes.sum() > 50
    assert np.all(rec["utility"][yes] >= rec["batna"][yes])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", [*SCENARIOS, "dominant"])
def test_returns_at_most_one_and_everything_finite_and_in_bounds(name, dtype):
    overrides = {}
    if name == "dominant":  # a party of power ~1 - 1e-9: 1 - p rounds to 0 in float32
        name = "multilateral_5"
        overrides = {"types.power": {"kind": "fixed", "values": [1.0, 1e-9, 1e-9, 1e-9, 1e-9]}}
    env = VectorNegotiationEnv(name, num_envs=512, dtype=dtype, **overrides)
    gen = torch.Generator().manual_seed(0)
    obs, total = env.reset(seed=1), torch.zeros(512, env.layout.n, dtype=torch.float64)
    for _ in range(60):
        actions = {}
        for role in env.roles:
            low, high = env.action_bounds(role)
            u = torch.rand(env.action_shape(role), generator=gen)
            actions[role] = (low + (u * (high - low + 1)).floor().long()).clamp(max=high)
        obs, rewards, term, trunc, _ = env.step(actions)
        r = rewards["party"].double()
        assert torch.isfinite(r).all() and torch.isfinite(rewards.get("mediator", r)).all()
        assert r.abs().max() <= 1.0 + 1e-6
        total = torch.where((term | trunc)[:, None], 0.0, total + r)
        for parts in obs.values():
            x = parts["observation"]
            assert torch.isfinite(x).all() and x.abs().max() <= 1.0
        assert total.max() <= 1.0 + 1e-5
    assert env.global_state().abs().max() <= 1.0


# --------------------------------------------------------------------- 5: the mediator


DEVIATIONS = [("all", "last"), ("strongest", "all"), ("weakest", "first")]


@pytest.mark.parametrize("level", [0, -1])
@pytest.mark.parametrize("population", ["threshold", "mixed"])
@pytest.mark.parametrize("name", MEDIATED)
def test_no_extra_defection_raises_the_mediator_reward(name, population, level):
    s = negenv.load(name).implementation.n_stages
    stages = {"last": (s,), "all": tuple(range(1, s + 1)), "first": (1,)}
    for who, when in DEVIATIONS:
        base, alt, _ = deviate(name, level, who, stages[when], population, episodes=400)
        rise = alt["mediator_utility"] - base["mediator_utility"]
        assert rise.max() <= 1e-9, (who, when, rise.max())
        more = (alt["defections_detected"] + alt["defections_undetected"]).sum() > (
            base["defections_detected"] + base["defections_undetected"]
        ).sum()
        if population == "threshold":  # (mixed agreements may collapse before it happens)
            assert more and rise.min() < 0  # the deviation happened and cost the mediator


# ----------------------------------------------------------- 6: monitoring and sanctions


@pytest.mark.parametrize("name", MEDIATED)
def test_full_monitoring_makes_every_defection_unprofitable(name):
    s = negenv.load(name).implementation.n_stages
    for who in ("strongest", "weakest"):
        for stage in range(1, s + 1):
            base, alt, _ = deviate(name, -1, who, (stage,), episodes=300)
            gain = ((alt["utility"] - base["utility"]) * deviator_mask(base, who)).sum(1)
            agreed = base["agreed_round"] >= 0
            assert gain[agreed].mean() < 0 and gain.max() <= 1e-12, (who, stage, gain.max())


@pytest.mark.parametrize("name", STAGED)
def test_without_monitoring_last_stage_defection_pays_any_party_short_of_its_ideal(name):
    sc = negenv.load(name)
    for seat in range(sc.n_parties):
        base, alt, sc = deviate(name, 0, seat, (sc.implementation.n_stages,), episodes=300)
        short = (base["status"] == "completed") & (worth_of(sc, base)[:, seat] < 1 - 1e-6)
        gain = alt["utility"][:, seat] - base["utility"][:, seat]
        assert short.sum() > 10 and np.all(gain[short] > 0), (seat, gain[short].min())


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_best_monitoring_level_depends_on_the_parties(name):
    reward = {}
    for population in ("threshold", "opportunistic"):
        for level in range(5):
            sc, env, policies = setup(name, level, population)
            rec = rollout.run(sc, policies, 400, seed=5)
            reward[population, level] = rec["mediator_utility"].mean()
    assert max(range(5), key=lambda m: reward["threshold", m]) == 0
    assert max(range(5), key=lambda m: reward["opportunistic", m]) == 2  # m = 1/2


# ------------------------------------------------------------------------- 7: credibility


@pytest.mark.parametrize("mediator", ["nbs_full", "split"])
@pytest.mark.parametrize("name", MEDIATED)
def test_credibility_moves_only_on_refused_claims_on_existing_cover(name, mediator):
    sc = negenv.load(name)
    spec = registry.mediator(mediator)
    sc = with_overrides(sc, spec.overrides) if spec.overrides else sc
    env = negenv.parallel_env(sc)
    policies = registry.population("opportunistic", env) | {"mediator": spec.build(env)}
    rec = rollout.run(sc, policies, 600, seed=2)
    refused = rec["claims_refused"].sum(axis=1)
    want = np.maximum(rec["credibility_initial"] - sc.mediator.credibility_loss * refused, 0)
    np.testing.assert_allclose(rec["credibility"], want, atol=1e-9)
    claimed = rec["guarantees_paid"].sum(1) > 0
    if mediator == "split":  # no guarantee is ever given: nothing to refuse
        assert refused.sum() == 0 and np.all(rec["credibility"] == rec["credibility_initial"])
    else:
        assert refused.sum() > 0 and claimed.any()


# -------------------------------------------------------------------------- 8: coalitions


def test_a_coalition_declared_in_a_round_does_not_change_that_rounds_vote():
    sc = negenv.load("lilliput")
    env = VectorNegotiationEnv(sc, num_envs=2000, dtype=torch.float64, check_actions=False)
    env.reset(seed=4)
    gen = torch.Generator().manual_seed(1)
    changed = 0
    for _ in range(12):
        s = env.state
        acts = {}
        for role in env.roles:
            low, high = env.action_bounds(role)
            u = torch.rand(env.action_shape(role), generator=gen)
            acts[role] = (low + (u * (high - low + 1)).floor().long()).clamp(max=high)
        keep = acts["party"].clone()
        keep[..., 2] = 0  # no declaration
        noise = draw_noise(s.key, s.clock, sc.n_parties, s.trust.dtype)
        outs = [
            core.step_state(sc, s, env.codec.decode(s, a, acts["mediator"]), noise)[0]
            for a in (acts["party"], keep)
        ]
        for field in ("agreed_round", "votes", "phase", "ratification_failures", "holdout"):
            assert torch.equal(getattr(outs[0], field), getattr(outs[1], field)), field
        changed += int((outs[0].coalition != outs[1].coalition).any(1).sum())
        env.step(acts)
    assert changed > 1000  # declarations did change memberships, for the next round


# ----------------------------------------------------------------------- 9: calibration


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput"])
def test_full_information_nbs_mediator_is_calibrated(name):
    from negenv.evaluate import run, unmediated
    from negenv.metrics import episode_metrics

    sc = negenv.load(name)
    rec = run(sc, "nbs_full", "threshold", 600, seed=7)
    nwr = episode_metrics(rec, sc)["nash_welfare_ratio"]
    assert np.nanmean(nwr) >= 0.9 and np.mean(rec["mediator_utility"] <= 1e-12) < 0.05
    # against end-game defectors, mediation (with deterrent monitoring) lifts the ratio far
    # above the unmediated protocol
    _, env, policies = setup(name, 2, "exploiters")
    guarded = rollout.run(env.scenario, policies, 600, seed=7)
    alone = run(sc, None, "exploiters", 600, seed=7)
    lifted = np.nanmean(episode_metrics(guarded, env.scenario)["nash_welfare_ratio"])
    base = np.nanmean(episode_metrics(alone, unmediated(sc))["nash_welfare_ratio"])
    assert lifted > base + 0.2, (lifted, base)


# ------------------------------------------------------------------------ 10: rubinstein


class SubgamePerfect(ThresholdParty):
    """The stationary subgame-perfect profile of alternating offers, on the grid: ask for
    the grid share nearest 1 / (1 + delta), accept any text that gives at least the rest."""

    def __init__(self, layout, share: float):
        super().__init__(layout)
        self.share = share

    def own(self, obs, text):  # party 0 wants 1, party 1 wants 0 (ideal in the observation)
        ideal = obs[:, self.s["ideal"]][:, 0]
        return np.where(ideal > 0.5, text, 1 - text)

    def accept(self, obs):
        # float32 observations: a text is the share it was posted as to within 1e-6
        return self.own(obs, obs[:, self.s["proposal"]][:, 0]) >= 1 - self.share - 1e-6

    def propose(self, obs):
        ideal = obs[:, self.s["ideal"]]
        return np.where(ideal > 0.5, self.share, 1 - self.share)


@pytest.mark.parametrize("delta", [0.5, 0.8, 0.9, 0.95])
def test_rubinstein_subgame_perfect_profile_gives_the_first_proposer_its_share(delta):
    env = negenv.parallel_env("rubinstein", discount=delta)
    grid = np.linspace(0, 1, env.scenario.proposal_levels)
    share = grid[np.argmin(np.abs(grid - 1 / (1 + delta)))]
    party = SubgamePerfect(env.layout, share)
    rec = rollout.run(env.scenario, dict.fromkeys(env.parties, party), 50, backend="pettingzoo")
    assert np.all(rec["agreed_round"] == 1)  # posted in round 0, accepted at the first vote
    np.testing.assert_allclose(rec["agreement"][:, 0], share)
    np.testing.assert_allclose(rec["utility"], [[delta * share, delta * (1 - share)]] * 50)
    assert abs(share - 1 / (1 + delta)) <= 0.5 / (env.scenario.proposal_levels - 1) + 1e-12


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput", "burden_sharing"])
def test_strategic_no_vote_gains_exactly_nothing(name):
    # the weakest party votes no whenever the text passes without it, then defects once
    sc, env, policies = setup(name, 0)
    s = sc.implementation.n_stages
    once = Deviation(policies["party_0"], env.layout, s, "weakest", (1,))
    both = {**policies, **dict.fromkeys(env.parties, once)}
    base, alt = paired(sc, both, {}, 600, 0, StrategicNo(sc, "weakest"))
    assert (alt["holdout"] & ~base["holdout"]).sum() > 20  # it did vote no
    np.testing.assert_array_equal(alt["utility"], base["utility"])
