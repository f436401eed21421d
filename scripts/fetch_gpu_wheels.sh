#!/usr/bin/env bash
# Download, here (where PyPI is reachable), the wheels scripts/gpu_check.sh installs on a GPU
# machine that has no network. The GPU image already has torch, transformers, tokenizers,
# safetensors, jinja2, rich, typer, pyyaml, sympy, pandas and ninja; these are what it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${GPU_PYTHON:-3.12}" --implementation cp \
    "${platforms[@]}" -d .whl \
    exllamav2==0.3.2 fastparquet cramjam \
    prompt_toolkit wcwidth pylatexenc==2.11 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2
ls -1 .whl
