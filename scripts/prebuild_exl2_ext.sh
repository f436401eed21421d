#!/usr/bin/env bash
# Build exllamav2 0.3.2's CUDA extension ahead of time, on a machine with no GPU, for the GPU machine's
# stack: CPython 3.12, torch 2.11.0 with CUDA 13.0, sm_90 (H200). Everything comes from PyPI: torch's
# CUDA wheel brings the CUDA libraries and headers it was built against, nvidia-cuda-nvcc the compiler.
# The result, .whl/exllamav2_ext.so.gz, is what scripts/gpu_check.sh puts in place (when it loads with
# the GPU machine's torch) instead of spending GPU time on the JIT build.
#
#   scripts/prebuild_exl2_ext.sh     # on a shared machine: MAX_JOBS=1 under nice -n 19 (the defaults)
#
# Settings: PYTHON312 (the interpreter), TORCH_VERSION (2.11.0), CUDA_VERSION (13.0), TORCH_CUDA_ARCH_LIST
# (9.0), MAX_JOBS (1), PREBUILD_DIR (/tmp/vibe-exl2-prebuild: venv, CUDA tree, build directory, log).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/.whl
dir=${PREBUILD_DIR:-/tmp/vibe-exl2-prebuild}
python312=${PYTHON312:-$(pyenv prefix 3.12 2>/dev/null || true)/bin/python3.12}
torch_version=${TORCH_VERSION:-2.11.0}
cuda=${CUDA_VERSION:-13.0}
mkdir -p "$dir" "$out"
[ -x "$dir/venv/bin/python" ] || "$python312" -m venv "$dir/venv"
. "$dir/venv/bin/activate"
python -m pip install -q --upgrade pip
# nvcc's own parts must match it: an unpinned nvidia-nvvm (cicc) 13.5 writes PTX 9.5, which
# ptxas 13.0 refuses ("Unsupported .version 9.5").
python -m pip install -q "torch==$torch_version" "exllamav2==0.3.2" tokenizers ninja \
    "nvidia-cuda-nvcc==$cuda.*" "nvidia-nvvm==$cuda.*" "nvidia-cuda-crt==$cuda.*" "nvidia-cuda-cccl==$cuda.*"
python -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' | tee "$dir/stack.txt"
# One CUDA tree from the nvidia-* wheels (each ships bin/, include/, lib/ or all under cu13/).
site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cuda_home=$dir/cuda
rm -rf "$cuda_home"
mkdir -p "$cuda_home"
for part in "$site"/nvidia/*/; do
    for sub in bin include lib nvvm; do
        [ -d "$part$sub" ] && mkdir -p "$cuda_home/$sub" && cp -rsn "$part$sub/." "$cuda_home/$sub/"
    done
done
ln -sfn lib "$cuda_home/lib64"
for lib in "$cuda_home"/lib/libcudart.so.*; do ln -sfn "$(basename "$lib")" "$cuda_home/lib/libcudart.so"; break; done
export CUDA_HOME=$cuda_home PATH="$cuda_home/bin:$PATH"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-1}
export TORCH_EXTENSIONS_DIR=$dir/torch_extensions
nvcc --version | tail -2 | tee -a "$dir/stack.txt"
started=$(date +%s)
status=0
# `import exllamav2` builds the extension exactly as it would on the GPU machine (ext.py's JIT path).
nice -n "${NICE:-19}" python -c 'import exllamav2; print("built exllamav2", exllamav2.__version__)' \
    >"$dir/build.log" 2>&1 || status=$?
echo "build: exit $status after $(($(date +%s) - started)) s (MAX_JOBS=$MAX_JOBS)" | tee -a "$dir/stack.txt"
build=$TORCH_EXTENSIONS_DIR/exllamav2_ext
if [ -f "$build/.ninja_log" ]; then  # seconds per compiled source, slowest first
    awk 'NR > 1 { printf "%7.1f s  %s\n", ($2 - $1) / 1000, $4 }' "$build/.ninja_log" | sort -rn >"$dir/per_source.txt"
    head -5 "$dir/per_source.txt"
fi
if [ "$status" -ne 0 ]; then
    grep -m 20 -E "error|Error" "$dir/build.log" || tail -20 "$dir/build.log"
    exit "$status"
fi
gzip -9 -c "$build/exllamav2_ext.so" >"$out/exllamav2_ext.so.gz"
ls -la "$build/exllamav2_ext.so" "$out/exllamav2_ext.so.gz"
