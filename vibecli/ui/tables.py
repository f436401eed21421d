"""Tables: drawn on a terminal, plain tab-separated lines anywhere else (never cut to a width)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(str(cell)).plain if isinstance(cell, str) else str(cell)


def show_table(console: Console, table: Table) -> None:
    """`table` on a terminal; piped or in a file, its title, header and rows as tab-separated
    lines, whole, for cut, awk and grep (Rich would cut cells to the 80 columns it assumes)."""
    if console.is_terminal:
        console.print(table)
        return
    lines = [_plain(table.title)] if table.title else []
    if table.show_header:
        lines.append("\t".join(_plain(column.header) for column in table.columns))
    cells = [list(column.cells) for column in table.columns]
    lines += ["\t".join(_plain(column[row]) for column in cells) for row in range(table.row_count)]
    console.file.write("".join(line + "\n" for line in lines))
    console.file.flush()
