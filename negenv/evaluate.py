"""Evaluate mediators: suites of scenarios, background populations, scorecards with CIs.

A focal mediator runs against background populations of scripted parties on every scenario
of a suite, on fixed seeds. The same seeds run under the unmediated protocol (the same types:
type draws depend only on the seed), which gives the value of mediation per episode. Every
metric gets a 95% confidence interval by bootstrap, stratified by scenario for aggregates.

    python -m negenv.evaluate --mediator nbs_signals --mediator split --suite small --out reports/x
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import negenv
from negenv.metrics import FAMILIES, episode_metrics, stack
from negenv.scenario import Scenario, load, with_overrides
from negenv.solutions import solve_batch

HEADLINES = {  # one number per family on the scorecard
    "agreement": "agreed",
    "efficiency": "utilitarian_gain",
    "fairness": "nash_welfare_ratio",
    "durability": "stage_completion",
    "procedure": "weakest_guarantee",
}


@dataclass(frozen=True)
class Suite:
    scenarios: tuple[str, ...]
    episodes: int
    populations: tuple[str, ...]


SUITES = {
    "default": Suite(
        ("bilateral_asymmetric", "multilateral_5", "lilliput", "burden_sharing"),
        200,
        ("threshold", "mixed"),
    ),
    "small": Suite(("bilateral_asymmetric", "multilateral_5"), 16, ("threshold",)),
}


def suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    return SUITES[name]


def unmediated(sc: Scenario) -> Scenario:
    return with_overrides(sc, {"protocol": "alternating_offers"})


def run(
    sc: Scenario, mediator: str | None, population: str, seeds: range, progress: tqdm | None = None
) -> dict[str, np.ndarray]:
    """Outcome records of one mediator (None: the unmediated protocol) on given seeds."""
    from agents import act, registry

    spec = registry.mediator(mediator) if mediator else None
    scenario = with_overrides(sc, spec.overrides) if spec and spec.overrides else sc
    env = negenv.parallel_env(scenario if mediator else unmediated(sc))
    policies = registry.population(population, env)
    if mediator:
        policies["mediator"] = spec.build(env)
    records = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        while env.agents:
            obs, *_ = env.step(act(policies, obs))
        records.append(env.outcome)
        if progress is not None:
            progress.update()
    return stack(records)


def bootstrap_ci(strata: list[np.ndarray], n: int = 2000, seed: int = 0) -> tuple[float, ...]:
    """Mean over strata of each stratum's mean, with a 95% percentile CI from resampling
    every stratum on its own (a stratified bootstrap). NaNs are dropped."""
    strata = [s[np.isfinite(s)] for s in strata]
    strata = [s for s in strata if len(s)]
    if not strata:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    draws = np.mean([s[rng.integers(0, len(s), (n, len(s)))].mean(axis=1) for s in strata], axis=0)
    point = float(np.mean([s.mean() for s in strata]))
    return point, float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def evaluate(
    mediators: list[str], suite_name: str = "small", progress: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-episode rows (tidy) and a summary of every metric with CIs, by mediator."""
    from agents import registry

    for name in mediators:
        registry.mediator(name)
    st = suite_name if isinstance(suite_name, Suite) else suite(suite_name)
    seeds = range(st.episodes)
    total = len(st.scenarios) * len(st.populations) * (len(mediators) + 1) * st.episodes
    bar = tqdm(total=total, desc="episodes", disable=not progress)
    rows: list[dict[str, Any]] = []
    for scenario_name in st.scenarios:
        sc = load(scenario_name)
        for pop in st.populations:
            base = run(sc, None, pop, seeds, bar)
            solutions = solve_batch(base, sc.burden_issue)
            base_rows = episode_metrics(base, sc, solutions)
            for mediator in mediators:
                rec = run(sc, mediator, pop, seeds, bar)
                if not np.array_equal(rec["ideal"], base["ideal"]):  # pairing needs it
                    raise RuntimeError(f"{mediator!r} changed the types drawn on {scenario_name}")
                solutions["pareto_gap"] = solve_batch(rec, sc.burden_issue)["pareto_gap"]
                metrics = episode_metrics(rec, sc, solutions)
                for i, seed in enumerate(seeds):
                    row = {
                        "scenario": scenario_name,
                        "population": pop,
                        "mediator": mediator,
                        "seed": seed,
                        "status": str(rec["status"][i]),
                    }
                    row |= {m: float(v[i]) for m, v in metrics.items()}
                    row |= {
                        f"vom_{m}": float(metrics[m][i] - base_rows[m][i])
                        for m in ("nash_welfare_ratio", "utilitarian_gain", "agreed")
                    }
                    rows.append(row)
    bar.close()
    return rows, summarise(rows, mediators, st)


def summarise(rows: list[dict[str, Any]], mediators: list[str], st: Suite) -> dict[str, Any]:
    """Every metric's mean and stratified 95% CI, by mediator (strata: scenario x population)."""
    metrics = [
        k for k in rows[0] if k not in ("scenario", "population", "mediator", "seed", "status")
    ]
    out: dict[str, Any] = {
        "suite": st.__dict__ | {"scenarios": list(st.scenarios)},
        "mediators": {},
    }
    for mediator in mediators:
        mine = [r for r in rows if r["mediator"] == mediator]
        strata = sorted({(r["scenario"], r["population"]) for r in mine})
        out["mediators"][mediator] = {
            m: dict(
                zip(
                    ("mean", "low", "high"),
                    bootstrap_ci(
                        [
                            np.array([r[m] for r in mine if (r["scenario"], r["population"]) == s])
                            for s in strata
                        ]
                    ),
                )
            )
            for m in metrics
        }
    return out


# ----------------------------------------------------------------------------- report


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_report(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """report.md, episodes.csv, summary.json and figures under ``out``."""
    out.mkdir(parents=True, exist_ok=True)

    def csv_rows(f):
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    _atomic_write(out / "episodes.csv", csv_rows)
    _atomic_write(out / "summary.json", lambda f: json.dump(summary, f, indent=1))
    _atomic_write(out / "report.md", lambda f: f.write(scorecard(summary)))
    figures(out, rows, summary)


def scorecard(summary: dict[str, Any]) -> str:
    def cell(stat):
        return f"{stat['mean']:.3f} [{stat['low']:.3f}, {stat['high']:.3f}]"

    st = summary["suite"]
    lines = [
        "# negenv mediator scorecard",
        "",
        f"Suite: {', '.join(st['scenarios'])}; populations {', '.join(st['populations'])}; "
        f"{st['episodes']} seeds each. Means with stratified bootstrap 95% CIs.",
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

    from negenv.metrics import kaplan_meier

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

    tmp = path.with_suffix(".tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mediator", action="append", required=True, help="a mediator name (repeatable)"
    )
    parser.add_argument("--suite", default="default", choices=sorted(SUITES))
    parser.add_argument("--out", default="reports/evaluation")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    rows, summary = evaluate(args.mediator, args.suite, progress=not args.no_progress)
    write_report(Path(args.out), rows, summary)
    print(scorecard(summary))
    print(f"report written to {args.out}/")


if __name__ == "__main__":
    main()
