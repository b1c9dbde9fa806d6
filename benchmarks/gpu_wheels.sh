#!/usr/bin/env bash
# Fill ./.wheels (ignored by git) with what benchmarks/gpu.sh needs beyond an image that
# already holds torch, numpy, scipy, pyyaml, tqdm, rich, matplotlib, pandas, cloudpickle and
# tensorboard: run it here, where the package index is reachable, then carry .wheels to the
# GPU machine. PYVER is that machine's Python (3.12 on the lent machines).
set -euo pipefail
cd "$(dirname "$0")/.."
pyver=${PYVER:-3.12}
python -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 -d .wheels \
    "gymnasium>=1.0,<2" "pettingzoo>=1.24.3,<2" farama-notifications "array-api-compat>=1.9" \
    "torchrl>=0.14,<0.15" "tensordict>=0.14,<0.15" pyvers orjson importlib-metadata zipp \
    stable-baselines3==2.9.2 sb3-contrib==2.9.2 "tyro>=0.9" docstring-parser shtab typeguard \
    typing-extensions
ls .wheels
