"""The structural parts of LaTeX, read with a LaTeX tokenizer (pylatexenc's LatexWalker).

Regular expressions cannot tell the row break `\\\\` from the spacing macro `\\ `, or a `&`
inside a nested environment from a cell separator; a tokenizer can. Two readings live here:
- `despace`: spacing macros (`\\,` `\\!` `\\;` `\\:` `\\ ` `~` `\\quad` `\\qquad`) and the sizing
  macros `\\left` `\\right` `\\big…` become plain spaces or go, nothing else changes;
- `matrix_cells`: a whole-answer matrix environment as rows of cell texts, so its shape is what
  the `\\\\` and `&` say, whatever the spacing around them.
"""

from __future__ import annotations

import re
from typing import Any

# Spacing macros never change a value; `\\ ` is the macro named " ".
SPACING = frozenset({",", ";", "!", ":", " ", "quad", "qquad", "thinspace", "medspace", "thickspace", "enspace"})
SIZING = frozenset({"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
                    "Biggl", "Biggr", "displaystyle"})  # fmt: skip
# `\\\\[2pt]`: extra space after a row break, which the tokenizer leaves at the next row's start.
_ROW_SKIP = re.compile(r"^\[\s*-?[\d.]+\s*(?:pt|em|ex|mm|cm|in|mu|bp)\s*\]\s*")
MATRIX_ENVIRONMENTS = frozenset({"matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix",
                                 "array"})  # fmt: skip


def _nodes(text: str) -> list[Any] | None:
    """The top-level nodes of `text`, or None when the tokenizer cannot read it."""
    from pylatexenc.latexwalker import LatexWalker

    try:
        nodes, _, _ = LatexWalker(text, tolerant_parsing=False).get_latex_nodes()
    except Exception:  # pylatexenc raises its own parse errors on unbalanced input
        return None
    return list(nodes)


def _spacing(name: str) -> str | None:
    """The text a spacing or sizing macro stands for; `\\quadx` (a missing space) is `\\quad x`."""
    if name in SPACING:
        return " "
    if name in SIZING:
        return ""
    for prefix in ("qquad", "quad"):
        if name.startswith(prefix):
            return " " + name[len(prefix) :]
    return None


def _rewrite(text: str, nodes: list[Any]) -> str:
    """`text` with spacing and sizing macros replaced, recursing into groups and arguments."""
    from pylatexenc.latexwalker import LatexMacroNode, LatexSpecialsNode

    pieces: list[str] = []
    position = 0
    for node in _descendants(nodes):
        if isinstance(node, LatexMacroNode):
            # Whitespace the tokenizer folded into the macro (`\\left (`) goes with it.
            replacement = _spacing(node.macroname) or ""
        elif isinstance(node, LatexSpecialsNode) and node.specials_chars == "~":
            replacement = " "
        else:
            continue
        pieces.append(text[position : node.pos])
        pieces.append(replacement)
        position = node.pos + node.len
    pieces.append(text[position:])
    return "".join(pieces)


def _descendants(nodes: list[Any]) -> list[Any]:
    """Spacing and sizing nodes anywhere, in text order (leaves only: no node holds another)."""
    from pylatexenc.latexwalker import LatexMacroNode, LatexSpecialsNode

    found: list[Any] = []
    for node in nodes:
        if node is None:
            continue
        if isinstance(node, LatexMacroNode) and _spacing(node.macroname) is not None:
            found.append(node)
            continue
        if isinstance(node, LatexSpecialsNode):
            if node.specials_chars == "~":
                found.append(node)
            continue
        found.extend(_descendants(_children(node)))
    return found


def _children(node: Any) -> list[Any]:
    """A node's arguments and contents, in text order."""
    children = list(getattr(node, "nodelist", None) or [])
    parsed = getattr(node, "nodeargd", None)
    if parsed is not None:
        children = [a for a in (parsed.argnlist or []) if a is not None] + children
    return sorted(children, key=lambda n: n.pos)


def despace(text: str) -> str | None:
    """`text` without spacing or sizing macros; None when it is not well-formed LaTeX."""
    if "\\" not in text and "~" not in text:
        return text
    nodes = _nodes(text)
    return None if nodes is None else _rewrite(text, nodes)


def matrix_cells(text: str) -> list[list[str]] | None:
    """The cells of a matrix environment that is the whole of `text`, row by row; None when
    `text` is something else. Empty trailing rows (a closing `\\\\`) are dropped."""
    from pylatexenc.latexwalker import LatexEnvironmentNode, LatexMacroNode, LatexSpecialsNode

    if "\\begin" not in text:
        return None
    stripped = text.strip()
    nodes = _nodes(stripped)
    if not nodes or len(nodes) != 1 or not isinstance(nodes[0], LatexEnvironmentNode):
        return None
    environment = nodes[0]
    if environment.environmentname not in MATRIX_ENVIRONMENTS:
        return None
    body = [n for n in environment.nodelist if n is not None]
    rows: list[list[str]] = [[]]
    cell: list[str] = []
    for node in body:
        piece = stripped[node.pos : node.pos + node.len]
        if isinstance(node, LatexMacroNode) and node.macroname == "\\":
            rows[-1].append("".join(cell).strip())
            rows.append([])
            cell = []
        elif isinstance(node, LatexSpecialsNode) and node.specials_chars == "&":
            rows[-1].append("".join(cell).strip())
            cell = []
        else:
            cell.append(piece)
    rows[-1].append("".join(cell).strip())
    rows = [[_ROW_SKIP.sub("", c, count=1) if i == 0 else c for i, c in enumerate(row)] for row in rows]
    while rows and all(not c for c in rows[-1]):
        rows.pop()
    return rows


# Macros that only change how their argument looks, never what it means (`\mathbb` does: ℝ).
FORMATTING = frozenset({"mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathnormal", "boldsymbol", "bm"})


def _inner(text: str, node: Any) -> str:
    """The text of an argument, without its braces."""
    piece = text[node.pos : node.pos + node.len]
    delimiters = getattr(node, "delimiters", None)
    return piece[1:-1] if delimiters == ("{", "}") else piece


def _formatting_spans(text: str, nodes: list[Any]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for each formatting or colour macro, outermost first."""
    from pylatexenc.latexwalker import LatexGroupNode, LatexMacroNode

    spans: list[tuple[int, int, str]] = []
    index = 0
    while index < len(nodes):
        node = nodes[index]
        index += 1
        if node is None:
            continue
        name = getattr(node, "macroname", None) if isinstance(node, LatexMacroNode) else None
        if name in FORMATTING or name in ("textcolor", "color"):
            arguments = [a for a in (getattr(node.nodeargd, "argnlist", None) or []) if a is not None]
            end = node.pos + node.len
            if name == "color":  # a declaration: the colour goes, what follows stays
                spans.append((node.pos, end, ""))
                continue
            content = arguments[-1] if len(arguments) >= (2 if name == "textcolor" else 1) else None
            if content is None and index < len(nodes) and isinstance(nodes[index], LatexGroupNode):
                content = nodes[index]  # `\bm{x}`: the tokenizer does not know its argument
                end = content.pos + content.len
                index += 1
            if content is not None:
                spans.append((node.pos, end, _inner(text, content)))
            continue
        spans.extend(_formatting_spans(text, _children(node)))
    return spans


def unformat(text: str) -> str:
    """`\\mathbf{\\frac{1}{2}}`, `\\boldsymbol{x^{2}}`, `\\textcolor{red}{3}`, `\\color{red} 3` as
    what they show; nested ones too. Unreadable LaTeX comes back unchanged."""
    for _ in range(4):  # one level of nesting per pass
        if "\\" not in text:
            return text
        nodes = _nodes(text)
        spans = _formatting_spans(text, nodes) if nodes is not None else []
        if not spans:
            return text
        pieces, position = [], 0
        for start, end, replacement in sorted(spans):
            if start < position:
                continue  # inside a span already replaced: the next pass reaches it
            pieces += [text[position:start], replacement]
            position = end
        text = "".join(pieces) + text[position:]
    return text
