"""Evaluate mediators: suites of scenarios, background populations, scorecards with CIs.

A focal mediator runs against background populations of scripted parties on every scenario
of a suite, on fixed episodes (episode b of a seed; see :mod:`negenv.rollout`). The same
episodes run under the unmediated protocol (the same types: type draws depend only on the
episode's key), which gives the value of mediation per episode. Every metric gets a 95%
confidence interval by a bootstrap over episodes, stratified by scenario and population.
Episodes run as one batch on the batched env by default (``--backend pettingzoo`` plays them
one by one and gives the same records).

    python -m negenv.evaluate --mediator nbs_signals --mediator split --suite small --out reports/x

A ``--mediator`` may be a ``train.py`` checkpoint (``runs/<run>/best.pt``), and a
``--population`` a checkpoint's learned party policy; either may be a chat model on an
OpenAI-compatible server, ``llm:<model>@<base_url>`` (docs/llm.md).
"""

from __future__ import annotations

import argparse
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import negenv
from negenv import rollout
from negenv.metrics import episode_metrics, survival
from negenv.report import HEADLINES, columns, scorecard, write_report
from negenv.scenario import Scenario, load, with_overrides
from negenv.solutions import pareto_gaps, solve_batch


@dataclass(frozen=True)
class Suite:
    scenarios: tuple[str | Scenario, ...]  # names, paths or Scenario objects
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
    sc: Scenario,
    mediator: str | None,
    population: str,
    episodes: int,
    seed: int = 0,
    backend: str = "vector",
    progress: tqdm | None = None,
) -> dict[str, np.ndarray]:
    """Outcome records of one mediator (None: the unmediated protocol) on episodes
    ``0..episodes-1`` of ``seed`` (see :mod:`negenv.rollout`)."""
    from agents import registry

    spec = registry.mediator(mediator) if mediator else None
    scenario = with_overrides(sc, spec.overrides) if spec and spec.overrides else sc
    scenario = scenario if mediator else unmediated(sc)
    env = negenv.parallel_env(scenario)  # policies are built against its layout and spaces
    policies = registry.population(population, env)
    if spec:
        policies["mediator"] = spec.build(env)
    records = rollout.run(scenario, policies, episodes, seed, backend, progress)
    write_transcripts(policies, scenario, mediator, population, seed)
    return records


def write_transcripts(
    policies: dict[str, Any], sc: Scenario, mediator: str | None, population: str, seed: int
) -> None:
    """With ``NEGENV_LLM_TRANSCRIPTS`` set (``--llm-transcripts``), each language-model
    policy's decisions as JSONL in that folder (:meth:`agents.llm.LLMPolicy.write_transcript`)."""
    folder = os.environ.get("NEGENV_LLM_TRANSCRIPTS")
    if not folder:
        return
    seen: set[int] = set()
    for agent, policy in policies.items():
        if id(policy) in seen or not hasattr(policy, "write_transcript"):
            continue
        seen.add(id(policy))
        role = "mediator" if agent == "mediator" else "parties"
        label = f"{sc.name}-{population}-{mediator or 'unmediated'}-seed{seed}-{role}"
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
        policy.write_transcript(Path(folder) / f"{safe}.jsonl")


def bootstrap_table(
    strata: list[np.ndarray], n: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified bootstrap of many metrics at once.

    ``strata`` holds one (E_s, M) array per stratum (episodes by metrics). A resample draws
    E_s episodes with replacement in every stratum, the same draw for every metric; a
    stratum's value is the mean over its drawn episodes where the metric is defined (not NaN),
    and the aggregate is the mean over the strata where the metric is defined at all.
    Returns the point estimates and the 2.5 and 97.5 percentiles, each (M,).
    """
    rng = np.random.default_rng(seed)
    points, draws = [], []
    for values in strata:
        fin = np.isfinite(values)
        filled = np.where(fin, values, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            points.append(filled.sum(axis=0) / fin.sum(axis=0))
        size, chunks = len(values), []
        for lo in range(0, n, 256):  # resample counts in chunks of 256 draws
            k = min(256, n - lo)
            idx = rng.integers(0, size, (k, size)) + size * np.arange(k)[:, None]
            counts = np.bincount(idx.ravel(), minlength=k * size).reshape(k, size)
            counts = counts.astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                chunks.append((counts @ filled) / (counts @ fin))
        draws.append(np.concatenate(chunks))
    points_arr, draws_arr = np.stack(points), np.stack(draws)  # (S, M), (S, n, M)
    defined = np.isfinite(points_arr)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # metrics defined nowhere
        point = np.nanmean(np.where(defined, points_arr, np.nan), axis=0)
        agg = np.nanmean(np.where(defined[:, None, :], draws_arr, np.nan), axis=0)
        low, high = np.nanpercentile(agg, [2.5, 97.5], axis=0)
    return point, low, high


def bootstrap_ci(strata: list[np.ndarray], n: int = 2000, seed: int = 0) -> tuple[float, ...]:
    """One metric's stratified mean and 95% percentile CI (see :func:`bootstrap_table`)."""
    point, low, high = bootstrap_table([np.asarray(s, float)[:, None] for s in strata], n, seed)
    return float(point[0]), float(low[0]), float(high[0])


def evaluate(
    mediators: list[str],
    suite_name: str | Suite = "small",
    progress: bool = True,
    backend: str = "vector",
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-episode rows (tidy) and a summary of every metric with CIs, by mediator."""
    from agents import registry

    for name in mediators:
        registry.mediator(name)
    st = suite_name if isinstance(suite_name, Suite) else suite(suite_name)
    total = len(st.scenarios) * len(st.populations) * (len(mediators) + 1) * st.episodes
    bar = tqdm(total=total, desc="episodes", disable=not progress)
    rows: list[dict[str, Any]] = []
    curves: dict[str, Any] = {}
    unpaired: list[str] = []
    for scenario_given in st.scenarios:
        sc = load(scenario_given)
        scenario_name = sc.name
        for pop in st.populations:
            base = baseline(sc, pop, st.episodes, seed, backend, bar)
            if base is None:
                unpaired.append(f"{scenario_name} / {pop}")
            solutions, base_rows = None, None
            for mediator in mediators:
                rec = run(sc, mediator, pop, st.episodes, seed, backend, bar)
                if solutions is None:  # types only: the same for every run of these episodes
                    solutions = solve_batch(base if base is not None else rec, sc.burden_issue)
                    base_rows = episode_metrics(base, sc, solutions) if base is not None else {}
                if not np.array_equal(rec["ideal"], (base or rec)["ideal"]):  # pairing needs it
                    raise RuntimeError(f"{mediator!r} changed the types drawn on {scenario_name}")
                solutions["pareto_gap"] = pareto_gaps(rec, sc.burden_issue)
                metrics = paired_metrics(rec, sc, solutions, base_rows)
                labels = {"scenario": scenario_name, "population": pop, "mediator": mediator}
                rows += tidy(labels, seed, rec, metrics)
                curve = survival(rec, sc)
                if curve:
                    by = curves.setdefault(mediator, {}).setdefault(scenario_name, {})
                    by[pop] = curve
    bar.close()
    return rows, summarise(rows, mediators, st) | {"survival": curves, "unpaired": unpaired}


def baseline(sc: Scenario, population: str, episodes: int, seed: int, backend: str, bar):
    """The unmediated protocol's records on the same episodes, or None where the population
    cannot play that protocol (a learned party policy trained with a mediator reads a
    different observation and has no proposal to make): its value-of-mediation columns are
    then undefined, and the scorecard says so."""
    from agents.learned import LayoutError

    try:
        return run(sc, None, population, episodes, seed, backend, bar)
    except LayoutError:
        if bar is not None:
            bar.update(episodes)
        return None


def paired_metrics(
    rec: dict[str, np.ndarray],
    sc: Scenario,
    solutions: dict[str, np.ndarray],
    base: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Every metric of the mediated episodes, their value of mediation against the unmediated
    metrics ``base`` of the same episodes, and the normalised score (NaN without ``base``)."""
    metrics = episode_metrics(rec, sc, solutions)
    for m in ("nash_welfare_ratio", "utilitarian_gain", "agreed"):
        metrics[f"vom_{m}"] = metrics[m] - base[m] if base else np.full(len(metrics[m]), np.nan)
    metrics["normalised_score"] = (
        normalised_score(metrics, base) if base else metrics["vom_agreed"] + np.nan
    )
    return metrics


def tidy(
    labels: dict[str, str], seed: int, rec: dict[str, np.ndarray], metrics: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """One row per episode: the labels, seed, episode, status and every metric."""
    columns = {k: v.tolist() for k, v in metrics.items()}
    statuses = rec["status"].tolist()
    return [
        labels
        | {"seed": seed, "episode": i, "status": statuses[i]}
        | {m: v[i] for m, v in columns.items()}
        for i in range(len(statuses))
    ]


def normalised_score(metrics: dict[str, np.ndarray], base: dict[str, np.ndarray]) -> np.ndarray:
    """Per episode, the value of mediation in Nash-welfare ratio over the room the unmediated
    protocol leaves on this scenario and population: ``vom / (1 - mean unmediated NWR)``.

    Averaged over a stratum it reads 0 for no better than no mediator and 1 for reaching the
    Nash bargaining solution's welfare; the denominator is a per-stratum constant, so the
    stratified bootstrap of this column is a CI of the normalised score.
    """
    room = 1.0 - np.nanmean(base["nash_welfare_ratio"])
    return metrics["vom_nash_welfare_ratio"] / room if room > 1e-9 else metrics["agreed"] * np.nan


LABELS = ("scenario", "population", "mediator", "seed", "episode", "status")
PER_SCENARIO = (*HEADLINES.values(), "vom_nash_welfare_ratio", "normalised_score")
# a pooled rate can hide populations that differ (none collapse against one, all against
# another): the scorecard shows these by population too
PER_POPULATION = ("mediator_objective", "nash_welfare_ratio", "stage_completion", "collapsed")


def summarise(rows: list[dict[str, Any]], mediators: list[str], st: Suite) -> dict[str, Any]:
    """Every metric's mean and stratified 95% CI, by mediator (strata: scenario x population)."""
    metrics = columns(rows, skip=LABELS)
    loaded = [load(s) for s in st.scenarios]
    names = [sc.name for sc in loaded]
    stages = {sc.name: sc.implementation.n_stages for sc in loaded}
    out: dict[str, Any] = {  # names only: the report never reloads a scenario
        "suite": st.__dict__ | {"scenarios": names, "stages": stages},
        "mediators": {},
    }
    table = np.array([[r.get(m, np.nan) for m in metrics] for r in rows], dtype=np.float64)
    keys = [(r["mediator"], r["scenario"], r["population"]) for r in rows]
    for mediator in mediators:
        strata = sorted({k[1:] for k in keys if k[0] == mediator})
        groups = [table[[i for i, k in enumerate(keys) if k == (mediator, *s)]] for s in strata]
        out["mediators"][mediator] = _stats(metrics, groups)
        # each scenario alone (strata: its populations), each population alone (strata:
        # the scenarios)
        for part, axis, labels, wanted in (
            ("per_scenario", 0, names, PER_SCENARIO),
            ("per_population", 1, st.populations, PER_POPULATION),
        ):
            shown = [m for m in wanted if m in metrics]
            cols = [metrics.index(m) for m in shown]
            for label in labels:
                mine = [g[:, cols] for g, key in zip(groups, strata) if key[axis] == label]
                if mine:
                    by = out.setdefault(part, {}).setdefault(mediator, {})
                    by[label] = _stats(shown, mine)
    return out


def _stats(metrics: list[str], groups: list[np.ndarray]) -> dict[str, dict[str, float]]:
    point, low, high = bootstrap_table(groups)
    return {
        m: {"mean": float(point[j]), "low": float(low[j]), "high": float(high[j])}
        for j, m in enumerate(metrics)
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mediator", action="append", required=True, help="a mediator name (repeatable)"
    )
    parser.add_argument("--suite", default="default", choices=sorted(SUITES))
    parser.add_argument("--out", default="reports/evaluation")
    parser.add_argument("--episodes", type=int, help="episodes per stratum (default: the suite's)")
    parser.add_argument(
        "--scenario", action="append", help="a scenario (repeatable; default: the suite's)"
    )
    parser.add_argument(
        "--population",
        action="append",
        help="a party population or a train.py checkpoint (repeatable; default: the suite's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="vector", choices=rollout.BACKENDS)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--exploit",
        type=int,
        metavar="STEPS",
        help="also train a best response per deviator rank (STEPS PPO steps each) against "
        "every mediator on every mediated scenario, first population (negenv.exploit)",
    )
    llm = parser.add_argument_group(
        "language models (llm:<model>@<base_url> names; docs/llm.md)",
        "each sets the NEGENV_LLM_* variable of the same name for agents.llm",
    )
    llm.add_argument("--llm-cache", metavar="DIR", help="answers cached on disk by request")
    llm.add_argument("--llm-retries", type=int, metavar="N", help="tries after a failed answer")
    llm.add_argument("--llm-concurrency", type=int, metavar="N", help="requests in flight")
    llm.add_argument("--llm-transcripts", metavar="DIR", help="write each model's decisions")
    args = parser.parse_args(argv)
    for flag in ("cache", "retries", "concurrency", "transcripts"):
        value = getattr(args, f"llm_{flag}")
        if value is not None:
            os.environ[f"NEGENV_LLM_{flag.upper()}"] = str(value)
    if args.exploit is not None and args.exploit < 1:
        parser.error(f"--exploit = {args.exploit} is invalid: must be >= 1 (training steps)")
    st = suite(args.suite)
    if args.episodes is not None:
        if args.episodes < 1:
            parser.error(f"--episodes = {args.episodes} is invalid: must be >= 1")
        st = Suite(st.scenarios, args.episodes, st.populations)
    if args.scenario:
        st = Suite(tuple(args.scenario), st.episodes, st.populations)
    if args.population:
        st = Suite(st.scenarios, st.episodes, tuple(args.population))
    for sc in st.scenarios:  # a bad scenario fails here, before any episode is played
        load(sc)
    check_out(Path(args.out))
    rows, summary = evaluate(
        args.mediator, st, not args.no_progress, backend=args.backend, seed=args.seed
    )
    if args.exploit:
        summary["exploitability"] = exploit_family(args.mediator, st, args.exploit)
    write_report(Path(args.out), rows, summary)
    print(scorecard(summary))
    print(f"report written to {args.out}/")


def exploit_family(mediators: list[str], st: Suite, steps: int) -> dict[str, Any]:
    """negenv.exploit for every mediator on every mediated scenario of the suite, against the
    suite's first population, scored on its episode count (at least 2)."""
    from negenv.exploit import Budget, exploitability

    out: dict[str, Any] = {}
    for mediator in mediators:
        for name in st.scenarios:
            sc = load(name)
            if sc.mediated:
                res = exploitability(
                    mediator,
                    st.populations[0],
                    sc,
                    budget=Budget(steps=steps),
                    episodes=max(2, st.episodes),
                )
                out.setdefault(mediator, {})[sc.name] = res
    return out


def check_out(out: Path) -> None:
    """Fail before any evaluation if ``--out`` cannot take the report."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".negenv-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(
            f"--out = {str(out)!r} is invalid: the report needs a writable folder ({err.strerror})"
        ) from None


if __name__ == "__main__":
    from negenv import cli

    cli.run(main, prog="python -m negenv.evaluate")
