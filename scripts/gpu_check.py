"""The exl2 engine on a real NVIDIA GPU, in one run; every step writes its own JSON result.

Steps (a failure in one does not stop the next; each is skipped when too little time is left):
- environment: Python, torch, CUDA, the GPU, flash-attn, and `vibe doctor`'s report.
- build: `import exllamav2` in a child process, timed: it JIT-compiles the CUDA extension (or
  loads a prebuilt one). Its log is kept in OUT/build.log when it fails.
- greedy_match: the demo model in fp16, greedy, in the exl2 and the transformers engines on the
  same GPU: the tokens must agree (a late fp16 divergence is tolerated, an early one is not).
- rope_theta: the same with RoPE base 1e6 given only as transformers 5's `rope_parameters`.
- thinking_budget: `--think-budget` through exl2: the forced continuation reuses the cached
  prefix (`cached_tokens` > 0).
- batch_cancel: several requests in one continuous batch, one cancelled; the others match their
  one-by-one output.
- paged: paged mode (concurrent rows), only when flash-attn >= 2.5.7 imports; skipped otherwise.
- caches: the fp16, q8, q6 and q4 KV caches on a random model with VibeThinker-1.5B's shapes.
- quantize: a random model with VibeThinker-1.5B's layer shapes (fewer layers) quantized to EXL2
  4.0 bpw by vibe's quantizer (ExLlamaV2's converter), then loaded and decoded.
- speed: batch-1 decode tokens/s of EXL2 4.0 bpw, fp16 exl2 and transformers on the same
  shapes, and each decode's achieved memory bandwidth (weight and KV bytes read per token x
  tokens/s) as a share of the GPU's measured copy bandwidth.
- transformers_compile: the transformers engine's static cache and compiled decode against its
  growing cache and against `generate` (dynamic, and static with its own compile), batch-1
  tokens/s on VibeThinker-1.5B's shapes (see gpu_check_transformers.py).

Run it with scripts/gpu_check.sh (which installs the carried wheels first); `--fake` runs every
step on CPU against tests/fake_exllamav2 (see gpu_check_support.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpu_check_support import (
    ROOT,
    Mode,
    copy_bandwidth,
    first_divergence,
    fp16_copy,
    free,
    kv_bytes_per_position,
    random_qwen2,
    safetensors_bytes,
    weight_bytes_per_token,
)
from gpu_check_transformers import step_transformers_compile

BUDGET_S = float(os.environ.get("VIBE_GPU_CHECK_BUDGET_S", "520"))  # the whole check ends inside 9 minutes
STARTED = time.monotonic()
QUESTIONS = ["What is 48 + 37?", "Compute 123 * 45.", "Solve for x: 3x + 7 = 22.", "What is 905 - 387?"]
MIN_AGREE = 64  # greedy tokens that must agree before fp16 rounding may tip a near-tie
QUANT_LAYERS = int(os.environ.get("VIBE_GPU_CHECK_QUANT_LAYERS", "4"))  # of VibeThinker-1.5B's 28
CALIBRATION = ("-r", "16", "-mr", "4", "-l", "512", "-ml", "512")  # rows and lengths: a quick quant
THETA = 1000000.0


def left() -> float:
    return BUDGET_S - (time.monotonic() - STARTED)


@dataclass
class Check:
    mode: Mode
    out: Path
    work: Path
    made: dict[str, Any] = field(default_factory=dict)  # models and results later steps reuse

    def options(self, path: Path, format: str = "fp16", **extra: Any) -> Any:
        from vibecli.engine.backend import LoadOptions

        return LoadOptions(path=path, name=path.name, format=format, **extra)

    def exl2(self, path: Path, format: str = "fp16", **extra: Any) -> Any:
        from vibecli.engine import exl2_backend

        return exl2_backend.load(self.options(path, format, **{"context": 1024, "max_new_tokens": 256, **extra}))

    def transformers(self, path: Path) -> Any:
        from vibecli.engine import transformers_backend

        return transformers_backend.load(
            self.options(path, device=self.mode.torch_device, dtype=self.mode.transformers_dtype)
        )

    def demo_fp16(self) -> Path:
        if "demo_fp16" not in self.made:
            from vibecli.paths import demo_model_dir

            self.made["demo_fp16"] = fp16_copy(demo_model_dir(), self.work / "demo-fp16")
        return Path(self.made["demo_fp16"])

    def agreement(self, path: Path, reference: list[str], candidate: list[str]) -> dict[str, Any]:
        return agreement(path, reference, candidate)

    def vibethinker(self) -> Path:
        if "vibethinker" not in self.made:
            target = self.work / "vibethinker-1.5b-shapes"
            self.made["vibethinker"] = random_qwen2(target, self.mode, theta=THETA, **self.mode.vibethinker)
        return Path(self.made["vibethinker"])


def generate(backend: Any, question: str | None, tokens: int, prompt: str | None = None) -> Any:
    from vibecli.engine.types import GenerationRequest, Message, Sampling

    messages = (Message("user", question),) if question else ()
    request = GenerationRequest(messages=messages, prompt=prompt, sampling=Sampling(temperature=0),
                                max_new_tokens=tokens)  # fmt: skip
    return list(backend.stream(request))[-1]


def close(backend: Any) -> None:
    backend.close()
    free()


def agreement(path: Path, reference: list[str], candidate: list[str]) -> dict[str, Any]:
    """Token-level agreement of greedy outputs: each pair must agree for MIN_AGREE tokens (or entirely)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    rows = []
    for ref_text, text in zip(reference, candidate, strict=True):
        ref_ids, ids = (tokenizer(t, add_special_tokens=False)["input_ids"] for t in (ref_text, text))
        rows.append({"tokens": [len(ref_ids), len(ids)], "agree": first_divergence(ref_ids, ids),
                     "needed": min(MIN_AGREE, len(ref_ids), len(ids))})  # fmt: skip
    return {"ok": all(r["agree"] >= r["needed"] for r in rows), "identical": sum(a == b for a, b in
            zip(reference, candidate, strict=True)), "per_prompt": rows}  # fmt: skip


# -- the steps


def step_environment(check: Check) -> dict[str, Any]:
    import importlib.metadata

    import torch

    from vibecli.doctor import diagnose

    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    props = torch.cuda.get_device_properties(0)
    return {"fake": check.mode.fake, "python": sys.version.split()[0], "torch": torch.__version__,
            "cuda": torch.version.cuda, "gpu": props.name, "vram_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}", "flash_attn": version("flash-attn"),
            "exllamav2": version("exllamav2"), "transformers": version("transformers"), "cpus": os.cpu_count(),
            "env": {k: os.environ.get(k) for k in ("TORCH_CUDA_ARCH_LIST", "MAX_JOBS", "TORCH_EXTENSIONS_DIR",
                                                   "CUDA_HOME", "EXLLAMA_NO_FLASH_ATTN")},
            "doctor": diagnose().to_json()}  # fmt: skip


def step_build(check: Check) -> dict[str, Any]:
    """The extension's build (or load) alone, in a child process, with its output kept."""
    import importlib.util

    from vibecli.engine.exl2_runtime import import_exllamav2

    log = check.out / "build.log"
    prebuilt = importlib.util.find_spec("exllamav2_ext") is not None
    started = time.monotonic()
    code = "import exllamav2; print('exllamav2', exllamav2.__version__)"
    try:
        with log.open("w") as handle:
            built = subprocess.run([sys.executable, "-c", code], stdout=handle, stderr=subprocess.STDOUT,
                                   timeout=max(60.0, left() - 200)).returncode  # fmt: skip
    except subprocess.TimeoutExpired:
        built = None  # too slow to leave time for the rest: the log says how far it got
    result: dict[str, Any] = {"build_s": round(time.monotonic() - started, 1), "prebuilt_extension": prebuilt,
                              "exit_code": built}  # fmt: skip
    if built != 0:
        return {**result, "ok": False, "build_log": str(log), "log_tail": log.read_text(errors="replace")[-3000:]}
    log.unlink()
    module = import_exllamav2()
    import exllamav2.attn as attn

    return {**result, "version": module.__version__, "paged_attention": bool(attn.has_flash_attn_with_paged)}


def step_greedy_match(check: Check) -> dict[str, Any]:
    path = check.demo_fp16()
    reference = check.transformers(path)
    ref_texts = [generate(reference, q, 200).text for q in QUESTIONS]
    close(reference)
    check.mode.script(*[t + "<|im_end|>" for t in ref_texts])
    exl2 = check.exl2(path)
    texts = [generate(exl2, q, 200).text for q in QUESTIONS]
    close(exl2)
    check.made["solo"] = texts
    return {**agreement(path, ref_texts, texts), "exl2": texts, "transformers": ref_texts}


def step_rope_theta(check: Check) -> dict[str, Any]:
    from vibecli.paths import demo_model_dir

    path = fp16_copy(demo_model_dir(), check.work / "demo-theta-1e6", theta=THETA)
    config = json.loads((path / "config.json").read_text())
    reference = check.transformers(path)
    ref_texts = [generate(reference, q, 120).text for q in QUESTIONS[:2]]
    close(reference)
    check.mode.script(*[t + "<|im_end|>" for t in ref_texts])
    exl2 = check.exl2(path)
    base = float(exl2._parts.model.config.rotary_embedding_base)
    texts = [generate(exl2, q, 120).text for q in QUESTIONS[:2]]
    close(exl2)
    tokens = agreement(path, ref_texts, texts)
    return {**tokens, "ok": tokens["ok"] and base == THETA, "config_has_rope_theta": "rope_theta" in config,
            "exl2_rope_base": base, "exl2": texts, "transformers": ref_texts}  # fmt: skip


def step_thinking_budget(check: Check) -> dict[str, Any]:
    from vibecli.engine.types import Sampling
    from vibecli.prompting.templates import load_templates
    from vibecli.reasoning.controls import ThinkingControls
    from vibecli.reasoning.solve import SolveResult, build_request, select_template, solve_stream

    check.mode.script("<think>\nadd the units, then the tens\n</think>\n\\boxed{85}<|im_end|>", "\\boxed{85}<|im_end|>")
    backend = check.exl2(check.demo_fp16(), max_new_tokens=400)
    problem = QUESTIONS[0]
    template = select_template("auto", problem, load_templates())
    request = build_request(template, problem, sampling=Sampling(temperature=0), max_tokens=400)
    events = list(solve_stream(backend, template, problem, request=request,
                               controls=ThinkingControls(budget=16, loop_guard=None)))  # fmt: skip
    close(backend)
    result = events[-1]
    assert isinstance(result, SolveResult)
    trigger = result.controls.trigger if result.controls else None
    return {"ok": trigger == "budget" and result.cached_tokens > 0 and bool(result.answer), "trigger": trigger,
            "cached_tokens": result.cached_tokens, "prompt_tokens": result.prompt_tokens,
            "thinking_tokens": result.thinking_tokens, "answer": result.answer,
            "final_answer": result.final_answer}  # fmt: skip


def _batch(backend: Any, questions: list[str], cancel_row: int | None = None) -> tuple[dict[int, Any], int]:
    """Run `questions` through one continuous batch; returns each row's Finished and the most rows
    the generator ran at once."""
    import threading

    from vibecli.engine.types import Finished, GenerationRequest, Message, Sampling, TextDelta

    session = backend.open_batch(len(questions))
    cancels, done, most = {}, {}, 0
    try:
        for question in questions:
            cancel = threading.Event()
            request = GenerationRequest(messages=(Message("user", question),), sampling=Sampling(temperature=0),
                                        max_new_tokens=200)  # fmt: skip
            cancels[session.add(request, cancel)] = cancel
        handles = list(cancels)
        while session.active:
            for handle, item in session.step():
                if isinstance(item, TextDelta) and cancel_row is not None and handle == handles[cancel_row]:
                    cancels[handle].set()
                if isinstance(item, Finished):
                    done[handles.index(handle)] = item
            most = max(most, len(backend._parts.generator.active_jobs))
    finally:
        session.close()
    return done, most


def step_batch_cancel(check: Check) -> dict[str, Any]:
    path = check.demo_fp16()
    backend = check.exl2(path)
    solo = check.made.get("solo") or [generate(backend, q, 200).text for q in QUESTIONS]
    check.mode.script(*[text + "<|im_end|>" for text in [solo[0], "9" * 300, *solo[1:]]])  # jobs in order
    done, most = _batch(backend, [QUESTIONS[0], "Compute 999 * 99.", *QUESTIONS[1:]], cancel_row=1)
    close(backend)
    kept = [done[i].text for i in (0, 2, 3, 4)]
    tokens = agreement(path, solo, kept)
    return {**tokens, "ok": tokens["ok"] and done[1].reason == "cancelled", "cancelled_reason": done[1].reason,
            "cancelled_after_chars": len(done[1].text), "most_rows_at_once": most}  # fmt: skip


def step_paged(check: Check) -> dict[str, Any]:
    if not check.mode.paged_attention():
        return {"ok": None, "skipped": "flash-attn >= 2.5.7 does not import here: paged mode not exercised"}
    path = check.demo_fp16()
    solo = check.made.get("solo")
    if solo:
        check.mode.script(*[text + "<|im_end|>" for text in solo])
    try:
        backend = check.exl2(path)
        paged = bool(backend._parts.generator.paged)
        done, most = _batch(backend, QUESTIONS)
        close(backend)
    finally:
        check.mode.unpaged()
    texts = [done[i].text for i in range(len(QUESTIONS))]
    tokens = agreement(path, solo or texts, texts)
    return {**tokens, "ok": tokens["ok"] and paged and most > 1, "paged": paged, "most_rows_at_once": most}


def step_caches(check: Check) -> dict[str, Any]:
    started = time.monotonic()
    path = check.vibethinker()
    results: dict[str, Any] = {"shapes": check.mode.vibethinker, "model_build_s": round(time.monotonic() - started, 1)}
    prompt = "Find the remainder when 7 to the power 2024 is divided by 100. " * 4
    check.mode.script("")  # the fake: "." for ever, as a random model writes
    for cache in ("fp16", "q8", "q6", "q4"):
        backend = check.exl2(path, cache=cache, max_new_tokens=64)
        finished = generate(backend, None, 64, prompt=prompt)
        close(backend)
        results[cache] = {"reason": finished.reason, "generated_tokens": finished.stats.generated_tokens,
                          "decode_tokens_per_s": round(finished.stats.decode_tokens_per_s, 1),
                          "text": finished.text}  # fmt: skip
        if cache != "fp16":  # informational: random weights have near-ties that a quantized cache may tip
            results[cache]["chars_agreeing_with_fp16"] = first_divergence(list(results["fp16"]["text"]),
                                                                          list(finished.text))  # fmt: skip
    results["ok"] = all(results[c]["generated_tokens"] == 64 for c in ("fp16", "q8", "q6", "q4"))
    return results


def step_quantize(check: Check) -> dict[str, Any]:
    from vibecli.engine.formats import detect_format
    from vibecli.models.quantize import plan, run

    full = check.mode.vibethinker
    shape = {**full, "num_hidden_layers": min(QUANT_LAYERS, full["num_hidden_layers"])}
    source = random_qwen2(check.work / "vt-quant-fp16", check.mode, theta=THETA, **shape)
    output = check.work / "vt-quant-exl2-4.0bpw"
    os.environ["XDG_DATA_HOME"] = str(check.work / "data")
    stages: list[str] = []
    lines: list[str] = []
    job = plan(source, bits=4.0, head_bits=6, output=output, calibration=CALIBRATION)
    started = time.monotonic()
    try:
        run(job, on_status=lambda stage, done: stages.append(stage) if stage not in stages else None,
            on_line=lines.append)  # fmt: skip
    except Exception:
        (check.out / "quantize.log").write_text("\n".join(lines))
        raise
    config = json.loads((output / "config.json").read_text())
    sizes = safetensors_bytes(output)
    result: dict[str, Any] = {"shape": shape, "calibration": CALIBRATION,
                              "quantize_s": round(time.monotonic() - started, 1), "stages": stages,
                              "format": detect_format(output),
                              "quantization_config": config.get("quantization_config"),
                              "rope_theta": config.get("rope_theta"), "work_dir_removed": not job.work.exists(),
                              "output_mb": round(sum(sizes.values()) / 1e6, 1)}  # fmt: skip
    check.made["quant"] = (source, output, shape)
    check.mode.script("")  # the fake: "." for ever, as a random model writes
    backend = check.exl2(output, "exl2", max_new_tokens=64)
    finished = generate(backend, None, 32, prompt="The quick brown fox")
    close(backend)
    result.update(generated_tokens=finished.stats.generated_tokens, text=finished.text)
    result["ok"] = (result["format"] == "exl2" and result["rope_theta"] == THETA and result["work_dir_removed"]
                    and finished.stats.generated_tokens == 32)  # fmt: skip
    return result


def decode_speed(backend: Any, path: Path, shape: dict[str, int], tokens: int, copy_bps: float) -> dict[str, Any]:
    import torch

    prompt = "Find the remainder when 7 to the power 2024 is divided by 100. " * 4
    torch.cuda.reset_peak_memory_stats()
    generate(backend, None, 16, prompt=prompt)  # warm-up
    runs = [generate(backend, None, tokens, prompt=prompt) for _ in range(2)]
    best = max(runs, key=lambda f: f.stats.decode_tokens_per_s)
    rate = best.stats.decode_tokens_per_s
    average_context = best.stats.prompt_tokens + best.stats.generated_tokens / 2
    per_token = weight_bytes_per_token(path) + kv_bytes_per_position(shape) * average_context
    return {"decode_tokens_per_s": round(rate, 1), "generated_tokens": best.stats.generated_tokens,
            "bytes_per_token_mb": round(per_token / 1e6, 1), "achieved_gb_per_s": round(per_token * rate / 1e9, 1),
            "share_of_copy_bandwidth": round(per_token * rate / copy_bps, 3) if copy_bps else None,
            "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}  # fmt: skip


def step_speed(check: Check) -> dict[str, Any]:
    tokens = 16 if check.mode.fake else 256
    copy_bps = copy_bandwidth(check.mode)
    result: dict[str, Any] = {"batch": 1, "new_tokens": tokens, "copy_bandwidth_gb_per_s": round(copy_bps / 1e9, 1)}
    engines: list[tuple[str, Path, dict[str, int], Callable[[], Any]]] = []
    if "quant" in check.made:
        source, output, shape = check.made["quant"]
        check.mode.script("")
        engines += [("quant_shapes.exl2_4.0bpw", output, shape, lambda: check.exl2(output, "exl2")),
                    ("quant_shapes.exl2_fp16", source, shape, lambda: check.exl2(source)),
                    ("quant_shapes.transformers_fp16", source, shape, lambda: check.transformers(source))]  # fmt: skip
    full, shape = check.vibethinker(), check.mode.vibethinker
    engines += [("vibethinker_1.5b.exl2_fp16", full, shape, lambda: check.exl2(full)),
                ("vibethinker_1.5b.transformers_fp16", full, shape, lambda: check.transformers(full))]  # fmt: skip
    for name, path, shape, load in engines:
        if left() < 25:
            result[name] = {"skipped": f"only {left():.0f}s left"}
            continue
        backend = load()
        result[name] = decode_speed(backend, path, shape, tokens, copy_bps)
        close(backend)
    rates = {name: entry.get("decode_tokens_per_s") for name, entry in result.items() if isinstance(entry, dict)}
    result["ok"] = all(rate for rate in rates.values())
    return result


STEPS: list[tuple[str, Callable[[Check], dict[str, Any]], float]] = [
    ("environment", step_environment, 5),
    ("build", step_build, 60),
    ("greedy_match", step_greedy_match, 30),
    ("rope_theta", step_rope_theta, 20),
    ("thinking_budget", step_thinking_budget, 15),
    ("batch_cancel", step_batch_cancel, 15),
    ("paged", step_paged, 15),
    ("caches", step_caches, 45),
    ("quantize", step_quantize, 90),
    ("speed", step_speed, 40),
    ("transformers_compile", step_transformers_compile, 60),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu-check-out"), help="folder for the JSON results")
    parser.add_argument("--fake", action="store_true", help="every step on CPU against tests/fake_exllamav2")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    mode = Mode(args.fake)
    mode.install()
    # Models go outside OUT (gigabytes that must not travel back with the results).
    work = Path(os.environ.get("VIBE_GPU_CHECK_WORK") or tempfile.mkdtemp(prefix="vibe-gpu-check-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (args.out / "steps").mkdir(parents=True, exist_ok=True)
    check = Check(mode, args.out, work)
    summary: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "fake": args.fake, "steps": {}}
    for number, (name, step, needs_s) in enumerate(STEPS, 1):
        started = time.monotonic()
        if left() < needs_s:
            outcome: dict[str, Any] = {"ok": False, "skipped": f"only {left():.0f}s left"}
        elif name != "environment" and summary["steps"].get("build", {}).get("ok") is False:
            outcome = {"ok": False, "skipped": "the extension did not build"}
        else:
            print(f"== {name} ({left():.0f}s left)", file=sys.stderr, flush=True)
            try:
                outcome = step(check)
                outcome.setdefault("ok", True)
            except Exception as exc:  # one step's failure is a result, not the end of the check
                error = f"{type(exc).__name__}: {exc}"
                outcome = {"ok": False, "error": error, "traceback": traceback.format_exc()[-3000:]}
        outcome["seconds"] = round(time.monotonic() - started, 1)
        (args.out / "steps" / f"{number:02d}-{name}.json").write_text(json.dumps(outcome, indent=2))
        summary["steps"][name] = {"ok": outcome["ok"], "seconds": outcome["seconds"],
                                  **{k: outcome[k] for k in ("skipped", "error") if k in outcome}}  # fmt: skip
        (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2))
    summary["total_s"] = round(time.monotonic() - STARTED, 1)
    summary["ok"] = all(step["ok"] is not False for step in summary["steps"].values())
    (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({name: step["ok"] for name, step in summary["steps"].items()}), flush=True)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
