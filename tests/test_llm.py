"""Language-model policies through a real chat-completions server on 127.0.0.1 and the real
``openai`` client: retries with the error, the default, counted failures, no action from
prose, timeouts, the cache, and scorecards identical to the in-process policies."""

import json

import numpy as np
import pytest

pytest.importorskip("openai")

import negenv
from agents import parties, registry
from agents.llm import LLMConfig, LLMPolicy, config_from_env, parse_name
from negenv import rollout
from negenv.adapters.chat_server import ChatServer, policy_responder, read_view
from negenv.evaluate import Suite, evaluate, unmediated
from negenv.scenario import load
from negenv.text import TextView

SC = load("multilateral_5")


def _first_step(seed: int = 0):
    env = negenv.parallel_env(SC)
    obs, _ = env.reset(seed=seed)
    return env, obs


def _ask(responder, retries=2, timeout=30.0, **kw):
    """One decision of the mediator at round 0 through the server: (action, policy, server)."""
    _, obs = _first_step()
    o = obs["mediator"]
    with ChatServer(responder) as server:
        config = LLMConfig("scripted", server.base_url, retries=retries, timeout=timeout, **kw)
        policy = LLMPolicy(SC, "mediator", config)
        action = policy.act(o["observation"][None], o["action_mask"][None])[0]
    return action, policy, server


def test_retries_send_the_error_back_and_a_good_answer_is_used():
    replies = iter(['{"monitoring": 2', '{"proposal": {"issue_0": 40}}', '{"monitoring": 2}'])
    action, policy, server = _ask(lambda request: next(replies))
    assert len(server.requests) == 3
    second = server.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"monitoring": 2'}
    assert "could not be used: the reply is not valid JSON" in second[-1]["content"]
    third = server.requests[2]["messages"][-1]["content"]
    assert "proposal.issue_0: 40 is greater than the maximum of 20" in third
    assert action[-1] == 2 and not policy.last_failed[0]
    assert (policy.usage.retries, policy.usage.failures, policy.usage.requests) == (2, 0, 3)
    entry = policy.log[0]
    assert [t["error"] is None for t in entry["tries"]] == [False, False, True]


def test_after_the_last_retry_the_default_is_taken_and_counted():
    action, policy, server = _ask(lambda request: "not json at all", retries=1)
    assert len(server.requests) == 2
    o = _first_step()[1]["mediator"]
    view = policy.view.view(o["observation"])
    np.testing.assert_array_equal(action, policy.view.default(view, o["action_mask"]))
    assert policy.last_failed.tolist() == [True] and policy.usage.failures == 1


def test_no_action_is_ever_taken_from_prose():
    prose = 'I will set monitoring to 4 and guarantee party_1: "monitoring": 4'
    action, policy, _ = _ask(lambda request: prose, retries=0)
    assert policy.last_failed[0]
    assert action[-1] == 0 and action[-2] == 0  # the default, not what the prose said


def test_a_slow_reply_times_out_and_uses_a_try():
    calls = []

    def slow_then_fast(request):
        calls.append(1)
        return ('{"monitoring": 1}', 20.0) if len(calls) == 1 else '{"monitoring": 3}'

    # the timeout leaves a loaded test machine time to answer the fast request (0.5 s did
    # not, once, with every core busy); the slow reply never arrives within it
    action, policy, _ = _ask(slow_then_fast, retries=1, timeout=3.0)
    assert action[-1] == 3 and policy.usage.failed_requests == 1
    assert "request failed (APITimeoutError" in policy.log[0]["tries"][0]["error"]


def test_names_and_options():
    assert parse_name("llm:qwen2.5:7b@http://127.0.0.1:11434/v1") == (
        "qwen2.5:7b",
        "http://127.0.0.1:11434/v1",
    )
    with pytest.raises(ValueError, match="llm:<model>@<base_url>"):
        parse_name("llm:gpt")
    with pytest.raises(ValueError, match=r"LLMConfig.retries = -1 is invalid"):
        LLMConfig("m", "http://x", retries=-1)
    with pytest.raises(ValueError, match="NEGENV_LLM_RETRIES = 'two' is invalid"):
        import os

        os.environ["NEGENV_LLM_RETRIES"] = "two"
        try:
            config_from_env("llm:m@http://127.0.0.1:1/v1")
        finally:
            del os.environ["NEGENV_LLM_RETRIES"]


SUITE = Suite(("multilateral_5",), 6, ("threshold",))


def _served_mediator(name: str):
    env = negenv.parallel_env(SC)
    return policy_responder([(TextView(SC, "mediator"), registry.mediator(name).build(env))])


def _same_stats(a: dict, b: dict) -> None:
    a, b = ({m: v for m, v in d.items() if "answer" not in m} for d in (a, b))
    shared = [m for m in a if m in b]
    assert len(shared) == len(a)
    for m in shared:
        assert a[m] == b[m] or (np.isnan(a[m]["mean"]) and np.isnan(b[m]["mean"])), m


def test_a_served_scripted_mediator_scores_the_same_scorecard(monkeypatch):
    with ChatServer(_served_mediator("nbs_seen")) as server:
        name = f"llm:scripted@{server.base_url}"
        _, summary = evaluate(["nbs_seen", name], SUITE, progress=False)
    stats = summary["mediators"]
    _same_stats(stats["nbs_seen"], stats[name])
    assert stats[name]["answer_failure_rate"]["mean"] == 0.0


def test_a_served_scripted_population_scores_the_same_scorecard():
    plain = unmediated(SC)
    served = policy_responder(
        [
            (TextView(SC, "party"), parties.ThresholdParty(negenv.parallel_env(SC).layout)),
            (TextView(plain, "party"), parties.ThresholdParty(negenv.parallel_env(plain).layout)),
        ]
    )
    with ChatServer(served) as server:
        llm = f"llm:scripted@{server.base_url}"
        _, summary = evaluate(["split"], Suite(SUITE.scenarios, 4, ("threshold", llm)), False)
    by = summary["per_population"]["split"]
    _same_stats(by["threshold"], by[llm])
    assert summary["mediators"]["split"]["party_answer_failure_rate"]["mean"] == 0.0


def test_failures_are_counted_in_records_and_on_the_scorecard(tmp_path, monkeypatch):
    """A model that fails on odd rounds: the records count exactly those steps."""
    inner = _served_mediator("split")

    def odd_rounds_fail(request):
        view = read_view(request)
        return "no idea" if view["phase"] == "negotiate" and view["round"] % 2 else inner(request)

    monkeypatch.setenv("NEGENV_LLM_RETRIES", "1")
    env = negenv.parallel_env(SC)
    with ChatServer(odd_rounds_fail) as server:
        policies = registry.population("threshold", env)
        policies["mediator"] = registry.mediator(f"llm:s@{server.base_url}").build(env)
        records = rollout.run(SC, policies, 5, seed=2)
        pz = rollout.run(SC, policies, 5, seed=2, backend="pettingzoo")
    odd = (records["rounds"] + 1) // 2  # rounds 1, 3, ... played before the episode ended
    fails = records["mediator_answer_failures"]
    assert fails.tolist() == pz["mediator_answer_failures"].tolist()
    assert (fails > 0).all() and (fails <= odd + 1).all()
    assert records["answer_failures"].sum() == 0
    for k in records:  # the backends play the same episodes (floats within a few ulps)
        if records[k].dtype.kind == "f":
            np.testing.assert_allclose(records[k], pz[k], atol=1e-9, err_msg=k)
        else:
            np.testing.assert_array_equal(records[k], pz[k], err_msg=k)


def test_a_cached_run_reproduces_the_scorecard_with_the_server_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGENV_LLM_CACHE", str(tmp_path / "cache"))
    with ChatServer(_served_mediator("guarantees_monitoring")) as server:
        name = f"llm:scripted@{server.base_url}"
        rows, first = evaluate([name], SUITE, progress=False)
        asked = len(server.requests)
    assert asked > 0 and len(list((tmp_path / "cache").glob("*.json"))) == asked
    monkeypatch.setenv("NEGENV_LLM_TIMEOUT", "0.5")
    rows_again, again = evaluate([name], SUITE, progress=False)  # nothing listens there now
    assert json.dumps(again["mediators"], sort_keys=True) == json.dumps(
        first["mediators"], sort_keys=True
    )
    assert json.dumps(rows_again) == json.dumps(rows)  # NaN == NaN here
    assert again["mediators"][name]["answer_failure_rate"]["mean"] == 0.0


def test_transcripts_hold_prompts_answers_and_actions(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGENV_LLM_TRANSCRIPTS", str(tmp_path))
    with ChatServer(_served_mediator("split")) as server:
        evaluate(
            [f"llm:scripted@{server.base_url}"], Suite(SUITE.scenarios, 2, ("threshold",)), False
        )
    (path,) = tmp_path.glob("*mediator.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "llm_header" and "schema" in lines[0]
    decisions = lines[1:]
    assert decisions and all(d["tries"][0]["reply"] for d in decisions)
    assert {"prompt", "action", "failed", "round", "stage"} <= set(decisions[0])
    assert lines[0]["usage"]["decisions"] == len(decisions)
