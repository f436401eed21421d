"""Train the bundled demo model: a tiny Qwen2 that solves its own kind of arithmetic.

    python scripts/train_demo_model.py --out vibecli/demo/model

Builds a byte-level tokenizer with ChatML special tokens, then trains a Qwen2ForCausalLM of
a few hundred thousand parameters from a fixed seed on `vibecli.demo.problems`, with the
prompt masked out of the loss. Takes about 15 minutes on 2 CPU cores. Writes a standard
Hugging Face model directory plus `training.json` (settings, time, held-out accuracy).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast, Qwen2ForCausalLM

from vibecli.demo.build import build_tokenizer, tiny_qwen2_config
from vibecli.demo.problems import Problem, generate, unseen_problems
from vibecli.reasoning.controls import DEFAULT_BUDGET_MESSAGE

MATH_SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."

# The suffix is constant, so the model learns to read past it from a minority of examples;
# leaving it off the rest saves a quarter of the training compute.
SUFFIX_SHARE = 0.2
# Share of examples whose working is cut short the way `--think-budget` and Ctrl-C cut it,
# so the demo model learns to answer straight after a forced `</think>`.
FORCED_SHARE = 0.05
# Addition and subtraction are learnt first; long division and carries need the practice.
KIND_WEIGHTS = {"add": 0.15, "sub": 0.20, "mul": 0.30, "linear": 0.35}


def target_text(problem: Problem, rng: random.Random) -> str:
    if rng.random() >= FORCED_SHARE:
        return problem.response
    cut = rng.randint(0, len(problem.working))
    forced = f"{DEFAULT_BUDGET_MESSAGE}</think>\n\n"
    return f"<think>\n{problem.working[:cut]}{forced}\\boxed{{{problem.answer}}}"


def prompt_text(tokenizer: PreTrainedTokenizerFast, question: str, *, suffix: bool) -> str:
    content = question + (MATH_SUFFIX if suffix else "")
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
    assert isinstance(text, str)
    return text


def make_batch(
    tokenizer: PreTrainedTokenizerFast, problems: list[Problem], rng: random.Random
) -> dict[str, torch.Tensor]:
    prompts = [prompt_text(tokenizer, p.question, suffix=rng.random() < SUFFIX_SHARE) for p in problems]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    targets = [target_text(p, rng) + "<|im_end|>" for p in problems]
    answer_ids = tokenizer(targets, add_special_tokens=False)["input_ids"]
    rows = [(list(p), list(a)) for p, a in zip(prompt_ids, answer_ids, strict=True)]
    width = max(len(p) + len(a) for p, a in rows)
    pad = tokenizer.pad_token_id
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (p, a) in enumerate(rows):
        ids[i, : len(p) + len(a)] = torch.tensor(p + a)
        labels[i, len(p) : len(p) + len(a)] = torch.tensor(a)
        mask[i, : len(p) + len(a)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


@torch.no_grad()
def held_out_accuracy(model: Qwen2ForCausalLM, tokenizer: PreTrainedTokenizerFast, count: int) -> float:
    model.eval()
    problems = unseen_problems(count, seed=99)
    correct = 0
    for p in problems:
        enc = tokenizer(prompt_text(tokenizer, p.question, suffix=True), return_tensors="pt")
        out = model.generate(**enc, max_new_tokens=400, do_sample=False, eos_token_id=tokenizer.eos_token_id)
        text = tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        correct += f"\\boxed{{{p.answer}}}" in text
    model.train()
    return correct / len(problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("vibecli/demo/model"))
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval", type=int, default=100, help="held-out problems to score at the end")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
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
    stream = generate(rng, kinds=tuple(KIND_WEIGHTS), weights=tuple(KIND_WEIGHTS.values()), held_out=False)
    started = time.monotonic()
    model.train()
    pending: list[list[Problem]] = []
    for step in range(args.steps):
        if not pending:
            # Batches of similar length waste less compute on padding.
            pool = sorted((next(stream) for _ in range(8 * args.batch)), key=lambda p: len(p.response))
            pending = [pool[i : i + args.batch] for i in range(0, len(pool), args.batch)]
            rng.shuffle(pending)
        batch = make_batch(tokenizer, pending.pop(), rng)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.monotonic() - started:6.0f}s", flush=True)
    train_s = time.monotonic() - started

    accuracy = held_out_accuracy(model, tokenizer, args.eval)
    print(f"held-out greedy accuracy: {accuracy:.1%} on {args.eval} problems; trained in {train_s:.0f}s")
    args.out.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    model.generation_config.do_sample = True
    model.generation_config.temperature = 1.0
    model.generation_config.top_p = 0.95
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    report = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(train_s),
        "held_out_greedy_accuracy": accuracy,
        "torch": torch.__version__,
    }
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
