"""The Rubinstein table: learned first-proposer share against 1 / (1 + delta), from the
``party_report.json`` of ``train.py --config configs/train/rubinstein.yaml`` runs.

    python benchmarks/rubinstein_table.py runs/rubinstein-0.5 runs/rubinstein-0.8 ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def main(runs: list[str]) -> None:
    print("| delta | 1/(1+delta) | learned first-proposer share | agreed round | agreement |")
    print("|---|---|---|---|---|")
    for run in map(Path, runs):
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        delta = float(dict(o.split("=") for o in cfg["scenario_overrides"])["discount"])
        rep = json.loads((run / "party_report.json").read_text())["learned"]
        share = rep["agreement_text"][0] if rep["agreement_text"] else float("nan")
        rnd = rep["agreed_round"] if rep["agreed_round"] is not None else float("nan")
        agree = rep["agreement"]
        print(
            f"| {delta} | {1 / (1 + delta):.3f} | {share:.3f} | {rnd:.2f} | "
            f"{agree[0]:.3f} [{agree[1]:.3f}, {agree[2]:.3f}] |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
