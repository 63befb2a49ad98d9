"""Plate layouts: what each well of a plate held, read from plate maps, wellmap TOML and HTE layouts.

Every reader returns a :class:`Layout`: one :class:`WellLayout` per well (the columns of
``schemas/plate_layouts.yaml``) and one :class:`WellReagent` per well and reagent role (the columns of
``schemas/well_reagents.yaml``). Parsers know bytes and files, nothing about Spark; the transforms turn
these records into the silver tables.

Readers
-------
- :func:`read_plate_map_csv` -- a grid CSV (one or several stacked grids, one per field, as written by
  wellr, plater and most lab spreadsheets) or a long CSV (one row per well).
- :func:`read_wellmap` -- a `wellmap <https://wellmap.readthedocs.io>`_ TOML layout.
- :func:`read_hte_plate` -- the pyGecko high-throughput-experimentation layout (``x``/``y`` CSV plus a
  ``meta_data.json`` of stock solutions).

Well fields are mapped the same way for every reader (see :func:`normalise_role` for roles):

============================================  =================================================
layout field (any case, spaces or hyphens)    goes to
============================================  =================================================
``role``, ``well_role``, ``well_type``         ``role`` (through :func:`normalise_role`)
``sample``, ``sample_name``, ``strain``,       ``sample_name``
``compound``, ``name``, ``treatment`` ...
``conc``, ``concentration``, ``dose``          ``concentration`` (a cell may carry its unit: ``10 uM``)
``conc_uM``, ``concentration_ng_mL``, ``uM``,  ``concentration`` with the unit the name states
``ug_mL`` ...
``unit``, ``concentration_unit``               ``concentration_unit``
``standard``/``std`` (true or a name),         role ``standard`` / the role the text names /
``control`` (text), ``blank`` (true)           ``blank``
``plate``, ``plate_id``, ``barcode``           ``plate_id`` (long CSV and wellmap)
``experiment_id``                              ``experiment_id``
``<role>_smiles``, ``<role>_chembl_id``,       a :class:`WellReagent` of reagent role ``<role>``
``<role>_name``, ``<role>_amount``,
``<role>_amount_unit``
anything else                                  ``attributes`` (a JSON object)
============================================  =================================================

When no role field exists, a sample name that is a role word (``blank``, ``buffer``, ``DMSO``, ``NA``,
``std`` ...) sets the role (:func:`role_from_sample_name`); any other filled well is a ``sample`` and a well
without any field is ``empty``. In a layout that names samples, a well with no sample, concentration or reagent
(only e.g. a dilution spanning unused columns) is ``empty`` too.

Examples
--------
>>> layout = read_plate_map_csv(b"conc,1,2,3\\nA,1,2,3\\nB,4,5,6\\n", "doses.csv")
>>> layout.plate_format, layout.well("B03").concentration
(6, 6.0)
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab_etl.errors import ParseError
from lab_etl.parsers.base import decode_text, default_plate_id, parse_value
from lab_etl.plates import (
    GEOMETRY,
    geometry,
    parse_well,
    plate_format_for,
    row_index_of,
    row_label,
    smallest_plate_format,
    well_name,
)

log = logging.getLogger(__name__)

#: The well roles of ``plate_layouts.role``.
ROLES = ("sample", "positive_control", "negative_control", "blank", "standard", "empty")

# The one table of lab spellings per role ("|"-separated; lower case, single spaces: see _role_key).
_ROLE_TABLE: dict[str, str] = {
    "sample": "sample | samples | smp | unknown | test | test compound | treatment | compound",
    "positive_control": "pos | positive | poscon | pos con | pos ctrl | pos control | positive control | pc | max"
    " | maximum | high | high control | hc | + | ctrl+ | +ctrl | control+",
    "negative_control": "neg | negative | negcon | neg con | neg ctrl | neg control | negative control | nc | min"
    " | minimum | low control | lc | dmso | vehicle | vehicle control | solvent control | - | ctrl- | -ctrl"
    " | control- | ntc | no template control",
    "blank": "blank | blk | buffer | buffer blank | empty medium | medium | media | reagent blank",
    "standard": "std | standard | standards | cal | calibrator | calibration | calibrant",
    "empty": " | na | n/a | nan | null | empty | none | unused | not used",
}
_ROLE_SPELLINGS: dict[str, str] = {
    spelling.strip(): role for role, spellings in _ROLE_TABLE.items() for spelling in spellings.split("|")
}

# Numbered spellings: "std 3", "Standard_4", "cal1", "POS2", "blank 1".
_NUMBERED_ROLE = re.compile(r"^(.*?[a-z+\-])\s*\d+$")
# "no RT", "no cDNA", "no enzyme": a control that leaves one component out is a negative control.
_NO_COMPONENT = re.compile(r"^no\s+\S")

# Sample names that are role words in any lab. A sample literally named "max" or "+" stays a sample:
# only these spellings turn a sample name into a role when the layout has no role field.
_ROLE_WORDS_IN_SAMPLES = {
    key
    for key, role in _ROLE_SPELLINGS.items()
    if role != "sample" and key not in {"+", "-", "max", "min", "maximum", "minimum", "high", "hc", "lc", "pc", "nc"}
}


def _role_key(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").split())


def normalise_role(text: str | None) -> str:
    """A lab's spelling of a well role as one of :data:`ROLES`.

    ``pos``/``POSCON``/``max``/``high control``/``+`` are ``positive_control``; ``neg``/``NEGCON``/``min``/
    ``DMSO``/``vehicle``/``-``/``NTC``/``no RT`` are ``negative_control``; ``blank``/``buffer``/``empty medium``
    are ``blank``; ``std``/``standard``/``cal``/``calibrator`` (also numbered: ``Std 3``) are ``standard``;
    ``""``/``NA``/``empty``/``None`` are ``empty``. Case, underscores and extra spaces do not matter.

    Raises :class:`ParseError` for any other text, naming the accepted spellings.

    Examples
    --------
    >>> normalise_role("POSCON"), normalise_role("Vehicle"), normalise_role("Std 3"), normalise_role(None)
    ('positive_control', 'negative_control', 'standard', 'empty')
    """
    if text is None:
        return "empty"
    key = _role_key(str(text))
    if key in _ROLE_SPELLINGS:
        return _ROLE_SPELLINGS[key]
    if key in ROLES or key.replace(" ", "_") in ROLES:
        return key.replace(" ", "_")
    numbered = _NUMBERED_ROLE.match(key)
    if numbered and numbered.group(1).strip() in _ROLE_SPELLINGS:
        return _ROLE_SPELLINGS[numbered.group(1).strip()]
    if _NO_COMPONENT.match(key):
        return "negative_control"
    spellings = ", ".join(sorted({k for k in _ROLE_SPELLINGS if k}))
    raise ParseError(f"'{text}' is not a well role; write one of {', '.join(ROLES)} or a common spelling ({spellings})")


def role_from_sample_name(text: str | None) -> str:
    """The role a sample name implies: ``buffer`` -> ``blank``, ``NA`` -> ``empty``, ``DMSO`` ->
    ``negative_control``, ``Std 2`` -> ``standard``; any other name -> ``sample``. Never raises.

    For layouts without a role field and for instruments' sample names. Plate-reader content labels with an id
    after the role word (``Blank B``, ``Standard S1``, ``Negative control N2``) count as that role; words that may
    well be sample names (``max``, ``high``, ``+``) do not.

    Examples
    --------
    >>> role_from_sample_name("pRW0041"), role_from_sample_name("blank"), role_from_sample_name("Standard S3")
    ('sample', 'blank', 'standard')
    """
    if text is None:
        return "empty"
    key = _role_key(str(text))
    candidates = [key]
    numbered = _NUMBERED_ROLE.match(key)
    if numbered:
        candidates.append(numbered.group(1).strip())
    labelled = re.match(r"^(.+?)\s+[a-z]{0,2}\d*$", key)  # "blank b", "standard s1": role word + well-content id
    if labelled:
        candidates.append(labelled.group(1))
    for candidate in candidates:
        if candidate in _ROLE_WORDS_IN_SAMPLES:
            return _ROLE_SPELLINGS[candidate]
    return "sample"


@dataclass(slots=True)
class WellLayout:
    """One well of a plate layout: one row of ``lab_silver.plate_layouts`` (same fields, same order)."""

    plate_id: str
    well: str
    row_index: int
    column_index: int
    plate_format: int
    role: str
    sample_name: str | None = None
    concentration: float | None = None
    concentration_unit: str | None = None
    experiment_id: str | None = None
    attributes: str | None = None
    layout_source: str = ""


@dataclass(slots=True)
class WellReagent:
    """One reagent of one well: one row of ``lab_silver.well_reagents`` (same fields, same order)."""

    plate_id: str
    well: str
    reagent_role: str
    reagent_name: str | None = None
    smiles: str | None = None
    chembl_id: str | None = None
    amount: float | None = None
    amount_unit: str | None = None
    experiment_id: str | None = None
    layout_source: str = ""


@dataclass(slots=True)
class Layout:
    """One plate's layout: its wells (one per well) and the reagents that went into them."""

    plate_id: str
    plate_format: int
    wells: list[WellLayout] = field(default_factory=list)
    reagents: list[WellReagent] = field(default_factory=list)

    def well(self, name: str) -> WellLayout:
        """The layout of one well, in any spelling (``a1``, ``A01``); :class:`ParseError` when it is not listed."""
        wanted = well_name(*parse_well(name, self.plate_format))
        for entry in self.wells:
            if entry.well == wanted:
                return entry
        raise ParseError(f"well {wanted} is not in the layout of plate {self.plate_id}")

    def reagents_of(self, name: str) -> dict[str, WellReagent]:
        """The reagents of one well by reagent role (``{'scaffold': ..., 'catalyst': ...}``)."""
        wanted = well_name(*parse_well(name, self.plate_format))
        return {r.reagent_role: r for r in self.reagents if r.well == wanted}


# --------------------------------------------------------------------------------------------------------------
# field mapping shared by every reader

_ROLE_KEYS = ("role", "well_role", "well_type", "control_type")
_SAMPLE_KEYS = tuple(
    "sample_name sample strain compound compound_name compound_id treatment condition substance name".split()
)
_CONC_KEYS = ("concentration", "conc", "dose")
_UNIT_KEYS = ("concentration_unit", "conc_unit", "unit", "units", "dose_unit")
_STANDARD_KEYS = ("standard", "std", "is_standard")
_CONTROL_KEYS = ("control", "ctrl")
_BLANK_KEYS = ("blank", "is_blank")
_PLATE_KEYS = ("plate_id", "plate", "plate_name", "plate_barcode", "barcode")
_EXPERIMENT_KEYS = ("experiment_id", "experiment")
_WELL_KEYS = ("well", "well_id", "well_name", "well_position", "wellposition", "position")
_FORMAT_KEYS = ("plate_format",)
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


def field_key(name: str) -> str:
    """A layout field name in its normal spelling: lower case, ``µ`` as ``u``, other signs as ``_``.

    Examples
    --------
    >>> field_key("Conc (µM)"), field_key("Scaffold SMILES")
    ('conc_um', 'scaffold_smiles')
    """
    text = name.replace("\ufeff", "").replace("µ", "u").replace("μ", "u").strip().lower()
    return re.sub(r"[^0-9a-z+\-]+", "_", text).strip("_").replace("-", "_")


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _BLANK_CELLS


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
    if _is_blank(value):
        return None, None
    if isinstance(value, bool):
        raise ParseError(f"{what} of {where} is '{value}', not a number", source, line)
    if isinstance(value, (int, float)):
        number = float(value)
        unit = None
    else:
        match = _QUANTITY.match(str(value))
        if not match:
            raise ParseError(f"{what} of {where} is '{value}', not a number (e.g. 0.5 or 10 uM)", source, line)
        number_text, unit = match.group(1), match.group(2)
        if "," in number_text:
            if not decimal_comma:
                raise ParseError(
                    f"{what} of {where} is '{value}': a decimal comma in a comma-separated file is ambiguous; "
                    "use a point or a semicolon-separated file",
                    source,
                    line,
                )
            number_text = number_text.replace(",", ".")
        number = float(number_text)
        if unit:
            unit = unit.replace("µ", "u").replace("μ", "u")
    if math.isnan(number) or math.isinf(number):
        return None, None
    if number < 0:
        raise ParseError(f"{what} of {where} is {number}; it cannot be negative", source, line)
    return number, unit


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
class _WellRecord:
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


def _map_well(
    record: _WellRecord,
    plate_id: str,
    plate_format: int,
    source: str,
    experiment_id: str | None,
    decimal_comma: bool,
    layout_names_samples: bool = False,
) -> tuple[WellLayout, list[WellReagent]]:
    """Map one well's fields onto the two contracts (see the module docstring for the table)."""
    fields = {key: value for key, value in record.fields.items() if not _is_blank(value)}
    where = f"well {well_name(record.row, record.column)}"
    used: set[str] = set()

    def first(keys: Sequence[str]) -> tuple[str | None, object]:
        for key in keys:
            if key in fields:
                used.add(key)
                return key, fields[key]
        return None, None

    # reagents first, so that their columns never land in attributes
    reagents: list[WellReagent] = []
    for reagent_role, columns in _reagent_roles(record.fields).items():
        used.update(columns.values())
        values = {suffix: fields.get(column) for suffix, column in columns.items()}
        if all(_is_blank(v) for v in values.values()):
            continue
        amount, unit_in_cell = parse_quantity(
            values.get("amount"), f"{reagent_role} amount", where, source, record.line, decimal_comma
        )
        chembl = values.get("chembl_id")
        reagents.append(
            WellReagent(
                plate_id=plate_id,
                well=well_name(record.row, record.column),
                reagent_role=reagent_role,
                reagent_name=None if _is_blank(values.get("name")) else str(values["name"]).strip(),
                smiles=None if _is_blank(values.get("smiles")) else str(values["smiles"]).strip(),
                chembl_id=None
                if _is_blank(chembl)
                else _normalise_chembl_id(str(chembl), f"{reagent_role} of {where}", source, record.line),
                amount=amount,
                amount_unit=None if _is_blank(values.get("amount_unit")) else str(values["amount_unit"]).strip(),
                experiment_id=experiment_id,
                layout_source=source,
            )
        )
        if reagents[-1].amount_unit is None and unit_in_cell:
            reagents[-1].amount_unit = unit_in_cell

    _, sample_value = first(_SAMPLE_KEYS)
    sample_name = None if sample_value is None else str(sample_value).strip()

    concentration, unit = None, None
    conc_key, conc_value = first(_CONC_KEYS)
    if conc_key is None:
        for key in fields:
            if _unit_of_key(key):
                conc_key, conc_value, unit = key, fields[key], _unit_of_key(key)
                used.add(key)
                break
    elif _unit_of_key(conc_key):
        unit = _unit_of_key(conc_key)
    if conc_key is not None:
        concentration, unit_in_cell = parse_quantity(
            conc_value, "concentration", where, source, record.line, decimal_comma
        )
        unit = unit or unit_in_cell
    _, unit_value = first(_UNIT_KEYS)
    if unit_value is not None:
        unit = str(unit_value).strip()

    role_key, role_value = first(_ROLE_KEYS)
    standard_key, standard_value = first(_STANDARD_KEYS)
    control_key, control_value = first(_CONTROL_KEYS)
    blank_key, blank_value = first(_BLANK_KEYS)
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
    if role == "empty" and sample_name is not None and _role_key(sample_name) in _ROLE_SPELLINGS:
        sample_name = None

    _, experiment_value = first(_EXPERIMENT_KEYS)
    well_experiment = experiment_id if experiment_value is None else str(experiment_value).strip()
    for reagent in reagents:
        reagent.experiment_id = well_experiment
    for key in (*_PLATE_KEYS, *_WELL_KEYS, *_FORMAT_KEYS):
        used.add(key)
    attributes = {
        key: _attribute_value(value, decimal_comma) for key, value in sorted(fields.items()) if key not in used
    }
    well = WellLayout(
        plate_id=plate_id,
        well=well_name(record.row, record.column),
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


def _build_layout(
    records: Sequence[_WellRecord],
    plate_id: str,
    plate_format: int,
    source: str,
    experiment_id: str | None = None,
    decimal_comma: bool = True,
) -> Layout:
    layout = Layout(plate_id=plate_id, plate_format=plate_format)
    names_samples = any(not _is_blank(r.fields.get(key)) for r in records for key in _SAMPLE_KEYS)
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
    reader maps them (module docstring). For readers of other formats, e.g. :mod:`lab_etl.eln`.

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
        records.append(_WellRecord(row, column, {field_key(k): v for k, v in fields.items()}, line))
    if not records:
        raise ParseError(f"plate {plate_id} has no wells", source)
    if plate_format is None:
        plate_format = _format_holding(records, plate_id, source)
    return _build_layout(records, plate_id, plate_format, source, experiment_id)


def _format_holding(records: Sequence[_WellRecord], plate_id: str, source: str) -> int:
    """The smallest standard plate holding every record; ParseError naming the plate and the well that fits none."""
    try:
        return smallest_plate_format(max(r.row for r in records), max(r.column for r in records))
    except ParseError as exc:
        raise ParseError(f"plate {plate_id}: {exc.reason}; check the well names", source) from None


# --------------------------------------------------------------------------------------------------------------
# CSV plate maps


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
        rows.append((reader.line_num, [cell.strip() for cell in row]))
    return rows, delimiter


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
    if any(k in _WELL_KEYS for k in keys):
        return _read_long(content, name, plate_id, plate_format, experiment_id, decimal_comma)
    raise ParseError(
        "not a plate map: the first line is neither a grid header (field, 1, 2, 3 ...) nor a header with a well "
        f"column ({', '.join(_WELL_KEYS)}); found {first_cells[:6]}",
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
        _WellRecord(r, c, values.get((r, c), {}), None)
        for r in range(1, shape.rows + 1)
        for c in range(1, shape.columns + 1)
    ]
    return _build_layout(records, plate_id or default_plate_id(name), plate_format, name, experiment_id, decimal_comma)


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
    well_index = next(i for i, k in enumerate(keys) if k in _WELL_KEYS)
    plate_index = next((i for i, k in enumerate(keys) if k in _PLATE_KEYS), None)
    format_index = next((i for i, k in enumerate(keys) if k in _FORMAT_KEYS), None)

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
        records.append(_WellRecord(row, column, dict(fields), line))
    if stated is None:
        stated = _format_holding(records, chosen, name)
    return _build_layout(records, chosen, stated, name, experiment_id, decimal_comma)


# --------------------------------------------------------------------------------------------------------------
# wellmap

_WELLMAP_STRUCTURE = {"well", "well0", "row", "col", "row_i", "col_j", "path", "plate"}


def read_wellmap(
    path: Path, plate_id: str | None = None, *, plate_format: int | None = None, experiment_id: str | None = None
) -> Layout:
    """Read a `wellmap <https://wellmap.readthedocs.io>`_ TOML layout (with its ``[meta] include`` files).

    wellmap resolves ``[row]``, ``[col]``, ``[block]``, ``[well]`` and ``[expt]`` tables into one row per
    defined well; its fields map as for every layout (module docstring): ``sample`` -> ``sample_name``,
    ``standard = true`` -> role ``standard``, ``control = 'no RT'`` -> ``negative_control``, a unit-named field
    (``ug_mL``) -> ``concentration`` in that unit, the rest -> ``attributes``. Layouts with ``[plate.NAME]``
    tables hold several plates: ``plate_id`` picks one. Only defined wells are returned.

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
    records_by_plate: dict[str, list[_WellRecord]] = {}
    for entry in frame.to_dict(orient="records"):
        row, column = parse_well(str(entry["well"]))
        plate = str(entry["plate"]) if "plate" in entry and not _is_blank(entry["plate"]) else None
        fields = {
            field_key(str(key)): _python_value(value)
            for key, value in entry.items()
            if key not in _WELLMAP_STRUCTURE and not _is_blank(value)
        }
        records_by_plate.setdefault(plate or plate_id or Path(path).stem, []).append(_WellRecord(row, column, fields))
    if not records_by_plate:
        raise ParseError("the wellmap layout defines no wells", source)
    if len(records_by_plate) > 1 and plate_id not in records_by_plate:
        raise ParseError(f"the layout defines plates {sorted(records_by_plate)}; pass plate_id= to choose one", source)
    chosen = plate_id if plate_id in records_by_plate else next(iter(records_by_plate))
    records = records_by_plate[chosen]
    stated = plate_format or _format_holding(records, str(chosen), source)
    for record in records:
        if record.row > geometry(stated).rows or record.column > geometry(stated).columns:
            raise ParseError(f"well {well_name(record.row, record.column)} lies outside a {stated}-well plate", source)
    return _build_layout(records, str(chosen), stated, source, experiment_id)


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


# --------------------------------------------------------------------------------------------------------------
# pyGecko HTE plates

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
