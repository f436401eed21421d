"""Fake `python -m exllamav2.conversion.convert_exl2`: the real one's arguments, job file,
stages, `-so` status lines and `-cf` output layout, with no GPU work.

A job in the work directory (`job_new.json`) resumes at its recorded stage, as the real one
does. `FAKE_CONVERT_FAIL_AT=STAGE` makes it exit 1 when it reaches STAGE (an interruption).
Every stage it runs is appended to `stages.log` in the work directory.
"""

import argparse
import json
import os
import shutil
import struct
import sys
from pathlib import Path

STAGES = ["begin", "initial_embeddings", "measure_quant", "optimize", "tokens_cal", "embeddings", "quant", "compile"]

parser = argparse.ArgumentParser()
parser.add_argument("-i", "--in_dir", default="")
parser.add_argument("-o", "--out_dir")
parser.add_argument("-nr", "--no_resume", action="store_true")
parser.add_argument("-cf", "--compile_full")
parser.add_argument("-b", "--bits", type=float, default=4.125)
parser.add_argument("-hb", "--head_bits", type=int, default=6)
parser.add_argument("-so", "--status_output", action="store_true")
args = parser.parse_args()

if not args.out_dir:
    print(" ## Please specify output/working directory (-o, --out_dir)")
    sys.exit()
work = Path(args.out_dir)
work.mkdir(parents=True, exist_ok=True)
job_file = work / "job_new.json"
if job_file.exists() and not args.no_resume:
    print(" -- Resuming job")
    job = json.loads(job_file.read_text())
else:
    print(" -- Beginning new job")
    job = {
        "in_dir": args.in_dir,
        "out_dir": args.out_dir,
        "bits": args.bits,
        "head_bits": args.head_bits,
        "compile_full": args.compile_full,
        "progress": "begin",
    }
job["status_output"] = args.status_output


def save() -> None:
    job_file.write_text(json.dumps(job, indent=4))


def status(stage: str, done: int, total: int) -> None:
    if job["status_output"]:
        print("[STATUS]" + json.dumps({"stage": stage, "completion": round(done / total, 4)}) + "[/STATUS]", flush=True)


for index, stage in enumerate(STAGES):
    if STAGES.index(job["progress"]) > index:
        continue
    if os.environ.get("FAKE_CONVERT_FAIL_AT") == stage:
        print("Process interrupted. Exiting gracefully.")
        save()
        sys.exit(1)
    with (work / "stages.log").open("a") as log:
        log.write(stage + "\n")
    print(f" -- {stage}...")
    status(stage, index + 1, len(STAGES))
    job["progress"] = STAGES[index + 1] if index + 1 < len(STAGES) else "finished"
    save()

out = Path(job["compile_full"])
out.mkdir(parents=True, exist_ok=True)
source = Path(job["in_dir"])
for item in source.iterdir():  # every non-tensor file, as compile.py copies them
    if item.is_file() and item.suffix != ".safetensors":
        shutil.copy(item, out / item.name)
header = json.dumps(
    {"model.layers.0.mlp.down_proj.q_weight": {"dtype": "I32", "shape": [1, 1], "data_offsets": [0, 4]}}
)
(out / "output.safetensors").write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 4)
config = json.loads((out / "config.json").read_text())
config["quantization_config"] = {
    "quant_method": "exl2",
    "version": "0.3.2",
    "bits": job["bits"],
    "head_bits": job["head_bits"],
    "calibration": {"rows": 100, "length": 2048},
}
(out / "config.json").write_text(json.dumps(config, indent=2))
print(" -- Finished")
