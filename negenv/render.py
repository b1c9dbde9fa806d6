"""Transcripts and figures of an episode, apart from the rules.

The env feeds a :class:`Recorder` only when a render mode is set, so rendering costs nothing
otherwise. matplotlib is imported lazily, inside :meth:`Recorder.figure`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negenv.core import Actions, State
from negenv.layout import Phase, Status
from negenv.scenario import Scenario


def _fmt(v: np.ndarray) -> str:
    return "[" + " ".join(f"{x:.2f}" for x in np.asarray(v).ravel()) + "]"


def _list(v: Any) -> Any:
    return np.asarray(v).tolist()


class Recorder:
    """Collects one line of events, a few series and a structured event per step of one
    episode (element 0). :attr:`events` is the episode's log for :mod:`negenv.replay`: a
    header with the scenario and the types drawn, then one entry per step with the public
    record after it and what happened in it."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.lines: list[str] = []
        self.series: dict[str, list[Any]] = {}
        self.events: list[dict[str, Any]] = []

    def start(self, s: State) -> None:
        sc = self.sc
        self.events = [
            {
                "type": "header",
                "scenario": sc.name,
                "protocol": sc.protocol,
                "decision_rule": sc.decision_rule,
                "quota": sc.quota,
                "n_parties": sc.n_parties,
                "n_issues": sc.n_issues,
                "max_rounds": sc.max_rounds,
                "n_stages": sc.implementation.n_stages,
                "collapse_threshold": sc.implementation.collapse_threshold,
                "power": _list(s.power0[0]),
                "batna": _list(s.batna0[0]),
                "risk": _list(s.risk[0]),
                "ideal": _list(s.ideal[0]),
                "weight": _list(s.weight[0]),
                "credibility": float(s.credibility0[0]),
                "initial_text": _list(s.proposal[0]),
            }
        ]
        self.lines = [
            f"negenv | {sc.name} | {sc.n_parties} parties, {sc.n_issues} issues, "
            f"{sc.protocol}, {sc.decision_rule}, T={sc.max_rounds}, "
            f"S={sc.implementation.n_stages}",
            f"  power {_fmt(s.power0[0])}  batna {_fmt(s.batna0[0])}  risk {_fmt(s.risk[0])}",
        ]
        self.series = {
            "proposal": [s.proposal[0].copy()],
            "accepts": [],
            "trust": [],
            "reward": [],
            "phase": [],
        }

    def record(self, before: State, after: State, a: Actions, reward: np.ndarray) -> None:
        self.events.append(self._event(before, after, a, reward))
        if before.phase[0] == Phase.NEGOTIATE:
            self._negotiation_line(before, after, a)
        elif before.phase[0] == Phase.IMPLEMENT:
            self._stage_line(before, after, a, reward)
        self._end_line(after)
        sr = self.series
        sr["proposal"].append(after.proposal[0].copy())
        sr["accepts"].append(int(np.sum(after.votes[0] == 1)))
        sr["trust"].append(float(after.trust[0]))
        sr["reward"].append(reward[0].copy())
        sr["phase"].append(int(before.phase[0]))

    def _event(self, before: State, after: State, a: Actions, reward: np.ndarray) -> dict:
        phase = Phase(int(before.phase[0])).name.lower()
        entered = after.agreed_round[0] >= 0 and before.agreed_round[0] < 0
        ratification = None
        if after.ratification_failures[0] > before.ratification_failures[0]:
            ratification = "failed"
        elif entered:
            ratification = "ratified"
        event = {
            "type": "step",
            "step": int(before.clock[0]),
            "phase": phase,
            "round": int(before.round[0]),
            "stage": int(after.stage[0]),
            "text": _list(before.proposal[0]),
            "next_text": _list(after.proposal[0]),
            "votes": _list(after.votes[0]) if phase == "negotiate" else None,
            "ratification": ratification,
            "overridden": _list(after.overridden[0]) if entered else None,
            "coalition": _list(after.coalition[0]),
            "guarantee": _list(after.guarantee[0]),
            "monitoring": float(after.monitoring[0]),
            "trust": float(after.trust[0]),
            "credibility": float(after.credibility[0]),
            "detected": _list(after.detected[0] - before.detected[0]),
            "undetected": _list(after.undetected[0] - before.undetected[0]),
            "paid": _list(after.compensation[0] - before.compensation[0]),
            "budget_spent": float(after.budget_spent[0]),
            "reward": _list(reward[0]),
            "status": Status(int(after.status[0])).name.lower(),
        }
        if not self.sc.mediated:
            event["proposer"] = int(before.proposer[0])
        if entered:
            event["agreement"] = _list(after.agreement[0])
            event["cover"] = _list(after.cover[0])
            event["agreed_monitoring"] = float(after.agreed_monitoring[0])
        if after.phase[0] == Phase.DONE:
            event["mediator_reward"] = float(after.mediator_utility[0])
        return event

    def _negotiation_line(self, before: State, after: State, a: Actions) -> None:
        votes = "".join("Y" if v == 1 else "n" for v in after.votes[0])
        line = f"round {int(before.round[0]):>3} text {_fmt(before.proposal[0])} votes {votes}"
        if self.sc.coalitions.max_coalitions:
            line += f" coalitions {after.coalition[0].tolist()}"
        if after.ratification_failures[0] > before.ratification_failures[0]:
            line += " | passed, ratification FAILED"
        elif after.agreed_round[0] >= 0 and before.agreed_round[0] < 0:
            line += (
                f" | AGREED; guarantees {_fmt(after.cover[0])}"
                f" monitoring {float(after.agreed_monitoring[0]):.2f}"
            )
        elif self.sc.mediated:
            line += (
                f" -> next {_fmt(after.proposal[0])} g {_fmt(after.guarantee[0])}"
                f" m {float(after.monitoring[0]):.2f}"
            )
        else:
            line += f" -> party_{int(before.proposer[0])} proposes {_fmt(after.proposal[0])}"
        self.lines.append(line)

    def _stage_line(self, before: State, after: State, a: Actions, reward: np.ndarray) -> None:
        det = after.detected[0] - before.detected[0]
        und = after.undetected[0] - before.undetected[0]
        acts = "".join("D" if d else ("d" if u else "c") for d, u in zip(det, und))
        paid = after.compensation[0] - before.compensation[0]
        self.lines.append(
            f"stage {int(after.stage[0]):>3} acts {acts} (D detected, d undetected) "
            f"trust {float(after.trust[0]):.2f} paid {_fmt(paid)} reward {_fmt(reward[0])}"
        )

    def _end_line(self, after: State) -> None:
        if after.phase[0] != Phase.DONE:
            return
        status = Status(int(after.status[0])).name.lower()
        total = after.value + after.temptation - after.loss - after.sanction
        total = total + after.compensation + after.fallback
        self.lines.append(
            f"END {status}: utility {_fmt(total[0])} "
            f"mediator {float(after.mediator_utility[0]):.3f}"
        )

    def transcript(self) -> str:
        return "\n".join(self.lines)

    def figure(self) -> np.ndarray:
        """An RGB array of the episode: text per issue, votes, stage rewards, trust."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sr = self.series
        fig, ax = plt.subplots(2, 2, figsize=(8, 6), dpi=60)
        ax[0, 0].plot(np.asarray(sr["proposal"]))
        ax[0, 0].set(title="text per issue", xlabel="step", ylim=(0, 1))
        ax[0, 1].bar(range(len(sr["accepts"])), sr["accepts"])
        ax[0, 1].set(title="accepting parties", xlabel="step", ylim=(0, self.sc.n_parties))
        rewards = np.asarray(sr["reward"]).reshape(-1, self.sc.n_parties)
        ax[1, 0].plot(np.cumsum(rewards, axis=0) if len(rewards) else rewards)
        ax[1, 0].set(title="cumulative reward per party", xlabel="step")
        ax[1, 1].plot(sr["trust"])
        ax[1, 1].set(title="trust", xlabel="step", ylim=(0, 1))
        fig.tight_layout()
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        plt.close(fig)
        return image
