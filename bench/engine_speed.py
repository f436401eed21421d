"""The transformers engine against transformers itself, on the same model object and rows.

    python bench/engine_speed.py [--model DIR] [--rounds 3] [--scenarios ttft,decode,batch4,batch16]

Scenarios (greedy; both sides must write the same tokens, and the bench says when they do not):
- `ttft`: one prompt of about `--prompt-tokens` tokens, time to the first new token: vibe's
  `stream` against `generate(max_new_tokens=1)`.
- `decode`: one row, `--new-tokens` tokens; tokens/s after the first token (a streamer stamps
  generate's first token).
- `batchN`: N different prompts admitted together, tokens/s of the whole batch: vibe's
  `run_many` against `generate` on the same rows left-padded (transformers' own batching of a
  fixed set of rows, the strongest baseline for it).
- `generate_batch`: the same N=16 rows against transformers' continuous-batching API, warmed.

Each round runs every side once, the order alternating between rounds; the first round is a
warm-up and is not counted. The report gives the median and the spread (min-max) of the rounds,
and the load average before and after, since a busy machine moves every number.
Default model: the bundled demo model; `scripts/build_random_model.py DIR` builds one with
VibeThinker-1.5B's layer shapes for realistic costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vibecli.demo.problems import unseen_problems
from vibecli.engine.backend import LoadOptions
from vibecli.engine.formats import detect_format
from vibecli.engine.transformers_backend import load
from vibecli.engine.types import Finished, GenerationRequest, Sampling, TextDelta
from vibecli.paths import demo_model_dir


@dataclass(frozen=True)
class Outcome:
    value: float  # the measure: seconds for ttft, tokens/s otherwise
    texts: tuple[str, ...]  # what each row wrote, to check both sides agree


Side = Callable[[], Outcome]


def request(prompt: str, new_tokens: int, request_id: str = "") -> GenerationRequest:
    greedy = Sampling(temperature=0)
    return GenerationRequest(prompt=prompt, sampling=greedy, max_new_tokens=new_tokens, request_id=request_id)


class Vibe:
    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def ttft(self, prompt: str) -> Outcome:
        start = time.perf_counter()
        for item in self.backend.stream(request(prompt, 1)):
            if isinstance(item, Finished):
                return Outcome(time.perf_counter() - start, (item.text,))
        raise RuntimeError("no Finished")

    def decode(self, prompt: str, new_tokens: int) -> Outcome:
        first, finished = None, None
        for item in self.backend.stream(request(prompt, new_tokens)):
            if isinstance(item, TextDelta) and first is None:
                first = time.perf_counter()
            if isinstance(item, Finished):
                finished = item
        assert finished is not None and first is not None
        rate = (finished.stats.generated_tokens - 1) / (time.perf_counter() - first)
        return Outcome(rate, (finished.text,))

    def batch(self, prompts: list[str], new_tokens: int) -> Outcome:
        requests = [request(p, new_tokens, str(index)) for index, p in enumerate(prompts)]
        start = time.perf_counter()
        done = list(self.backend.run_many(requests, max_batch=len(prompts)))
        seconds = time.perf_counter() - start
        texts = {c.request_id: c.finished.text for c in done}
        tokens = sum(c.finished.stats.generated_tokens for c in done)
        return Outcome(tokens / seconds, tuple(texts[str(i)] for i in range(len(prompts))))


class Transformers:
    """transformers' own generation on the very model object vibe's backend holds."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.model, self.tokenizer = backend, backend._model, backend._tokenizer
        self.stops = sorted(backend.stop_ids)

    def _generate(self, prompts: list[str], new_tokens: int, streamer: Any = None) -> tuple[list[list[int]], Any]:
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=new_tokens, do_sample=False, eos_token_id=self.stops,
                                      pad_token_id=self.tokenizer.pad_token_id, streamer=streamer)  # fmt: skip
        rows = []
        for ids in out[:, enc["input_ids"].shape[1] :].tolist():
            cut = next((i for i, t in enumerate(ids) if t in self.backend.stop_ids), len(ids))
            rows.append(ids[: cut + 1] if cut < len(ids) else ids)
        return rows, enc

    def _text(self, ids: list[int]) -> str:
        return self.backend.decode([t for t in ids if t not in self.backend.stop_ids])

    def ttft(self, prompt: str) -> Outcome:
        start = time.perf_counter()
        rows, _ = self._generate([prompt], 1)
        return Outcome(time.perf_counter() - start, (self._text(rows[0]),))

    def decode(self, prompt: str, new_tokens: int) -> Outcome:
        stamps: list[float] = []

        class Stamp:  # transformers' streamer protocol: put(prompt ids), put(each new token), end()
            def put(self, value: Any) -> None:
                stamps.append(time.perf_counter())

            def end(self) -> None:
                stamps.append(time.perf_counter())

        rows, _ = self._generate([prompt], new_tokens, Stamp())
        return Outcome((len(rows[0]) - 1) / (stamps[-1] - stamps[1]), (self._text(rows[0]),))

    def batch(self, prompts: list[str], new_tokens: int) -> Outcome:
        start = time.perf_counter()
        rows, _ = self._generate(prompts, new_tokens)
        seconds = time.perf_counter() - start
        return Outcome(sum(len(r) for r in rows) / seconds, tuple(self._text(r) for r in rows))

    def generate_batch(self, prompts: list[str], new_tokens: int) -> Outcome:
        from transformers import GenerationConfig

        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        config = GenerationConfig(max_new_tokens=new_tokens, do_sample=False, eos_token_id=self.stops,
                                  pad_token_id=self.tokenizer.pad_token_id)  # fmt: skip
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate_batch(ids, generation_config=config)
        seconds = time.perf_counter() - start
        ordered = sorted(out, key=lambda k: int(k.split("_")[-1]))
        rows = [list(out[k].generated_tokens) for k in ordered]
        rows = [r[: next((i + 1 for i, t in enumerate(r) if t in self.backend.stop_ids), len(r))] for r in rows]
        return Outcome(sum(len(r) for r in rows) / seconds, tuple(self._text(r) for r in rows))


def prompts_for(backend: Any, count: int, tokens: int) -> list[str]:
    """`count` different chat prompts, each padded with problem text to about `tokens` tokens."""
    questions = [p.question for p in unseen_problems(count * 4, seed=44)]
    prompts = []
    for index in range(count):
        text, k = questions[index], index
        while backend.count_tokens(text) < tokens - 12:
            k += count
            text += " " + questions[k % len(questions)]
        prompts.append(f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n")
    return prompts


def measure(name: str, sides: dict[str, Side], rounds: int, lower_is_better: bool) -> str:
    values: dict[str, list[float]] = {side: [] for side in sides}
    texts: dict[str, tuple[str, ...]] = {}
    order = list(sides)
    for round_index in range(rounds + 1):
        for side in order if round_index % 2 else reversed(order):
            outcome = sides[side]()
            texts[side] = outcome.texts
            if round_index:  # round 0 warms both sides
                values[side].append(outcome.value)
        if round_index:
            print(f"  {name} round {round_index}: " + ", ".join(f"{s} {v[-1]:.3g}" for s, v in values.items()))
    vibe, ref = (statistics.median(values[s]) for s in order)
    ratio = ref / vibe if lower_is_better else vibe / ref
    same = sum(a == b for a, b in zip(*(texts[s] for s in order), strict=True))
    unit = "s" if lower_is_better else "tok/s"
    cells = [f"{statistics.median(v):.3g} ({min(v):.3g}-{max(v):.3g})" for v in values.values()]
    rows = len(texts[order[0]])
    return f"| {name} | {cells[0]} | {order[1]} | {cells[1]} | {unit} | {ratio:.2f} | {same}/{rows} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=demo_model_dir())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default="ttft,decode,batch4,batch16")
    parser.add_argument("--prompt-tokens", type=int, default=186)
    parser.add_argument("--new-tokens", type=int, default=128)
    args = parser.parse_args()
    backend = load(LoadOptions(args.model, args.model.name, detect_format(args.model), device="cpu"))
    vibe, ref = Vibe(backend), Transformers(backend)
    load_before = os.getloadavg()
    lines = []
    for scenario in args.scenarios.split(","):
        if scenario == "ttft":
            (prompt,) = prompts_for(backend, 1, args.prompt_tokens)
            sides = {
                "vibe": lambda prompt=prompt: vibe.ttft(prompt),
                "generate": lambda prompt=prompt: ref.ttft(prompt),
            }
            lines.append(measure("ttft", sides, args.rounds, lower_is_better=True))
        elif scenario == "decode":
            (prompt,) = prompts_for(backend, 1, 32)
            sides = {"vibe": lambda prompt=prompt: vibe.decode(prompt, args.new_tokens),
                     "generate": lambda prompt=prompt: ref.decode(prompt, args.new_tokens)}  # fmt: skip
            lines.append(measure("decode", sides, args.rounds, lower_is_better=False))
        elif scenario.startswith("batch"):
            rows = prompts_for(backend, int(scenario.removeprefix("batch")), 48)
            sides = {"vibe": lambda rows=rows: vibe.batch(rows, args.new_tokens),
                     "padded generate": lambda rows=rows: ref.batch(rows, args.new_tokens)}  # fmt: skip
            lines.append(measure(scenario, sides, args.rounds, lower_is_better=False))
        elif scenario == "generate_batch":
            rows = prompts_for(backend, 16, 48)
            sides = {"vibe": lambda rows=rows: vibe.batch(rows, args.new_tokens),
                     "generate_batch": lambda rows=rows: ref.generate_batch(rows, args.new_tokens)}  # fmt: skip
            lines.append(measure(scenario, sides, args.rounds, lower_is_better=False))
        else:
            parser.error(f"unknown scenario {scenario!r}")
    load_after = os.getloadavg()
    print(f"\nmodel {args.model} · {args.rounds} counted rounds after a warm-up, interleaved · "
          f"torch threads {torch.get_num_threads()} · {os.cpu_count()} CPUs · "
          f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after")  # fmt: skip
    print("| scenario | vibe median (min-max) | baseline | its median (min-max) | unit | vibe / baseline | same |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
