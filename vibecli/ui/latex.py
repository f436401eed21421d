"""LaTeX to readable Unicode for the terminal, built on pylatexenc.

pylatexenc knows most symbols; this adds the macros answers lean on (`\\dfrac`, `\\binom`,
compound fractions that need parentheses) and Unicode superscripts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUPER_PATTERN = re.compile(r"\^(?:\{([0-9+\-=()n]+)\}|([0-9n]))")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$([^$\n]+?)\$", re.DOTALL)
_SIMPLE = re.compile(r"[\w.√π∞]+")


def _wrap(text: str) -> str:
    return text if _SIMPLE.fullmatch(text) else f"({text})"


@functools.cache
def _converter() -> Callable[[str], str]:
    from pylatexenc import latex2text, latexwalker, macrospec

    def args(node: Any, l2tobj: Any) -> list[str]:
        return [l2tobj.nodelist_to_text([a]).strip() for a in node.nodeargd.argnlist if a is not None]

    def frac(node: Any, l2tobj: Any) -> str:
        num, den = args(node, l2tobj)
        return f"{_wrap(num)}/{_wrap(den)}"

    def binom(node: Any, l2tobj: Any) -> str:
        n, k = args(node, l2tobj)
        return f"C({n}, {k})"

    def identity(node: Any, l2tobj: Any) -> str:
        return "".join(args(node, l2tobj))

    two_args = ("frac", "dfrac", "tfrac", "binom", "dbinom", "tbinom")
    parse_db = latexwalker.get_default_latex_context_db()
    parse_db.add_context_category(
        "vibe",
        prepend=True,
        macros=[macrospec.MacroSpec(name, "{{") for name in two_args]
        + [macrospec.MacroSpec(name, "{") for name in ("boxed", "fbox")],
    )
    text_db = latex2text.get_default_latex_context_db()
    specs = [latex2text.MacroTextSpec(n, simplify_repl=frac) for n in ("frac", "dfrac", "tfrac")]
    specs += [latex2text.MacroTextSpec(n, simplify_repl=binom) for n in ("binom", "dbinom", "tbinom")]
    specs += [latex2text.MacroTextSpec(n, simplify_repl=identity) for n in ("boxed", "fbox")]
    text_db.add_context_category("vibe", prepend=True, macros=specs)
    converter = latex2text.LatexNodes2Text(latex_context=text_db, math_mode="text")

    def convert(latex: str) -> str:
        # Superscripts first: pylatexenc drops the braces that make `^{10}` unambiguous.
        latex = _SUPER_PATTERN.sub(lambda m: (m.group(1) or m.group(2)).translate(_SUPERSCRIPT), latex)
        nodes = latexwalker.LatexWalker(latex, latex_context=parse_db, tolerant_parsing=True).get_latex_nodes()[0]
        text: str = converter.nodelist_to_text(nodes)
        return text.strip()

    return convert


def latex_to_unicode(latex: str) -> str:
    """`\\frac{1}{2}` → `1/2`, `x^{2}` → `x²`, `\\sqrt{3}\\pi` → `√(3)π`. Never raises."""
    try:
        return _converter()(latex)
    except Exception:  # pylatexenc raises assorted errors on malformed input; show it raw
        return latex


def render_math_spans(markdown: str) -> str:
    """Replace each `$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]` span with its Unicode reading."""
    return _MATH_SPAN.sub(lambda m: latex_to_unicode(next(g for g in m.groups() if g is not None)), markdown)
