"""Rendering, the scripted and random agents, and the demo."""

from __future__ import annotations

import numpy as np

import negenv
from agents import RandomPolicy, SplitTheDifferenceMediator, ThresholdParty, act, legalise
from agents.demo import main as demo_main


def scripted(env):
    party = ThresholdParty(env.layout)
    policies = {a: party for a in env.parties}
    if env.scenario.mediated:
        policies["mediator"] = SplitTheDifferenceMediator(env.layout)
    return policies


def play(env, policies, seed):
    obs, _ = env.reset(seed=seed)
    while env.agents:
        obs, *_ = env.step(act(policies, obs))
    return env.outcome


def test_ansi_transcript_tells_the_episode():
    env = negenv.parallel_env("multilateral_5", render_mode="ansi")
    record = play(env, scripted(env), seed=0)
    text = env.render()
    assert text.startswith("negenv | multilateral_5")
    assert "AGREED" in text and text.count("stage ") == record["stages_completed"]
    assert f"END {record['status']}" in text


def test_transcript_reports_failed_ratification_and_defections():
    env = negenv.parallel_env(
        "bilateral_asymmetric", render_mode="ansi", ratification__margin=0.5
    )  # audiences refuse everything
    play(env, scripted(env), seed=1)
    assert "ratification FAILED" in env.render()
    env = negenv.parallel_env("multilateral_5", render_mode="ansi")
    rng = np.random.default_rng(0)
    policies = {a: RandomPolicy(env.action_space(a), rng) for a in env.possible_agents}
    for seed in range(20):
        play(env, policies, seed)
        if "stage" in env.render():
            break
    assert "acts " in env.render()


def test_rgb_array_is_an_image():
    env = negenv.parallel_env("lilliput", render_mode="rgb_array")
    play(env, scripted(env), seed=2)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.std() > 0


def test_random_policy_only_picks_allowed_options():
    env = negenv.parallel_env("lilliput")
    obs, _ = env.reset(seed=0)
    policy = RandomPolicy(env.action_space("party_0"), np.random.default_rng(0))
    masks = np.stack([obs[a]["action_mask"] for a in env.parties])
    masks[:, 0:2] = [0, 1]  # only accept
    acts = policy.act(np.zeros((len(env.parties), 1)), masks)
    assert np.all(acts[:, 0] == 1) and np.all(acts[:, 1] == 0)  # comply is the only option
    seen = {tuple(a) for a in policy.act(np.zeros((500, 1)), np.repeat(masks[:1], 500, 0))}
    assert len(seen) > 100


def test_legalise_replaces_masked_choices_only():
    nvec = np.array([2, 3])
    mask = np.array([[1, 0, 0, 1, 1], [1, 1, 1, 1, 1]], dtype=np.int8)
    out = legalise(np.array([[1, 0], [1, 0]]), mask, nvec)
    assert out.tolist() == [[0, 1], [1, 0]]


def test_scripted_agents_reach_agreements_without_illegal_moves():
    env = negenv.parallel_env("multilateral_5")
    policies = scripted(env)
    statuses = []
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        while env.agents:
            obs, _, _, _, infos = env.step(act(policies, obs))
            assert not any(i["illegal_action"] for i in infos.values())
        statuses.append(env.outcome["status"])
    assert statuses.count("completed") >= 15


def test_demo_runs(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["demo", "--episodes", "5", "--scenario", "lilliput"])
    demo_main()
    out = capsys.readouterr().out
    assert "5 episodes of lilliput" in out and "END" in out


def test_solution_mediator_targets_survive_a_full_cache():
    """A small cache is cleared and refilled; the targets (and so the episodes) stay the same."""
    from agents.mediators import SolutionMediator
    from negenv import evaluate, rollout

    sc = evaluate.with_overrides(
        negenv.load("bilateral_asymmetric"), {"mediator.information": "exact"}
    )
    env = negenv.parallel_env(sc)
    records = []
    for size in (4096, 1):
        policies = {p: ThresholdParty(env.layout) for p in env.parties}
        policies["mediator"] = SolutionMediator(env.layout, sc, "nbs", cache_size=size)
        records.append(rollout.run(sc, policies, 12, seed=2, batch_size=5))
        assert len(policies["mediator"].cache) <= max(size, 2 * 5)
    for key, value in records[0].items():
        assert np.array_equal(value, records[1][key]), key
