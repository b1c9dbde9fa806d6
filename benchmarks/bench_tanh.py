"""``torch.tanh`` beside :func:`agents.activations.tanh` (``2 sigmoid(2x) - 1``) over tensor
sizes, forward alone and forward with backward, on the CPU: where the identity pays
(``MIN_ELEMENTS``) and by how much.

    python benchmarks/bench_tanh.py [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.activations import MIN_ELEMENTS, _SigmoidTanh  # noqa: E402
from negenv.training import memory  # noqa: E402


def per_call(fn, repeats: int) -> float:
    fn()
    tick = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - tick) / repeats * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    memory.retain_freed_memory()  # as train.py: large temporaries reuse freed memory
    print(f"torch {torch.__version__}, {args.threads} thread(s); MIN_ELEMENTS = {MIN_ELEMENTS}")
    print(f"{'elements':>9}  {'tanh us':>9} {'identity':>9} {'ratio':>6}   fwd+bwd: {'tanh':>9}")
    for n in (1 << 10, 1 << 12, 1 << 14, 1 << 15, 1 << 16, 1 << 18, 1 << 21, 1 << 23):
        x, xg = torch.randn(n), torch.randn(n, requires_grad=True)
        repeats = max(10, (1 << 22) // n)
        plain = per_call(lambda x=x: torch.tanh(x), repeats)
        ident = per_call(lambda x=x: _SigmoidTanh.apply(x, False), repeats)
        plain_b = per_call(lambda x=xg: torch.tanh(x).sum().backward(), repeats)
        ident_b = per_call(lambda x=xg: _SigmoidTanh.apply(x, False).sum().backward(), repeats)
        print(
            f"{n:>9}  {plain:9.1f} {ident:9.1f} {plain / ident:5.2f}x   "
            f"{plain_b:9.1f} {ident_b:9.1f} {plain_b / ident_b:5.2f}x"
        )


if __name__ == "__main__":
    main()
