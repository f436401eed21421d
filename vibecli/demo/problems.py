"""Synthetic arithmetic problems in the demo model's own style.

Each problem is phrased as a person would type it and comes with a VibeThinker-shaped
response: `<think>` digit-by-digit working `</think>` then `\\boxed{N}`. The training
script and the tests share this module, so "its kind of problem" means one thing.

The working is deliberately mechanical (one digit per step, carries written out): a
model of a few hundred thousand parameters learns a fixed procedure, not number sense.
Signs are handled the same way: a first line rewrites the problem into whole numbers
(`-5+3 = 3-5`, `-4*12 = -(4*12)`), and a subtraction finds out that its result is
negative from its last column, as on paper, rather than by comparing the numbers first.
Every decision (borrow, carry, how many lines) is taken right after the digits it depends
on have been written, which is what a model of three layers can learn in minutes.
Every working ends with `→ N`, the answer the box repeats.
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
    negative: bool = False  # a negative number in the question or the answer

    @property
    def response(self) -> str:
        """The full target response, as VibeThinker would write it."""
        return f"<think>\n{self.working}\n</think>\n\\boxed{{{self.answer}}}"


def is_held_out(question: str) -> bool:
    """True for the tenth of all questions that training never sees."""
    return hashlib.sha256(question.encode()).digest()[0] % 10 == 0


def _digits_reversed(n: int) -> list[int]:
    return [int(d) for d in reversed(str(n))]


def _column(digits: list[int], i: int) -> int:
    return digits[i] if i < len(digits) else 0


def add_steps(a: int, b: int) -> str:
    """`a+b: 8+7+0=15 4+3+1=8 → 85`: one column per step, carry in the last term."""
    da, db = _digits_reversed(a), _digits_reversed(b)
    carry, steps = 0, []
    for i in range(max(len(da), len(db))):
        total = _column(da, i) + _column(db, i) + carry
        steps.append(f"{_column(da, i)}+{_column(db, i)}+{carry}={total}")
        carry = total // 10
    return f"{a}+{b}: {' '.join(steps)} → {a + b}"


def sub_steps(a: int, b: int) -> str:
    """`a-b` of whole numbers, one column per step. A column that comes out below zero says
    so before it borrows (`3-4-0<0 13-4-0=9`): the operands are then just written, so
    the decision looks back a few tokens rather than into the question. When the last
    column still comes out below zero the result is negative, and the working subtracts
    the other way round: `→ -(b-a)`.
    """
    da, db = _digits_reversed(a), _digits_reversed(b)
    borrow, steps = 0, []
    width = max(len(da), len(db))
    for i in range(width):
        x, y = _column(da, i), _column(db, i)
        step = f"{x}-{y}-{borrow}"
        if x - y - borrow >= 0:
            steps.append(f"{step}={x - y - borrow}")
            borrow = 0
        elif i < width - 1:
            steps.append(f"{step}<0 1{step}={10 + x - y - borrow}")
            borrow = 1
        else:
            steps.append(f"{step}<0 → -({b}-{a})")
            return f"{a}-{b}: {' '.join(steps)}\n{sub_steps(b, a)}\n→ {a - b}"
    return f"{a}-{b}: {' '.join(steps)} → {a - b}"


def mul_digit_steps(a: int, digit: int) -> str:
    """`a*d: 3*5+0=15+0=15 2*5+1=10+1=11 1*5+1=5+1=6 → 615`: one multiplicand digit per
    step, the product written before the carry is added."""
    carry, steps = 0, []
    for x in _digits_reversed(a):
        total = x * digit + carry
        steps.append(f"{x}*{digit}+{carry}={x * digit}+{carry}={total}")
        carry = total // 10
    return f"{a}*{digit}: {' '.join(steps)} → {a * digit}"


def mul_steps(a: int, b: int) -> str:
    """`a*b` of whole numbers, b below 100: the split first (`12*34 = 12*4 + 12*30`), so
    the number of lines is decided while b is being copied; then one line per digit of b
    and their sum."""
    if b < 10:
        return mul_digit_steps(a, b)
    ones, tens = b % 10, b // 10
    lines = [f"{a}*{b} = {a}*{ones} + {a}*{tens}0", mul_digit_steps(a, ones), mul_digit_steps(a, tens)]
    return "\n".join([*lines, add_steps(a * ones, a * tens * 10)])


def div_steps(a: int, d: int) -> str:
    """Long division by one digit, exact: `45/3: 4/3=1 4-3=1 15/3=5 15-15=0 → 15`, each
    quotient digit followed by the remainder's subtraction."""
    rem, steps = 0, []
    for ch in str(a):
        cur = rem * 10 + int(ch)
        steps.append(f"{cur}/{d}={cur // d} {cur}-{cur // d * d}={cur % d}")
        rem = cur % d
    return f"{a}/{d}: {' '.join(steps)} → {a // d}"


def _bracketed(n: int) -> str:
    return f"({n})" if n < 0 else str(n)


def signed_steps(p: int, op: str, q: int) -> str:
    """`p + q` or `p - q` of signed numbers, rewritten into whole-number working first:
    `-5+3 = 3-5`, `5-(-3) = 5+3`, `-5-3 = -(5+3)`."""
    s = q if op == "+" else -q
    written = f"{p}{op}{_bracketed(q)}"
    if p >= 0 and s >= 0:
        steps = add_steps(p, s)
    elif p >= 0:
        steps = sub_steps(p, -s)
    elif s >= 0:
        steps = sub_steps(s, -p)
    else:
        return f"{written} = -({-p}+{-s})\n{add_steps(-p, -s)}\n→ {p + s}"
    if p >= 0 and q >= 0:  # `5+3`, `5-3`: nothing to rewrite
        return steps
    return f"{written} = {steps.partition(':')[0]}\n{steps}"


def signed_mul_steps(p: int, q: int) -> str:
    """`p * q` of signed numbers: the sign first (`-4*12 = -(4*12)`), then whole numbers."""
    steps = mul_steps(abs(p), abs(q))
    if p >= 0 and q >= 0:
        return steps
    written = f"{p}*{_bracketed(q)}"
    if (p < 0) == (q < 0):
        return f"{written} = {abs(p)}*{abs(q)}\n{steps}"
    return f"{written} = -({abs(p)}*{abs(q)})\n{steps}\n→ {p * q}"


def signed_div_steps(n: int, d: int) -> str:
    """`n / d` for a positive one-digit d that divides n exactly."""
    if n >= 0:
        return div_steps(n, d)
    return f"{n}/{d} = -({-n}/{d})\n{div_steps(-n, d)}\n→ {n // d}"


def _pick(rng: random.Random, *options: str) -> str:
    return options[rng.randrange(len(options))]


def _number(rng: random.Random, max_digits: int, low: int = 1) -> int:
    """A number whose digit count is uniform in 1..max_digits, so small ones are common."""
    digits = rng.randint(len(str(low)), max_digits)
    return rng.randint(max(low, 10 ** (digits - 1)), 10**digits - 1)


def _signed(rng: random.Random, n: int, share: float) -> int:
    return -n if rng.random() < share else n


def _ask(rng: random.Random, a: int, op: str, b: int) -> str:
    """`a op b` phrased the many ways people type it: spacing, case, punctuation, brackets."""
    spaced = op == "times" or rng.random() < 0.7
    right = str(b) if b >= 0 or (spaced and rng.random() < 0.6) else f"({b})"
    expr = f"{a} {op} {right}" if spaced else f"{a}{op}{right}"
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


# How often an operand is negative; subtraction also gives negative results of its own.
NEGATIVE_SHARE = 0.25


def make_add(rng: random.Random) -> Problem:
    a, b = _signed(rng, _number(rng, 3), NEGATIVE_SHARE), _signed(rng, _number(rng, 3), NEGATIVE_SHARE)
    q = f"Add {a} and {b}." if rng.random() < 0.08 else _ask(rng, a, "+", b)
    return Problem("add", q, signed_steps(a, "+", b), a + b, min(a, b, a + b) < 0)


def make_sub(rng: random.Random) -> Problem:
    a, b = _signed(rng, _number(rng, 3), NEGATIVE_SHARE), _signed(rng, _number(rng, 3), NEGATIVE_SHARE)
    q = _ask(rng, a, "-", b)
    return Problem("sub", q, signed_steps(a, "-", b), a - b, min(a, b, a - b) < 0)


def make_mul(rng: random.Random) -> Problem:
    a = _signed(rng, _number(rng, 3, low=2), NEGATIVE_SHARE)
    b = _signed(rng, _number(rng, 2, low=2), NEGATIVE_SHARE)
    q = _ask(rng, a, _pick(rng, "*", "*", "×", "times"), b)
    return Problem("mul", q, signed_mul_steps(a, b), a * b, min(a, b) < 0)


def make_linear(rng: random.Random) -> Problem:
    """`ax ± b = c` with a whole solution x, which may be negative (and so may c)."""
    a, x = rng.randint(2, 9), _signed(rng, _number(rng, 2), 0.35)
    b = _number(rng, 2)
    if rng.random() < 0.5:
        c = a * x + b
        eq, step = f"{a}x + {b} = {c}", f"{a}x = {c} - {b}\n{signed_steps(c, '-', b)}"
    else:
        c = a * x - b
        eq, step = f"{a}x - {b} = {c}", f"{a}x = {c} + {b}\n{signed_steps(c, '+', b)}"
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
    working = f"{eq}\n{step}\nx = {a * x} / {a}\n{signed_div_steps(a * x, a)}"
    return Problem("linear", q, working, x, min(c, x) < 0)


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


def unseen_problems(count: int, *, seed: int = 1234, kinds: tuple[str, ...] = KINDS) -> list[Problem]:
    """`count` problems the demo model was never trained on, evenly over `kinds`."""
    rng = random.Random(seed)
    per_kind = {kind: generate(rng, kinds=(kind,), held_out=True) for kind in kinds}
    return [next(per_kind[kinds[i % len(kinds)]]) for i in range(count)]
