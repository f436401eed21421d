"""Train the bundled demo model: a tiny Qwen2 that solves its own kind of arithmetic.

    python scripts/train_demo_model.py --out vibecli/demo/model

Builds a byte-level tokenizer with ChatML special tokens, then trains a Qwen2ForCausalLM of
a few hundred thousand parameters from a fixed seed on `vibecli.demo.problems`. Many
examples are conversations, as `vibe repl` and chat clients send them: earlier questions
with their answers, then the question to answer; only that last answer is in the loss.
Takes under 20 minutes on 2 CPU cores. Writes a standard Hugging Face model directory plus
`training.json` (settings, wall and CPU time, held-out accuracy per kind).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerFast, Qwen2ForCausalLM

from vibecli.demo.build import build_tokenizer, tiny_qwen2_config
from vibecli.demo.problems import KINDS, Problem, generate, unseen_problems
from vibecli.reasoning.controls import DEFAULT_BUDGET_MESSAGE
from vibecli.reasoning.extract import extract_answer

MATH_SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."

# The suffix is constant, so the model learns to read past it from a minority of examples;
# leaving it off the rest saves a quarter of the training compute.
SUFFIX_SHARE = 0.1
# Share of examples whose working is cut short the way `--think-budget` and Ctrl-C cut it,
# so the demo model learns to answer straight after a forced `</think>`.
FORCED_SHARE = 0.05
# How many earlier turns come before the question (weights for 0, 1, 2, …): enough
# conversations to learn to answer the last question, few long ones since they cost compute.
HISTORY_WEIGHTS = (0.75, 0.13, 0.07, 0.03, 0.02)
# Earlier answers go back without their thinking (as `vibe repl` sends them) except these.
HISTORY_WITH_THINKING = 0.1
# Multiplication and equations have the longest procedures and need the most practice.
KIND_WEIGHTS = {"add": 0.1, "sub": 0.24, "mul": 0.26, "linear": 0.4}


def target_text(problem: Problem, rng: random.Random) -> str:
    if rng.random() >= FORCED_SHARE:
        return problem.response
    cut = rng.randint(0, len(problem.working))
    forced = f"{DEFAULT_BUDGET_MESSAGE}</think>\n\n"
    return f"<think>\n{problem.working[:cut]}{forced}\\boxed{{{problem.answer}}}"


def conversation(question: str, earlier: list[Problem], *, suffix: bool, thinking: list[bool]) -> list[dict[str, str]]:
    """The chat messages that ask `question` after `earlier` questions and their answers."""
    end = MATH_SUFFIX if suffix else ""
    messages = []
    for problem, with_thinking in zip(earlier, thinking, strict=True):
        answer = problem.response if with_thinking else f"\\boxed{{{problem.answer}}}"
        messages += [{"role": "user", "content": problem.question + end}, {"role": "assistant", "content": answer}]
    return [*messages, {"role": "user", "content": question + end}]


def prompt_text(tokenizer: PreTrainedTokenizerFast, messages: list[dict[str, str]]) -> str:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert isinstance(text, str)
    return text


class Examples:
    """Training examples: (prompt ids, target ids), the prompt a conversation ending in the question."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, rng: random.Random) -> None:
        self.tokenizer, self.rng = tokenizer, rng
        weights = tuple(KIND_WEIGHTS.values())
        self.stream = generate(rng, kinds=tuple(KIND_WEIGHTS), weights=weights, held_out=False)

    def __next__(self) -> tuple[list[int], list[int]]:
        rng = self.rng
        problem = next(self.stream)
        turns = rng.choices(range(len(HISTORY_WEIGHTS)), HISTORY_WEIGHTS)[0]
        earlier = [next(self.stream) for _ in range(turns)]
        thinking = [rng.random() < HISTORY_WITH_THINKING for _ in earlier]
        messages = conversation(problem.question, earlier, suffix=rng.random() < SUFFIX_SHARE, thinking=thinking)
        prompt = self.tokenizer(prompt_text(self.tokenizer, messages), add_special_tokens=False)["input_ids"]
        target = self.tokenizer(target_text(problem, rng) + "<|im_end|>", add_special_tokens=False)["input_ids"]
        return list(prompt), list(target)


def make_batch(rows: list[tuple[list[int], list[int]]], pad: int) -> dict[str, torch.Tensor]:
    """Right-padded ids, with labels only on each row's target (the prompt is masked out).

    No attention mask: under the causal mask a real token never sees the padding after it,
    and without one attention takes its faster causal path."""
    width = max(len(p) + len(a) for p, a in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (p, a) in enumerate(rows):
        ids[i, : len(p) + len(a)] = torch.tensor(p + a)
        labels[i, len(p) : len(p) + len(a)] = torch.tensor(a)
    return {"input_ids": ids, "labels": labels}


@torch.no_grad()
def greedy_answers(
    model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast, prompts: list[list[dict[str, str]]], batch: int = 50
) -> list[str]:
    """The model's greedy responses, in left-padded batches."""
    tokenizer.padding_side = "left"
    texts = []
    for start in range(0, len(prompts), batch):
        chunk = [prompt_text(tokenizer, messages) for messages in prompts[start : start + batch]]
        enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**enc, max_new_tokens=400, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        texts += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    tokenizer.padding_side = "right"
    return texts


def evaluate(model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast, per_kind: int) -> dict[str, Any]:
    """Greedy exact-answer accuracy on held-out problems: per kind, on those with negative
    numbers, and as the last question of a conversation."""
    model.eval()
    problems = unseen_problems(per_kind * len(KINDS), seed=99)
    earlier = unseen_problems(3 * per_kind, seed=98)
    rng = random.Random(97)
    report: dict[str, Any] = {}
    for label, history in (("single", False), ("conversation", True)):
        prompts = []
        for i, p in enumerate(problems):
            before = earlier[i % len(earlier) : i % len(earlier) + rng.randint(1, 3)] if history else []
            prompts.append(conversation(p.question, before, suffix=True, thinking=[False] * len(before)))
        texts = greedy_answers(model, tokenizer, prompts)
        answers = [extract_answer(text.rpartition("</think>")[2], "boxed") for text in texts]
        right = [answer == str(p.answer) for p, answer in zip(problems, answers, strict=True)]
        groups: dict[str, list[bool]] = {}
        for p, ok in zip(problems, right, strict=True):
            groups.setdefault(p.kind, []).append(ok)
            if p.negative:
                groups.setdefault(f"{p.kind} negative", []).append(ok)
        report[label] = {name: {"correct": sum(oks), "of": len(oks)} for name, oks in sorted(groups.items())}
    model.train()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("vibecli/demo/model"))
    parser.add_argument("--steps", type=int, default=3600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="the weights depend on it: 2 made the bundled model")
    parser.add_argument("--eval", type=int, default=100, help="held-out problems per kind to score at the end")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    tokenizer = build_tokenizer()
    config = tiny_qwen2_config(tokenizer, hidden=args.hidden, layers=args.layers)
    model = Qwen2ForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = 100

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    examples = Examples(tokenizer, rng)
    started, cpu_started = time.monotonic(), time.process_time()
    model.train()
    pending: list[list[tuple[list[int], list[int]]]] = []
    for step in range(args.steps):
        if not pending:
            # Batches of similar length: sorting 32 batches' worth pads by 7%, sorting 8 by 28%.
            pool = sorted((next(examples) for _ in range(32 * args.batch)), key=lambda r: len(r[0]) + len(r[1]))
            pending = [pool[i : i + args.batch] for i in range(0, len(pool), args.batch)]
            rng.shuffle(pending)
        loss = model(**make_batch(pending.pop(), tokenizer.pad_token_id)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.monotonic() - started:6.0f}s", flush=True)
    train_s, train_cpu_s = time.monotonic() - started, time.process_time() - cpu_started

    accuracy = evaluate(model, tokenizer, args.eval)
    for label, groups in accuracy.items():
        print(label + ": " + ", ".join(f"{k} {g['correct']}/{g['of']}" for k, g in groups.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    model.generation_config.do_sample = True
    model.generation_config.temperature = 1.0
    model.generation_config.top_p = 0.95
    model.save_pretrained(args.out)
    build_tokenizer().save_pretrained(args.out)  # a fresh copy: the evaluation set left padding on this one
    report = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(train_s),
        "train_cpu_seconds": round(train_cpu_s),
        "total_seconds": round(time.monotonic() - started),
        "total_cpu_seconds": round(time.process_time() - cpu_started),
        "held_out_greedy_accuracy": accuracy,
        "torch": torch.__version__,
    }
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
