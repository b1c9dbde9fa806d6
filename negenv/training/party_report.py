"""What learned parties do: defection, survival of agreements and fairness, beside the
scripted threshold parties under the same mediator, on episodes never used in training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from negenv import rollout
from negenv.evaluate import bootstrap_ci
from negenv.metrics import episode_metrics, survival
from negenv.training.config import TrainConfig
from negenv.training.runlog import save_json


def party_stats(records: dict[str, np.ndarray], sc) -> dict[str, Any]:
    """Defection rates, Kaplan-Meier survival and RMST, fairness, each with a 95% CI."""
    agreed = records["agreed_round"] >= 0
    defected = (records["first_violation"] >= 0)[agreed].astype(float)
    per_party = (records["defections_detected"] + records["defections_undetected"])[agreed]
    metrics = episode_metrics(records, sc)
    out: dict[str, Any] = {
        "episodes": int(len(agreed)),
        "agreement": bootstrap_ci([agreed.astype(float)]),
        "defected": bootstrap_ci([defected]) if agreed.any() else None,
        "defections_per_party_stage": float(per_party.sum() / max(1, per_party.size))
        / max(1, sc.implementation.n_stages),
        "completed": bootstrap_ci([(records["status"] == "completed").astype(float)]),
        "nash_welfare_ratio": bootstrap_ci([metrics["nash_welfare_ratio"]]),
        "party_return": bootstrap_ci([records["utility"].mean(axis=1)]),
        "agreed_round": float(records["agreed_round"][agreed].mean()) if agreed.any() else None,
        "agreement_text": records["agreement"][agreed].mean(axis=0).tolist()
        if agreed.any()
        else None,
        "utility_by_seat": records["utility"].mean(axis=0).tolist(),
        "survival": survival(records, sc),
    }
    if "mediator_utility" in records:
        out["mediator_return"] = bootstrap_ci([records["mediator_utility"]])
    return out


def party_report(cfg: TrainConfig, sc, run: Path) -> str:
    """Score ``run/best.pt``'s party policy at every seat and the threshold population, under
    the configured mediator, on ``scorecard_episodes`` episodes of ``test_seed``; writes
    ``run/party_report.json`` and returns a table."""
    import negenv
    from agents import registry

    shell = negenv.parallel_env(sc)
    report: dict[str, Any] = {"mediator": cfg.mediator if sc.mediated else None}
    for label, pop in (("learned", str(run / "best.pt")), ("threshold", "threshold")):
        policies = registry.population(pop, shell)
        if sc.mediated:
            policies["mediator"] = registry.mediator(cfg.mediator).build(shell)
        rec = rollout.run(sc, policies, cfg.scorecard_episodes, cfg.test_seed, dtype=torch.float32)
        report[label] = party_stats(rec, sc)
    save_json(run / "party_report.json", report)
    lines = [
        f"parties under mediator {report['mediator']} ({cfg.scorecard_episodes} episodes)",
        f"{'':10s} {'agree':>7s} {'defect':>7s} {'complete':>8s} {'RMST':>6s} {'NWR':>6s}",
    ]
    for label in ("learned", "threshold"):
        r = report[label]
        rm = r["survival"]["rmst"] if r["survival"] else float("nan")
        dfc = r["defected"][0] if r["defected"] else float("nan")
        lines.append(
            f"{label:10s} {r['agreement'][0]:7.3f} {dfc:7.3f} {r['completed'][0]:8.3f} "
            f"{rm:6.3f} {r['nash_welfare_ratio'][0]:6.3f}"
        )
    return "\n".join(lines)
