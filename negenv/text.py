"""The text view: what a language model reads at the table, and the JSON it answers with.

A :class:`TextView` belongs to one scenario and one role (``"party"`` or ``"mediator"``) and
derives everything from the scenario and its :class:`~negenv.layout.Layout`, so every scenario
works without hand-written prose:

* :meth:`TextView.brief` — the system prompt: who the agent is, the rules that bind it in
  this scenario (numbers read off the :class:`~negenv.Scenario`) and the answer format;
* :meth:`TextView.view` — the observation as named fields (a JSON-able dict), read off the
  flat observation vector; :meth:`TextView.vector` and :meth:`TextView.mask` invert it
  exactly, so a text agent sees everything a vector agent sees, and no more;
* :meth:`TextView.prompt` — the user message of a step: the view, a compact transcript of
  earlier steps, and which fields the current phase reads;
* :attr:`TextView.schema` — the JSON Schema of an answer;
* :meth:`TextView.parse` — an answer (a JSON object, whole or in a fenced block) to an
  action row, or the reason it cannot be used. Nothing is ever taken from prose: a reply
  that is not a JSON object matching the schema and the action mask is an error, which an
  agent may send back to the model (see :mod:`agents.llm`);
* :meth:`TextView.default` — the documented action of an agent whose answer failed: keep
  everything as it stands (reject, comply, keep coalition, hold every demand, repost the
  standing text, keep guarantees and monitoring), then the first allowed option wherever the
  phase forbids that;
* :meth:`TextView.encode` — the answer that yields a given action row (the inverse of
  :meth:`parse`), which lets a scripted policy play through a text channel.

Floats in a view are the float32 values of the observation written with the fewest digits
that read back to the same float32.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from negenv.actions import ActionCodec
from negenv.layout import MEDIATOR, Layout, party_names
from negenv.scenario import Scenario

ROLES = ("party", "mediator")
VOTES = ("reject", "accept")
COMPLY = ("comply", "defect")
MOVES = ("down", "hold", "up")
SEEN_VOTES = {-1: "reject", 0: "none", 1: "accept"}
PHASES = ("negotiate", "implement", "done")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


class AnswerError(ValueError):
    """An answer that cannot be used: not JSON, not matching the schema, or a masked choice."""


def _f32(x: Any) -> float:
    """The float32 value of ``x`` as the shortest decimal that reads back to it."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="0"))


def issue_names(sc: Scenario) -> list[str]:
    return [f"issue_{j}" for j in range(sc.n_issues)]


@dataclass(frozen=True)
class TextView:
    """Text observations and JSON actions of one role of one scenario (discrete actions).

    Args:
        scenario: the scenario.
        role: ``"party"`` or ``"mediator"``.
        list_legal: also list every allowed value of every field in the prompt (off by
            default: a model should read the rules, not pick from a menu).
    """

    scenario: Scenario
    role: str
    list_legal: bool = False
    lay: Layout = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role = {self.role!r} is invalid: must be one of {ROLES}")
        if self.role == "mediator" and not self.scenario.mediated:
            raise ValueError(
                f"role = 'mediator' is invalid for scenario {self.scenario.name!r}: "
                "its protocol is alternating_offers (no mediator)"
            )
        object.__setattr__(self, "lay", Layout.of(self.scenario))

    # ------------------------------------------------------------------------ layout
    @property
    def slices(self):
        return self.lay.party_obs if self.role == "party" else self.lay.mediator_obs

    @property
    def nvec(self) -> tuple[int, ...]:
        return self.lay.party_nvec if self.role == "party" else self.lay.mediator_nvec

    @property
    def components(self) -> tuple[str, ...]:
        return self.lay.party_components if self.role == "party" else self.lay.mediator_components

    @cached_property
    def _codec(self) -> ActionCodec:
        return ActionCodec(self.scenario)

    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.nvec)[:-1]]).astype(int)

    @cached_property
    def _coalition_names(self) -> list[str]:
        return ["keep", "leave"] + [f"join_{c}" for c in range(self.lay.c)]

    @cached_property
    def _guarantee_names(self) -> list[str]:
        return ["keep"] + party_names(self.lay.n)

    def _value_names(self, component: str) -> list[str] | None:
        """Names of a component's options, or None for a numbered level."""
        if component == "vote":
            return list(VOTES)
        if component == "comply":
            return list(COMPLY)
        if component == "coalition":
            return self._coalition_names
        if component.startswith("demand_"):
            return list(MOVES)
        if component == "guarantee":
            return self._guarantee_names
        return None

    # ------------------------------------------------------------------------ schema
    @cached_property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of an answer. Every field is optional: a field left out keeps its
        default (see :meth:`default`)."""
        lay, issues = self.lay, issue_names(self.scenario)
        levels = {"type": "integer", "minimum": 0, "maximum": lay.proposal_levels - 1}

        def per_issue(value: dict[str, Any], what: str) -> dict[str, Any]:
            return {
                "type": "object",
                "description": what,
                "properties": {name: value for name in issues},
                "additionalProperties": False,
            }

        props: dict[str, Any] = {}
        if self.role == "party":
            props["vote"] = {"enum": list(VOTES), "description": "your vote on the standing text"}
            props["comply"] = {"enum": list(COMPLY), "description": "in an implementation stage"}
            if lay.c > 0:
                props["coalition"] = {
                    "enum": self._coalition_names,
                    "description": "keep your membership, leave, or join coalition c",
                }
            props["demand"] = per_issue(
                {"enum": list(MOVES)}, "ask the text to move down, hold or move up, per issue"
            )
            if not lay.mediated:
                props["proposal"] = per_issue(
                    levels, "your text, a grid level per issue (read when you are the proposer)"
                )
        else:
            props["proposal"] = per_issue(levels, "the next text, a grid level per issue")
            props["guarantee"] = {
                "enum": self._guarantee_names,
                "description": "keep the guarantee allocation, or move a step of it to a party",
            }
            props["monitoring"] = {
                "type": "integer",
                "minimum": 0,
                "maximum": lay.monitoring_levels - 1,
                "description": "monitoring level for the next text",
            }
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"negenv {self.role} answer ({self.scenario.name})",
            "type": "object",
            "properties": props,
            "additionalProperties": False,
        }

    # ------------------------------------------------------------------------- brief
    def brief(self, agent: str | None = None) -> str:
        """The system prompt for ``agent`` (a party name, or the mediator)."""
        sc, lay = self.scenario, self.lay
        im, med = sc.implementation, sc.mediator
        top = lay.proposal_levels - 1
        who = agent or ("a party" if self.role == "party" else MEDIATOR)
        who = "the mediator" if who == MEDIATOR else who
        lines = [
            f"You are {who} in a negotiation ({sc.name}): {sc.n_parties} parties of unequal "
            f"power, {sc.n_issues} issues, "
            + ("a mediator who posts the texts." if sc.mediated else "no mediator."),
            "",
            "Rules:",
            f"- A text gives each issue a level 0..{top} of a grid on [0, 1] (level l means "
            f"the value l/{top}). Party i values a text x at u_i(x) = 1 - sum_k w_ik |x_k - "
            "y_ik| (ideal y_i, issue weights w_i summing to 1)"
            + (
                "; on the last issue, a burden, the cost is the party's burden share over its "
                "largest possible share."
                if sc.burden_issue
                else "."
            ),
            f"- Each party has a BATNA d_i (what it gets without agreement); a text entering "
            f"into force in round t is worth W_i = d_i + {sc.discount}^t (u_i - d_i).",
            f"- Rounds 0..{sc.max_rounds - 1}. "
            + (
                "The mediator posts a text each round; "
                if sc.mediated
                else f"A party recognised by {sc.recognition.rule} posts a text each round; "
            )
            + "from round 1 every party votes on the standing text. It passes by "
            + {
                "unanimity": "unanimity.",
                "majority": "a majority of power.",
                "qualified_majority": f"a qualified majority of {sc.quota} of power.",
            }[sc.decision_rule]
            + f" No agreement by round {sc.max_rounds}: every party gets its BATNA"
            + (f" minus {sc.conflict_cost}." if sc.conflict_cost else "."),
        ]
        if sc.ratification.enabled:
            lines.append(
                "- A passed text goes to each party's domestic audience, who ratify it less "
                "often the more they fear being cheated (perceived risk) and more often with "
                "guarantees; a failed ratification costs trust and negotiation goes on."
            )
        if im.n_stages:
            lines.append(
                f"- An agreement is implemented in {im.n_stages} stages; in each, every party "
                f"complies or defects. A defector claws back part of its concession (up to "
                f"{im.temptation} of it, more for the powerful); others lose "
                f"{im.victim_loss} of that stage's value. Monitoring at level m detects a "
                f"defection with probability m; a detected defector pays {im.sanction} + "
                f"{im.sanction_rate} x its gain. Known defections lower public trust "
                f"(twice when known late); below {im.collapse_threshold} a known defection "
                f"collapses the agreement and the lost stages pay the BATNA minus "
                f"{im.relapse_cost}."
            )
        if sc.mediated:
            lines.append(
                f"- The mediator has a budget of {med.budget} for guarantees (compensation "
                f"to victims of defection, honoured with its credibility as probability) and "
                f"monitoring (cost {med.monitoring_cost} per level per stage), over "
                f"{med.monitoring_levels} monitoring levels 0..{med.monitoring_levels - 1}."
            )
        if lay.c > 0:
            lines.append(
                f"- Parties may form up to {lay.c} coalitions that vote as blocs; a "
                "declaration takes effect from the next round."
            )
        if self.role == "mediator":
            lines.append(
                "- You are paid once, at the end: the share of party-stages complied with "
                "times the normalised Nash welfare of the parties' protected gains, minus 0.1 "
                "times the share of the budget committed to monitoring."
                if _default_objective(sc)
                else "- You are paid once, at the end, the scenario's weighted objective of "
                "agreement, durability and fairness."
            )
            lines.append(
                "- You see the public record, every party's demand signals and the party "
                f"types as your information allows ({med.information})."
            )
        else:
            lines.append(
                "- You are paid per implementation stage: your share of the text's worth, "
                "plus what you claw back by defecting, minus losses and sanctions."
            )
            if sc.mediated and med.private_channels:
                lines.append(
                    "- Demand signals go to the mediator only: you see your own, the others show 0."
                )
        defaults = (
            "reject, comply, keep your coalition, hold every demand"
            + ("" if sc.mediated else ", propose the standing text")
            if self.role == "party"
            else "the standing text, the current guarantees and monitoring"
        )
        lines += [
            "",
            "Each step shows the state as JSON: texts and levels as values in [0, 1]; "
            "worth_of_standing_text is W of the standing text were it to enter into force "
            "now; demands are -1 down, 0 hold, +1 up (a coalition's members show their "
            "mean); detected_defections count each party's detected defections; outvoted "
            "marks parties that voted against the text in force; budget_left is the share "
            "of the mediator's budget left; credibility is the probability that the "
            "guarantor honours a claim.",
            "",
            "Answer with one JSON object (alone or in a ```json block) matching this schema; "
            f"a field you leave out keeps its default ({defaults}). An answer that is not "
            "such an object, or that picks a value the current phase forbids, is returned "
            "to you with the error.",
            json.dumps(self.schema["properties"], separators=(",", ":")),
        ]
        return "\n".join(lines)

    # -------------------------------------------------------------------------- view
    def view(self, obs: np.ndarray) -> dict[str, Any]:
        """The named fields of one flat observation row (float32 values)."""
        sl, lay, sc = self.slices, self.lay, self.scenario
        o = np.asarray(obs, dtype=np.float32)
        n, k = lay.n, lay.k
        parties, issues = party_names(n), issue_names(sc)

        def get(name: str) -> np.ndarray:
            return o[sl[name]]

        def named(values: np.ndarray, names: list[str]) -> dict[str, float]:
            return {a: _f32(v) for a, v in zip(names, values)}

        phase = get("phase")
        phase_name = PHASES[0] if phase[0] > 0.5 else PHASES[1] if phase[1] > 0.5 else PHASES[2]
        stages = max(sc.implementation.n_stages, 1)
        v: dict[str, Any] = {}
        if self.role == "party":
            me = int(np.argmax(get("self")))
            v["you"] = parties[me]
            v["your_type"] = {
                "power": _f32(get("power")[0]),
                "batna": _f32(get("batna")[0]),
                "risk": _f32(get("risk")[0]),
                "capability": _f32(get("capability")[0]),
                "ideal": named(get("ideal"), issues),
                "weight": named(get("weight"), issues),
            }
            v["worth_of_standing_text"] = _f32(get("worth")[0])
        v["phase"] = phase_name
        v["round"] = int(np.rint(get("round")[0] * sc.max_rounds))
        v["stage"] = int(np.rint(get("stage")[0] * stages))
        v["standing_text"] = named(get("proposal"), issues)
        v["powers"] = named(get("powers"), parties)
        v["guarantees"] = named(get("guarantees"), parties)
        for name in ("monitoring", "trust", "credibility", "budget_left"):
            v[name] = _f32(get(name)[0])
        seen = zip(parties, get("last_votes"))
        v["last_votes"] = {a: SEEN_VOTES[int(np.rint(x))] for a, x in seen}
        if not lay.mediated:
            v["proposer"] = parties[int(np.argmax(get("proposer")))]
        v["detected_defections"] = {
            a: int(np.rint(x * stages)) for a, x in zip(parties, get("detected"))
        }
        v["outvoted"] = {a: bool(x > 0.5) for a, x in zip(parties, get("holdout"))}
        if lay.c > 0:
            member = get("coalitions").reshape(n, lay.c)
            v["coalitions"] = {
                a: (int(np.argmax(row)) if row.max() > 0.5 else None)
                for a, row in zip(parties, member)
            }
        demands = get("demands").reshape(n, k)
        v["demands"] = {
            a: {i: _f32(x) for i, x in zip(issues, row)} for a, row in zip(parties, demands)
        }
        if self.role == "mediator":
            info = sc.mediator.information
            v["types_seen"] = info
            if info != "none":
                ideals, weights = get("ideals").reshape(n, k), get("weights").reshape(n, k)
                v["party_types"] = {
                    a: {
                        "ideal": named(ideals[i], issues),
                        "weight": named(weights[i], issues),
                        "batna": _f32(get("batnas")[i]),
                        "risk": _f32(get("risks")[i]),
                    }
                    for i, a in enumerate(parties)
                }
        if lay.context:
            v["context"] = [_f32(x) for x in get("context")]
        return v

    def vector(self, view: dict[str, Any]) -> np.ndarray:
        """The flat observation row (float32) of a :meth:`view`: its exact inverse."""
        sl, lay, sc = self.slices, self.lay, self.scenario
        n = lay.n
        parties, issues = party_names(n), issue_names(sc)
        o = np.zeros(sl.size, dtype=np.float64)
        stages = max(sc.implementation.n_stages, 1)

        def put(name: str, values: Any) -> None:
            o[sl[name]] = np.asarray(values, dtype=np.float64).ravel()

        def row(d: dict[str, Any], names: list[str]) -> list[float]:
            return [d[a] for a in names]

        if self.role == "party":
            me = parties.index(view["you"])
            put("self", np.eye(n)[me])
            t = view["your_type"]
            put("risk", t["risk"])
            put("capability", t["capability"])
            put("ideal", row(t["ideal"], issues))
            put("weight", row(t["weight"], issues))
            put("power", t["power"])
            put("batna", t["batna"])
            put("worth", view["worth_of_standing_text"])
        phase = PHASES.index(view["phase"])
        put("phase", [phase == 0, phase == 1])
        put("round", np.float32(view["round"] / sc.max_rounds))
        put("stage", np.float32(view["stage"] / stages))
        put("proposal", row(view["standing_text"], issues))
        put("powers", row(view["powers"], parties))
        put("guarantees", row(view["guarantees"], parties))
        for name in ("monitoring", "trust", "credibility", "budget_left"):
            put(name, view[name])
        back = {s: x for x, s in SEEN_VOTES.items()}
        put("last_votes", [back[view["last_votes"][a]] for a in parties])
        if not lay.mediated:
            put("proposer", np.eye(n)[parties.index(view["proposer"])])
        put(
            "detected",
            [np.float32(view["detected_defections"][a] / stages) for a in parties],
        )
        put("holdout", [float(view["outvoted"][a]) for a in parties])
        if lay.c > 0:
            member = np.zeros((n, lay.c))
            for i, a in enumerate(parties):
                c = view["coalitions"][a]
                if c is not None:
                    member[i, c] = 1.0
            put("coalitions", member)
        put("demands", [[view["demands"][a][i] for i in issues] for a in parties])
        if self.role == "mediator" and "party_types" in view:
            pt = view["party_types"]
            put("ideals", [row(pt[a]["ideal"], issues) for a in parties])
            put("weights", [row(pt[a]["weight"], issues) for a in parties])
            put("batnas", [pt[a]["batna"] for a in parties])
            put("risks", [pt[a]["risk"] for a in parties])
        if lay.context:
            put("context", view["context"])
        return o.astype(np.float32)

    def mask(self, view: dict[str, Any]) -> np.ndarray:
        """The action mask row of the step a :meth:`view` shows (masks depend only on the
        phase, whether this is round 0, and who proposes)."""
        phase = PHASES.index(view["phase"])
        if self.role == "mediator":
            return self._codec.mediator_templates[0 if phase == 0 else 1].copy()
        if phase == 0:
            proposer = not self.lay.mediated and view["proposer"] == view["you"]
            code = (4 if view["round"] == 0 else 0) + int(proposer)
        else:
            code = 2 if phase == 1 else 3
        return self._codec.party_templates[code].copy()

    # ----------------------------------------------------------------- global state
    def state_view(self, state: np.ndarray) -> dict[str, Any]:
        """The state-complete variant, for training and critics: every slice of
        ``env.state()`` (:attr:`Layout.global_state`: public facts, every private type, the
        signals, the agreement, hidden defections) by name, per party and per issue."""
        sl, lay = self.lay.global_state, self.lay
        parties, issues = party_names(lay.n), issue_names(self.scenario)
        s = np.asarray(state, dtype=np.float32)
        out: dict[str, Any] = {}
        for name, size in zip(sl.names, sl.sizes):
            v = s[sl[name]]
            if size == lay.n * lay.k and name in ("ideals", "weights", "demands"):
                out[name] = {
                    a: dict(zip(issues, map(_f32, row)))
                    for a, row in zip(parties, v.reshape(lay.n, lay.k))
                }
            elif name in ("proposal", "agreement"):
                out[name] = dict(zip(issues, map(_f32, v)))
            elif size == lay.n and name not in ("phase", "round", "stage", "hidden"):
                out[name] = dict(zip(parties, map(_f32, v)))
            else:
                out[name] = [_f32(x) for x in v]
        return out

    def state_vector(self, view: dict[str, Any]) -> np.ndarray:
        """The state row of a :meth:`state_view`: its exact inverse."""
        sl = self.lay.global_state
        out = np.zeros(sl.size, dtype=np.float32)
        for name in sl.names:
            v = view[name]
            if isinstance(v, dict):
                v = [list(x.values()) if isinstance(x, dict) else x for x in v.values()]
            out[sl[name]] = np.asarray(v, dtype=np.float64).ravel()
        return out

    # ------------------------------------------------------------------------ prompt
    def reads(self, mask: np.ndarray) -> list[str]:
        """The answer fields the current phase reads (those with more than one option)."""
        out: list[str] = []
        for comp, off, size in zip(self.components, self._offsets, self.nvec):
            if int(np.sum(mask[off : off + size])) > 1:
                name = comp.split("_")[0] if "_" in comp and comp != "guarantee" else comp
                if name not in out:
                    out.append(name)
        return out

    def legal(self, mask: np.ndarray) -> dict[str, list[Any]]:
        """Every allowed value of every field (the ``list_legal`` option)."""
        out: dict[str, list[Any]] = {}
        for comp, off, size in zip(self.components, self._offsets, self.nvec):
            names = self._value_names(comp)
            allowed = np.flatnonzero(mask[off : off + size])
            out[comp] = [names[i] for i in allowed] if names else [int(i) for i in allowed]
        return out

    def summary(self, view: dict[str, Any]) -> str:
        """One transcript line for the step a view shows."""
        text = " ".join(f"{x:.2f}" for x in view["standing_text"].values())
        votes = "".join(
            {"accept": "Y", "reject": "n", "none": "."}[x] for x in view["last_votes"].values()
        )
        line = f"{view['phase']} round {view['round']} stage {view['stage']}: text [{text}]"
        line += f" votes {votes} trust {view['trust']:.2f} monitoring {view['monitoring']:.2f}"
        if view.get("proposer"):
            line += f" proposer {view['proposer']}"
        detected = sum(view["detected_defections"].values())
        return line + (f" detected {detected}" if detected else "")

    def prompt(self, view: dict[str, Any], mask: np.ndarray, history: list[str] = ()) -> str:
        """The user message of one step."""
        lines = []
        if history:
            lines += ["Earlier steps:", *history, ""]
        lines += ["Now:", json.dumps(view, separators=(",", ":")), ""]
        reads = self.reads(mask)
        lines.append(f"Fields read now: {', '.join(reads)}." if reads else "No field is read now.")
        if self.list_legal:
            lines.append("Allowed values: " + json.dumps(self.legal(mask), separators=(",", ":")))
        lines.append("Answer with one JSON object.")
        return "\n".join(lines)

    # ------------------------------------------------------------------------ answers
    def default(self, view: dict[str, Any], mask: np.ndarray) -> np.ndarray:
        """The action row of an agent whose answer failed: everything kept as it stands."""
        lay, top = self.lay, self.lay.proposal_levels - 1
        text = np.rint(np.asarray(list(view["standing_text"].values())) * top).astype(np.int64)
        if self.role == "party":
            row = [0, 0, 0] + [1] * lay.k + ([] if lay.mediated else text.tolist())
        else:
            monitoring = int(np.rint(view["monitoring"] * (lay.monitoring_levels - 1)))
            row = [*text.tolist(), 0, monitoring]
        return self._legalise(np.asarray(row, dtype=np.int64), mask)

    def _legalise(self, row: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = row.copy()
        for j, (off, size) in enumerate(zip(self._offsets, self.nvec)):
            seg = mask[off : off + size]
            if not seg[out[j]]:
                out[j] = int(np.argmax(seg))
        return out

    def parse(self, reply: str, view: dict[str, Any], mask: np.ndarray) -> np.ndarray:
        """The action row of a model's reply, or :class:`AnswerError` saying why not."""
        answer = extract_json(reply)
        _validate(answer, self.schema)
        row = self.default(view, mask)
        chosen: list[int] = []
        for j, comp in enumerate(self.components):
            value = _lookup(answer, comp)
            if value is None:
                continue
            names = self._value_names(comp)
            row[j] = names.index(value) if names else int(value)
            chosen.append(j)
        for j in chosen:
            off, size = self._offsets[j], self.nvec[j]
            if not mask[off + row[j]]:
                comp = self.components[j]
                names = self._value_names(comp)
                allowed = np.flatnonzero(mask[off : off + size])
                shown = [names[i] for i in allowed] if names else [int(i) for i in allowed]
                given = names[row[j]] if names else int(row[j])
                raise AnswerError(
                    f"field {_path(comp)} = {given!r} is not allowed in this step "
                    f"({view['phase']}, round {view['round']}); allowed now: {shown}"
                )
        return row

    def encode(self, action: np.ndarray) -> dict[str, Any]:
        """The answer that :meth:`parse` turns into ``action`` (every field given)."""
        out: dict[str, Any] = {}
        for comp, value in zip(self.components, np.asarray(action).tolist()):
            if comp == "coalition" and self.lay.c == 0:
                continue  # one option only: not in the schema
            names = self._value_names(comp)
            v = names[value] if names else int(value)
            if "_" in comp and comp != "guarantee":
                group, index = comp.split("_")
                out.setdefault(group, {})[f"issue_{index}"] = v
            else:
                out[comp] = v
        return out


def _default_objective(sc: Scenario) -> bool:
    o = sc.objective
    return (o.agreement, o.durability, o.fairness, o.compliant_fairness) == (0, 0, 0, 1)


def _path(component: str) -> str:
    if "_" in component and component != "guarantee":
        group, index = component.split("_")
        return f"'{group}.issue_{index}'"
    return repr(component)


def _lookup(answer: dict[str, Any], component: str) -> Any:
    if "_" in component and component != "guarantee":
        group, index = component.split("_")
        return (answer.get(group) or {}).get(f"issue_{index}")
    return answer.get(component)


def extract_json(reply: str) -> dict[str, Any]:
    """The JSON object of a reply: the first fenced block if there is one, else the whole
    reply. Raises :class:`AnswerError` otherwise; nothing is read from surrounding prose."""
    if not isinstance(reply, str):
        raise AnswerError(f"the reply must be text, got {type(reply).__name__}")
    fenced = _FENCE.search(reply)
    body = (fenced.group(1) if fenced else reply).strip()
    try:
        answer = json.loads(body)
    except json.JSONDecodeError as err:
        where = "the ```json block" if fenced else "the reply"
        raise AnswerError(
            f"{where} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
            "answer with one JSON object, alone or in a ```json block"
        ) from None
    if not isinstance(answer, dict):
        raise AnswerError(f"the answer must be a JSON object, got {type(answer).__name__}")
    return answer


def _validate(answer: dict[str, Any], schema: dict[str, Any]) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(answer)
    )
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "the answer"
        raise AnswerError(f"{where}: {error.message}")
