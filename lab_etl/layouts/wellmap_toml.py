"""wellmap TOML layouts: :func:`read_wellmap` lets the `wellmap <https://wellmap.readthedocs.io>`_ library
resolve the ``[row]``/``[col]``/``[block]``/``[well]`` tables, then maps each well's fields like every reader.
"""

from __future__ import annotations

from pathlib import Path

from lab_etl.errors import ParseError
from lab_etl.layouts.fields import WellRecord, build_layout, field_key, format_holding, is_blank
from lab_etl.layouts.model import Layout
from lab_etl.plates import geometry, parse_well, well_name

_WELLMAP_STRUCTURE = {"well", "well0", "row", "col", "row_i", "col_j", "path", "plate"}


def read_wellmap(
    path: Path, plate_id: str | None = None, *, plate_format: int | None = None, experiment_id: str | None = None
) -> Layout:
    """Read a `wellmap <https://wellmap.readthedocs.io>`_ TOML layout (with its ``[meta] include`` files).

    wellmap resolves ``[row]``, ``[col]``, ``[block]``, ``[well]`` and ``[expt]`` tables into one row per
    defined well; its fields map as for every layout (the table in :mod:`lab_etl.layouts`): ``sample`` ->
    ``sample_name``, ``standard = true`` -> role ``standard``, ``control = 'no RT'`` -> ``negative_control``, a
    unit-named field (``ug_mL``) -> ``concentration`` in that unit, the rest -> ``attributes``. Layouts with
    ``[plate.NAME]`` tables hold several plates: ``plate_id`` picks one. Only defined wells are returned.

    Raises :class:`ParseError` when the file or an included file is missing or wellmap rejects the layout.

    Examples
    --------
    >>> layout = read_wellmap(Path("tests/data/plate_layouts/wellmap_qpcr_timecourse.toml"))  # doctest: +SKIP
    >>> layout.plate_format  # doctest: +SKIP
    384
    """
    import wellmap

    source = str(path)
    if not Path(path).is_file():
        raise ParseError("the wellmap layout does not exist", source)
    try:
        frame = wellmap.load(str(path))
    except FileNotFoundError as exc:
        raise ParseError(
            f"a file the layout includes is missing: {exc.filename}; keep included TOML files next to the layout "
            "under the names its [meta] include gives",
            source,
        ) from None
    except (wellmap.LayoutError, wellmap.UsageError, ValueError, TypeError) as exc:
        raise ParseError(f"wellmap cannot read the layout: {exc}", source) from None
    records_by_plate: dict[str, list[WellRecord]] = {}
    for entry in frame.to_dict(orient="records"):
        row, column = parse_well(str(entry["well"]))
        plate = str(entry["plate"]) if "plate" in entry and not is_blank(entry["plate"]) else None
        fields = {
            field_key(str(key)): _python_value(value)
            for key, value in entry.items()
            if key not in _WELLMAP_STRUCTURE and not is_blank(value)
        }
        records_by_plate.setdefault(plate or plate_id or Path(path).stem, []).append(WellRecord(row, column, fields))
    if not records_by_plate:
        raise ParseError("the wellmap layout defines no wells", source)
    if len(records_by_plate) > 1 and plate_id not in records_by_plate:
        raise ParseError(f"the layout defines plates {sorted(records_by_plate)}; pass plate_id= to choose one", source)
    chosen = plate_id if plate_id in records_by_plate else next(iter(records_by_plate))
    records = records_by_plate[chosen]
    stated = plate_format or format_holding(records, str(chosen), source)
    for record in records:
        if record.row > geometry(stated).rows or record.column > geometry(stated).columns:
            raise ParseError(f"well {well_name(record.row, record.column)} lies outside a {stated}-well plate", source)
    return build_layout(records, str(chosen), stated, source, experiment_id)


def _python_value(value: object) -> object:
    """A pandas/numpy cell as a plain Python value (``numpy.float64`` -> float, ``time`` -> ``'00:02:00'``)."""
    if isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        plain = item()
        if isinstance(plain, bool | int | float | str):
            return plain
    return str(value)
