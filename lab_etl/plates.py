"""Plate geometry and well names.

Wells are named canonically as a row label and a zero-padded column, ``A01`` .. ``P24`` .. ``AF48``.
Rows run ``A``..``Z`` then ``AA``..``AF`` (1536-well plates have 32 rows). BMG Labtech writes the rows
after ``Z`` as lowercase ``a``..``f``; :func:`parse_well` maps those to rows 27..32.

Examples
--------
>>> parse_well("b7")
(2, 7)
>>> well_name(2, 7)
'B07'
>>> parse_well("a1", plate_format=1536)   # BMG's row 27
(27, 1)
>>> plate_format_for(16, 24)
384
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lab_etl.errors import ParseError

#: plate format (number of wells) -> (rows, columns)
GEOMETRY: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}

_WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*[-_:]?\s*0*(\d{1,2})\s*$")


@dataclass(frozen=True, slots=True)
class PlateGeometry:
    """Rows and columns of one plate format."""

    plate_format: int
    rows: int
    columns: int

    def wells(self) -> list[str]:
        """All canonical well names, row by row (A01, A02, ... )."""
        return [well_name(r, c) for r in range(1, self.rows + 1) for c in range(1, self.columns + 1)]

    def is_edge(self, row_index: int, column_index: int) -> bool:
        """True for wells on the outer ring (first/last row or column), where evaporation bites."""
        return row_index in (1, self.rows) or column_index in (1, self.columns)


def geometry(plate_format: int) -> PlateGeometry:
    """The geometry of a plate format; raises :class:`ParseError` for an unknown one."""
    try:
        rows, columns = GEOMETRY[plate_format]
    except KeyError:
        known = ", ".join(str(k) for k in GEOMETRY)
        raise ParseError(f"unknown plate format {plate_format}; expected one of {known}") from None
    return PlateGeometry(plate_format, rows, columns)


def row_label(row_index: int) -> str:
    """Row letter(s) for a 1-based row index: 1 -> 'A', 26 -> 'Z', 27 -> 'AA', 32 -> 'AF'."""
    if not 1 <= row_index <= 52:
        raise ParseError(f"row index {row_index} is outside 1..52")
    if row_index <= 26:
        return chr(64 + row_index)
    return "A" + chr(64 + row_index - 26)


#: The row labels plates have, exactly as written (upper case, ``A`` .. ``Z``, ``AA`` .. ``AF``), and their 1-based
#: index; a label that is not a key is not a plate row (see :func:`row_index_of` for other spellings).
ROW_INDEX: dict[str, int] = {row_label(index): index for index in range(1, 33)}


def row_index_of(label: str) -> int:
    """1-based row index of a row label. 'A' -> 1, 'AF' -> 32; BMG's lowercase 'a'..'f' -> 27..32.

    A single lowercase letter is BMG's spelling for rows after Z only when it is one of a..f
    and the caller says so via :func:`parse_well`'s ``plate_format``; here lowercase letters
    other than that convention are upper-cased.
    """
    text = label.strip()
    if len(text) == 1:
        return ord(text.upper()) - 64
    if len(text) == 2 and text[0] in "Aa":
        return 26 + ord(text[1].upper()) - 64
    raise ParseError(f"'{label}' is not a plate row label (A..Z, AA..AF)")


@lru_cache(maxsize=8192)
def parse_well(text: str, plate_format: int | None = None) -> tuple[int, int]:
    """Parse a well name in any common spelling to ``(row_index, column_index)``, both 1-based.

    Accepts ``A1``, ``A01``, ``a1``, ``A-1``, ``A:01``, ``AF48``. In a 1536-well plate a single
    lowercase ``a``..``f`` is BMG's spelling of rows 27..32 (AA..AF). Raises :class:`ParseError`
    when the text is not a well or lies outside ``plate_format``.
    """
    match = _WELL_RE.match(text)
    if not match:
        raise ParseError(f"'{text}' is not a well name (expected e.g. A1 or A01)")
    label, column = match.group(1), int(match.group(2))
    if plate_format == 1536 and len(label) == 1 and label in "abcdef":
        row = 26 + ord(label) - 96
    else:
        row = row_index_of(label)
    if column < 1:
        raise ParseError(f"'{text}' has column 0; columns start at 1")
    if plate_format is not None:
        rows, columns = geometry(plate_format).rows, geometry(plate_format).columns
        if row > rows or column > columns:
            raise ParseError(f"well '{text}' lies outside a {plate_format}-well plate ({rows}x{columns})")
    return row, column


@lru_cache(maxsize=4096, typed=True)  # a plate's wells are named over and over; 1536 of them fit
def well_name(row_index: int, column_index: int) -> str:
    """Canonical well name: row label plus two-digit column, e.g. ``(2, 7) -> 'B07'``."""
    return f"{row_label(row_index)}{column_index:02d}"


def plate_format_for(rows: int, columns: int) -> int:
    """The plate format whose geometry is exactly ``rows`` x ``columns``; ParseError otherwise."""
    for plate_format, shape in GEOMETRY.items():
        if shape == (rows, columns):
            return plate_format
    raise ParseError(f"a {rows}x{columns} grid is not a standard plate (96 = 8x12, 384 = 16x24, 1536 = 32x48)")


def smallest_plate_format(max_row: int, max_column: int) -> int:
    """The smallest standard format (96, 384, 1536) that holds a well at ``(max_row, max_column)``.

    Used when a file lists only some wells of a plate (a partial plate) and does not state its format.
    """
    for plate_format in (96, 384, 1536):
        rows, columns = GEOMETRY[plate_format]
        if max_row <= rows and max_column <= columns:
            return plate_format
    raise ParseError(f"no standard plate holds a well at row {max_row}, column {max_column}")
