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
from negenv.metrics import FAMILIES

HEADLINES = {  # one number per family on the scorecard
    "objective": "mediator_objective",
    "agreement": "agreed",
    "efficiency": "utilitarian_gain",
    "fairness": "nash_welfare_ratio",
    "durability": "stage_completion",
    "procedure": "weakest_guarantee",
    "legality": "mediator_illegal_rate",
    "answers": "answer_failure_rate",
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


MISSING = {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
# what a metric undefined on every episode means (a mean of nothing prints as this word)
UNDEFINED = {"first_violation": "none (no violation)"}


def scorecard(summary: dict[str, Any]) -> str:
    def cell(stat, metric=""):
        if not np.isfinite(stat["mean"]):
            return UNDEFINED.get(metric, "n/a")
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
        cells = [cell(stats.get(m, MISSING)) for m in HEADLINES.values()] + [
            cell(stats["vom_nash_welfare_ratio"])
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if summary.get("unpaired"):
        lines += [
            "",
            "No unmediated baseline for " + ", ".join(summary["unpaired"]) + ": the "
            "population cannot play the unmediated protocol (a learned party policy trained "
            "with a mediator), so the value of mediation and the normalised score leave "
            "those strata out.",
        ]
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
    by_pop = summary.get("per_population", {})
    if by_pop:
        pops = list(st["populations"])
        shown = [m for m in next(iter(by_pop.values()))[pops[0]]]
        lines += [
            "",
            "By population (pooled over scenarios):",
            "",
            "| mediator | population | " + " | ".join(shown) + " |",
            "|---" * (len(shown) + 2) + "|",
        ]
        for name, by in by_pop.items():
            for p in pops:
                if p in by:
                    cells = [cell(by[p][m], m) for m in shown]
                    lines.append(f"| {name} | {p} | " + " | ".join(cells) + " |")
    exploit = summary.get("exploitability", {})
    if exploit:
        first = next(iter(next(iter(exploit.values())).values()))
        lines += [
            "",
            f"Exploitability (negenv.exploit: a PPO best response per deviator rank, "
            f"{first['budget']['steps']:,} steps, against background {first['population']}; "
            "the deviator's mean gain on held-out paired episodes, 95% CI):",
            "",
            "| mediator | scenario | "
            + " | ".join(r["rank"] for r in first["by_rank"])
            + " | exploitability |",
            "|---" * (len(first["by_rank"]) + 3) + "|",
        ]
        for name, by_scenario in exploit.items():
            for scenario, res in by_scenario.items():
                cells = [
                    f"{r['gain']:+.4f} [{r['gain_ci'][0]:+.4f}, {r['gain_ci'][1]:+.4f}]"
                    for r in res["by_rank"]
                ]
                lines.append(
                    f"| {name} | {scenario} | "
                    + " | ".join(cells)
                    + f" | {res['exploitability']:.4f} |"
                )
    lines += ["", "All metrics by family:", ""]
    for family, metrics in FAMILIES.items():
        for m in metrics:
            if m in next(iter(summary["mediators"].values())):
                lines.append(
                    f"- {family} / {m}: "
                    + "; ".join(
                        f"{name} {cell(stats[m], m)}"
                        for name, stats in summary["mediators"].items()
                    )
                )
    return "\n".join(lines) + "\n"


def figures(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """fairness_vs_durability.png, survival.png and weakest_share.png, from the rows and the
    summary alone (a scenario of one's own never needs to be found again)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(summary["suite"]["scenarios"])
    mediators = list(summary["mediators"])
    colours = {m: plt.get_cmap("tab10")(i % 10) for i, m in enumerate(mediators)}
    markers = dict(zip(mediators, "osD^vP*Xhp" * 3))
    _fairness_vs_durability(plt, out, summary, scenarios, colours, markers)
    _survival(plt, out, summary, scenarios, colours)
    _weakest_share(plt, out, rows, scenarios, mediators, colours)


def _legend(fig: Any, colours: dict[str, Any], markers: dict[str, str] | None = None) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=c, marker=(markers or {}).get(m, ""), label=m)
        for m, c in colours.items()
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)


def _fairness_vs_durability(plt, out, summary, scenarios, colours, markers) -> None:
    per = summary.get("per_scenario", {})
    fig, axes = plt.subplots(
        1,
        len(scenarios),
        figsize=(3.6 * len(scenarios) + 1.8, 3.6),
        squeeze=False,
        layout="constrained",
    )
    for ax, scenario in zip(axes[0], scenarios):
        placed: list[tuple[float, float]] = []
        for name, by in per.items():
            stats = by.get(scenario, {})
            if "nash_welfare_ratio" not in stats or "stage_completion" not in stats:
                continue
            f, d = stats["nash_welfare_ratio"], stats["stage_completion"]
            ax.errorbar(
                d["mean"],
                f["mean"],
                xerr=[[d["mean"] - d["low"]], [d["high"] - d["mean"]]],
                yerr=[[f["mean"] - f["low"]], [f["high"] - f["mean"]]],
                fmt=markers[name],
                color=colours[name],
                mfc="none",
                ms=7,
                capsize=2,
            )
            # coinciding mediators: stack their labels so every one stays readable
            near = sum(abs(d["mean"] - x) < 0.02 and abs(f["mean"] - y) < 0.02 for x, y in placed)
            ax.annotate(
                name,
                (d["mean"], f["mean"]),
                xytext=(6, 4 - 9 * near),
                textcoords="offset points",
                fontsize=6,
                color=colours[name],
            )
            placed.append((d["mean"], f["mean"]))
        ax.set(title=scenario, xlabel="stage completion (durability)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Nash-welfare ratio (fairness)")
    fig.suptitle("Fairness against durability by scenario (means, 95% CIs)", fontsize=10)
    _legend(fig, colours, markers)
    _save(fig, out / "fairness_vs_durability.png")


def _survival(plt, out, summary, scenarios, colours) -> None:
    curves, pops = summary.get("survival", {}), list(summary["suite"]["populations"])
    staged = [s for s in scenarios if summary["suite"]["stages"].get(s, 0) > 0]
    if not staged:
        return
    fig, axes = plt.subplots(
        len(pops),
        len(staged),
        figsize=(3.4 * len(staged) + 1.8, 2.8 * len(pops)),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for i, pop in enumerate(pops):
        for j, scenario in enumerate(staged):
            ax, horizon = axes[i][j], summary["suite"]["stages"][scenario]
            for name, by in curves.items():
                curve = by.get(scenario, {}).get(pop)
                if not curve:
                    continue
                t = np.arange(horizon + 1)
                ax.step(t, curve["survival"], where="post", color=colours[name])
                if "low" in curve:
                    ax.fill_between(
                        t,
                        curve["low"],
                        curve["high"],
                        step="post",
                        color=colours[name],
                        alpha=0.15,
                        lw=0,
                    )
            ax.set(title=f"{scenario} · {pop}", ylim=(0, 1.05), xticks=range(horizon + 1))
            ax.title.set_fontsize(9)
            ax.grid(alpha=0.3)
            if i == len(pops) - 1:
                ax.set_xlabel("stages implemented")
            if j == 0:
                ax.set_ylabel("agreements surviving")
    fig.suptitle(
        "Survival of agreements (Kaplan-Meier, collapse as the event; 95% bands)", fontsize=10
    )
    _legend(fig, {m: c for m, c in colours.items() if m in curves})
    _save(fig, out / "survival.png")


def _weakest_share(plt, out, rows, scenarios, mediators, colours) -> None:
    fig, axes = plt.subplots(
        1,
        len(scenarios),
        figsize=(max(3.6, 0.6 * len(mediators) + 1.5) * len(scenarios), 3.8),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for ax, scenario in zip(axes[0], scenarios):
        data = [
            [
                r["weakest_share"]
                for r in rows
                if r["scenario"] == scenario
                and r["mediator"] == m
                and r["agreed"] == 1
                and np.isfinite(r["weakest_share"])
            ]
            for m in mediators
        ]
        shown = [k for k, d in enumerate(data) if d]
        if shown:
            parts = ax.boxplot(
                [data[k] for k in shown],
                positions=shown,
                widths=0.6,
                showfliers=False,
                patch_artist=True,
            )
            for k, box in zip(shown, parts["boxes"]):
                box.set(facecolor=colours[mediators[k]], alpha=0.5)
        ax.set_xticks(range(len(mediators)), mediators, rotation=45, ha="right", fontsize=7)
        ax.set_title(scenario, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("weakest party's share of the gains")
    fig.suptitle(
        "Share of the gains that goes to the weakest party (agreements; boxes: quartiles)",
        fontsize=10,
    )
    _save(fig, out / "weakest_share.png")


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    if not fig.get_layout_engine():
        fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100), binary=True)
    plt.close(fig)
