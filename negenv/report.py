"""The evaluation report: ``report.md`` (the scorecard), ``episodes.csv``, ``summary.json``
and figures, each written atomically (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from negenv.atomic import write_atomic
from negenv.metrics import FAMILIES, kaplan_meier
from negenv.scenario import load

HEADLINES = {  # one number per family on the scorecard
    "objective": "mediator_objective",
    "agreement": "agreed",
    "efficiency": "utilitarian_gain",
    "fairness": "nash_welfare_ratio",
    "durability": "stage_completion",
    "procedure": "weakest_guarantee",
}


def columns(rows: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> list[str]:
    """Every key of the rows, in order of first appearance (scenarios add their own metrics,
    e.g. burden_proportionality)."""
    return [k for k in dict.fromkeys(k for r in rows for k in r) if k not in skip]


def write_report(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """report.md, episodes.csv, summary.json and figures under ``out``."""
    out.mkdir(parents=True, exist_ok=True)

    def csv_rows(f):
        w = csv.DictWriter(f, fieldnames=columns(rows), restval="")
        w.writeheader()
        w.writerows(rows)

    write_atomic(out / "episodes.csv", csv_rows)
    write_atomic(out / "summary.json", lambda f: json.dump(summary, f, indent=1))
    write_atomic(out / "report.md", lambda f: f.write(scorecard(summary)))
    figures(out, rows, summary)


def scorecard(summary: dict[str, Any]) -> str:
    def cell(stat):
        return f"{stat['mean']:.3f} [{stat['low']:.3f}, {stat['high']:.3f}]"

    st = summary["suite"]
    lines = [
        "# negenv mediator scorecard",
        "",
        f"Suite: {', '.join(st['scenarios'])}; populations {', '.join(st['populations'])}; "
        f"{st['episodes']} episodes each. Means with stratified bootstrap 95% CIs.",
        "",
        "| mediator | "
        + " | ".join(f"{f}: {m}" for f, m in HEADLINES.items())
        + " | value of mediation (NWR) |",
        "|---" * (len(HEADLINES) + 2) + "|",
    ]
    for name, stats in summary["mediators"].items():
        cells = [cell(stats[m]) for m in HEADLINES.values()] + [
            cell(stats["vom_nash_welfare_ratio"])
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    per = summary.get("per_scenario", {})
    scenarios = list(st["scenarios"])
    lines += [
        "",
        "Normalised score by scenario (0: the unmediated protocol; 1: the Nash bargaining "
        "solution's welfare):",
        "",
        "| mediator | " + " | ".join(scenarios) + " |",
        "|---" * (len(scenarios) + 1) + "|",
    ]
    for name, by in per.items():
        cells = [
            cell(by[sc]["normalised_score"]) if "normalised_score" in by.get(sc, {}) else ""
            for sc in scenarios
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    survival = summary.get("survival", {})
    if survival:
        pops = list(st["populations"])
        lines += [
            "",
            "Restricted mean survival of agreements, in stages (Kaplan-Meier, collapse as the "
            f"event), by population ({' / '.join(pops)}):",
            "",
            "| mediator | " + " | ".join(scenarios) + " |",
            "|---" * (len(scenarios) + 1) + "|",
        ]
        for name, by in survival.items():
            cells = [
                " / ".join(f"{by[sc][p]['rmst']:.2f}" if p in by.get(sc, {}) else "-" for p in pops)
                for sc in scenarios
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "All metrics by family:", ""]
    for family, metrics in FAMILIES.items():
        for m in metrics:
            if m in next(iter(summary["mediators"].values())):
                lines.append(
                    f"- {family} / {m}: "
                    + "; ".join(
                        f"{name} {cell(stats[m])}" for name, stats in summary["mediators"].items()
                    )
                )
    return "\n".join(lines) + "\n"


def figures(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    med = summary["mediators"]
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, stats in med.items():
        f, d = stats["nash_welfare_ratio"], stats["stage_completion"]
        ax.errorbar(
            d["mean"],
            f["mean"],
            xerr=[[d["mean"] - d["low"]], [d["high"] - d["mean"]]],
            yerr=[[f["mean"] - f["low"]], [f["high"] - f["mean"]]],
            fmt="o",
            label=name,
        )
    ax.set(xlabel="stage completion (durability)", ylabel="Nash-welfare ratio (fairness)")
    ax.legend(fontsize=7)
    _save(fig, out / "fairness_vs_durability.png")

    scenarios = sorted({r["scenario"] for r in rows})
    fig, axes = plt.subplots(1, len(scenarios), figsize=(4 * len(scenarios), 3.5), squeeze=False)
    for axis, scenario in zip(axes[0], scenarios):
        horizon = load(scenario).implementation.n_stages
        for name in med:
            mine = [
                r
                for r in rows
                if r["mediator"] == name and r["scenario"] == scenario and r["agreed"] == 1
            ]
            if mine and horizon:
                dur = np.array([round(r["stage_completion"] * horizon) for r in mine])
                event = np.array([r["status"] == "collapsed" for r in mine])
                axis.step(
                    range(horizon + 1), kaplan_meier(dur, event, horizon), where="post", label=name
                )
        axis.set(title=scenario, xlabel="stage", ylabel="survival", ylim=(0, 1.05))
    axes[0][0].legend(fontsize=7)
    _save(fig, out / "survival.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    for name in med:
        mine = [r for r in rows if r["mediator"] == name and r["agreed"] == 1]
        ax.scatter(
            [r["weakest_share"] for r in mine],
            [r["nash_welfare_ratio"] for r in mine],
            s=6,
            label=name,
        )
    ax.set(xlabel="weakest party's share of the gains", ylabel="Nash-welfare ratio")
    ax.legend(fontsize=7)
    _save(fig, out / "power_vs_gain.png")


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=80), binary=True)
    plt.close(fig)
