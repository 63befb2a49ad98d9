"""pyGecko high-throughput-experimentation plates: a ``plate_layout.csv`` of row/column compounds plus a
``meta_data.json`` of stock solutions, read by :func:`read_hte_plate` into wells and per-well reagents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.layouts.fields import csv_rows, parse_quantity
from lab_etl.layouts.model import Layout, WellLayout, WellReagent
from lab_etl.plates import (
    GEOMETRY,
    geometry,
    parse_well,
    plate_format_for,
    row_index_of,
    smallest_plate_format,
    well_name,
)

_VOLUME_TO_L = {"l": 1.0, "ml": 1e-3, "ul": 1e-6, "nl": 1e-9}
_CONC_TO_M = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "nm": 1e-9}
_VESSEL_FORMAT = re.compile(r"(\d+)[\s-]*(?:position|well)", re.IGNORECASE)


@dataclass(slots=True)
class _StockSolution:
    name: str
    compound: str
    role: str
    addition_order: float
    wells: list[str]
    volume: str | None
    concentration: str | None
    solvent: str | None


def _stock_amount(stock: _StockSolution, source: str) -> tuple[float | None, str | None]:
    """Amount of compound a stock solution adds: volume x concentration in umol, else (and for solvents) the
    volume as written."""
    volume, volume_unit = parse_quantity(stock.volume, "volume", f"stock '{stock.name}'", source)
    if stock.role == "solvent":  # solvents are dosed and reported by volume
        return volume, volume_unit
    conc, conc_unit = parse_quantity(stock.concentration, "concentration", f"stock '{stock.name}'", source)
    if volume is not None and conc is not None and volume_unit and conc_unit:
        litres = _VOLUME_TO_L.get(volume_unit.lower())
        molar = _CONC_TO_M.get(conc_unit.lower())
        if litres is not None and molar is not None:
            return float(f"{volume * litres * conc * molar * 1e6:.12g}"), "umol"
    return volume, volume_unit


def _stock_wells(spec: list[str], rows: int, columns: int, stock: str, source: str) -> set[tuple[int, int]]:
    wells: set[tuple[int, int]] = set()
    plate_format = plate_format_for(rows, columns)
    for item in spec:
        text = str(item).strip()
        if text.lower() == "all":
            wells.update((r, c) for r in range(1, rows + 1) for c in range(1, columns + 1))
        elif text.isdigit():
            if not 1 <= int(text) <= columns:
                raise ParseError(f"stock '{stock}' names column {text}, outside the {columns}-column plate", source)
            wells.update((r, int(text)) for r in range(1, rows + 1))
        elif text.isalpha():
            row = row_index_of(text)
            if not 1 <= row <= rows:
                raise ParseError(f"stock '{stock}' names row {text}, outside the {rows}-row plate", source)
            wells.update((row, c) for c in range(1, columns + 1))
        else:
            try:
                wells.add(parse_well(text, plate_format))
            except ParseError as exc:
                raise ParseError(f"stock '{stock}': {exc.reason}", source) from None
    return wells


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def read_hte_plate(
    layout: bytes, metadata: bytes, name: str, plate_id: str, *, experiment_id: str | None = None
) -> Layout:
    """Read a pyGecko high-throughput-experimentation plate: its ``plate_layout.csv`` and ``meta_data.json``.

    The layout CSV has a column ``x`` (the compound of plate row A, B, ... on its lines 1, 2, ...) and ``y``
    (the compound of plate column 1, 2, ...). In the metadata each stock solution has a ``compound`` that is
    ``$row$``/``$column$`` (take the layout's compound for the well) or a fixed SMILES, a ``role``, ``volume``,
    ``concentration``, ``addition_order`` and the ``wells`` it goes to (``["all"]``, row letters, column numbers or
    well names). The varied stock added first becomes reagent role ``scaffold``, the second ``reactant``; the
    others keep their role in snake case (``internal_standard``, ``catalyst``). ``amount`` is the compound added
    in umol (volume x concentration; for role solvent the volume); the stock's own solvent is not listed as a
    reagent.

    Every well of the plate is returned: role ``sample`` when a varied compound went in, ``blank`` when only
    fixed stocks did, ``empty`` otherwise; ``attributes`` hold the reaction conditions (temperature, time ...).

    Raises :class:`ParseError` for a layout without ``x``/``y`` columns, metadata that is not JSON or has no
    ``stock_solutions``, a stock without compound/wells, wells outside the plate.

    Examples
    --------
    >>> plate = read_hte_plate(layout_bytes, meta_bytes, "plate_layout.csv", "THIO-1")  # doctest: +SKIP
    >>> plate.reagents_of("A1")["scaffold"].smiles  # doctest: +SKIP
    'Cn1c(Cl)c(Cl)nc1'
    """
    meta_source = f"{name} (metadata)"
    rows, _ = csv_rows(layout, name)
    content = [(line, cells) for line, cells in rows if any(cells)]
    if not content:
        raise ParseError("the HTE layout is empty", name)
    header = [c.strip().lower() for c in content[0][1]]
    if "x" not in header or "y" not in header:
        raise ParseError(
            f"the HTE layout needs columns 'x' (row compounds) and 'y' (column compounds); found {header}", name, 1
        )
    x_index, y_index = header.index("x"), header.index("y")
    by_row = [cells[x_index] if x_index < len(cells) else "" for _, cells in content[1:]]
    by_column = [cells[y_index] if y_index < len(cells) else "" for _, cells in content[1:]]

    try:
        meta = json.loads(metadata.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"the HTE metadata is not JSON: {exc}", meta_source) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("stock_solutions"), list) or not meta["stock_solutions"]:
        raise ParseError("the HTE metadata has no 'stock_solutions' list", meta_source)
    raw_conditions = meta.get("conditions")
    conditions: dict[str, Any] = raw_conditions if isinstance(raw_conditions, dict) else {}

    plate_format = _hte_plate_format(conditions, by_row, by_column, name)
    shape = geometry(plate_format)
    for index, compound in enumerate(by_row, start=1):
        if compound and index > shape.rows:
            raise ParseError(
                f"x line {index} names a compound for row {index}, outside the {plate_format}-well plate", name
            )
    for index, compound in enumerate(by_column, start=1):
        if compound and index > shape.columns:
            raise ParseError(f"y line {index} names a compound for column {index}, outside the plate", name)

    stocks = []
    for number, raw in enumerate(meta["stock_solutions"], start=1):
        if not isinstance(raw, dict) or not raw.get("compound") or not raw.get("wells"):
            raise ParseError(f"stock solution {number} needs a 'compound' and 'wells'", meta_source)
        stocks.append(
            _StockSolution(
                name=str(raw.get("name") or f"stock {number}"),
                compound=str(raw["compound"]).strip(),
                role=_snake(str(raw.get("role") or "reagent")),
                addition_order=float(raw.get("addition_order", number)),
                wells=[str(w) for w in raw["wells"]],
                volume=raw.get("volume"),
                concentration=raw.get("concentration"),
                solvent=raw.get("solvent"),
            )
        )
    stocks.sort(key=lambda s: s.addition_order)
    varied_roles = iter(("scaffold", "reactant"))
    roles: list[str] = []
    for stock in stocks:
        if stock.compound in ("$row$", "$column$"):
            roles.append(next(varied_roles, stock.role))
        else:
            roles.append(stock.role)
    # two stocks of one role in one well would collide on the natural key (plate, well, reagent_role)
    attributes = {k: v for k, v in conditions.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
    attributes_json = json.dumps(attributes, ensure_ascii=False, sort_keys=True) if attributes else None

    result = Layout(plate_id=plate_id, plate_format=plate_format)
    targets = [_stock_wells(s.wells, shape.rows, shape.columns, s.name, meta_source) for s in stocks]
    amounts = [_stock_amount(s, meta_source) for s in stocks]
    for row in range(1, shape.rows + 1):
        for column in range(1, shape.columns + 1):
            well = well_name(row, column)
            varied = False
            seen: dict[str, int] = {}
            reagents: list[WellReagent] = []
            for stock, role, wells, (amount, unit) in zip(stocks, roles, targets, amounts, strict=True):
                if (row, column) not in wells:
                    continue
                if stock.compound == "$row$":
                    smiles = by_row[row - 1] if row - 1 < len(by_row) else ""
                elif stock.compound == "$column$":
                    smiles = by_column[column - 1] if column - 1 < len(by_column) else ""
                else:
                    smiles = stock.compound
                if not smiles:
                    continue
                is_varied = stock.compound in ("$row$", "$column$")
                varied = varied or is_varied
                seen[role] = seen.get(role, 0) + 1
                unique_role = role if seen[role] == 1 else f"{role}_{seen[role]}"
                reagent_name = None
                if not is_varied:
                    suffix = f" in {stock.solvent}" if stock.solvent else ""
                    reagent_name = stock.name[: -len(suffix)] if suffix and stock.name.endswith(suffix) else stock.name
                reagents.append(
                    WellReagent(
                        plate_id=plate_id,
                        well=well,
                        reagent_role=unique_role,
                        reagent_name=reagent_name,
                        smiles=smiles,
                        amount=amount,
                        amount_unit=unit,
                        experiment_id=experiment_id,
                        layout_source=name,
                    )
                )
            role_of_well = "sample" if varied else ("blank" if reagents else "empty")
            result.wells.append(
                WellLayout(
                    plate_id=plate_id,
                    well=well,
                    row_index=row,
                    column_index=column,
                    plate_format=plate_format,
                    role=role_of_well,
                    experiment_id=experiment_id,
                    attributes=attributes_json if role_of_well != "empty" else None,
                    layout_source=name,
                )
            )
            result.reagents.extend(reagents)
    return result


def _hte_plate_format(conditions: Mapping[str, Any], by_row: list[str], by_column: list[str], name: str) -> int:
    vessel = conditions.get("vessel") if isinstance(conditions, Mapping) else None
    model = str(vessel.get("model", "")) if isinstance(vessel, Mapping) else ""
    match = _VESSEL_FORMAT.search(model)
    if match and int(match.group(1)) in GEOMETRY:
        return int(match.group(1))
    rows = max((i for i, c in enumerate(by_row, start=1) if c), default=0)
    columns = max((i for i, c in enumerate(by_column, start=1) if c), default=0)
    if not rows or not columns:
        raise ParseError("the HTE layout names no row (x) or no column (y) compound", name)
    return smallest_plate_format(rows, columns)
