"""What a masked choice does (``illegal_action``), in both shells, and its count in the
outcome record and the metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negenv
from negenv.layout import Phase
from negenv.metrics import episode_metrics
from negenv.scenario import load
from negenv.vector import VectorNegotiationEnv


def legal_actions(env, obs, rng):
    return {a: env.action_space(a).sample(obs[a]["action_mask"]) for a in env.agents}


def with_illegal_vote(acts):
    """party_1 votes accept in round 0, where the mask allows only 0 (no vote yet)."""
    bad = dict(acts)
    bad["party_1"] = acts["party_1"].copy()
    bad["party_1"][0] = 1
    return bad


@pytest.mark.parametrize("mode", ["noop", "raise", "penalty"])
def test_a_masked_choice_in_the_pettingzoo_env(mode):
    env = negenv.parallel_env("multilateral_5", illegal_action=mode)
    twin = negenv.parallel_env("multilateral_5")
    obs, _ = env.reset(seed=3)
    twin.reset(seed=3)
    env.action_space("party_0").seed(0)
    acts = legal_actions(env, obs, None)
    bad = with_illegal_vote(acts)
    if mode == "raise":
        with pytest.raises(ValueError) as err:
            env.step(bad)
        msg = str(err.value)
        assert "'party_1'" in msg and "'vote'" in msg and "legal options: [0]" in msg
        assert env.core_state.clock[0] == 0  # nothing changed: the legal step still plays
        bad = acts
    _, rewards, _, _, infos = env.step(bad)
    _, base, _, _, _ = twin.step(acts)
    flagged = mode != "raise"
    assert infos["party_1"]["illegal_action"] == int(flagged)
    for agent, r in rewards.items():  # the rules ignored the vote: only the penalty differs
        cost = 0.05 if (mode == "penalty" and agent == "party_1") else 0.0
        assert r == pytest.approx(base[agent] - cost, abs=1e-12)
    assert np.array_equal(env.core_state.illegal[0], [0, int(flagged), 0, 0, 0])


def test_the_record_counts_every_flag_and_ignores_the_penalty():
    """Random unmasked actions: the record's counts equal the flags of the infos, and the
    penalty changes the rewards only (utility still sums the rules' rewards)."""
    for mode in ("noop", "penalty"):
        env = negenv.parallel_env("lilliput", illegal_action=mode, illegal_penalty=0.25)
        for a in env.possible_agents:
            env.action_space(a).seed(7)
        flags = dict.fromkeys(env.possible_agents, 0)
        total = dict.fromkeys(env.possible_agents, 0.0)
        env.reset(seed=11)
        while env.agents:
            acts = {a: env.action_space(a).sample() for a in env.agents}  # masks ignored
            _, rewards, _, _, infos = env.step(acts)
            for a in rewards:
                flags[a] += infos[a]["illegal_action"]
                total[a] += rewards[a]
        rec = env.outcome
        assert list(rec["illegal_actions"]) == [flags[p] for p in env.parties]
        assert rec["mediator_illegal_actions"] == flags["mediator"]
        assert sum(flags.values()) > 0
        cost = 0.25 if mode == "penalty" else 0.0
        for i, p in enumerate(env.parties):
            assert total[p] == pytest.approx(rec["utility"][i] - cost * flags[p], abs=1e-9)


@pytest.mark.parametrize("name", ["lilliput", "rubinstein"])
def test_the_pettingzoo_flags_are_the_codecs(name):
    """The env's one-lookup check of an all-legal step gives the codec's flags on every step
    of random episodes, half of them with one masked choice planted in a random agent."""
    env = negenv.parallel_env(name)
    rng = np.random.default_rng(5)
    steps = planted = 0
    for episode in range(30):
        obs, _ = env.reset(seed=episode)
        while env.agents:
            acts = legal_actions(env, obs, rng)
            if rng.random() < 0.5:
                agent = env.agents[int(rng.integers(len(env.agents)))]
                mask, nvec = obs[agent]["action_mask"], env.action_space(agent).nvec
                starts = np.concatenate([[0], np.cumsum(nvec)[:-1]])
                masked = [
                    (c, o)
                    for c in range(len(nvec))
                    for o in range(nvec[c])
                    if mask[starts[c] + o] == 0
                ]
                if masked:
                    c, o = masked[int(rng.integers(len(masked)))]
                    acts[agent] = acts[agent].copy()
                    acts[agent][c] = o
                    planted += 1
            party, mediator = env._gather(acts)
            expected = env.codec.illegal(party, mediator, env._masks)
            obs, _, _, _, infos = env.step(acts)
            got = [infos[a]["illegal_action"] for a in env.possible_agents]
            assert got == expected[0, : len(got)].astype(int).tolist()
            steps += 1
    assert planted > 50 and steps > planted


def test_the_batched_env_matches_and_raises_naming_the_slot():
    torch.manual_seed(0)
    kw = {"num_envs": 64, "dtype": torch.float64, "autoreset": False}
    env = VectorNegotiationEnv("multilateral_5", **kw)
    pen = VectorNegotiationEnv("multilateral_5", illegal_action="penalty", **kw)
    env.reset(seed=5)
    pen.reset(seed=5)
    counts = torch.zeros(64, 6, dtype=torch.int64)
    for _ in range(6):
        acts = {  # uniform over each component's range: in the space, often masked
            role: (torch.rand(env.action_shape(role)) * (env.action_bounds(role)[1] + 1)).long()
            for role in env.roles
        }
        running = env.state.phase != int(Phase.DONE)  # a finished episode counts nothing
        _, r, _, _, info = env.step(acts)
        _, rp, _, _, info_p = pen.step(acts)
        flags = info["illegal_action"]
        assert torch.equal(flags, info_p["illegal_action"]) and bool(flags.any())
        torch.testing.assert_close(rp["party"], r["party"] - 0.05 * flags[:, :-1].double())
        torch.testing.assert_close(rp["mediator"], r["mediator"] - 0.05 * flags[:, -1].double())
        counts += flags & running[:, None]
    assert torch.equal(env.state.illegal, counts[:, :-1])
    assert torch.equal(env.state.mediator_illegal, counts[:, -1])

    strict = VectorNegotiationEnv("multilateral_5", num_envs=4, illegal_action="raise")
    strict.reset(seed=0)
    acts = {
        role: torch.zeros(strict.action_shape(role), dtype=torch.int64) for role in strict.roles
    }
    strict.step(acts)  # all zeros is legal in round 0
    acts["mediator"][2, -1] = 0
    acts["party"][1, 3, 0] = 1  # round 1: a vote is legal; comply is masked while negotiating
    acts["party"][1, 3, 1] = 1
    with pytest.raises(ValueError, match=r"party 3 of slot 1 chose option 1 of component 'comply'"):
        strict.step(acts)


def test_the_metrics_give_the_illegal_rates():
    sc = load("multilateral_5")
    rec = {
        "illegal_actions": np.array([[0, 0, 0, 0, 0], [5, 0, 0, 0, 5]]),
        "mediator_illegal_actions": np.array([0, 3]),
        "steps": np.array([4, 10]),
    }
    from agents import registry
    from negenv import rollout

    env = negenv.parallel_env(sc)
    policies = registry.population("mixed", env) | {
        "mediator": registry.mediator("split").build(env)
    }
    base = rollout.run(sc, policies, 2, seed=0) | rec
    m = episode_metrics(base, sc)
    np.testing.assert_allclose(m["party_illegal_rate"], [0.0, 10 / 50])
    np.testing.assert_allclose(m["mediator_illegal_rate"], [0.0, 0.3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"illegal_action": "ignore"}, r"illegal_action = 'ignore' is invalid: must be one of"),
        ({"illegal_penalty": -1.0}, r"illegal_penalty = -1.0 is invalid: must be a number >= 0"),
        ({"illegal_penalty": "big"}, r"illegal_penalty = 'big' is invalid"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        negenv.parallel_env("multilateral_5", **kwargs)
    with pytest.raises(ValueError, match=match):
        VectorNegotiationEnv("multilateral_5", num_envs=2, **kwargs)


@pytest.mark.parametrize("name", negenv.builtin_names())
def test_masked_choices_never_change_an_episode(name):
    """Paired episodes on the batched env: the same keys with half the agents' component
    choices replaced by forbidden options play the same episode under "noop"."""
    from agents import registry
    from agents.deviations import MaskedChoices
    from negenv import rollout

    sc = load(name)
    env = negenv.parallel_env(sc)
    policies = registry.population("mixed", env)
    if sc.mediated:
        policies["mediator"] = registry.mediator("nbs_seen").build(env)
    base = rollout.run(sc, policies, 300, seed=1)
    bent = rollout.run(sc, policies, 300, seed=1, hook=MaskedChoices(0.5, seed=1))
    assert bent["illegal_actions"].sum() > 1000 and base["illegal_actions"].sum() == 0
    for key, value in base.items():
        if key not in ("illegal_actions", "mediator_illegal_actions"):
            np.testing.assert_array_equal(bent[key], value, err_msg=key)
