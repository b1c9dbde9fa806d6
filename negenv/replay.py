"""Episode replays: one self-contained HTML page per episode, readable offline.

:func:`render` reads an episode log only (the events of
:meth:`negenv.env.NegotiationEnv.episode_log`, plus any ``llm_decision`` lines of
:meth:`agents.llm.LLMPolicy.write_transcript`) and writes a page with no external resource:
the parties' types, the text per issue against each party's ideal (an inline SVG), trust
against the collapse threshold, and a row per step with the votes, ratification, coalitions,
defections (detected and not), guarantees paid and rewards, and, for language-model agents,
their prompts, answers and parse errors.

    python -m negenv.replay --scenario multilateral_5 --mediator nbs_seen \\
        --population mixed --seed 0 --episode 3 --out reports/replay.html
    python -m negenv.replay --log episode.jsonl --out reports/replay.html
"""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path
from typing import Any

from negenv.atomic import write_atomic

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px}
th{background:#f4f4f4}.Y{background:#c8e6c9}.n{background:#ffcdd2}.D{background:#e53935;color:#fff}
.d{background:#ffb74d}.chip{display:inline-block;min-width:14px;text-align:center;margin:1px;
border-radius:3px;padding:0 2px}.num{text-align:right;font-variant-numeric:tabular-nums}
details{margin:2px 0}pre{white-space:pre-wrap;background:#fafafa;padding:6px;font-size:11px}
.err{color:#c62828}td{white-space:nowrap}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _f(x: float) -> str:
    return f"{x:.2f}"


def _svg_lines(
    series: list[list[float]], ideals: list[float] | None, title: str, hline: float | None = None
) -> str:
    """A small line chart of ``series`` (one list per line) in [0, 1] over steps."""
    w, h, pad = 520, 160, 28
    steps = max(len(series[0]) - 1, 1) if series and series[0] else 1

    def xy(i: int, v: float) -> str:
        return f"{pad + i * (w - 2 * pad) / steps:.1f},{h - pad - v * (h - 2 * pad):.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">',
        f'<text x="{pad}" y="14" font-size="12">{_e(title)}</text>',
        f'<rect x="{pad}" y="{pad}" width="{w - 2 * pad}" height="{h - 2 * pad}" '
        'fill="none" stroke="#ccc"/>',
    ]
    if hline is not None:
        y = h - pad - hline * (h - 2 * pad)
        parts.append(
            f'<line x1="{pad}" x2="{w - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#999" '
            'stroke-dasharray="4 3"/>'
        )
    for j, line in enumerate(series):
        colour = COLOURS[j % len(COLOURS)]
        points = " ".join(xy(i, v) for i, v in enumerate(line))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
    for i, v in enumerate(ideals or []):
        y = h - pad - v * (h - 2 * pad)
        parts.append(
            f'<circle cx="{w - pad + 6}" cy="{y:.1f}" r="3" fill="{COLOURS[i % len(COLOURS)]}">'
            f"<title>party_{i} ideal {v:.2f}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _chips(values: list[int], names: dict[int, str]) -> str:
    return "".join(
        f'<span class="chip {names.get(v, "")}" title="party_{i}">{names.get(v, ".")}</span>'
        for i, v in enumerate(values)
    )


def render(events: list[dict[str, Any]]) -> str:
    """The HTML page of an episode log."""
    header = next((e for e in events if e.get("type") == "header"), None)
    if header is None:
        raise ValueError("the episode log has no header event: it is not a negenv episode log")
    steps = [e for e in events if e.get("type") == "step"]
    outcome = next((e["record"] for e in events if e.get("type") == "outcome"), None)
    decisions = [e for e in events if e.get("type") == "llm_decision"]
    n, k = header["n_parties"], header["n_issues"]
    title = f"negenv replay: {header['scenario']}"
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{n} parties, {k} issues, {_e(header['protocol'])}, "
        f"{_e(header['decision_rule'])} (quota {header['quota']}), T = {header['max_rounds']}, "
        f"S = {header['n_stages']}; {len(steps)} steps.</p>",
        "<h2>Parties</h2><table><tr><th>party</th><th>power</th><th>BATNA</th><th>risk</th>"
        + "".join(f"<th>ideal {j}</th>" for j in range(k))
        + "</tr>",
    ]
    for i in range(n):
        out.append(
            f"<tr><td style='color:{COLOURS[i % len(COLOURS)]}'>party_{i}</td>"
            + "".join(
                f"<td class='num'>{_f(header[f][i])}</td>" for f in ("power", "batna", "risk")
            )
            + "".join(f"<td class='num'>{_f(y)}</td>" for y in header["ideal"][i])
            + "</tr>"
        )
    out.append("</table>")
    texts = [header["initial_text"]] + [s["next_text"] for s in steps]
    for j in range(k):
        issue = [t[j] for t in texts]
        ideals = [header["ideal"][i][j] for i in range(n)]
        out.append(_svg_lines([issue], ideals, f"issue {j}: the text over steps; dots: ideals"))
    trust = [1.0] + [s["trust"] for s in steps]
    out.append(
        _svg_lines(
            [trust], None, "trust (dashed: collapse threshold)", header["collapse_threshold"]
        )
    )
    out.append(_steps_table(steps, n, decisions))
    if outcome is not None:
        out.append("<h2>Outcome</h2><table>")
        for key in (
            "status",
            "agreed_round",
            "stages_completed",
            "utility",
            "gain",
            "mediator_utility",
            "defections_detected",
            "defections_undetected",
            "guarantees_paid",
            "overridden",
            "budget_spent",
        ):
            if key in outcome:
                value = outcome[key]
                shown = " ".join(_f(v) for v in value) if isinstance(value, list) else value
                shown = _f(shown) if isinstance(shown, float) else shown
                out.append(f"<tr><th>{key}</th><td id='outcome-{key}'>{_e(shown)}</td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def _steps_table(steps: list[dict], n: int, decisions: list[dict]) -> str:
    by_step: dict[tuple, list[dict]] = {}
    for d in decisions:
        by_step.setdefault((d["phase"], d["round"], d["stage"]), []).append(d)
    rows = [
        "<h2>Steps</h2><div style='overflow-x:auto'><table id='steps'>"
        "<tr><th>step</th><th>phase</th><th>round</th>"
        "<th>stage</th><th>text voted</th><th>votes</th><th>event</th><th>coalitions</th>"
        "<th>acts</th><th>trust</th><th>guarantees paid</th><th>rewards</th></tr>"
    ]
    for s in steps:
        event = s["ratification"] or ""
        if s["ratification"] == "ratified":
            event = f"entered into force (monitoring {_f(s['agreed_monitoring'])})"
            over = [f"party_{i}" for i, o in enumerate(s.get("overridden") or []) if o]
            if over:
                event += "; imposed on " + ", ".join(over)
        elif s["ratification"] == "failed":
            event = "passed, ratification failed"
        if s.get("proposer") is not None and s["phase"] == "negotiate":
            event = f"party_{s['proposer']} proposes. " + event
        if s["status"] != "running":
            event += f" END: {s['status']}"
        acts = ""
        if s["phase"] == "implement":
            acts = "".join(
                "<span class='chip D'>D</span>"
                if d
                else "<span class='chip d'>d</span>"
                if u
                else "<span class='chip'>c</span>"
                for d, u in zip(s["detected"], s["undetected"])
            )
        votes = _chips(s["votes"], {1: "Y", -1: "n"}) if s["votes"] is not None else ""
        coalitions = " ".join(str(c) if c >= 0 else "-" for c in s["coalition"])
        rows.append(
            f"<tr class='step' data-step='{s['step']}' data-phase='{s['phase']}'>"
            f"<td class='num'>{s['step']}</td><td>{s['phase']}</td>"
            f"<td class='num'>{s['round']}</td><td class='num'>{s['stage']}</td>"
            f"<td>{' '.join(_f(x) for x in s['text'])}</td><td>{votes}</td>"
            f"<td>{_e(event)}</td><td>{coalitions}</td><td>{acts}</td>"
            f"<td class='num'>{_f(s['trust'])}</td>"
            f"<td>{' '.join(_f(x) for x in s['paid'])}</td>"
            f"<td>{' '.join(_f(x) for x in s['reward'])}</td></tr>"
        )
        mine = by_step.get((s["phase"], s["round"], s["stage"]), [])
        if mine:
            rows.append(f"<tr><td></td><td colspan='11'>{_decisions(mine)}</td></tr>")
    rows.append("</table></div>")
    return "\n".join(rows)


def _decisions(entries: list[dict]) -> str:
    parts = []
    for d in entries:
        flag = " <span class='err'>(default after failed answers)</span>" if d["failed"] else ""
        tries = "".join(
            f"<pre>{_e(t['reply'])}</pre>"
            + (f"<p class='err'>{_e(t['error'])}</p>" if t["error"] else "")
            for t in d["tries"]
        )
        parts.append(
            f"<details class='llm'><summary>{_e(d['agent'])}: "
            f"{_e(json.dumps(d['action']))}{flag}</summary>"
            f"<pre>{_e(d['prompt'])}</pre>{tries}</details>"
        )
    return "".join(parts)


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """An episode log (JSONL) as events."""
    lines = Path(path).read_text().splitlines()
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not an episode log (JSONL): {err}") from None


def write(events: list[dict[str, Any]], out: str | Path) -> None:
    page = render(events)
    write_atomic(out, lambda f: f.write(page))


def play(scenario: str, mediator: str | None, population: str, seed: int, episode: int):
    """Play episode ``episode`` of ``seed`` (the episode evaluations play) and return its log,
    with the decisions of any language-model policy in it."""
    import negenv
    from agents import act, registry
    from negenv import rollout
    from negenv.scenario import load, with_overrides

    sc = load(scenario)
    spec = registry.mediator(mediator) if mediator and sc.mediated else None
    if spec and spec.overrides:
        sc = with_overrides(sc, spec.overrides)
    env = negenv.parallel_env(sc, record=True)
    policies = registry.population(population, env)
    if spec:
        policies["mediator"] = spec.build(env)
    obs, _ = env.reset(options={"key": int(rollout.keys(seed, episode + 1)[episode])})
    while env.agents:
        obs, *_ = env.step(act(policies, obs))
    events = env.episode_log()
    seen: set[int] = set()
    for policy in policies.values():
        if id(policy) not in seen and hasattr(policy, "log"):
            seen.add(id(policy))
            events += [{"type": "llm_decision", **d} for d in policy.log]
    return events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="an HTML page of one negenv episode")
    parser.add_argument("--log", help="an episode log (JSONL) to render")
    parser.add_argument("--scenario", default="multilateral_5")
    parser.add_argument("--mediator", default="nbs_seen")
    parser.add_argument("--population", default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episode", type=int, default=0)
    parser.add_argument("--out", default="reports/replay.html")
    parser.add_argument("--save-log", help="also write the episode log (JSONL) here")
    args = parser.parse_args(argv)
    if args.episode < 0:
        parser.error(f"--episode = {args.episode} is invalid: must be >= 0")
    if args.log:
        events = read_log(args.log)
    else:
        events = play(args.scenario, args.mediator, args.population, args.seed, args.episode)
    if args.save_log:
        write_atomic(args.save_log, lambda f: f.writelines(json.dumps(e) + "\n" for e in events))
    write(events, args.out)
    print(f"replay written to {args.out}")


if __name__ == "__main__":
    from negenv import cli

    cli.run(main, prog="python -m negenv.replay")
