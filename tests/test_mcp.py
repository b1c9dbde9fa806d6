"""The MCP tool server through fastmcp's in-process client: a whole episode played through
the tools equals the same episode through the PettingZoo API."""

import asyncio
import json

import numpy as np
import pytest

pytest.importorskip("fastmcp")
from fastmcp import Client
from fastmcp.exceptions import ToolError

import negenv
from agents import act, registry
from negenv import rollout
from negenv.adapters.mcp import build_server
from negenv.text import TextView


def _policies(env):
    policies = registry.population("mixed", env)
    if env.scenario.mediated:
        policies["mediator"] = registry.mediator("guarantees_monitoring").build(env)
    return policies


async def _play_through_tools(name: str, seed: int, episode: int):
    server = build_server()
    env = negenv.parallel_env(name)
    policies = _policies(env)
    views = {"party": TextView(env.scenario, "party")}
    if env.scenario.mediated:
        views["mediator"] = TextView(env.scenario, "mediator")
    async with Client(server) as client:
        started = (
            await client.call_tool("start", {"scenario": name, "seed": seed, "episode": episode})
        ).data
        sid, agents = started["session"], started["agents"]
        brief = (await client.call_tool("brief", {"session": sid, "agent": agents[0]})).data
        assert brief["schema"]["type"] == "object" and agents[0] in brief["brief"]
        steps = 0
        while True:
            answers = {}
            for agent in agents:
                seen = (await client.call_tool("observe", {"session": sid, "agent": agent})).data
                if seen["done"]:
                    break
                tv = views["mediator" if agent == "mediator" else "party"]
                obs, mask = tv.vector(seen["view"]), tv.mask(seen["view"])
                answers[agent] = tv.encode(
                    act(
                        {agent: policies[agent]}, {agent: {"observation": obs, "action_mask": mask}}
                    )[agent]
                )
            if not answers:
                break
            for agent, answer in answers.items():
                reply = (
                    await client.call_tool(
                        "act", {"session": sid, "agent": agent, "answer": json.dumps(answer)}
                    )
                ).data
                assert reply["accepted"]
            assert reply["stepped"]
            steps += 1
        return (await client.call_tool("outcome", {"session": sid})).data, steps


@pytest.mark.parametrize("name", ["multilateral_5", "lilliput", "rubinstein"])
def test_an_episode_through_the_tools_equals_the_pettingzoo_episode(name):
    out, steps = asyncio.run(_play_through_tools(name, seed=4, episode=2))
    env = negenv.parallel_env(name)
    policies = _policies(env)
    key = int(rollout.keys(4, 3)[2])
    obs, _ = env.reset(options={"key": key})
    while env.agents:
        obs, *_ = env.step(act(policies, obs))
    assert out["done"] and steps == env.outcome["steps"]
    record = out["record"]
    for k, v in env.outcome.items():
        np.testing.assert_array_equal(np.asarray(record[k]), np.asarray(v), err_msg=k)
    assert sum(record["answer_failures"]) == 0


def test_unusable_answers_come_back_then_default_and_are_counted():
    async def run():
        server = build_server(retries=1)
        async with Client(server) as client:
            sid = (await client.call_tool("start", {"scenario": "bilateral_asymmetric"})).data[
                "session"
            ]
            first = (
                await client.call_tool(
                    "act", {"session": sid, "agent": "party_0", "answer": "I accept"}
                )
            ).data
            second = (
                await client.call_tool(
                    "act", {"session": sid, "agent": "party_0", "answer": '{"vote": "maybe"}'}
                )
            ).data
            with pytest.raises(ToolError, match="already acted in this step"):
                await client.call_tool("act", {"session": sid, "agent": "party_0", "answer": "{}"})
            with pytest.raises(ToolError, match="session = 'nope' is unknown"):
                await client.call_tool("observe", {"session": "nope", "agent": "party_0"})
            with pytest.raises(ToolError, match="agent = 'judge' is invalid"):
                await client.call_tool("observe", {"session": sid, "agent": "judge"})
            return first, second, server.sessions._get(sid).failures

    first, second, failures = asyncio.run(run())
    assert not first["accepted"] and first["tries_left"] == 1 and "not valid JSON" in first["error"]
    assert (
        not second["accepted"]
        and second["defaulted"]
        and "'maybe' is not one of" in second["error"]
    )
    assert first["illegal_action"] == 0 and second["illegal_action"] == 1
    assert failures["party_0"] == 1
