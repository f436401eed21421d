"""Checking claimed solutions by substitution: algebraic equations and systems, and ODEs.

An equation passes when every claimed root satisfies it and, where the full solution set can
be computed, none is missing and none is extra. An ODE solution passes when it satisfies the
equation (SymPy's `checkodesol`, with a numeric fallback at random points), when its
arbitrary constants match the order and are independent (a general solution), and when it
meets the initial conditions given.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from vibecli.verify.compare import Verdict
from vibecli.verify.parse import ParseFailure, imaginary_unit, split_top_level, to_sympy

_DERIVATIVES = [
    (re.compile(r"\\frac\{d\^\{?(\d)\}?\s*y\}\{d\s*x\^\{?\d\}?\}|d\^\{?(\d)\}?y\s*/\s*dx\^\{?\d\}?"), None),
    (re.compile(r"\\frac\{d\s*y\}\{d\s*x\}|dy\s*/\s*dx"), "1"),
]
_PRIMES = re.compile(r"(?<![A-Za-z_])y(?:\(x\))?('{1,4}|\^\{?\((\d)\)\}?)")
_CONSTANT = re.compile(r"(?<![A-Za-z\\])C_?\{?(\d)\}?|(?<![A-Za-z\\])c_\{?(\d)\}?")


def _equations(text: str) -> list[Any]:
    """Equations separated by `;`, or by commas when each piece has an `=`."""
    from sympy import Eq

    pieces = [p for p in re.split(r";|\\\\|\band\b", text) if p.strip()]
    if len(pieces) == 1:
        commas = split_top_level(text)
        pieces = commas if all("=" in c for c in commas) else pieces
    equations = []
    for piece in pieces:
        value = to_sympy(piece.strip())
        equations.append(value if isinstance(value, Eq) else Eq(value, 0))
    return equations


def _claimed_solutions(text: str, variables: list[Any]) -> list[dict[Any, Any]]:
    """`x = 2, x = 3`, `x = 2 or x = 3`, `2, 3`, `{2, 3}`, `x=1, y=2; x=2, y=1`, `(1, 2), (2, 1)`."""
    from sympy import Eq, FiniteSet, Interval, Tuple

    if not re.search(r"[\w\\∅]", text):
        raise ParseFailure("the claim is empty: give the solutions, or 'no solution'")
    cleaned = re.sub(r"\\\{|\\\}|\\text\{\s*or\s*\}|\bor\b", lambda m: "," if "or" in m.group() else "", text)
    if re.fullmatch(r"\s*(no (real )?solutions?|none|\\emptyset|\\varnothing|∅)\s*", cleaned, re.IGNORECASE):
        return []
    groups = [g for g in cleaned.split(";") if g.strip()]
    names = {v.name: v for v in variables}
    solutions: list[dict[Any, Any]] = []
    for group in groups:
        current: dict[Any, Any] = {}
        for item in split_top_level(group.strip()):
            value = to_sympy(item)
            if "i" not in names and isinstance(value, Eq):
                value = Eq(value.lhs, imaginary_unit(value.rhs))
            elif "i" not in names and hasattr(value, "free_symbols"):
                value = imaginary_unit(value)
            if isinstance(value, Eq) and getattr(value.lhs, "name", None) in names:
                variable = names[value.lhs.name]
                if variable in current:
                    solutions.append(current)
                    current = {}
                current[variable] = value.rhs
            elif isinstance(value, Tuple | tuple | Interval):
                # `(1, 2)` parses as an open interval; here it is a point (x, y).
                elements = [value.start, value.end] if isinstance(value, Interval) else list(value)
                solutions.append(dict(zip(variables, elements, strict=False)))
            elif len(variables) == 1 and isinstance(value, FiniteSet):
                solutions.extend({variables[0]: v} for v in value)  # `\pm\sqrt{2}`
            elif len(variables) == 1:
                solutions.append({variables[0]: value})
            else:
                raise ParseFailure(f"cannot tell which variable '{item}' is for")
        if current:
            solutions.append(current)
    return solutions


def _satisfies(equation: Any, point: dict[Any, Any]) -> bool | None:
    from sympy import simplify

    residual = (equation.lhs - equation.rhs).subs(point)
    if simplify(residual) == 0:
        return True
    value = residual.evalf(50)
    if value.is_number:
        return bool(abs(value) < 1e-40)
    return None


@dataclass(frozen=True)
class _Full:
    solutions: list[dict[Any, Any]] | None  # None when the full set cannot be computed


def _full_solutions(equations: list[Any], variables: list[Any], domain: str) -> _Full:
    from sympy import FiniteSet, S, solve, solveset

    if len(equations) == 1 and len(variables) == 1:
        found = solveset(equations[0], variables[0], domain=S.Reals if domain == "real" else S.Complexes)
        if isinstance(found, FiniteSet) or found.is_empty:
            return _Full([{variables[0]: value} for value in found] if not found.is_empty else [])
        return _Full(None)
    try:
        found = solve(equations, variables, dict=True)
    except NotImplementedError:
        return _Full(None)
    if domain == "real":
        found = [s for s in found if all(v.is_real is not False for v in s.values())]
    if any(set(s) != set(variables) for s in found):
        return _Full(None)  # a family of solutions, not a finite list
    return _Full(found)


def _same_point(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    from sympy import simplify

    return set(a) == set(b) and all(simplify(a[k] - b[k]) == 0 for k in a)


def check_equation(equation_text: str, solution_text: str, domain: str = "real") -> Verdict:
    """Do the claimed solutions solve the equation (or system), all of them and only them?"""
    try:
        equations = _equations(equation_text)
        variables = sorted(set().union(*(e.free_symbols for e in equations)), key=lambda s: s.name)
        claimed = _claimed_solutions(solution_text, variables)
    except ParseFailure as exc:
        return Verdict("undecided", str(exc))
    if not variables:
        return Verdict("undecided", "the equation has no unknowns")
    for point in claimed:
        for equation in equations:
            ok = _satisfies(equation, point)
            shown = ", ".join(f"{k} = {v}" for k, v in point.items())
            if ok is False:
                return Verdict("not_equal", f"{shown} does not satisfy {equation.lhs} = {equation.rhs}")
            if ok is None:
                return Verdict("undecided", f"could not evaluate {equation} at {shown}")
    full = _full_solutions(equations, variables, domain).solutions
    if full is None:
        return Verdict("undecided", "every claimed solution satisfies it; the full solution set could not be computed")
    missing = [s for s in full if not any(_same_point(s, c) for c in claimed)]
    extra = [c for c in claimed if not any(_same_point(s, c) for s in full)]
    if missing:
        return Verdict("not_equal", f"missing {_show(missing)} ({domain} solutions)")
    if extra:
        return Verdict("not_equal", f"{_show(extra)} listed twice or outside the {domain} solutions")
    return Verdict("equal", f"all {len(full)} {domain} solution(s), each checked by substitution")


def _show(points: list[dict[Any, Any]]) -> str:
    return "; ".join(", ".join(f"{k} = {v}" for k, v in p.items()) for p in points)


def _ode_placeholders(text: str) -> str:
    """`y''` → `D2`, `dy/dx` → `D1`, `\\frac{d^2y}{dx^2}` → `D2`, `y(x)` → `y`."""
    for pattern, fixed_order in _DERIVATIVES:

        def derivative(match: re.Match[str], order: str | None = fixed_order) -> str:
            return f" D{order or match.group(1) or match.group(2)} "

        text = pattern.sub(derivative, text)

    def primes(match: re.Match[str]) -> str:
        order = len(match.group(1)) if match.group(1).startswith("'") else int(match.group(2))
        return f" D{order} "

    text = _PRIMES.sub(primes, text)
    return re.sub(r"(?<![A-Za-z_])y\(x\)", "y", text)


def _ode_symbols(expr: Any, y: Any, x: Any) -> Any:
    """Map placeholder and constant symbols back: D2 → y'', c_{1} → C1, y → y(x)."""
    from sympy import Symbol

    mapping = {}
    for symbol in expr.free_symbols:
        derivative = re.fullmatch(r"[dD]_?\{?(\d)\}?", symbol.name)
        constant = re.fullmatch(r"[cC]_?\{?(\d)\}?", symbol.name)
        if derivative:
            mapping[symbol] = y.diff(x, int(derivative.group(1)))
        elif constant:
            mapping[symbol] = Symbol(f"C{constant.group(1)}")
        elif symbol.name == "y":
            mapping[symbol] = y
        elif symbol.name != "x":
            raise ParseFailure(f"unknown symbol '{symbol.name}' (use x, y, y', C1, C2, …)")
    return expr.xreplace(mapping)


def _parse_ode(text: str, y: Any, x: Any) -> Any:
    from sympy import Eq

    value = to_sympy(_ode_placeholders(text))
    equation = value if isinstance(value, Eq) else Eq(value, 0)
    return Eq(_ode_symbols(equation.lhs, y, x), _ode_symbols(equation.rhs, y, x))


def _parse_ode_solution(text: str, y: Any, x: Any) -> Any:
    from sympy import Eq

    # latex2sympy keeps `C_{1}` whole; the plain parser keeps `C1` whole.
    latex = bool(re.search(r"[\\{}]", text))
    text = _CONSTANT.sub(
        lambda m: f"C_{{{m.group(1) or m.group(2)}}}" if latex else f"C{m.group(1) or m.group(2)}", text
    )
    value = to_sympy(_ode_placeholders(text))
    if not isinstance(value, Eq):
        return Eq(y, _ode_symbols(value, y, x))
    lhs, rhs = _ode_symbols(value.lhs, y, x), _ode_symbols(value.rhs, y, x)
    return Eq(lhs, rhs) if lhs == y else Eq(lhs - rhs, 0)


def _numeric_residual_zero(ode: Any, solution: Any, y: Any, x: Any, constants: list[Any]) -> bool:
    residual = (ode.lhs - ode.rhs).subs(y, solution.rhs).doit()
    rng = random.Random(0)
    for _ in range(6):
        point = {x: rng.uniform(0.3, 2.0), **{c: rng.uniform(-2, 2) for c in constants}}
        value = residual.evalf(40, subs=point)
        if not value.is_number or abs(value) > 1e-25:
            return False
    return True


def check_ode(ode_text: str, solution_text: str, ic_text: str | None = None) -> Verdict:
    """Does the claimed solution satisfy the ODE, with the right constants and initial conditions?"""
    from sympy import Function, Matrix, Symbol, ode_order
    from sympy.solvers.ode import checkodesol

    x = Symbol("x")
    y = Function("y")(x)
    try:
        ode = _parse_ode(ode_text, y, x)
        solution = _parse_ode_solution(solution_text, y, x)
    except ParseFailure as exc:
        return Verdict("undecided", str(exc))
    order = ode_order(ode.lhs - ode.rhs, y)
    constants = sorted((s for s in solution.free_symbols if re.fullmatch(r"C\d", s.name)), key=lambda s: s.name)
    explicit = solution.lhs == y
    try:
        satisfied, _ = checkodesol(ode, solution, y)
    except (NotImplementedError, ValueError):
        satisfied = False
    how = "by substitution"
    if not satisfied:
        if not explicit or not _numeric_residual_zero(ode, solution, y, x, constants):
            return Verdict("not_equal", "it does not satisfy the equation")
        how = "numerically at random points"
    if ic_text:
        return _check_initial_conditions(ic_text, solution, y, x, constants, how)
    if constants:
        if len(constants) != order:
            return Verdict("not_equal", f"satisfies it, but has {len(constants)} constants for an order-{order} ODE")
        if explicit:
            rows = [[solution.rhs.diff(x, k).diff(c) for c in constants] for k in range(order)]
            rng = random.Random(1)
            point = {x: rng.uniform(0.3, 2.0), **{c: rng.uniform(-2, 2) for c in constants}}
            if Matrix(rows).subs(point).evalf(30).rank() < order:
                return Verdict("not_equal", "satisfies it, but its constants are not independent (not general)")
        return Verdict("equal", f"a general solution: satisfies it {how}, {order} independent constants")
    return Verdict("equal", f"a particular solution: satisfies it {how}")


def _check_initial_conditions(ic_text: str, solution: Any, y: Any, x: Any, constants: list[Any], how: str) -> Verdict:
    from sympy import solve, sympify

    if solution.lhs != y:
        return Verdict("undecided", "initial conditions need an explicit solution y = …")
    conditions = []
    for item in split_top_level(ic_text):
        match = re.fullmatch(r"\s*y('*)\(([^)]*)\)\s*=\s*(.+)", item)
        if not match:
            return Verdict("undecided", f"cannot read the initial condition '{item}'")
        order, at, value = len(match.group(1)), to_sympy(match.group(2)), to_sympy(match.group(3))
        conditions.append(solution.rhs.diff(x, order).subs(x, at) - sympify(value))
    if constants:
        found = solve(conditions, constants, dict=True)
        if len(found) != 1 or set(found[0]) != set(constants):
            return Verdict("not_equal", "no choice of the constants meets the initial conditions")
        shown = ", ".join(f"{c} = {v}" for c, v in found[0].items())
        return Verdict("equal", f"satisfies it {how}; the initial conditions fix {shown}")
    failed = [c for c in conditions if _nonzero(c)]
    if failed:
        return Verdict("not_equal", "satisfies the equation but not the initial conditions")
    return Verdict("equal", f"satisfies the equation {how} and the initial conditions")


def _nonzero(expr: Any) -> bool:
    from sympy import simplify

    return bool(simplify(expr) != 0 and abs(expr.evalf(40)) > 1e-30)
