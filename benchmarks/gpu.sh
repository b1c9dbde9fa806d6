#!/usr/bin/env bash
# The GPU figures in one run, for a machine with a CUDA device (tests and CI never need one):
# the batched env alone from 1k to 4M negotiations, eager and compiled, with its copy floor,
# the device's copy bandwidth and the roofline fraction; then the whole training loop at a
# large batch, eager and compiled, beside SB3 on the CPU. Figures go to $OUT (default
# reports/gpu), one text file per benchmark, with the versions first.
#
#   bash benchmarks/gpu.sh                      # on the GPU machine, from the repository root
#   DEVICE=cpu SIZES="256 1024" ENVS=1024 bash benchmarks/gpu.sh   # a dry run of the script
#
# A machine without negenv's dependencies installs them first from wheels in ./.wheels when
# that folder exists (benchmarks/gpu_wheels.sh fills it on a machine with the package index).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-reports/gpu}
device=${DEVICE:-cuda}
sizes=${SIZES:-1024 16384 262144 1048576 4194304}
envs=${ENVS:-65536}
py=${PYTHON:-python3}
mkdir -p "$out"
if [ -d .wheels ]; then
    "$py" -m pip install -q --no-index --no-deps .wheels/*.whl
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
"$py" - <<'EOF' | tee "$out/versions.txt"
import platform, torch
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
print(f"python {platform.python_version()}, torch {torch.__version__}, cuda {torch.version.cuda}, device {gpu}")
EOF
# shellcheck disable=SC2086  # sizes is a list
"$py" benchmarks/bench_vector.py --device "$device" --seconds 2 --sizes $sizes \
    --scenarios multilateral_5 lilliput | tee "$out/vector_eager.txt"
# shellcheck disable=SC2086
"$py" benchmarks/bench_vector.py --device "$device" --seconds 2 --sizes $sizes \
    --scenarios multilateral_5 --compile | tee "$out/vector_compiled.txt"
"$py" benchmarks/bench_train.py --device "$device" --torch-envs "$envs" --torch-threads 1 \
    --mediator-actor set --compile --updates 3 --repeats 1 | tee "$out/train.txt"
