"""Synthetic arithmetic problems in the demo model's own style.

Each problem is phrased as a person would type it and comes with a VibeThinker-shaped
response: `<think>` digit-by-digit working `</think>` then `\\boxed{N}`. The training
script and the tests share this module, so "its kind of problem" means one thing.

The working is deliberately mechanical (one digit per step, carries written out): a
model of a few hundred thousand parameters learns a fixed procedure, not number sense.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = ("add", "sub", "mul", "linear")


@dataclass(frozen=True)
class Problem:
    """One generated problem with its reference working and answer."""

    kind: str
    question: str
    working: str
    answer: int

    @property
    def response(self) -> str:
        """The full target response, as VibeThinker would write it."""
        return f"<think>\n{self.working}\n</think>\n\\boxed{{{self.answer}}}"


def is_held_out(question: str) -> bool:
    """True for the tenth of all questions that training never sees."""
    return hashlib.sha256(question.encode()).digest()[0] % 10 == 0


def _digits_reversed(n: int) -> list[int]:
    return [int(d) for d in reversed(str(n))]


def add_steps(a: int, b: int) -> str:
    """`a+b: 8+7+0=15 4+3+1=8 → 85`: one column per step, carry in the last term."""
    da, db = _digits_reversed(a), _digits_reversed(b)
    carry, steps = 0, []
    for i in range(max(len(da), len(db))):
        x = da[i] if i < len(da) else 0
        y = db[i] if i < len(db) else 0
        total = x + y + carry
        steps.append(f"{x}+{y}+{carry}={total}")
        carry = total // 10
    return f"{a}+{b}: {' '.join(steps)} → {a + b}"


def sub_steps(a: int, b: int) -> str:
    """`a-b` for a >= b: a borrowed column is written with its extra ten (`15-7-0=8`)."""
    da, db = _digits_reversed(a), _digits_reversed(b)
    borrow, steps = 0, []
    for i in range(len(da)):
        x = da[i]
        y = db[i] if i < len(db) else 0
        if x - y - borrow < 0:
            steps.append(f"1{x}-{y}-{borrow}={10 + x - y - borrow}")
            borrow = 1
        else:
            steps.append(f"{x}-{y}-{borrow}={x - y - borrow}")
            borrow = 0
    return f"{a}-{b}: {' '.join(steps)} → {a - b}"


def mul_digit_steps(a: int, digit: int) -> str:
    """`a*d: 3*5+0=15 2*5+1=11 1*5+1=6 → 615`: one multiplicand digit per step."""
    carry, steps = 0, []
    for x in _digits_reversed(a):
        total = x * digit + carry
        steps.append(f"{x}*{digit}+{carry}={total}")
        carry = total // 10
    return f"{a}*{digit}: {' '.join(steps)} → {a * digit}"


def div_steps(a: int, d: int) -> str:
    """Long division by one digit, exact: `15/3: 1/3=0r1 15/3=5r0 → 5`."""
    rem, steps = 0, []
    for ch in str(a):
        cur = rem * 10 + int(ch)
        steps.append(f"{cur}/{d}={cur // d}r{cur % d}")
        rem = cur % d
    return f"{a}/{d}: {' '.join(steps)} → {a // d}"


def _pick(rng: random.Random, *options: str) -> str:
    return options[rng.randrange(len(options))]


def _number(rng: random.Random, max_digits: int, low: int = 1) -> int:
    """A number whose digit count is uniform in 1..max_digits, so small ones are common."""
    digits = rng.randint(len(str(low)), max_digits)
    return rng.randint(max(low, 10 ** (digits - 1)), 10**digits - 1)


def _ask(rng: random.Random, a: int, op: str, b: int) -> str:
    """`a op b` phrased the many ways people type it: spacing, case, punctuation."""
    expr = f"{a} {op} {b}" if op == "times" or rng.random() < 0.7 else f"{a}{op}{b}"
    form = _pick(
        rng,
        "What is {}?",
        "What is {}?",
        "what is {}?",
        "What is {}",
        "What's {}?",
        "Compute {}.",
        "Calculate {}.",
        "Evaluate {}.",
        "{} = ?",
        "{}",
        "{}?",
    )
    return form.format(expr)


def make_add(rng: random.Random) -> Problem:
    a, b = _number(rng, 3), _number(rng, 3)
    q = f"Add {a} and {b}." if rng.random() < 0.08 else _ask(rng, a, "+", b)
    return Problem("add", q, add_steps(a, b), a + b)


def make_sub(rng: random.Random) -> Problem:
    a, b = _number(rng, 3), _number(rng, 3)
    q = _ask(rng, a, "-", b)
    if a >= b:
        return Problem("sub", q, sub_steps(a, b), a - b)
    working = f"{a} < {b}, so {a}-{b} = -({b}-{a})\n{sub_steps(b, a)}"
    return Problem("sub", q, working, a - b)


def make_mul(rng: random.Random) -> Problem:
    a, b = _number(rng, 3, low=2), _number(rng, 2, low=2)
    q = _ask(rng, a, _pick(rng, "*", "*", "×", "times"), b)
    if b < 10:
        return Problem("mul", q, mul_digit_steps(a, b), a * b)
    ones, tens = b % 10, b // 10
    lines = [mul_digit_steps(a, ones), mul_digit_steps(a, tens), add_steps(a * ones, a * tens * 10)]
    return Problem("mul", q, "\n".join(lines), a * b)


def make_linear(rng: random.Random) -> Problem:
    """`ax ± b = c` with a positive whole solution."""
    a, x = rng.randint(2, 9), _number(rng, 2)
    if rng.random() < 0.5:
        b = _number(rng, 2)
        c = a * x + b
        eq, step = f"{a}x + {b} = {c}", f"{a}x = {c} - {b}\n{sub_steps(c, b)}"
    else:
        b = rng.randint(1, a * x)
        c = a * x - b
        if c == 0:
            b, c = b - 1, 1
        eq, step = f"{a}x - {b} = {c}", f"{a}x = {c} + {b}\n{add_steps(c, b)}"
    typed = eq if rng.random() < 0.7 else eq.replace(" ", "")
    q = _pick(
        rng,
        f"Solve for x: {typed}.",
        f"Solve for x: {typed}",
        f"Solve {typed} for x.",
        f"Find x if {typed}.",
        f"solve {typed}",
        f"{typed}, x = ?",
    )
    working = f"{eq}\n{step}\nx = {a * x} / {a}\n{div_steps(a * x, a)}"
    return Problem("linear", q, working, x)


_MAKERS = {"add": make_add, "sub": make_sub, "mul": make_mul, "linear": make_linear}


def generate(
    rng: random.Random,
    *,
    kinds: tuple[str, ...] = KINDS,
    weights: tuple[float, ...] | None = None,
    held_out: bool | None = None,
) -> Iterator[Problem]:
    """Yield problems forever, drawing from `kinds` at random.

    Args:
        rng: source of randomness; a fixed seed gives a fixed stream.
        kinds: which operations to draw from.
        weights: relative frequency of each kind (default: equal).
        held_out: True yields only held-out questions, False only trainable ones,
            None both.
    """
    while True:
        kind = rng.choices(kinds, weights)[0] if weights else kinds[rng.randrange(len(kinds))]
        problem = _MAKERS[kind](rng)
        if held_out is None or is_held_out(problem.question) == held_out:
            yield problem


def unseen_problems(count: int, *, seed: int = 1234) -> list[Problem]:
    """`count` problems the demo model was never trained on, evenly over the kinds."""
    rng = random.Random(seed)
    per_kind = {kind: generate(rng, kinds=(kind,), held_out=True) for kind in KINDS}
    return [next(per_kind[KINDS[i % len(KINDS)]]) for i in range(count)]
