#!/usr/bin/env bash
# The exl2 engine's GPU check, as one command on a machine with one NVIDIA GPU and no network.
#
#   scripts/fetch_gpu_wheels.sh          # first, where PyPI is reachable: wheels into .whl/
#   scripts/gpu_check.sh [OUT_DIR]       # then on the GPU machine (carry .whl along)
#
# It installs exllamav2 (--no-deps) and the other carried wheels, builds exllamav2's CUDA
# extension, and runs scripts/gpu_check.py, which writes OUT_DIR/gpu_check.json. It ends inside
# 9 minutes: each step checks the time left, and the whole run is cut off at 530 s.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-check-out}}"
mkdir -p "$out"
if ! python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/vibe-site .whl/*.whl; then
    echo '{"ok": false, "error": "installing the carried wheels failed (run scripts/fetch_gpu_wheels.sh first)"}' \
        >"$out/gpu_check.json"
    exit 1
fi
export PYTHONPATH="/tmp/vibe-site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# Build the kernels for this GPU only, on every core, somewhere writable.
TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$(python3 -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}"
export TORCH_CUDA_ARCH_LIST MAX_JOBS="${MAX_JOBS:-$(nproc)}" TORCH_EXTENSIONS_DIR="${TORCH_EXTENSIONS_DIR:-/tmp/torch_extensions}"
export CUDA_HOME="${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")}"
timeout 530 python3 scripts/gpu_check.py --out "$out/gpu_check.json" 2>&1 | tee "$out/gpu_check.log"
status=${PIPESTATUS[0]}
[ -f "$out/gpu_check.json" ] || echo "{\"ok\": false, \"error\": \"gpu_check.py ended with status $status\"}" >"$out/gpu_check.json"
exit "$status"
