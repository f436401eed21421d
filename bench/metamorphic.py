"""Metamorphic variants of the math truth cases: spellings that must keep the verdict, and
changes of value that must never be `equal`.

Independent of vibecli: it rewrites answer strings only, so that the checker is tested on
spellings nobody wrote one by one. Used by `python bench/verify_math.py --metamorphic` (all of
them) and by tests/test_verify_metamorphic.py (a time-bounded random sample).

- A *spelling* (`spellings`) writes the same answer differently: spaces added or removed
  around every token, `\\frac`/`\\dfrac`/`\\tfrac`, `(`/`\\left(`, `*`/`\\cdot`/`\\times`,
  `**`/`^`, the wrapper (`$…$`, `\\(…\\)`, `\\[…\\]`, `\\boxed{}`), spacing macros, thousands
  separators, LaTeX against plain text, a leading "The answer is", a trailing period, a unit in
  `\\text{}`. The verdict of (gold, pred) must not change when either side is respelled.
- A *mutation* (`mutations`) changes the value: one digit, two unequal entries of a tuple or
  matrix swapped, a non-symmetric matrix transposed, one sign flipped, one term or element
  dropped, an inequality flipped, an interval bracket switched, a thousands group dropped,
  `i` to `-i`, or code that ends in the answer. (gold, mutated gold) must never be `equal`.
Generators skip a text where the rewrite would not apply or could keep the value.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).parent / "cases"
CASE_FILES = ("math_truth.jsonl", "math_verify_suite.jsonl", "peer_graders.jsonl")

# A token: a macro, a grouped or plain number, a word, a two-character operator, one character.
_TOKEN = re.compile(
    r"\\\\[A-Za-z]+|\\[A-Za-z]+|\\.|\d{1,3}(?:(?:\{,\}|,\\!\s?|\\,\s?|,)\d{3})+(?:\.\d+)?(?!\d)|\d*\.\d+|\d+"
    r"|[A-Za-z]+|\$\$|\*\*|<=|>=|\S"
)
_OPERATOR_NEIGHBOURS = set("+-*/=,&(){}[]<>^_|:;")


@dataclass(frozen=True)
class Variant:
    case: int  # index into the loaded cases
    kind: str  # "spelling" (same verdict) or "mutation" (never equal)
    name: str
    gold: str
    pred: str


def load_cases() -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for name in CASE_FILES:
        path = CASES / name
        if path.exists():
            cases.extend(json.loads(line) for line in path.open(encoding="utf-8") if line.strip())
    return cases


def _is_latex(text: str) -> bool:
    return bool(re.search(r"[\\{}]", text))


def _has_prose(text: str) -> bool:
    return bool(re.search(r"(?<![\\A-Za-z])[A-Za-z]{4,}", re.sub(r"\\[A-Za-z]+(\{[^{}]*\})?", " ", text)))


def _simple(text: str) -> bool:
    """A single answer, not a worked solution (those are respelled by their own writers)."""
    return (
        "\n" not in text
        and len(text) <= 120
        and "$" not in text
        and not _has_prose(text)
        and text.count("\\boxed") <= 1
    )


# Spellings ---------------------------------------------------------------------------------


def _respaceable(text: str) -> bool:
    """Math without prose or control characters: spaces can move without changing words."""
    return not _has_prose(text) and text.isprintable()


def spaced(text: str) -> str | None:
    """A space between every two tokens (never inside a macro name, a number or a word)."""
    if not _respaceable(text):
        return None
    tokens = _TOKEN.findall(text)
    joined = " ".join(tokens)
    return joined if joined != text and _is_latex(text) else None


def unspaced(text: str) -> str | None:
    """Spaces removed next to operators and brackets (kept after a backslash and between words,
    and after a comma before a digit: `32, 349` is a list, `32,349` a number)."""
    if not _respaceable(text):
        return None
    out = []
    for index, char in enumerate(text):
        if char == " " and 0 < index < len(text) - 1:
            before, after = text[index - 1], text[index + 1]
            keeps_list = before == "," and after.isdigit()
            row_break = text[max(0, index - 2) : index] == "\\\\"  # after `\\\\`, not the macro `\\ `
            near_operator = before in _OPERATOR_NEIGHBOURS or after in _OPERATOR_NEIGHBOURS or after == "\\"
            if (before != "\\" or row_break) and not keeps_list and (near_operator or row_break):
                continue
        out.append(char)
    joined = "".join(out)
    return joined if joined != text else None


def _replace_all(old: str, new: str) -> Callable[[str], str | None]:
    def rewrite(text: str) -> str | None:
        pattern = re.compile(re.escape(old) + (r"(?![A-Za-z])" if old[-1].isalpha() else ""))
        changed = pattern.sub(lambda _: new, text)
        return changed if changed != text else None

    rewrite.__name__ = f"{old}->{new}"
    return rewrite


def left_right(text: str) -> str | None:
    """`(`…`)` as `\\left(`…`\\right)` in LaTeX text (balanced parentheses only)."""
    if not _is_latex(text) or "\\left" in text or text.count("(") != text.count(")") or "(" not in text:
        return None
    return text.replace("(", "\\left(").replace(")", "\\right)")


def no_left_right(text: str) -> str | None:
    changed = re.sub(r"\\(?:left|right)(?![A-Za-z])\s*", "", text)
    return changed if changed != text else None


def times_spellings(text: str) -> list[str]:
    out = []
    if _is_latex(text) and re.search(r"(?<!\*)\*(?!\*)", text):
        out += [
            re.sub(r"(?<!\*)\*(?!\*)", lambda _: " \\cdot ", text),
            re.sub(r"(?<!\*)\*(?!\*)", lambda _: " \\times ", text),
        ]
    if "\\cdot" in text:
        out += [text.replace("\\cdot", "\\times")]
        if not _is_latex(text.replace("\\cdot", "")):
            out += [text.replace("\\cdot", "*")]
    return out


def power_spellings(text: str) -> list[str]:
    if _is_latex(text):
        return []
    if "**" in text:
        return [text.replace("**", "^")]
    if "^" in text:
        return [text.replace("^", "**")]
    return []


def wrappers(text: str) -> list[str]:
    if not _simple(text) or "\\boxed" in text or "\\(" in text or "\\[" in text:
        return []
    return [f"${text}$", f"\\({text}\\)", f"\\[{text}\\]", f"\\boxed{{{text}}}", f"$\\boxed{{{text}}}$"]


def spacing_macros(text: str) -> list[str]:
    """Each plain space in LaTeX text as `\\,`, `\\;`, `\\!`… (a space after a macro stays)."""
    if not _is_latex(text) or " " not in text or not _respaceable(text):
        return []
    out = []
    for macro in ("\\,", "\\;", "\\:", "~", "\\quad "):
        if macro == "\\quad " and "\\!" in text:
            continue  # `11,\!\quad 111` is no longer one number
        changed = re.sub(r"(?<![\\A-Za-z]) (?![A-Za-z])", lambda _, m=macro: m, text)  # type: ignore[misc]
        if changed != text:
            out.append(changed)
    return out


def thousands(text: str) -> list[str]:
    """An integer of 4+ digits that is the whole answer, with each kind of separator."""
    match = re.fullmatch(r"(-?)(\d{4,})", text.strip())
    if not match:
        grouped = re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", text.strip())
        return [text.replace(",", "")] if grouped else []
    sign, digits = match.groups()
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return [sign + sep.join(groups) for sep in (",", "{,}", ",\\!", "\\,", "\u2009", ", \\! ")]


def latex_plain(text: str) -> list[str]:
    """Simple numeric LaTeX as plain text and back: `\\frac{3}{4}` ↔ `3/4`, `\\sqrt{2}` ↔ `sqrt(2)`."""
    out = []
    plain = re.sub(r"(?<!\d)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}", r"(\1/\2)", text)  # not `918\\frac12`
    plain = re.sub(r"\\sqrt\{(\d+)\}", r"sqrt(\1)", plain)
    plain = re.sub(r"\^\{(-?\d+)\}", r"^(\1)", plain).replace("\\pi", "pi")
    if plain != text and not _is_latex(plain):
        out.append(plain)
    if not _is_latex(text) and _simple(text):
        latex = re.sub(r"(?<![\w)^.])(\d+)/(\d+)(?![\w(^.])", r"\\frac{\1}{\2}", text)
        latex = re.sub(r"sqrt\((\d+)\)", r"\\sqrt{\1}", latex)
        if latex != text:
            out.append(latex)
    return out


def sentences(text: str) -> list[str]:
    if not _simple(text):
        return []
    out = [f"The answer is ${text}$.", f"{text}."]
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text.strip()):
        out.append(f"{text} \\text{{ cm}}")
    return out


def _base_spellings(text: str) -> Iterator[tuple[str, str]]:
    single: list[Callable[[str], str | None]] = [
        spaced, unspaced, left_right, no_left_right,
        _replace_all("\\frac", "\\dfrac"), _replace_all("\\dfrac", "\\tfrac"), _replace_all("\\dfrac", "\\frac"),
        _replace_all("\\tfrac", "\\frac"),
    ]  # fmt: skip
    for rewrite in single:
        changed = rewrite(text)
        if changed is not None:
            yield rewrite.__name__, changed
    several: list[Callable[[str], list[str]]] = [
        times_spellings, power_spellings, spacing_macros, thousands, latex_plain,
    ]  # fmt: skip
    for rewrite_many in several:
        for index, changed in enumerate(rewrite_many(text)):
            if changed != text:
                yield f"{rewrite_many.__name__}[{index}]", changed


def spellings(text: str) -> Iterator[tuple[str, str]]:
    """(name, respelled text) for each spelling that applies to `text`, and each of those again
    inside each wrapper or sentence (two respellings at once)."""
    for name, changed in [("same", text), *_base_spellings(text)]:
        if name != "same":
            yield name, changed
        for outer in (wrappers, sentences):
            for index, wrapped in enumerate(outer(changed)):
                yield f"{name}+{outer.__name__}[{index}]", wrapped


# Mutations ---------------------------------------------------------------------------------


def _depth_zero_commas(inner: str) -> list[int]:
    depth, found = 0, []
    for index, char in enumerate(inner):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0 and not re.match(r"\d{3}(?!\d)", inner[index + 1 :]):
            found.append(index)
    return found


def _split_top(inner: str) -> list[str]:
    cuts = _depth_zero_commas(inner)
    bounds = [-1, *cuts, len(inner)]
    return [inner[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def digit_changes(text: str) -> list[str]:
    """One digit changed, at up to three places (not in a `_3` subscript or a base)."""
    # Not in a subscript (`a_{1}`) or a row break's spacing (`\\\\[2pt]`): neither is a value.
    subscripts = [range(m.start(), m.end()) for m in re.finditer(r"_(?:\{[^{}]*\}|\w)|\\\\\[[^\]]*\]", text)]
    places = [m.start() for m in re.finditer(r"\d", text) if not any(m.start() in r for r in subscripts)]
    if re.search(r"\d_\{?\d", text) or re.search(r"\b[01]\^|\^\{?0", text):
        return []  # a base, `1^n` or `x^0`: a digit change may keep the value
    out = []
    for place in places[:: max(1, len(places) // 3)][:3]:
        digit = int(text[place])
        out.append(text[:place] + str((digit + 1) % 10 if digit != 9 else 7) + text[place + 1 :])
    return out


def _bracketed(text: str) -> tuple[str, list[str], str] | None:
    text = text.strip()
    if len(text) < 2 or text[0] + text[-1] not in ("()", "[]", "[)", "(]"):
        return None
    items = _split_top(text[1:-1])
    return (text[0], items, text[-1]) if len(items) >= 2 else None


def swaps(text: str) -> list[str]:
    """Two unequal entries of a tuple, or of a matrix row, swapped."""
    out = []
    bracketed = _bracketed(text)
    if bracketed and text.strip()[0] + text.strip()[-1] == "()" and "\\infty" not in text:
        opener, items, closer = bracketed
        if items[0].strip() != items[1].strip():
            out.append(opener + ",".join([items[1], items[0], *items[2:]]) + closer)
    rows = _matrix_rows(text)
    if rows and len(rows[0]) >= 2 and rows[0][0].strip() != rows[0][1].strip():
        swapped = [[rows[0][1], rows[0][0], *rows[0][2:]], *rows[1:]]
        out.append(_matrix_text(text, swapped))
    return out


_MATRIX = re.compile(r"^\s*\\begin\{([pbBvV]?matrix)\}(.*)\\end\{\1\}\s*$", re.DOTALL)


def _matrix_rows(text: str) -> list[list[str]] | None:
    match = _MATRIX.match(text)
    if not match or "\\begin" in match.group(2):
        return None
    rows = [row for row in re.split(r"\\\\", match.group(2)) if row.strip()]
    return [row.split("&") for row in rows]


def _matrix_text(text: str, rows: list[list[str]]) -> str:
    match = _MATRIX.match(text)
    assert match is not None
    body = " \\\\ ".join(" & ".join(cell.strip() for cell in row) for row in rows)
    return f"\\begin{{{match.group(1)}}} {body} \\end{{{match.group(1)}}}"


def transpose(text: str) -> list[str]:
    rows = _matrix_rows(text)
    if not rows or len({len(r) for r in rows}) != 1 or 1 in (len(rows), len(rows[0])):
        return []  # a row or column vector equals the tuple of its entries either way
    columns = [list(c) for c in zip(*rows, strict=True)]
    same = [[c.strip() for c in r] for r in rows] == [[c.strip() for c in r] for r in columns]
    return [] if same else [_matrix_text(text, columns)]


def sign_flips(text: str) -> list[str]:
    """The first binary `+` or `-` flipped (a sign after an operand, not a leading one)."""
    match = re.search(r"(?<=[\w})])\s*([+-])(?!\s*\\infty)", text)
    if not match or re.search(r"e[+-]\d|\\pm|\\mp|:|\^\{?0|sin|cos|tan|cot|sec|csc", text):
        return []  # `\\sin(90^\\circ + x)` is `\\sin(90^\\circ - x)`: trigonometry has symmetries
    sign = "-" if match.group(1) == "+" else "+"
    return [text[: match.start(1)] + sign + text[match.end(1) :]]


def drops(text: str) -> list[str]:
    """The last element of a tuple, or the last term of a top-level sum, dropped."""
    out = []
    bracketed = _bracketed(text)
    if bracketed and bracketed[0] + bracketed[2] == "()" and len(bracketed[1]) >= 3:
        opener, items, closer = bracketed
        out.append(opener + ",".join(items[:-1]) + closer)
    terms = re.split(r"(?<=[\w})])\s*\+\s*(?=[\w\\(])", text)
    if (
        len(terms) == 2
        and _simple(text)
        and "=" not in text
        and "," not in text
        and not re.search(r"[<>]|\\[lg]e", text)
    ):
        out.append(terms[0])
    return out


def inequality_flips(text: str) -> list[str]:
    flipped = re.sub(r"\\le(?:q)?(?![A-Za-z])|\\ge(?:q)?(?![A-Za-z])|<|>", lambda m: _FLIP[m.group()], text)
    return [flipped] if flipped != text and "\\in" not in text else []


_FLIP = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le", "\\leq": "\\geq", "\\geq": "\\leq"}


def bracket_switches(text: str) -> list[str]:
    bracketed = _bracketed(text)
    if not bracketed or len(bracketed[1]) != 2 or "\\infty" in text or "\\cup" in text:
        return []
    opener, _, closer = bracketed
    stripped = text.strip()
    if opener + closer == "()":
        return [f"[{stripped[1:]}"]
    return [("(" if opener == "[" else "[") + stripped[1:]]


def thousands_drops(text: str) -> list[str]:
    match = re.fullmatch(r"(-?\d{1,3})((?:(?:,|\{,\}|,\\!|\\,)\d{3})+)", text.strip())
    if match:
        return [match.group(1)]
    if re.fullmatch(r"-?[1-9]\d{4,}", text.strip()):
        return [text.strip()[:-3]]
    return []


def conjugates(text: str) -> list[str]:
    """`a + bi` as `a - bi`: only a number written in that form, whose conjugate is another
    number (`(2+i)(2-i)` is real, and so its own conjugate)."""
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?\s*[+-]\s*)?(\d+(?:\.\d+)?)?\s*i\s*", text)
    if not match:
        return []
    return [re.sub(r"(?<![\\A-Za-z])i(?![A-Za-z])", "(-i)", text)]


def code(text: str) -> list[str]:
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", text.strip()):
        return []
    return [f'__import__("os").getcwd() and {text}', f"lambda: {text}", f'exec("x = 1") or {text}']


def absolute_values(text: str) -> list[str]:
    """A negative number or a one-variable monomial (`-5`, `x`, `-2x`) against its absolute
    value in each notation, and `\\sqrt{t^2}`, `\\max(t, 0)` for a variable."""
    match = re.fullmatch(r"\s*(-\d+(?:\.\d+)?|-?\d*[a-df-hj-z])\s*", text)
    if not match:
        return []
    t = match.group(1)
    out = [f"|{t}|", f"\\left|{t}\\right|", f"\\left| {t} \\right|", f"\\lvert {t}\\rvert", f"\\mid {t} \\mid",
           f"\\boxed{{|{t}|}}", f"$|{t}|$"]  # fmt: skip
    if not re.fullmatch(r"-[\d.]+", t):  # a variable: its absolute value in other forms, and minus it
        out += [f"\\sqrt{{({t})^{{2}}}}", f"\\sqrt{{{t}^2}}" if t.isalpha() else f"\\sqrt{{({t})^2}}", f"\\max({t}, 0)",
                f"-|{t}|" if not t.startswith("-") else f"|{t[1:]}|"]  # fmt: skip
    return out


def rounded_scientific(text: str) -> list[str]:
    """An integer of 7+ digits against its 6-significant-digit scientific form, each spelling."""
    match = re.fullmatch(r"\s*(\d{7,})\s*", text)
    if not match:
        return []
    digits = match.group(1)
    power = len(digits) - 1
    rounded = round(int(digits), -(power - 5))
    if rounded == int(digits) or len(str(rounded)) != len(digits):
        return []  # `1000000` is exactly `1.00000e6`; `9999999` rounds to another magnitude
    mantissa = f"{str(rounded)[0]}.{str(rounded)[1:6]}"
    return [
        f"{mantissa}e{power}",
        f"{mantissa}E{power}",
        f"{mantissa}e+{power}",
        f"{mantissa}\\times10^{{{power}}}",
        f"{mantissa} \\times 10^{{{power}}}",
        f"{mantissa}\\cdot 10^{power}",
        f"\\boxed{{{mantissa}\\times 10^{{{power}}}}}",
    ]


def percent_changes(text: str) -> list[str]:
    """`50%` against `0.5%` and `5000%` (a percent on both sides is compared as written), and any
    number against itself with a doubled percent sign (no number)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(\\%|%)?\s*", text)
    if not match:
        return []
    number, sign = match.groups()
    out = [f"{number}\\%\\%", f"{number}%%", f"{float(number) * 100:g}\\%\\%"]
    if sign:
        out += [f"{float(number) / 100:g}\\%", f"{float(number) * 100:g}\\%", f"{float(number) / 100:g} \\%"]
    return [o for o in out if o.strip() != text.strip()]


def choice_hedges(text: str) -> list[str]:
    """One choice letter against hedges that name it with another: `(A) or (B)`, `(A) (B) (C) (D)`."""
    match = re.fullmatch(r"\s*\(?([A-E])\)?\s*", text)
    if not match:
        return []
    letter = match.group(1)
    other = "B" if letter != "B" else "C"
    return [
        f"({letter}) or ({other})",
        f"({other}) or ({letter})",
        f"({letter}) ({other})",
        "(A) (B) (C) (D) (E)",
        f"({letter})\\quad({other})",
        f"{letter} or {other}",
        f"\\text{{({letter})}} or \\text{{({other})}}",
        f"\\boxed{{({letter}) \\text{{ or }} ({other})}}",
        f"$({letter})$ or $({other})$",
    ]


_GREEK_CASED = ("alpha", "beta", "delta", "epsilon", "theta", "lambda", "sigma", "phi", "psi", "omega", "xi")


def letter_cases(text: str) -> list[str]:
    """Each Greek letter in the other case (`\\theta` → `\\Theta`), and each one-letter Latin
    variable of LaTeX text in the other case (not `e`, `i`, or a macro's letters)."""
    if re.search(r"[=<>,:;]|\\(?:leq?|geq?|in|sum|prod|int|lim|sin|cos|tan|text|begin)(?![A-Za-z])", text):
        return []  # labels, relations, bound variables and lists may rename a letter and keep the value
    out = []
    for name in _GREEK_CASED:
        swapped = name.capitalize()
        for a, b in ((name, swapped), (swapped, name)):
            if re.search(rf"\\{a}(?![A-Za-z])", text) and a[0].lower() + a[1:] not in ("alpha", "beta", "epsilon"):
                out.append(re.sub(rf"\\{a}(?![A-Za-z])", lambda _, b=b: "\\" + b, text))
    if _is_latex(text) and _simple(text):
        letters = set(
            re.findall(r"(?<![\\A-Za-z])([a-dfghj-zA-DF-HJ-Z])(?![A-Za-z])", re.sub(r"\\text\{[^{}]*\}", "", text))
        )
        for letter in sorted(letters)[:2]:
            if letter.swapcase() not in letters:
                out.append(re.sub(rf"(?<![\\A-Za-z]){letter}(?![A-Za-z])", letter.swapcase(), text))
    return out


def chain_disagreements(text: str) -> list[str]:
    """A chain of equalities that ends in the right number after a different one: `x = 8 = 7`."""
    match = re.fullmatch(r"\s*(-?\d+)\s*", text)
    if not match:
        return []
    wrong = str(int(match.group(1)) + 1)
    t = match.group(1)
    return [f"x = {wrong} = {t}", f"x={wrong}={t}", f"{wrong} = {t}", f"x = {t} + 1 = {t}", f"y = {wrong} = {t}"]


def unit_pairs(text: str) -> list[tuple[str, str]]:
    """A number with a unit on both sides, the units different: never equal."""
    match = re.fullmatch(r"\s*(\d{1,30}(?:\.\d+)?)\s*", text)  # longer lines read as whole responses
    if not match:
        return []
    n = match.group(1)
    return [
        (f"{n}\\text{{ km}}", f"{n}\\text{{ m}}"),
        (f"{n} \\text{{km}}", f"{n} \\text{{ m}}"),
        (f"{n}\\text{{ hours}}", f"{n}\\text{{ minutes}}"),
        (f"\\${n}", f"{n}\\text{{ cents}}"),
        (f"{n}\\text{{ m}}^2", f"{n}\\text{{ m}}^3"),
        (f"{n}^\\circ", f"{n}\\text{{ radians}}"),
        (f"{n}^{{\\circ}}", f"{n} \\text{{rad}}"),
        (f"{n} cm", f"{n} mm"),
        (f"\\boxed{{{n}\\text{{ kg}}}}", f"{n}\\text{{ g}}"),
    ]


def mutations(text: str) -> Iterator[tuple[str, str]]:
    """(name, mutated text) for each change of value that applies to `text`."""
    if not _simple(text) or text.count("=") > 1 or re.match(r"\(?[A-J][.)]\s", text):  # `C. x = 42` is C
        return  # a worked solution or a chain `x = 5+5+1 = 11`: the change may miss the answer
    for mutate in (digit_changes, swaps, transpose, sign_flips, drops, inequality_flips, bracket_switches,
                   thousands_drops, conjugates, code, absolute_values, rounded_scientific, percent_changes,
                   choice_hedges, letter_cases, chain_disagreements):  # fmt: skip
        for index, changed in enumerate(mutate(text)):
            if changed.strip() != text.strip():
                yield f"{mutate.__name__}[{index}]", changed


def _adds_unit(name: str) -> bool:
    return name.endswith("sentences[2]")  # `17 \\text{ cm}`


def _has_unit(text: str) -> bool:
    """A unit (or anything but a number) on the other side: a second, different unit is no
    respelling (`5 \\text{ cm}` against `5^\\circ` is `undecided`)."""
    return bool(re.search(r"[A-Za-z$°€£¥%]|\\circ", text))


def variants(cases: list[dict[str, object]]) -> Iterator[Variant]:
    """Every spelling of each side of each case, and every mutation of each gold (against the
    gold, and against a prediction that is truly equal to it)."""
    for index, case in enumerate(cases):
        gold, pred = str(case["gold"]), str(case["pred"])
        for name, respelled in spellings(pred):
            if not (_adds_unit(name) and _has_unit(gold)):
                yield Variant(index, "spelling", f"pred:{name}", gold, respelled)
        for name, respelled in spellings(gold):
            if not (_adds_unit(name) and _has_unit(pred)):
                yield Variant(index, "spelling", f"gold:{name}", respelled, pred)
        for side, text in (("gold", gold), ("pred", pred)):
            if side == "pred" and not case["equal"]:
                continue
            for name, mutated in mutations(text):
                yield Variant(index, "mutation", f"{side}:{name}", text, mutated)
                if case["equal"] and not name.startswith("percent_changes"):  # `10` is `1000%` by the percent rule
                    other = pred if side == "gold" else gold
                    yield Variant(index, "mutation", f"{side}:{name}:against-other", other, mutated)
        for number, (with_unit, other_unit) in enumerate(unit_pairs(gold)):
            yield Variant(index, "mutation", f"gold:unit_pairs[{number}]", with_unit, other_unit)
