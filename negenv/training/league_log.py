"""What a league writes as it goes: ``league.csv``, TensorBoard, ``league.png`` and the
markdown summary ``train.py --league`` prints (:mod:`negenv.training.league`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from negenv.training.runlog import write_text


class LeagueLog:
    """league.csv, TensorBoard and league.png of the per-iteration entries."""

    def __init__(self, root: Path, history: list[dict[str, Any]]):
        self.root, self.history = root, list(history)
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional: the CSV holds the same numbers
            pass
        else:
            self.writer = SummaryWriter(str(root / "tb"), purge_step=len(history) + 1)

    def log(self, entry: dict[str, Any]) -> None:
        self.history.append(entry)
        if self.writer is not None:
            for k, v in entry.items():
                if isinstance(v, float):
                    self.writer.add_scalar(k, v, entry["iteration"])
        buf = io.StringIO()
        keys = [k for k in self.history[0] if not k.endswith("_weights")]
        w = csv.writer(buf)
        w.writerow([*keys, "mediator_weights", "party_weights"])
        for e in self.history:
            w.writerow(
                [
                    *(e[k] for k in keys),
                    " ".join(f"{x:.4f}" for x in e["mediator_weights"]),
                    " ".join(f"{x:.4f}" for x in e["party_weights"]),
                ]
            )
        write_text(self.root / "league.csv", buf.getvalue())

    def plot(self, state: dict[str, Any]) -> None:
        """league.png: each role's exploitability per iteration, and the final mixtures."""
        if not self.history:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), width_ratios=(1.2, 1, 1))
        its = [e["iteration"] for e in self.history]
        ax = axes[0]
        for key, label, style in (
            ("mediator", "mediator's mixture", "o-"),
            ("parties", "parties' mixture", "o-"),
            ("nash_conv", "NashConv (positive parts)", "s--"),
        ):
            ys = [e[f"exploitability/{key}"] for e in self.history]
            ax.plot(its, ys, style, label=label, mfc="none" if key == "nash_conv" else None)
        if all("meta/nash_conv" in e for e in self.history):  # leagues made before it lack it
            ys = [e["meta/nash_conv"] for e in self.history]
            ax.plot(its, ys, "x:", color="k", label="solver's NashConv on the table")
        ax.axhline(0, color="k", lw=0.6)
        ax.set(
            xlabel="iteration",
            ylabel="gain of the new response",
            title="exploitability of the meta-strategies",
        )
        ax.set_xticks(its)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fin = state["final"]
        for ax, key, names, title in (
            (axes[1], "mediator_weights", state["mediators"], "final mediator mixture"),
            (axes[2], "party_weights", state["populations"], "final party mixture"),
        ):
            ax.bar(range(len(names)), fin[key], color="C0" if key[0] == "m" else "C1")
            ax.set_xticks(
                range(len(names)), [_short(n) for n in names], rotation=35, ha="right", fontsize=7
            )
            ax.set(ylabel="weight", ylim=(0, 1), title=title)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        write_text(self.root / "league.png", buf.getvalue())

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _short(name: str) -> str:
    return Path(name).parent.name if name.endswith(".pt") else name


def summary(state: dict[str, Any]) -> str:
    """The league as markdown: per iteration the exploitability of each role's mixture, then
    the final tables with the final mixtures' weights."""
    lines = [
        "| iteration | mediators | populations | mediator mixture's exploitability | "
        "parties' mixture's exploitability | NashConv | solver's NashConv on the table |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in state["history"]:
        k = e["iteration"]
        lines.append(
            f"| {k} | {len(state['config']['mediators']) + k - 1} | "
            f"{len(state['config']['populations']) + k - 1} | "
            f"{e['exploitability/mediator']:+.4f} | {e['exploitability/parties']:+.4f} | "
            f"{e['exploitability/nash_conv']:.4f} | {e.get('meta/nash_conv', float('nan')):.5f} |"
        )
    fin = state.get("final")
    a, b = np.array(state["A"]), np.array(state["B"])
    head = [_short(n) for n in state["populations"]]
    lines += [
        "",
        "Payoffs (mediator objective / parties' mean utility); weights of the final "
        "mixtures in brackets:",
        "",
        "| mediator | "
        + " | ".join(
            f"{h} [{w:.2f}]"
            for h, w in zip(head, fin["party_weights"] if fin else [float("nan")] * len(head))
        )
        + " |",
        "|---|" + "---|" * len(head),
    ]
    for i, m in enumerate(state["mediators"]):
        w = fin["mediator_weights"][i] if fin else float("nan")
        cells = " | ".join(f"{a[i, j]:.3f} / {b[i, j]:.3f}" for j in range(len(head)))
        lines.append(f"| {_short(m)} [{w:.2f}] | {cells} |")
    if fin and "meta/nash_conv" in fin:
        lines += [
            "",
            f"NashConv of the final mixtures on these tables: {fin['meta/nash_conv']:.5f}",
        ]
    return "\n".join(lines)
