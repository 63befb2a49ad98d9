"""Shape checks of plate grids and tables: a row per plate row with a cell per column, rows in order, wells
inside the plate, table rows as wide as their header. Each raises :class:`~lab_etl.errors.ParseError` naming the
file and line of the first breach.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lab_etl.errors import ParseError
from lab_etl.plates import GEOMETRY, row_index_of, row_label


def check_row_length(cells: Sequence[str], columns: int, source: str, line: int, label: str) -> None:
    """Raise :class:`ParseError` unless a grid row has a cell for each of ``columns`` columns and nothing after them
    (trailing blank cells are allowed); ``label`` names the row (``"B"``) in the message."""
    if len(cells) < columns or any(cell.strip() for cell in cells[columns:]):
        raise ParseError(f"row {label} has {len(cells)} cells where {columns} are expected", source, line)


def grid_row_numbers(labels: Sequence[str], first_line: int, source: str, *, gaps: bool = False) -> list[int]:
    """The 1-based row numbers of a plate grid's row labels (``A``, ``B`` ..., one a line from ``first_line``).

    The rows must follow one another (A, B, C ...), or with ``gaps`` only rise (A, E, I, M: an export of every fourth
    row). Raises :class:`ParseError` naming the line of a label that is no row letter or out of order, and when there
    are no labels (naming the header line above ``first_line``).

    Examples
    --------
    >>> grid_row_numbers(["A", "B", "C"], 5, "plate.csv"), grid_row_numbers(["A", "E"], 5, "plate.csv", gaps=True)
    ([1, 2, 3], [1, 5])
    """
    rows: list[int] = []
    for line, label in enumerate(labels, first_line):
        try:
            # isalpha: a two-character cell such as 'A1' is a well, not row AA..AF
            row = row_index_of(label) if label.isalpha() else 0
        except ParseError:
            row = 0
        if gaps and (row < 1 or (rows and row <= rows[-1])):
            raise ParseError(
                f"'{label}' is not the next row letter of the grid (rows must rise: A, B, ...)", source, line
            )
        if not gaps and (row < 1 or (rows and row != rows[-1] + 1)):
            expected = row_label(rows[-1] + 1) if rows else "A"
            raise ParseError(
                f"found row '{label}' where row {expected} should be; a row of the grid is missing or out of order",
                source,
                line,
            )
        rows.append(row)
    if not rows:
        raise ParseError("the grid has a column header but no rows under it", source, first_line - 1)
    return rows


def grid_cells(
    rows: Sequence[int], columns: Sequence[int], lines: Sequence[Sequence[str]], first_line: int, source: str
) -> list[tuple[int, int, str]]:
    """``(row, column, cell)`` of every cell of a plate grid, row by row.

    ``lines[i]`` holds the cells of plate row ``rows[i]`` under the column numbers ``columns`` and stands on line
    ``first_line + i`` of the file; each is checked to hold a cell per column and nothing after them
    (:func:`check_row_length`).

    Examples
    --------
    >>> grid_cells([1, 2], [1, 2], [["0.1", "0.2"], ["0.3", "0.4", ""]], 4, "plate.csv")
    [(1, 1, '0.1'), (1, 2, '0.2'), (2, 1, '0.3'), (2, 2, '0.4')]
    """
    cells: list[tuple[int, int, str]] = []
    for line, (row, values) in enumerate(zip(rows, lines, strict=True), first_line):
        check_row_length(values, len(columns), source, line, row_label(row))
        cells.extend((row, column, value) for column, value in zip(columns, values, strict=False))
    return cells


def check_well_inside(row: int, column: int, plate_format: int, source: str, line: int | None = None) -> None:
    """Raise :class:`ParseError` (naming ``line`` when given) when the well at ``row``, ``column`` (1-based) lies
    outside the plate; for a grid, pass its last row and column.

    Examples
    --------
    >>> check_well_inside(8, 13, 96, "plate.csv", 3)
    Traceback (most recent call last):
    ...
    lab_etl.errors.ParseError: plate.csv:3: well H13 lies outside a 96-well plate (8 rows x 12 columns)
    """
    plate_rows, plate_columns = GEOMETRY[plate_format]
    if row > plate_rows or column > plate_columns:
        raise ParseError(
            f"well {row_label(row)}{column} lies outside a {plate_format}-well plate ({plate_rows} rows x "
            f"{plate_columns} columns)",
            source,
            line,
        )


def check_table_width(
    body: Iterable[tuple[int, Sequence[str]]], width: int, source: str, *, values_beyond: bool = True
) -> None:
    """Raise :class:`ParseError` at the first ``(line number, cells)`` row of a table that has fewer cells than its
    header's ``width`` (a cut or ragged file); with ``values_beyond=False`` also at one with a value past them
    (trailing blank cells pass).

    Examples
    --------
    >>> check_table_width([(2, ["A1", "5"]), (3, ["A2", "6", ""])], 2, "plate.csv", values_beyond=False)
    >>> check_table_width([(2, ["A1"])], 2, "p.csv")
    Traceback (most recent call last):
    ...
    lab_etl.errors.ParseError: p.csv:2: the line has 1 cells but the header has 2; the file looks truncated or ragged
    """
    for line, cells in body:
        if len(cells) < width:
            raise ParseError(
                f"the line has {len(cells)} cells but the header has {width}; the file looks truncated or ragged",
                source,
                line,
            )
        if not values_beyond and any(cell.strip() for cell in cells[width:]):
            raise ParseError(f"the line has values beyond the {width} columns of the header", source, line)
