"""What a training run leaves behind: CSV and TensorBoard logs, a learning curve, metadata.

The history (one dict of numbers per update) is kept in memory and in every checkpoint, so a
resumed run rewrites the CSV from the checkpoint and TensorBoard drops the events written after
it (``purge_step``). Files are written atomically.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from negenv.atomic import write_atomic

VERSIONED = (
    "negenv",
    "torch",
    "numpy",
    "gymnasium",
    "pettingzoo",
    "torchrl",
    "tensordict",
    "stable-baselines3",
    "sb3-contrib",
    "tyro",
)


def write_text(path: Path, data: bytes | str) -> None:
    """``data`` to ``path`` atomically."""
    raw = data.encode() if isinstance(data, str) else data
    write_atomic(path, lambda f: f.write(raw), binary=True)


def versions() -> dict[str, str]:
    """Python, the packages a run depends on, and the negenv commit (with ``-dirty`` when the
    working tree had uncommitted changes; absent outside a git checkout)."""
    out = {"python": platform.python_version()}
    commit = _git_commit()
    if commit:
        out["negenv_commit"] = commit
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _git_commit() -> str | None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout.strip()

        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


class RunLog:
    """CSV + TensorBoard (when installed) + learning-curve PNG of one run directory."""

    def __init__(self, run: Path, history: list[dict[str, float]], tensorboard: bool = True):
        self.run, self.history = run, list(history)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional: the CSV holds the same numbers
                pass
            else:
                purge = int(self.history[-1]["update"]) + 1 if self.history else None
                self.writer = SummaryWriter(str(run / "tb"), purge_step=purge)
        self._write_csv()

    def log(self, row: dict[str, float]) -> None:
        self.history.append(row)
        if self.writer is not None:
            step = int(row["steps"])
            for k, v in row.items():
                if k not in ("update", "steps"):
                    self.writer.add_scalar(k, v, step)
        self._write_csv()

    def _write_csv(self) -> None:
        if not self.history:
            return
        names = sorted({k for row in self.history for k in row}, key=_column_order)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=names)
        w.writeheader()
        w.writerows(self.history)
        write_text(self.run / "progress.csv", buf.getvalue())

    def curve(self, title: str, best_steps: float | None = None) -> Path | None:
        """learning_curve.png: one panel per role (the mediator's objective and the parties'
        utilities are on different scales), training returns smoothed over 10 updates and
        evaluation returns on unseen episodes, with the point ``best.pt`` was saved at."""
        if not self.history:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = {k for r in self.history for k in r if k.endswith("/return")}
        roles = [role for role in ("mediator", "party") if any(f"/{role}/" in k for k in keys)]
        fig, axes = plt.subplots(
            len(roles), 1, figsize=(7, 2.6 * len(roles) + 0.6), sharex=True, squeeze=False
        )
        steps = [r["steps"] for r in self.history]
        for ax, role in zip(axes[:, 0], roles):
            for key in sorted(k for k in keys if f"/{role}/" in k):
                pts = np.array([(r["steps"], r[key]) for r in self.history if key in r])
                if key.startswith("train"):  # updates alternate populations: smooth over 10
                    k = min(10, len(pts))
                    smooth = np.convolve(pts[:, 1], np.ones(k) / k, mode="valid")
                    ax.plot(pts[k - 1 :, 0], smooth, "-", label=f"train (mean of {k} updates)")
                else:
                    ax.plot(pts[:, 0], pts[:, 1], "o-", label="evaluation", markersize=3)
                    best = [p for p in pts if best_steps is not None and p[0] == best_steps]
                    if best and key.startswith("eval"):
                        ax.plot(*best[0], "*", ms=14, color="gold", mec="k", label="best.pt")
            ax.set_ylabel(f"{role} return")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="best")
        axes[-1, 0].set_xlabel("environment steps")
        axes[-1, 0].set_xlim(0, max(steps))
        axes[0, 0].set_title(title, fontsize=10)
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        path = self.run / "learning_curve.png"
        write_text(path, buf.getvalue())
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _column_order(name: str) -> tuple[int, str]:
    first = {"update": 0, "steps": 1}
    return (first.get(name, 2 if name.startswith("train") else 3), name)


def save_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True))
