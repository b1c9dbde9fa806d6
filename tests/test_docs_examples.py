"""Every ```python block of README.md, docs/llm.md and docs/integrations/*.md runs, page by
page, in a fresh interpreter (``py`` blocks are shown but not run: they need a cluster).
The BenchMARL page runs in the venv ``.ci/benchmarl-venv`` builds (CI builds it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "integrations"
BENCHMARL_PYTHON = ROOT / ".venv-benchmarl" / "bin" / "python"  # built by .ci/benchmarl-venv
PAGES = [ROOT / "README.md", ROOT / "docs" / "llm.md", *sorted(DOCS.glob("*.md"))]


def blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_every_page_has_an_example():
    assert {p.stem for p in PAGES} >= {"README", "llm", "rllib", "torchrl", "sb3", "benchmarl"}
    for page in PAGES:  # ``py`` blocks (shown, not run) where CI lacks what they need
        shown = re.findall(r"^```py\n", page.read_text(), flags=re.M)
        assert blocks(page) or shown, page.name


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page, tmp_path):
    code = "\n".join(blocks(page))
    if page.stem == "rllib":
        pytest.importorskip("ray", reason="needs the rllib extra")
    python = sys.executable
    if page.stem == "benchmarl":  # BenchMARL pins an older TorchRL: its own venv
        if not BENCHMARL_PYTHON.exists():
            pytest.skip("run `bash .ci/benchmarl-venv` first (.ci/run does)")
        python = str(BENCHMARL_PYTHON)
    script = tmp_path / f"example_{page.stem}.py"  # not torchrl.py: it would shadow torchrl
    script.write_text(code)
    done = subprocess.run(
        [python, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
