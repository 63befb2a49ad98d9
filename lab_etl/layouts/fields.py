"""Field parsing shared by every layout reader: CSV cells, field names, quantities, and the well mapping.

A reader turns its file into :class:`WellRecord` objects (one well's raw fields) and hands them to
:func:`build_layout`, which maps each well's fields onto :class:`~lab_etl.layouts.model.WellLayout` and
:class:`~lab_etl.layouts.model.WellReagent` the same way for every format (the table in :mod:`lab_etl.layouts`).
:func:`layout_from_wells` does the same for readers of other formats (the ELN export).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from lab_etl.errors import ParseError
from lab_etl.layouts.model import Layout, WellLayout, WellReagent
from lab_etl.layouts.roles import normalise_role, role_from_sample_name, spells_a_role
from lab_etl.parsers.files import decode_text
from lab_etl.parsers.reading import parse_value
from lab_etl.plates import parse_well, smallest_plate_format, well_name

_ROLE_KEYS = ("role", "well_role", "well_type", "control_type")
_SAMPLE_KEYS = tuple(
    "sample_name sample strain compound compound_name compound_id treatment condition substance name".split()
)
_CONC_KEYS = ("concentration", "conc", "dose")
_UNIT_KEYS = ("concentration_unit", "conc_unit", "unit", "units", "dose_unit")
_STANDARD_KEYS = ("standard", "std", "is_standard")
_CONTROL_KEYS = ("control", "ctrl")
_BLANK_KEYS = ("blank", "is_blank")
PLATE_KEYS = ("plate_id", "plate", "plate_name", "plate_barcode", "barcode")
_EXPERIMENT_KEYS = ("experiment_id", "experiment")
WELL_KEYS = ("well", "well_id", "well_name", "well_position", "wellposition", "position")
FORMAT_KEYS = ("plate_format",)
_PLACE_KEYS = frozenset((*PLATE_KEYS, *WELL_KEYS, *FORMAT_KEYS))  # say where a well is, never what it held
_REAGENT_SUFFIXES = ("amount_unit", "chembl_id", "smiles", "amount", "name")
#: Reagent roles recognised from ``<role>_name`` alone (any role is recognised from ``<role>_smiles``/...).
KNOWN_REAGENT_ROLES = tuple(
    "scaffold reactant catalyst reagent base acid ligand solvent additive internal_standard product substrate"
    " oxidant reductant".split()
)
_UNITS = dict(
    pair.split("=")
    for pair in (
        "m=M mm=mM um=uM nm=nM pm=pM mg_ml=mg/mL ug_ml=ug/mL ng_ml=ng/mL pg_ml=pg/mL g_l=g/L mg_l=mg/L ug_l=ug/L"
        " percent=% pct=% mol_l=M mmol_l=mM umol_l=uM"
    ).split()
)
_TRUE = {"true", "yes", "y", "1", "x", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_BLANK_CELLS = {"", "na", "n/a", "nan", "null", "#n/a"}
_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-zµμ%/]+[A-Za-z0-9/]*)?\s*$")
_CHEMBL = re.compile(r"^CHEMBL\d+$")


@lru_cache(maxsize=4096)  # a header's names recur on every well of every file
def field_key(name: str) -> str:
    """A layout field name in its normal spelling: lower case, ``µ`` as ``u``, other signs as ``_``.

    Examples
    --------
    >>> field_key("Conc (µM)"), field_key("Scaffold SMILES")
    ('conc_um', 'scaffold_smiles')
    """
    text = name.replace("\ufeff", "").replace("µ", "u").replace("μ", "u").strip().lower()
    return re.sub(r"[^0-9a-z+\-]+", "_", text).strip("_").replace("-", "_")


def is_blank(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _BLANK_CELLS
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_true(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1
    return str(value).strip().lower() in _TRUE


def _is_false(value: object) -> bool:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    return str(value).strip().lower() in _FALSE


@lru_cache(maxsize=1024)
def _unit_of_key(key: str) -> str | None:
    """The concentration unit a field name states (``conc_um`` -> ``uM``, ``ug_ml`` -> ``ug/mL``), else None."""
    for prefix in _CONC_KEYS:
        if key.startswith(prefix + "_") and key[len(prefix) + 1 :] in _UNITS:
            return _UNITS[key[len(prefix) + 1 :]]
    return _UNITS.get(key)


def parse_quantity(
    value: object, what: str, where: str, source: str, line: int | None = None, decimal_comma: bool = True
) -> tuple[float | None, str | None]:
    """A cell holding a number, optionally followed by its unit (``'10 uM'``, ``'0,5'``, ``2.5e-6``).

    Returns ``(number, unit or None)``; ``(None, None)`` for an empty or ``NA`` cell. Raises
    :class:`ParseError` naming ``what``/``where`` for text that is no number, and for negative numbers.

    Examples
    --------
    >>> parse_quantity("100 uL", "volume", "A01", "x.csv")
    (100.0, 'uL')
    """
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        raise ParseError(f"{what} of {where} is '{value}', not a number", source, line)
    if isinstance(value, (int, float)):
        number = float(value)
        unit = None
    else:
        read = _quantity_of_text(str(value), decimal_comma)
        if read is _NOT_A_NUMBER:
            raise ParseError(f"{what} of {where} is '{value}', not a number (e.g. 0.5 or 10 uM)", source, line)
        if read is _AMBIGUOUS_COMMA:
            raise ParseError(
                f"{what} of {where} is '{value}': a decimal comma in a comma-separated file is ambiguous; "
                "use a point or a semicolon-separated file",
                source,
                line,
            )
        number, unit = read
    if math.isnan(number) or math.isinf(number):
        return None, None
    if number < 0:
        raise ParseError(f"{what} of {where} is {number}; it cannot be negative", source, line)
    return number, unit


_NOT_A_NUMBER = (math.nan, "not a number")
_AMBIGUOUS_COMMA = (math.nan, "ambiguous decimal comma")


@lru_cache(maxsize=4096)  # plates repeat the same few doses and amounts thousands of times
def _quantity_of_text(text: str, decimal_comma: bool) -> tuple[float, str | None]:
    """``(number, unit or None)`` of a quantity's text; :data:`_NOT_A_NUMBER` or :data:`_AMBIGUOUS_COMMA` (which
    :func:`parse_quantity` turns into its errors) when the text is none."""
    match = _QUANTITY.match(text)
    if not match:
        return _NOT_A_NUMBER
    number_text, unit = match.group(1), match.group(2)
    if "," in number_text:
        if not decimal_comma:
            return _AMBIGUOUS_COMMA
        number_text = number_text.replace(",", ".")
    if unit:
        unit = unit.replace("µ", "u").replace("μ", "u")
    return float(number_text), unit


def _attribute_value(value: object, decimal_comma: bool) -> object:
    if isinstance(value, bool | int | float):
        return value
    text = str(value).strip()
    number, flag, _ = parse_value(text, decimal_comma=decimal_comma)
    return number if flag is None and number is not None else text


def _normalise_chembl_id(value: str, where: str, source: str, line: int | None) -> str:
    text = value.strip().upper()
    if not _CHEMBL.match(text):
        raise ParseError(f"ChEMBL id '{value}' of {where} is not like CHEMBL25", source, line)
    return text


@dataclass(slots=True)
class WellRecord:
    """One well's raw fields as a reader found them, before mapping to the contracts."""

    row: int
    column: int
    fields: dict[str, object]
    line: int | None = None


def _reagent_roles(keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{'scaffold': {'smiles': 'scaffold_smiles', ...}}`` for the reagent columns among ``keys``."""
    keys = list(keys)
    found: dict[str, dict[str, str]] = {}
    for key in keys:
        for suffix in _REAGENT_SUFFIXES:
            if key.endswith("_" + suffix) and len(key) > len(suffix) + 1:
                prefix = key[: -len(suffix) - 1]
                if suffix == "amount" and prefix.endswith("_amount"):
                    continue
                found.setdefault(prefix, {})[suffix] = key
                break
    structural = {"smiles", "chembl_id", "amount"}
    return {
        prefix: columns
        for prefix, columns in found.items()
        if (structural & set(columns) or prefix in KNOWN_REAGENT_ROLES)
        and prefix not in ("sample", "compound", "plate", "well", "concentration", "conc", "experiment")
    }


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """Which of a well's field names feed which contract field, in the order they are tried.

    Worked out once per set of field names (a file's header), not once per well: a well then only looks up the
    names its header has. Each tuple holds the names of one group (``_SAMPLE_KEYS`` ...) that are present.
    """

    reagents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (reagent role, ((suffix, field), ...))
    sample: tuple[str, ...]
    concentration: tuple[str, ...]
    named_units: tuple[tuple[str, str], ...]  # (field, the unit its name states), in field order
    unit: tuple[str, ...]
    role: tuple[str, ...]
    standard: tuple[str, ...]
    control: tuple[str, ...]
    blank: tuple[str, ...]
    experiment: tuple[str, ...]


@lru_cache(maxsize=256)
def _field_plan(keys: tuple[str, ...]) -> _FieldPlan:
    """The :class:`_FieldPlan` of a well whose fields are named ``keys`` (in the well's order)."""
    present = set(keys)

    def among(group: Sequence[str]) -> tuple[str, ...]:
        return tuple(key for key in group if key in present)

    return _FieldPlan(
        reagents=tuple((role, tuple(columns.items())) for role, columns in _reagent_roles(keys).items()),
        sample=among(_SAMPLE_KEYS),
        concentration=among(_CONC_KEYS),
        named_units=tuple((key, unit) for key in keys if (unit := _unit_of_key(key))),
        unit=among(_UNIT_KEYS),
        role=among(_ROLE_KEYS),
        standard=among(_STANDARD_KEYS),
        control=among(_CONTROL_KEYS),
        blank=among(_BLANK_KEYS),
        experiment=among(_EXPERIMENT_KEYS),
    )


def _map_well(
    record: WellRecord,
    plate_id: str,
    plate_format: int,
    source: str,
    experiment_id: str | None,
    decimal_comma: bool,
    layout_names_samples: bool = False,
) -> tuple[WellLayout, list[WellReagent]]:
    """Map one well's fields onto the two contracts (the table in :mod:`lab_etl.layouts`)."""
    plan = _field_plan(tuple(record.fields))
    fields = {key: value for key, value in record.fields.items() if not is_blank(value)}
    well_id = well_name(record.row, record.column)
    where = f"well {well_id}"
    used: set[str] = set()

    def first(keys: tuple[str, ...]) -> tuple[str | None, object]:
        for key in keys:
            if key in fields:
                used.add(key)
                return key, fields[key]
        return None, None

    # reagents first, so that their columns never land in attributes; a blank cell is no field, so None here
    reagents: list[WellReagent] = []
    for reagent_role, columns in plan.reagents:
        values = {}
        for suffix, column in columns:
            used.add(column)
            values[suffix] = fields.get(column)
        if all(v is None for v in values.values()):
            continue
        amount, unit_in_cell = parse_quantity(
            values.get("amount"), f"{reagent_role} amount", where, source, record.line, decimal_comma
        )
        name, smiles, chembl, amount_unit = (values.get(s) for s in ("name", "smiles", "chembl_id", "amount_unit"))
        reagents.append(
            WellReagent(
                plate_id=plate_id,
                well=well_id,
                reagent_role=reagent_role,
                reagent_name=None if name is None else str(name).strip(),
                smiles=None if smiles is None else str(smiles).strip(),
                chembl_id=None
                if chembl is None
                else _normalise_chembl_id(str(chembl), f"{reagent_role} of {where}", source, record.line),
                amount=amount,
                amount_unit=unit_in_cell if amount_unit is None else str(amount_unit).strip(),
                experiment_id=experiment_id,
                layout_source=source,
            )
        )

    _, sample_value = first(plan.sample)
    sample_name = None if sample_value is None else str(sample_value).strip()

    concentration, unit = None, None
    conc_key, conc_value = first(plan.concentration)
    if conc_key is None:
        for key, unit_of_key in plan.named_units:
            if key in fields:
                conc_key, conc_value, unit = key, fields[key], unit_of_key
                used.add(key)
                break
    elif _unit_of_key(conc_key):
        unit = _unit_of_key(conc_key)
    if conc_key is not None:
        concentration, unit_in_cell = parse_quantity(
            conc_value, "concentration", where, source, record.line, decimal_comma
        )
        unit = unit or unit_in_cell
    _, unit_value = first(plan.unit)
    if unit_value is not None:
        unit = str(unit_value).strip()

    role_key, role_value = first(plan.role)
    standard_key, standard_value = first(plan.standard)
    control_key, control_value = first(plan.control)
    blank_key, blank_value = first(plan.blank)
    if role_key is not None:
        role = _role_in(role_value, where, source, record.line)
    elif standard_key is not None and not _is_false(standard_value):
        role = "standard"
        if isinstance(standard_value, (int, float)) and not isinstance(standard_value, bool):
            if concentration is None and standard_value != 1:
                concentration = float(standard_value)
        elif not _is_true(standard_value) and sample_name is None:
            sample_name = str(standard_value).strip()
    elif control_key is not None:
        if isinstance(control_value, bool) or str(control_value).strip().lower() in _TRUE:
            raise ParseError(
                f"{where}: control = {control_value!r} does not say which control; write e.g. 'positive', "
                "'negative' or 'no RT', or use a role field",
                source,
                record.line,
            )
        role = _role_in(control_value, where, source, record.line)
        if sample_name is None:
            sample_name = str(control_value).strip()
        used.discard(control_key)  # the control's own words stay visible in attributes
    elif blank_key is not None and _is_true(blank_value):
        role = "blank"
    elif sample_name is not None:
        role = role_from_sample_name(sample_name)
    else:
        # In a layout that names its samples, a well with neither sample, dose nor reagent held nothing to
        # measure (e.g. a wellmap [row] dilution that spans unused columns); elsewhere any field makes a sample.
        holds_something = bool(reagents) or concentration is not None or (bool(fields) and not layout_names_samples)
        role = "sample" if holds_something else "empty"
    if role == "empty" and sample_name is not None and spells_a_role(sample_name):
        sample_name = None

    _, experiment_value = first(plan.experiment)
    well_experiment = experiment_id if experiment_value is None else str(experiment_value).strip()
    for reagent in reagents:
        reagent.experiment_id = well_experiment
    attributes = {
        key: _attribute_value(value, decimal_comma)
        for key, value in sorted(fields.items())
        if key not in used and key not in _PLACE_KEYS
    }
    well = WellLayout(
        plate_id=plate_id,
        well=well_id,
        row_index=record.row,
        column_index=record.column,
        plate_format=plate_format,
        role=role,
        sample_name=sample_name,
        concentration=concentration,
        concentration_unit=unit if concentration is not None else None,
        experiment_id=well_experiment,
        attributes=json.dumps(attributes, ensure_ascii=False, sort_keys=True) if attributes else None,
        layout_source=source,
    )
    return well, reagents


def _role_in(value: object, where: str, source: str, line: int | None) -> str:
    try:
        return normalise_role(str(value))
    except ParseError as exc:
        raise ParseError(f"{where}: {exc.reason}", source, line) from None


def build_layout(
    records: Sequence[WellRecord],
    plate_id: str,
    plate_format: int,
    source: str,
    experiment_id: str | None = None,
    decimal_comma: bool = True,
) -> Layout:
    layout = Layout(plate_id=plate_id, plate_format=plate_format)
    names_samples = any(not is_blank(r.fields.get(key)) for r in records for key in _SAMPLE_KEYS)
    for record in sorted(records, key=lambda r: (r.row, r.column)):
        well, reagents = _map_well(record, plate_id, plate_format, source, experiment_id, decimal_comma, names_samples)
        layout.wells.append(well)
        layout.reagents.extend(reagents)
    return layout


def layout_from_wells(
    wells: Mapping[str, Mapping[str, object]],
    plate_id: str,
    source: str,
    *,
    plate_format: int | None = None,
    experiment_id: str | None = None,
    lines: Mapping[str, int] | None = None,
) -> Layout:
    """A :class:`Layout` from each well's fields (``{'A1': {'role': 'DMSO', 'conc_uM': 10}}``), mapped as every
    reader maps them (the table in :mod:`lab_etl.layouts`). For readers of other formats, e.g. :mod:`lab_etl.eln`.

    ``plate_format`` defaults to the smallest standard plate holding the wells; ``lines`` (well -> line number)
    lets errors name the line a well came from.

    Examples
    --------
    >>> layout = layout_from_wells({"a1": {"role": "pos"}, "H12": {"sample": "cpd-7"}}, "P1", "x.csv")
    >>> [(w.well, w.role, w.sample_name) for w in layout.wells]
    [('A01', 'positive_control', None), ('H12', 'sample', 'cpd-7')]
    """
    records = []
    seen: dict[tuple[int, int], str] = {}
    for name, fields in wells.items():
        line = (lines or {}).get(name)
        try:
            row, column = parse_well(name, plate_format)
        except ParseError as exc:
            raise ParseError(f"plate {plate_id}: {exc.reason}", source, line) from None
        if (row, column) in seen:
            raise ParseError(
                f"plate {plate_id}: wells '{seen[(row, column)]}' and '{name}' are the same well", source, line
            )
        seen[(row, column)] = name
        records.append(WellRecord(row, column, {field_key(k): v for k, v in fields.items()}, line))
    if not records:
        raise ParseError(f"plate {plate_id} has no wells", source)
    if plate_format is None:
        plate_format = format_holding(records, plate_id, source)
    return build_layout(records, plate_id, plate_format, source, experiment_id)


def format_holding(records: Sequence[WellRecord], plate_id: str, source: str) -> int:
    """The smallest standard plate holding every record; ParseError naming the plate and the well that fits none."""
    try:
        return smallest_plate_format(max(r.row for r in records), max(r.column for r in records))
    except ParseError as exc:
        raise ParseError(f"plate {plate_id}: {exc.reason}; check the well names", source) from None


def _delimiter(text: str) -> str:
    """The delimiter of the first non-empty line: the most frequent of , ; tab |."""
    for line in text.splitlines():
        if line.strip():
            counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","
    return ","


def csv_rows(data: bytes, name: str) -> tuple[list[tuple[int, list[str]]], str]:
    """The lines of a CSV as ``(line number, stripped cells)`` and the delimiter found (``,`` ``;`` tab ``|``).

    Decodes UTF-8 (with or without BOM) or cp1252; CRLF and quoted cells with line breaks are handled.

    Examples
    --------
    >>> csv_rows(b"\\xef\\xbb\\xbfwell;conc\\r\\nA1; 0,5\\r\\n", "m.csv")
    ([(1, ['well', 'conc']), (2, ['A1', '0,5'])], ';')
    """
    text = decode_text(data, name).lstrip("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append((reader.line_num, list(map(str.strip, row))))
    return rows, delimiter
