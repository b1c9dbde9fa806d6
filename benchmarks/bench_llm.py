"""The text path's cost: prompts, requests per scorecard, and loopback throughput.

A scripted mediator (and a scripted party population) served by the loopback chat server
(negenv.adapters.chat_server) plays the same episodes as in process; the script prints the
episodes per second of both in the same run, the requests and prompt sizes per episode, and
one prompt of each role on multilateral_5 (``--show-prompts``).

    python benchmarks/bench_llm.py --episodes 32 --show-prompts
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import negenv
from agents import parties, registry
from agents.llm import LLMConfig, LLMPolicy
from negenv import rollout
from negenv.adapters.chat_server import ChatServer, count_tokens, policy_responder
from negenv.scenario import load
from negenv.text import TextView


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="multilateral_5")
    ap.add_argument("--mediator", default="nbs_seen")
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--show-prompts", action="store_true")
    args = ap.parse_args()
    sc = load(args.scenario)
    env = negenv.parallel_env(sc)
    scripted_med = registry.mediator(args.mediator).build(env)
    threshold = parties.ThresholdParty(env.layout)
    served = policy_responder(
        [(TextView(sc, "mediator"), scripted_med), (TextView(sc, "party"), threshold)]
    )

    def policies(llm_mediator=None, llm_parties=None):
        out = {p: llm_parties or threshold for p in env.parties}
        out["mediator"] = llm_mediator or scripted_med
        return out

    t = time.perf_counter()
    base = rollout.run(sc, policies(), args.episodes, seed=0)
    in_process = args.episodes / (time.perf_counter() - t)
    print(f"{args.scenario}, {args.episodes} episodes, concurrency {args.concurrency}")
    print(f"in process: {in_process:,.0f} episodes/s")
    with ChatServer(served) as server:
        config = LLMConfig("scripted", server.base_url, concurrency=args.concurrency)
        for label, role in (("LLM mediator", "mediator"), ("LLM parties", "party")):
            policy = LLMPolicy(sc, role, config)
            kwargs = {"llm_mediator": policy} if role == "mediator" else {"llm_parties": policy}
            server.requests.clear()
            t = time.perf_counter()
            rec = rollout.run(sc, policies(**kwargs), args.episodes, seed=0)
            rate = args.episodes / (time.perf_counter() - t)
            same = all(np.array_equal(rec[k], base[k]) for k in base)
            u = policy.usage
            print(
                f"{label}: {rate:.2f} episodes/s ({in_process / rate:,.0f}x slower than in "
                f"process), {u.requests / args.episodes:.1f} requests/episode, "
                f"{u.prompt_tokens / max(u.requests, 1):,.0f} prompt tokens/request "
                f"(words and marks), failures {u.failures}, same records: {same}"
            )
    if args.show_prompts:
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step({a: np.zeros_like(env.action_space(a).nvec) for a in env.agents})
        for agent, role in (("mediator", "mediator"), ("party_0", "party")):
            tv = TextView(sc, role)
            view = tv.view(obs[agent]["observation"])
            system, user = tv.brief(agent), tv.prompt(view, obs[agent]["action_mask"])
            print(f"\n===== {agent}: system ({len(system)} chars, {count_tokens(system)} tokens)")
            print(system)
            print(f"===== {agent}: step prompt ({len(user)} chars, {count_tokens(user)} tokens)")
            print(user)


if __name__ == "__main__":
    main()
