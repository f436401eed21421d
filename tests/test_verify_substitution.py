"""Equations and ODEs checked by substitution."""

from __future__ import annotations

import pytest

from vibecli.verify.substitution import check_equation, check_ode


@pytest.mark.parametrize(
    ("equation", "solution", "domain", "verdict"),
    [
        ("x^2 - 5x + 6 = 0", "x = 2, x = 3", "real", "equal"),
        ("x^2 - 5x + 6 = 0", "2, 3", "real", "equal"),
        ("x^2 - 5x + 6 = 0", "x = 2 or x = 3", "real", "equal"),
        ("x^2 - 5x + 6 = 0", "x = 2", "real", "not_equal"),  # one missing
        ("x^2 - 5x + 6 = 0", "x = 2, x = 4", "real", "not_equal"),  # one wrong
        ("x^2 = 2", "\\pm\\sqrt{2}", "real", "equal"),
        ("x**3 = 8", "x = 2", "real", "equal"),
        ("x^2 + 1 = 0", "no real solution", "real", "equal"),
        ("x^2 + 1 = 0", "x = i, x = -i", "real", "not_equal"),
        ("x^2 + 1 = 0", "x = i, x = -i", "complex", "equal"),
        ("x + y = 3; x - y = 1", "x = 2, y = 1", "real", "equal"),
        ("x + y = 3, x - y = 1", "x = 1, y = 2", "real", "not_equal"),
        ("x^2 + y^2 = 5; x + y = 3", "x=1, y=2; x=2, y=1", "real", "equal"),
        ("x^2 + y^2 = 5; x + y = 3", "(1, 2), (2, 1)", "real", "equal"),
        ("x^2 + y^2 = 5; x + y = 3", "(1, 2)", "real", "not_equal"),
        ("\\sin(x) = 0", "x = 0", "real", "undecided"),  # infinitely many: completeness unknown
    ],
)
def test_equation(equation: str, solution: str, domain: str, verdict: str) -> None:
    assert check_equation(equation, solution, domain).verdict == verdict


@pytest.mark.parametrize(
    ("ode", "solution", "ic", "verdict", "reason"),
    [
        ("y'' + y = 0", "y = C1 sin(x) + C2 cos(x)", None, "equal", "general"),
        ("y'' + y = 0", "y = C_1 \\sin x + C_2 \\cos x", None, "equal", "general"),
        ("d^2y/dx^2 + y = 0", "y = C1 cos(x) + C2 sin(x)", None, "equal", "general"),
        ("\\frac{d^2y}{dx^2} - 4y = 0", "y = C_1 e^{2x} + C_2 e^{-2x}", None, "equal", "general"),
        ("y' = y", "y = C1 e^x", None, "equal", "general"),
        ("dy/dx = 2x", "y = x^2 + C1", None, "equal", "general"),
        ("y' + 2xy = 0", "y = C1 exp(-x^2)", None, "equal", "general"),
        ("y' = 2y/x", "y^2 = C1 x^4", None, "equal", "general"),  # implicit
        ("y' = y", "y = e^{2x}", None, "not_equal", "does not satisfy"),
        ("y'' + y = 0", "y = C1 sin(x)", None, "not_equal", "1 constants"),
        ("y'' - y = 0", "y = C1 e^x + C2 e^x", None, "not_equal", "not independent"),
        ("y'' + y = 0", "y = cos(x)", "y(0)=1, y'(0)=0", "equal", "initial conditions"),
        ("y'' + y = 0", "y = sin(x)", "y(0)=1, y'(0)=0", "not_equal", "initial conditions"),
        ("y'' + y = 0", "y = C1 sin(x) + C2 cos(x)", "y(0)=1, y'(0)=0", "equal", "C1 = 0, C2 = 1"),
    ],
)
def test_ode(ode: str, solution: str, ic: str | None, verdict: str, reason: str) -> None:
    result = check_ode(ode, solution, ic)
    assert result.verdict == verdict
    assert reason in result.reason
