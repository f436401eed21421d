#!/usr/bin/env bash
# The exl2 engine's GPU check, as one command that ends inside 9 minutes (see scripts/gpu_check.py).
#
#   scripts/fetch_gpu_wheels.sh                  # first, where PyPI is reachable: wheels into .whl/
#   scripts/prebuild_exl2_ext.sh                 # optional: the CUDA extension, built ahead (.whl/)
#   scripts/gpu_check.sh [OUT_DIR]               # then on the GPU machine, .whl/ carried along
#   scripts/gpu_check.sh --fake [OUT_DIR]        # every step on CPU against tests/fake_exllamav2 (CI)
#
# On the GPU it installs the carried wheels that the machine lacks (--no-deps, into /tmp/vibe-site),
# puts a carried prebuilt extension in place when it imports with this torch, and runs
# scripts/gpu_check.py with TORCH_CUDA_ARCH_LIST set to the GPU's and MAX_JOBS to the cores, so a
# JIT build of the extension (its own step, timed, its log kept on failure) uses every core.
# Results: OUT_DIR/gpu_check.json (summary) and OUT_DIR/steps/NN-step.json (one per step).
set -uo pipefail
cd "$(dirname "$0")/.."
fake=()
if [ "${1:-}" = "--fake" ]; then fake=(--fake); shift; fi
out="${1:-${OUT:-gpu-check-out}}"
mkdir -p "$out"
limit=530  # seconds for everything below; the Python side keeps its own budget inside it
started=$SECONDS
export PYTHONUNBUFFERED=1
if [ ${#fake[@]} -eq 0 ]; then
    site=/tmp/vibe-site
    mkdir -p "$site"
    # Install only what the image lacks: a carried wheel never shadows the image's own packages.
    python3 - "$site" >"$out/wheels.log" 2>&1 <<'PY'
import importlib.util, subprocess, sys, zipfile
from pathlib import Path
site, missing = sys.argv[1], []
for wheel in sorted(Path(".whl").glob("*.whl")):
    names = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    tops = {n.removesuffix(".py") for n in names if not n.endswith((".dist-info", ".data"))}
    if not any(importlib.util.find_spec(t) for t in tops if t.isidentifier()):
        missing.append(str(wheel))
print("installing:", *missing or ["nothing"])
if missing:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--target", site, *missing], check=True)
PY
    if [ $? -ne 0 ]; then
        echo '{"ok": false, "error": "installing the carried wheels failed: see wheels.log"}' >"$out/gpu_check.json"
        exit 1
    fi
    export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PATH="$PATH:$site/bin"  # ninja, for the JIT build
    # A prebuilt extension (scripts/prebuild_exl2_ext.sh) is used only if it loads with this torch;
    # otherwise exllamav2 would stop on it ("undefined symbol") instead of building its own.
    for prebuilt in .whl/exllamav2_ext*.so.gz .whl/exllamav2_ext*.so; do
        [ -f "$prebuilt" ] || continue
        case "$prebuilt" in
            *.gz) gunzip -c "$prebuilt" >"$site/exllamav2_ext.so" ;;
            *) cp "$prebuilt" "$site/exllamav2_ext.so" ;;
        esac
        if python3 -c 'import torch, exllamav2_ext' >"$out/prebuilt.log" 2>&1; then
            echo "using the prebuilt extension $prebuilt" >>"$out/prebuilt.log"
        else
            rm -f "$site/exllamav2_ext.so"
            echo "the prebuilt extension $prebuilt does not load here: building instead" >>"$out/prebuilt.log"
        fi
        break
    done
    arch=$(python3 -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())' 2>/dev/null || echo 9.0)
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}" MAX_JOBS="${MAX_JOBS:-$(nproc)}"
    export TORCH_EXTENSIONS_DIR="${TORCH_EXTENSIONS_DIR:-/tmp/torch_extensions}"
    nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    export CUDA_HOME="${CUDA_HOME:-$(dirname "$(dirname "$nvcc_path")")}"
else
    export PYTHONPATH="$PWD/tests/fake_exllamav2:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
remaining=$((limit - (SECONDS - started)))
export VIBE_GPU_CHECK_BUDGET_S="${VIBE_GPU_CHECK_BUDGET_S:-$((remaining - 10))}"
timeout "$remaining" python3 scripts/gpu_check.py "${fake[@]}" --out "$out" 2>&1 | tee "$out/gpu_check.log"
status=${PIPESTATUS[0]}
[ -f "$out/gpu_check.json" ] || echo "{\"ok\": false, \"error\": \"gpu_check.py ended with status $status\"}" >"$out/gpu_check.json"
exit "$status"
