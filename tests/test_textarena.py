"""The TextArena adapter: scenarios registered with TextArena's registry, an episode played
through ``ta.make`` turn by turn equals the PettingZoo episode."""

import json

import numpy as np
import pytest
import textarena as ta

import negenv
from agents import act, registry
from negenv import rollout
from negenv.adapters.chat_server import read_view
from negenv.adapters.textarena import register_scenarios
from negenv.text import TextView


def _view_of(observation: str) -> dict:
    """The view a prompt shows (the line after "Now:")."""
    return read_view({"messages": [{"role": "user", "content": observation}]})


@pytest.mark.parametrize("name", ["multilateral_5", "rubinstein"])
def test_an_episode_through_textarena_equals_the_pettingzoo_episode(name):
    ids = register_scenarios()
    assert f"negenv-{name}-v0" in ids
    env = ta.make(f"negenv-{name}-v0")
    pz = negenv.parallel_env(name)
    policies = registry.population("mixed", pz)
    if pz.scenario.mediated:
        policies["mediator"] = registry.mediator("split").build(pz)
    views = {"party": TextView(pz.scenario, "party")}
    if pz.scenario.mediated:
        views["mediator"] = TextView(pz.scenario, "mediator")
    players = pz.possible_agents
    env.reset(num_players=len(players), seed=3)
    done, turns, briefs = False, 0, 0
    while not done:
        player, observation = env.get_observation()
        agent = players[player]
        briefs += "Rules:" in observation
        tv = views["mediator" if agent == "mediator" else "party"]
        view = _view_of(observation)
        obs = {agent: {"observation": tv.vector(view), "action_mask": tv.mask(view)}}
        answer = tv.encode(act({agent: policies[agent]}, obs)[agent])
        if turns == 0:  # a bad first answer is sent back once, then the good one is taken
            done, info = env.step("prose, not JSON")
            assert not info["accepted"] and info["tries_left"] == 2
            again = env.get_observation()
            assert again[0] == player and "could not be used" in again[1]
        done, info = env.step(json.dumps(answer))
        turns += 1
    rewards, game_info = env.close()
    assert briefs == len(players)
    obs, _ = pz.reset(options={"key": int(rollout.keys(3, 1)[0])})
    returns = dict.fromkeys(players, 0.0)
    while pz.agents:
        obs, r, *_ = pz.step(act(policies, obs))
        for a, v in r.items():
            returns[a] += v
    record = game_info[0]["record"]
    for k, v in pz.outcome.items():
        np.testing.assert_array_equal(np.asarray(record[k]), np.asarray(v), err_msg=k)
    assert turns == pz.outcome["steps"] * len(players)
    assert rewards == {i: pytest.approx(returns[a], abs=1e-12) for i, a in enumerate(players)}


def test_the_player_count_is_checked():
    register_scenarios()
    env = ta.make("negenv-multilateral_5-v0")
    with pytest.raises(ValueError, match=r"num_players = 2 is invalid .* \(6 players\)"):
        env.reset(num_players=2)
