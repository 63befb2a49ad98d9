"""lab_etl's own ELN export (CSV / JSON): :func:`read_eln_table`.

For labs whose ELN has no ``.eln`` export; specified in ``docs/eln_export.md`` and summarised here.

lab_etl ELN export (CSV)
------------------------
One row per experiment x plate x well x reagent, any delimiter, UTF-8. Columns (header names in any case):

=====================  ===========  =====================================================================
column                 required     meaning
=====================  ===========  =====================================================================
``experiment_id``      yes          the experiment's id in the ELN
``project``                         project or workbook
``title``                           experiment title
``protocol_name``                   name of the protocol followed
``protocol_steps``                  the steps in order, separated by ``|``
``author``                          who ran the experiment
``date``                            when it was created: ISO 8601; without an offset it is taken as UTC
``eln_software``                    the ELN the data came from
``plate_id``           yes          plate barcode (empty on experiment-only rows)
``plate_format``                    wells on the plate (96, 384 ...); default: smallest plate holding the wells
``well``               yes          well (``A1`` or ``A01``; empty on experiment-only rows)
``role``                            well role (sample, positive_control ... any spelling
                                    :func:`lab_etl.layouts.normalise_role` knows)
``sample_name``                     sample in the well
``concentration``                   its concentration (``concentration_unit`` beside it)
``reagent_role``                    scaffold, reactant, catalyst, reagent, base, solvent, internal_standard ...
``reagent_name``                    reagent name
``smiles``                          reagent structure
``chembl_id``                       reagent ChEMBL id (``CHEMBL25``)
``amount``                          amount added (``amount_unit`` beside it: uL, mg, umol ...)
=====================  ===========  =====================================================================

Experiment fields may be repeated on every row of the experiment or given once; where two rows give a value
they must agree. Well fields likewise per plate and well. A column lab_etl does not know is kept in the well's
``attributes`` and reported in :attr:`ElnExport.warnings` (schema drift never stops a load); a missing required
column is a :class:`~lab_etl.errors.ParseError` naming it.

lab_etl ELN export (JSON)
-------------------------
The same content nested: ``{"format": "lab_etl.eln/1", "experiments": [{"experiment_id": ..., "project": ...,
"title": ..., "protocol_name": ..., "protocol_steps": ["step 1", ...], "author": ..., "date": ...,
"plates": [{"plate_id": ..., "plate_format": 96, "wells": [{"well": "A1", "role": ..., "sample_name": ...,
"concentration": ..., "concentration_unit": ..., "reagents": [{"reagent_role": ..., "reagent_name": ...,
"smiles": ..., "chembl_id": ..., "amount": ..., "amount_unit": ...}]}]}]}]}``; a bare list of experiments is
accepted too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lab_etl.eln.model import ElnExperiment, ElnExport, parse_timestamp
from lab_etl.errors import ParseError
from lab_etl.layouts.fields import csv_rows, field_key, layout_from_wells, parse_quantity
from lab_etl.layouts.model import WellReagent
from lab_etl.plates import GEOMETRY, parse_well, well_name

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("experiment_id", "plate_id", "well")
EXPERIMENT_COLUMNS = ("project", "title", "protocol_name", "protocol_steps", "author", "date", "eln_software")
WELL_COLUMNS = ("plate_format", "role", "sample_name", "concentration", "concentration_unit")
REAGENT_COLUMNS = ("reagent_role", "reagent_name", "smiles", "chembl_id", "amount", "amount_unit")
_ALIASES = {"created_at": "date", "plate": "plate_id", "experiment": "experiment_id", "sample": "sample_name"}
_KNOWN = {*REQUIRED_COLUMNS, *EXPERIMENT_COLUMNS, *WELL_COLUMNS, *REAGENT_COLUMNS}
_WELL_FIELDS = set(WELL_COLUMNS) - {"plate_format"}  # a well's own fields (its format is the plate's)
_REAGENT_FIELDS = frozenset(REAGENT_COLUMNS)


@dataclass(slots=True)
class _Row:
    """One flattened row of the export, wherever it came from (a CSV line or a JSON object)."""

    values: dict[str, object]  # the fields the row gives: never an empty cell, never None
    where: str
    line: int | None


def read_eln_table(data: bytes, name: str) -> ElnExport:
    """Read lab_etl's ELN export (CSV, or JSON when the name ends ``.json`` or the text starts with ``[``/``{``).

    Returns the experiments, one :class:`~lab_etl.layouts.Layout` per plate (wells mapped as every layout reader
    maps them) whose reagents are the well reagents. The format is described in this module's docstring and
    ``docs/eln_export.md``.

    Raises :class:`ParseError` for a missing required column (named), two rows that disagree on an experiment
    or well field, a reagent role given twice for one well, bad wells, dates, numbers or ChEMBL ids.

    Examples
    --------
    >>> csv_text = b"experiment_id;author;date;plate_id;well;role\\nE7;A. Chemist;2024-05-01;P9;B2;pos\\n"
    >>> export = read_eln_table(csv_text, "eln.csv")
    >>> export.experiments[0].created_at.isoformat(), export.layouts[0].wells[0].role
    ('2024-05-01T00:00:00+00:00', 'positive_control')
    """
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    export = ElnExport()
    if name.lower().endswith(".json") or head.startswith((b"[", b"{")):
        rows = _json_rows(data, name, export)
    else:
        rows = _csv_rows(data, name, export)
    return _build_export(rows, name, export)


def _csv_rows(data: bytes, name: str, export: ElnExport) -> list[_Row]:
    lines, _ = csv_rows(data, name)
    content = [(line, cells) for line, cells in lines if any(cells)]
    if not content:
        raise ParseError("the ELN export is empty", name)
    header_line, header = content[0]
    keys = [_ALIASES.get(field_key(c), field_key(c)) for c in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    if missing:
        raise ParseError(
            f"the ELN export lacks required column(s) {', '.join(missing)}; the header has {', '.join(header)}",
            name,
            header_line,
        )
    for key in keys:
        if key and key not in _KNOWN:
            _warn(export, f"{name}: unknown column '{key}' kept in the well attributes")
    rows = []
    for line, cells in content[1:]:
        values: dict[str, object] = {key: cell for key, cell in zip(keys, cells, strict=False) if key and cell != ""}
        rows.append(_Row(values, f"line {line}", line))
    return rows


def _warn(export: ElnExport, message: str) -> None:
    log.warning(message)
    export.warnings.append(message)


def _json_rows(data: bytes, name: str, export: ElnExport) -> list[_Row]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"the ELN export is not valid JSON: {exc}", name) from None
    experiments = document.get("experiments") if isinstance(document, dict) else document
    if not isinstance(experiments, list):
        raise ParseError("the ELN export JSON needs an 'experiments' list (or to be a list of experiments)", name)
    rows: list[_Row] = []
    unknown: set[str] = set()

    def split(obj: Mapping[str, Any], nested: str, allowed: Iterable[str]) -> tuple[dict[str, object], list[Any]]:
        values: dict[str, object] = {}
        for key, value in obj.items():
            normal = _ALIASES.get(field_key(key), field_key(key))
            if normal == nested:
                continue
            if normal not in allowed and normal not in _KNOWN:
                unknown.add(normal)
            if value is not None and value != "":
                values[normal] = value
        children = obj.get(nested) or []
        if not isinstance(children, list):
            raise ParseError(f"'{nested}' must be a list", name)
        return values, children

    for e_number, experiment in enumerate(experiments, start=1):
        if not isinstance(experiment, dict):
            raise ParseError(f"experiment {e_number} is not an object", name)
        e_values, plates = split(experiment, "plates", ())
        rows.append(_Row(dict(e_values), f"experiment {e_number}", None))
        for p_number, plate in enumerate(plates, start=1):
            if not isinstance(plate, dict):
                raise ParseError(f"plate {p_number} of experiment {e_number} is not an object", name)
            p_values, wells = split(plate, "wells", ())
            for w_number, well in enumerate(wells, start=1):
                if not isinstance(well, dict):
                    raise ParseError(f"well {w_number} of plate {p_number} is not an object", name)
                w_values, reagents = split(well, "reagents", ())
                where = f"experiment {e_number} plate {p_number} well {w_number}"
                base = {**e_values, **p_values, **w_values}
                rows.append(_Row(dict(base), where, None))
                for r_number, reagent in enumerate(reagents, start=1):
                    if not isinstance(reagent, dict):
                        raise ParseError(f"reagent {r_number} of {where} is not an object", name)
                    r_values, _ = split(reagent, "", ())
                    rows.append(_Row({**base, **r_values}, f"{where} reagent {r_number}", None))
    for key in sorted(unknown):
        _warn(export, f"{name}: unknown field '{key}' kept in the well attributes")
    for row in rows:
        if "experiment_id" not in row.values:
            raise ParseError(f"{row.where} has no experiment_id", name)
    return rows


@dataclass(slots=True)
class _Fields:
    """The fields of one experiment or well, gathered from the rows that give them; rows must agree."""

    values: dict[str, object] = field(default_factory=dict)
    given_on: dict[str, str] = field(default_factory=dict)  # field -> where the first row giving it was

    def agree(self, key: str, value: object, row: _Row, owner: str, source: str) -> None:
        """Record ``value`` for ``key``; two rows that disagree are a ParseError naming both."""
        if key not in self.values:
            self.values[key] = value
            self.given_on[key] = row.where
        elif self.values[key] != value:
            raise ParseError(
                f"{owner}: {key} is '{self.values[key]}' on {self.given_on[key]} but '{value}' here; give one value",
                source,
                row.line,
            )

    def text(self, key: str) -> str | None:
        """The field as stripped text; None when no row gives it or it is empty."""
        value = self.values.get(key)
        if value is None:
            return None
        return str(value).strip() or None


def _build_export(rows: list[_Row], source: str, export: ElnExport) -> ElnExport:
    experiments: dict[str, _Fields] = {}
    plates_of: dict[str, list[str]] = {}
    wells: dict[str, dict[str, _Fields]] = {}  # plate -> well -> fields
    well_lines: dict[str, dict[str, int]] = {}
    reagents: dict[str, dict[tuple[str, str], tuple[WellReagent, str]]] = {}  # plate -> (well, role) -> reagent
    formats: dict[str, int] = {}

    for row in rows:
        values = row.values
        experiment_id = str(values.get("experiment_id", "")).strip()
        if not experiment_id:
            raise ParseError(f"{row.where} has no experiment_id", source, row.line)
        fields = experiments.get(experiment_id) or experiments.setdefault(experiment_id, _Fields())
        for key in EXPERIMENT_COLUMNS:
            if key in values:
                fields.agree(key, values[key], row, f"experiment {experiment_id}", source)
        plate_id = str(values.get("plate_id", "")).strip()
        well_text = str(values.get("well", "")).strip()
        if not plate_id and not well_text:
            continue
        if not plate_id or not well_text:
            raise ParseError(
                f"{row.where} gives a {'well' if well_text else 'plate'} without a "
                f"{'plate_id' if well_text else 'well'}",
                source,
                row.line,
            )
        if plate_id not in plates_of.setdefault(experiment_id, []):
            plates_of[experiment_id].append(plate_id)
        if "plate_format" in values:
            try:
                plate_format = int(float(str(values["plate_format"])))
            except ValueError:
                plate_format = 0
            if plate_format not in GEOMETRY:
                raise ParseError(
                    f"{row.where}: plate_format '{values['plate_format']}' is not one of "
                    f"{', '.join(map(str, GEOMETRY))}",
                    source,
                    row.line,
                )
            if formats.setdefault(plate_id, plate_format) != plate_format:
                raise ParseError(
                    f"plate {plate_id} is given formats {formats[plate_id]} and {plate_format}", source, row.line
                )
        try:
            well = well_name(*parse_well(well_text, formats.get(plate_id)))
        except ParseError as exc:
            raise ParseError(f"{row.where}: {exc.reason}", source, row.line) from None
        plate_wells = wells.get(plate_id) or wells.setdefault(plate_id, {})
        well_fields = plate_wells.get(well) or plate_wells.setdefault(well, _Fields())
        owner = f"plate {plate_id} well {well}"
        well_lines.setdefault(plate_id, {}).setdefault(well, row.line or 0)
        well_fields.agree("experiment_id", experiment_id, row, owner, source)
        for key, value in values.items():
            if key in _WELL_FIELDS or key not in _KNOWN:
                well_fields.agree(key, value, row, owner, source)
        if not _REAGENT_FIELDS.isdisjoint(values):  # a row's values hold no empty cells
            reagent = _reagent(values, plate_id, well, experiment_id, row, source)
            plate_reagents = reagents.setdefault(plate_id, {})
            reagent_key = (well, reagent.reagent_role)
            if reagent_key in plate_reagents:
                raise ParseError(
                    f"plate {plate_id} well {well} has two '{reagent.reagent_role}' reagents "
                    f"({plate_reagents[reagent_key][1]} and {row.where}); number them (reactant_1, reactant_2) or "
                    "give each well one reagent per role",
                    source,
                    row.line,
                )
            plate_reagents[reagent_key] = (reagent, row.where)

    for experiment_id, fields in experiments.items():
        steps = fields.values.get("protocol_steps")
        if isinstance(steps, str):
            steps = [s.strip() for s in steps.split("|") if s.strip()]
        elif steps is not None and not isinstance(steps, list):
            raise ParseError(f"experiment {experiment_id}: protocol_steps must be a list or '|'-separated text", source)
        plates = plates_of.get(experiment_id, [])
        export.experiments.append(
            ElnExperiment(
                experiment_id=experiment_id,
                project=fields.text("project"),
                title=fields.text("title"),
                protocol_name=fields.text("protocol_name"),
                protocol_steps=json.dumps([str(s) for s in steps], ensure_ascii=False) if steps else None,
                author=fields.text("author"),
                created_at=parse_timestamp(
                    fields.values.get("date"),
                    f"date of experiment {experiment_id} ({fields.given_on.get('date', '')})",
                    source,
                ),
                plate_ids=json.dumps(plates) if plates else None,
                eln_software=fields.text("eln_software"),
                source_file=source,
            )
        )
    for plate_id, plate_wells in wells.items():
        layout = layout_from_wells(
            {well: fields.values for well, fields in plate_wells.items()},
            plate_id,
            source,
            plate_format=formats.get(plate_id),
            lines={w: n for w, n in well_lines[plate_id].items() if n},
        )
        layout.reagents = [reagent for _, (reagent, _) in sorted(reagents.get(plate_id, {}).items())]
        export.layouts.append(layout)
    return export


_CHEMBL = re.compile(r"CHEMBL\d+")


@lru_cache(maxsize=1024)  # a few roles recur on every row
def _reagent_role(text: str) -> str:
    """A reagent role in its normal spelling: lower case, other signs as ``_`` (``Internal standard`` ->
    ``internal_standard``)."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _reagent(
    values: Mapping[str, object], plate_id: str, well: str, experiment_id: str, row: _Row, source: str
) -> WellReagent:
    role = str(values.get("reagent_role", "")).strip()
    if not role:
        raise ParseError(f"{row.where} describes a reagent but has no reagent_role", source, row.line)
    role = _reagent_role(role)
    amount, unit_in_cell = parse_quantity(values.get("amount"), f"{role} amount", f"well {well}", source, row.line)
    chembl = str(values.get("chembl_id", "")).strip().upper() or None
    if chembl is not None and not _CHEMBL.fullmatch(chembl):
        raise ParseError(f"{row.where}: ChEMBL id '{values['chembl_id']}' is not like CHEMBL25", source, row.line)
    return WellReagent(
        plate_id=plate_id,
        well=well,
        reagent_role=role,
        reagent_name=str(values["reagent_name"]).strip() if values.get("reagent_name") else None,
        smiles=str(values["smiles"]).strip() if values.get("smiles") else None,
        chembl_id=chembl,
        amount=amount,
        amount_unit=str(values["amount_unit"]).strip() if values.get("amount_unit") else unit_in_cell,
        experiment_id=experiment_id,
        layout_source=source,
    )
