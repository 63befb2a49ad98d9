"""Plate-map CSV: stacked grids (one per field, as written by wellr, plater and lab spreadsheets) or a long table.

:func:`read_plate_map_csv` detects which of the two a file is and returns one :class:`~lab_etl.layouts.Layout`.
"""

from __future__ import annotations

import re

from lab_etl.errors import ParseError
from lab_etl.layouts.fields import (
    FORMAT_KEYS,
    PLATE_KEYS,
    WELL_KEYS,
    WellRecord,
    build_layout,
    csv_rows,
    field_key,
    format_holding,
)
from lab_etl.layouts.model import Layout
from lab_etl.parsers.files import default_plate_id
from lab_etl.plates import GEOMETRY, geometry, parse_well, plate_format_for, row_index_of, row_label, well_name


def _is_grid_header(cells: list[str]) -> bool:
    numbers = [c for c in cells[1:]]
    while numbers and not numbers[-1]:
        numbers.pop()
    if not numbers:
        return False
    return all(c.isdigit() and int(c) == i for i, c in enumerate(numbers, start=1))


def read_plate_map_csv(
    data: bytes,
    name: str,
    plate_id: str | None = None,
    field: str | None = None,
    *,
    plate_format: int | None = None,
    experiment_id: str | None = None,
) -> Layout:
    """Read a plate map CSV: stacked grids (one per field) or a long table (one row per well).

    A *grid* starts with a header whose first cell names the field (``conc``, ``strain`` ...; ``field`` names a
    grid whose first cell is empty, default ``sample``) followed by column numbers ``1..N``; then one line per
    plate row ``A..``. Several grids may follow each other (blank lines between them are optional); each gives
    one field of every well. All wells of the plate are returned; wells no grid fills are ``empty``.

    A *long* table has a well column (``well``, ``Well Position`` ...) and one column per field; see the module
    docstring for the mapping. A ``plate`` column may list several plates: ``plate_id`` selects one (required
    then). Without a plate column the plate is ``plate_id`` or the file name's stem.

    Any delimiter (``,`` ``;`` tab ``|``), UTF-8 with BOM or cp1252, CRLF. Decimal commas (``0,5``) are read
    when the delimiter is not a comma.

    Parameters
    ----------
    data, name:
        The file's bytes and name (the name becomes ``layout_source``).
    plate_id:
        The plate's id; for a long CSV with several plates, the one to return.
    field:
        The field of a grid whose header cell is empty.
    plate_format:
        The plate's format when the file does not fill the whole plate (long CSV); default: the smallest
        standard plate holding every listed well.
    experiment_id:
        The ELN experiment of the plate, unless the file has an ``experiment_id`` column.

    Raises
    ------
    ParseError
        A grid that skips or lacks a row, a cell or well outside the plate, a well listed twice, a file that is
        neither a grid nor a long table, an unknown role, a concentration that is no number.

    Examples
    --------
    >>> text = b"well;role;sample;conc_uM\\nA1;sample;cpd-1;0,5\\nA2;DMSO;;\\n"
    >>> layout = read_plate_map_csv(text, "map.csv", plate_id="P1", plate_format=96)
    >>> [(w.well, w.role, w.concentration, w.concentration_unit) for w in layout.wells]
    [('A01', 'sample', 0.5, 'uM'), ('A02', 'negative_control', None, None)]
    """
    rows, delimiter = csv_rows(data, name)
    content = [(line, cells) for line, cells in rows if any(cells)]
    if not content:
        raise ParseError("the plate map holds no rows", name)
    first_line, first_cells = content[0]
    decimal_comma = delimiter != ","
    if _is_grid_header(first_cells):
        return _read_grids(rows, name, plate_id, field, experiment_id, decimal_comma)
    keys = [field_key(c) for c in first_cells]
    if any(k in WELL_KEYS for k in keys):
        return _read_long(content, name, plate_id, plate_format, experiment_id, decimal_comma)
    raise ParseError(
        "not a plate map: the first line is neither a grid header (field, 1, 2, 3 ...) nor a header with a well "
        f"column ({', '.join(WELL_KEYS)}); found {first_cells[:6]}",
        name,
        first_line,
    )


def _read_grids(
    rows: list[tuple[int, list[str]]],
    name: str,
    plate_id: str | None,
    default_field: str | None,
    experiment_id: str | None,
    decimal_comma: bool,
) -> Layout:
    grids: list[tuple[str, int, int, list[tuple[int, str, list[str]]]]] = []  # field, header line, columns, rows
    current: list[tuple[int, str, list[str]]] | None = None
    for line, cells in rows:
        if not any(cells):
            current = None
            continue
        continues_grid = current is not None and re.fullmatch(r"[A-Za-z]{1,2}", cells[0]) is not None
        if not continues_grid and _is_grid_header(cells):
            grid_field = cells[0].lstrip("\ufeff") or default_field or "sample"
            columns = len([c for c in cells[1:] if c])
            if any(g[0] == grid_field for g in grids):
                raise ParseError(f"the grid '{grid_field}' appears twice; each field may have one grid", name, line)
            current = []
            grids.append((grid_field, line, columns, current))
            continue
        if current is None:
            raise ParseError(
                f"line does not belong to a grid (a grid starts with 'field,1,2,3...'): {cells[:4]}", name, line
            )
        current.append((line, cells[0], cells[1:]))

    plate_format: int | None = None
    values: dict[tuple[int, int], dict[str, object]] = {}
    for grid_field, header_line, columns, grid_rows in grids:
        for expected, (line, label, _) in enumerate(grid_rows, start=1):
            try:
                got = row_index_of(label) if re.fullmatch(r"[A-Za-z]{1,2}", label) else None
            except ParseError:
                got = None
            if got is None:
                raise ParseError(f"grid '{grid_field}': '{label}' is not a plate row label (A, B, ...)", name, line)
            if got != expected:
                problem = f"row {row_label(expected)} is missing" if got > expected else f"row {label} repeats"
                raise ParseError(f"grid '{grid_field}': {problem} (found row {label} here)", name, line)
        try:
            grid_format = plate_format_for(len(grid_rows), columns)
        except ParseError:
            shapes = ", ".join(f"{f} = {r}x{c}" for f, (r, c) in GEOMETRY.items())
            last = row_label(len(grid_rows)) if grid_rows else "none"
            raise ParseError(
                f"grid '{grid_field}' has {len(grid_rows)} rows (A..{last}) and {columns} columns, which is no "
                f"standard plate ({shapes}); a row is missing or extra",
                name,
                header_line,
            ) from None
        if plate_format is not None and grid_format != plate_format:
            raise ParseError(
                f"grid '{grid_field}' is a {grid_format}-well grid but an earlier grid is {plate_format}-well",
                name,
                header_line,
            )
        plate_format = grid_format
        for row_number, (line, _, cells) in enumerate(grid_rows, start=1):
            extra = [i for i, c in enumerate(cells, start=1) if i > columns and c]
            if extra:
                raise ParseError(
                    f"grid '{grid_field}': a value in column {extra[0]} lies outside the {columns}-column plate "
                    f"(well {row_label(row_number)}{extra[0]})",
                    name,
                    line,
                )
            for column in range(1, columns + 1):
                cell = cells[column - 1] if column - 1 < len(cells) else ""
                values.setdefault((row_number, column), {})[field_key(grid_field)] = cell
    if plate_format is None:
        raise ParseError("the file holds no grid", name)
    shape = geometry(plate_format)
    records = [
        WellRecord(r, c, values.get((r, c), {}), None)
        for r in range(1, shape.rows + 1)
        for c in range(1, shape.columns + 1)
    ]
    return build_layout(records, plate_id or default_plate_id(name), plate_format, name, experiment_id, decimal_comma)


def _read_long(
    content: list[tuple[int, list[str]]],
    name: str,
    plate_id: str | None,
    plate_format: int | None,
    experiment_id: str | None,
    decimal_comma: bool,
) -> Layout:
    header_line, header = content[0]
    keys = [field_key(c) for c in header]
    duplicated = sorted({k for k in keys if k and keys.count(k) > 1})
    if duplicated:
        raise ParseError(f"the header names column(s) {duplicated} twice", name, header_line)
    well_index = next(i for i, k in enumerate(keys) if k in WELL_KEYS)
    plate_index = next((i for i, k in enumerate(keys) if k in PLATE_KEYS), None)
    format_index = next((i for i, k in enumerate(keys) if k in FORMAT_KEYS), None)

    by_plate: dict[str, list[tuple[int, list[str]]]] = {}
    for line, cells in content[1:]:
        cells = cells + [""] * (len(keys) - len(cells))
        if len(cells) > len(keys) and any(cells[len(keys) :]):
            raise ParseError(f"the line has {len(cells)} cells but the header only {len(keys)}", name, line)
        plate = cells[plate_index] if plate_index is not None and cells[plate_index] else None
        by_plate.setdefault(plate or plate_id or default_plate_id(name), []).append((line, cells))
    if not by_plate:
        raise ParseError("the plate map has a header but no wells", name, header_line)
    if plate_id is not None and plate_index is not None:
        if plate_id not in by_plate:
            raise ParseError(f"plate '{plate_id}' is not in the file; it lists {sorted(by_plate)}", name)
        chosen = plate_id
    elif len(by_plate) > 1:
        raise ParseError(
            f"the file lists {len(by_plate)} plates ({', '.join(sorted(by_plate))}); pass plate_id= to choose one",
            name,
        )
    else:
        chosen = next(iter(by_plate))

    lines = by_plate[chosen]
    stated = plate_format
    if format_index is not None:
        formats = {cells[format_index] for _, cells in lines if cells[format_index]}
        if len(formats) > 1:
            raise ParseError(f"plate {chosen} is given several plate formats {sorted(formats)}", name)
        if formats:
            text = formats.pop()
            if not text.isdigit() or int(text) not in GEOMETRY:
                raise ParseError(f"plate format '{text}' is not one of {', '.join(map(str, GEOMETRY))}", name)
            stated = int(text)
    positions: dict[tuple[int, int], int] = {}
    records = []
    for line, cells in lines:
        try:
            row, column = parse_well(cells[well_index], stated)
        except ParseError as exc:
            raise ParseError(exc.reason, name, line) from None
        if (row, column) in positions:
            raise ParseError(
                f"well {well_name(row, column)} of plate {chosen} is listed twice (first on line "
                f"{positions[(row, column)]}); keep one line per well",
                name,
                line,
            )
        positions[(row, column)] = line
        fields = {key: cell for key, cell in zip(keys, cells, strict=False) if key}
        records.append(WellRecord(row, column, dict(fields), line))
    if stated is None:
        stated = format_holding(records, chosen, name)
    return build_layout(records, chosen, stated, name, experiment_id, decimal_comma)
