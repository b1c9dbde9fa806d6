"""The command lines answer a user's mistake with one line naming it and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture
def bad_yaml(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nmax_rounds: [1, 2\n")
    return path


def test_evaluate_names_the_yaml_line_before_playing(bad_yaml, tmp_path):
    done = cli("-m", "negenv.evaluate", "--mediator", "split", "--scenario", str(bad_yaml))
    line = one_error_line(done)
    assert f"{bad_yaml}:3:1: YAML syntax error" in line
    assert "episodes" not in done.stderr  # refused before the progress bar started


def test_evaluate_refuses_an_unknown_mediator_and_an_unwritable_out(tmp_path):
    line = one_error_line(cli("-m", "negenv.evaluate", "--mediator", "nope"))
    assert "unknown mediator 'nope'; known: random, split" in line
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    done = cli("-m", "negenv.evaluate", "--mediator", "split", "--out", str(blocker / "x"))
    assert f"--out = '{blocker / 'x'}' is invalid: the report needs a writable folder" in (
        one_error_line(done)
    )
    assert "episodes" not in done.stderr


def test_train_names_the_config_line_and_a_bad_value(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("learn: mediator\nscenario: multilateral_5\n  steps: 3\n")
    line = one_error_line(cli(str(ROOT / "train.py"), "--config", str(cfg)))
    assert f"{cfg}:3:8: YAML syntax error: mapping values are not allowed here" in line
    line = one_error_line(cli(str(ROOT / "train.py"), "--total-steps", "0"))
    assert "total_steps = 0 is invalid: must be an int >= 1" in line


def test_a_traceback_on_request(bad_yaml):
    import os

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "negenv.evaluate",
            "--mediator",
            "split",
            "--scenario",
            str(bad_yaml),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "NEGENV_TRACEBACK": "1"},
    )
    assert done.returncode != 0 and "Traceback" in done.stderr
