"""Fake `python -m exllamav2.conversion.convert_exl2`: the real one's arguments, job file, resume
rules, stages, `-so` status lines, `## ` error lines and `-cf` output layout, with no GPU work.

As in the real one (conversion/convert_exl2.py of 0.3.2):
- a `job_new.json` in the work directory is resumed, and its settings override the new
  arguments (`-i`, `-cf`, `-b`, `-hb`…); only `-o` and `-so` come from the command line;
- a finished job prints "Job is already finished" and exits 0 without writing anything;
- errors print a ` ## ` line and exit 0;
- status lines go out with plain `print`: block-buffered through a pipe unless PYTHONUNBUFFERED.

Test hooks: `FAKE_CONVERT_FAIL_AT=STAGE` exits 1 when it reaches STAGE (an interruption);
`FAKE_CONVERT_HANDSHAKE=FILE` makes it wait, after its first status line, until FILE exists (the
reader saw the line) and exit 1 after 10 s. Every stage run is appended to `stages.log` in the
work directory, and the config.json the converter read to `seen_config.json`.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

STAGES = ["begin", "initial_embeddings", "measure_quant", "optimize", "tokens_cal", "embeddings", "quant", "compile"]
STATUS_NAMES = {"begin": "Tokenizing (1)", "initial_embeddings": "Embeddings", "measure_quant": "Measuring",
                "optimize": "Optimizing", "tokens_cal": "Tokenizing (2)", "embeddings": "Embeddings",
                "quant": "Quantizing", "compile": "Compiling"}  # fmt: skip

parser = argparse.ArgumentParser()
parser.add_argument("-i", "--in_dir", default="")
parser.add_argument("-o", "--out_dir")
parser.add_argument("-nr", "--no_resume", action="store_true")
parser.add_argument("-cf", "--compile_full")
parser.add_argument("-b", "--bits", type=float, default=4.125)
parser.add_argument("-hb", "--head_bits", type=int, default=6)
parser.add_argument("-r", "--dataset_rows", type=int, default=100)
parser.add_argument("-mr", "--measurement_rows", type=int, default=16)
parser.add_argument("-l", "--length", type=int, default=2048)
parser.add_argument("-ml", "--measurement_length", type=int, default=2048)
parser.add_argument("-so", "--status_output", action="store_true")
args = parser.parse_args()

if not args.out_dir:
    print(" ## Please specify output/working directory (-o, --out_dir)")
    sys.exit()
if args.head_bits not in (2, 3, 4, 5, 6, 8):
    print(f" ## Error: {args.head_bits} is not a supported option for head layer bitrate")
    sys.exit()
work = Path(args.out_dir)
work.mkdir(parents=True, exist_ok=True)
job_file = work / "job_new.json"
if args.no_resume or not job_file.exists():
    print(" -- Beginning new job")
    if args.no_resume:
        for item in work.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
job = {"in_dir": args.in_dir, "out_dir": args.out_dir, "bits": args.bits, "head_bits": args.head_bits,
       "dataset_rows": args.dataset_rows, "measurement_rows": args.measurement_rows, "length": args.length,
       "measurement_length": args.measurement_length, "compile_full": args.compile_full,
       "progress": "begin"}  # fmt: skip
if not args.no_resume and job_file.exists():
    print(" -- Resuming job")
    if args.in_dir:
        print(" !! Note: Overriding options with settings from existing job")
    resumed = json.loads(job_file.read_text())
    del resumed["out_dir"]
    job.update(resumed)
    if job["progress"] == "finished":
        print(" !! Job is already finished. Clear the working directory, or run this script with -nr/--no_resume "
              "to clear it automatically.")  # fmt: skip
        sys.exit()
job["status_output"] = args.status_output
(work / "out_tensor").mkdir(exist_ok=True)
(work / "seen_config.json").write_text((Path(job["in_dir"]) / "config.json").read_text())


def save() -> None:
    job_file.write_text(json.dumps(job, indent=4))


def status(stage: str, done: int, total: int) -> None:
    if job["status_output"]:
        print("[STATUS]" + json.dumps({"stage": stage, "completion": round(done / total, 4)}) + "[/STATUS]")


def wait_for_reader() -> None:
    handshake = os.environ.get("FAKE_CONVERT_HANDSHAKE")
    deadline = time.monotonic() + 10
    while handshake and not Path(handshake).exists():
        if time.monotonic() > deadline:
            print(" ## Nobody read the status line (stdout is buffered?)")
            sys.exit(1)
        time.sleep(0.05)


save()
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
    status(STATUS_NAMES[stage], index + 1, len(STAGES))
    if index == 0:
        wait_for_reader()
    if stage == "embeddings":
        (work / "hidden_states.safetensors").write_bytes(b"\0" * 64)
    if stage == "quant":
        (work / "out_tensor" / "model.layers.0.mlp.down_proj.safetensors").write_bytes(b"\0" * 64)
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
    "calibration": {"rows": job["dataset_rows"], "length": job["length"], "dataset": "(default)"},
}
(out / "config.json").write_text(json.dumps(config, indent=4))
print(" -- Finished")
