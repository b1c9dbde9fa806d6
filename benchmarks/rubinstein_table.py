"""The Rubinstein table: learned first-proposer share beside the exact subgame-perfect share
of the grid game and 1 / (1 + delta), with the responder's acceptance threshold, its
continuation value and the exact NashConv of the learned profile (negenv.alternating), from
``train.py --config configs/train/rubinstein.yaml`` runs.

    python benchmarks/rubinstein_table.py [--checkpoint last.pt] runs/rubinstein-0.5 ...

The learned policy plays both seats by its most likely legal option, as the evaluators play
it. The default checkpoint is the run's final policy, ``last.pt``: ``best.pt`` is chosen by
the parties' mean return, which every split agreed in the same round ties (it keeps the
first policy to agree in round 1, however it splits). The two SPE shares are the grid
game's two equilibria (an indifferent responder accepts, or rejects).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from agents import registry
from negenv.alternating import analyse, grid_spe
from negenv.training.config import from_saved


def row(run: Path, checkpoint: str) -> str:
    cfg = from_saved(yaml.safe_load((run / "config.yaml").read_text()))
    sc = cfg.load_scenario()
    import negenv

    shell = negenv.parallel_env(sc)
    seats = registry.population(str(run / checkpoint), shell)
    out = analyse(sc, [seats[p] for p in shell.parties])
    top = sc.proposal_levels - 1
    spe = [grid_spe(sc.discount, sc.proposal_levels, sc.max_rounds, tie)[1] / top for tie in (1, 0)]
    method = f"subgames {cfg.subgames}" if cfg.subgames else "plain PPO"
    method += {"ordinal": ", ordinal texts", "ego": ", ego view"}.get(cfg.party_actor, "")
    method += " keeping the seat" if cfg.ego_seat else ""
    method += f", backward {cfg.backward:g}" if cfg.backward else ""
    method += ", log precision" if cfg.log_precision else ""
    method += ", threshold votes" if cfg.threshold_votes else ""
    method += f", sample share {cfg.sample_share:g}" if cfg.sample_share < 1 else ""
    method += ", anneal" if cfg.anneal else ""
    method += f" (entropy to 0 at {cfg.entropy_end:g})" if cfg.entropy_end < 1 else ""
    method += ", round units" if cfg.round_units else ""
    method += f", {cfg.total_steps / 1e6:g}M steps, {cfg.num_envs} envs"
    return (
        f"| {sc.discount} | {method} | {out.first_share:.3f} | {spe[0]:.2f} / {spe[1]:.2f} | "
        f"{1 / (1 + sc.discount):.3f} | {out.agreed_round} | {out.threshold:.3f} | "
        f"{out.continuation:.3f} | {out.gains[0]:.4f} / {out.gains[1]:.4f} | {out.nash_conv:.4f} |"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--checkpoint", default="last.pt", help="last.pt or best.pt")
    args = parser.parse_args(argv)
    print(
        "| delta | method | learned first-proposer share | SPE share (grid) | 1/(1+delta) | "
        "agreed round | responder threshold | its continuation | gains (0 / 1) | NashConv |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        print(row(Path(run), args.checkpoint))


if __name__ == "__main__":
    main(sys.argv[1:])
