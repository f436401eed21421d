#!/usr/bin/env bash
# Download, here (where PyPI is reachable), the wheels scripts/gpu_check.sh may need on a GPU machine
# that has no network: exllamav2 and the JIT build's ninja, the converter's pandas and fastparquet,
# and vibe's own pure-Python dependencies. gpu_check.sh installs only those whose modules the GPU
# image lacks, so carrying one too many is harmless. A prebuilt extension (scripts/prebuild_exl2_ext.sh)
# goes beside them as .whl/exllamav2_ext.so.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${GPU_PYTHON:-3.12}" --implementation cp \
    "${platforms[@]}" -d .whl \
    exllamav2==0.3.2 ninja \
    pandas python-dateutil six pytz tzdata fastparquet cramjam fsspec \
    "typer<0.29" click shellingham rich markdown-it-py mdurl pygments pyyaml \
    prompt_toolkit wcwidth sympy mpmath pylatexenc==2.11 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2
du -ch .whl/* | tail -1
ls -1 .whl
