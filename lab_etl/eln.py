"""ELN exports: experiments, their protocol and people, and what went into each well.

Two readers return an :class:`ElnExport`:

- :func:`read_eln_archive` reads the ELN Consortium's ``.eln`` format (a zip holding an RO-Crate 1.1/1.2
  ``ro-crate-metadata.json``), as exported by eLabFTW, AI4Green, Chemotion, RSpace and others. One
  :class:`ElnExperiment` per experiment Dataset; AI4Green's reaction reagents as :class:`ElnReagent`.
- :func:`read_eln_table` reads lab_etl's own ELN export, for labs whose ELN has no ``.eln`` export. It is
  specified in ``docs/eln_export.md`` and summarised here.

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

Examples
--------
>>> export = read_eln_table(b"experiment_id,plate_id,well,reagent_role,smiles\\nE1,P1,A1,scaffold,c1ccccc1\\n", "e.csv")
>>> export.experiments[0].plate_ids, export.layouts[0].reagents[0].smiles
('["P1"]', 'c1ccccc1')
"""

from __future__ import annotations

import io
import json
import logging
import posixpath
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from lab_etl.errors import ParseError
from lab_etl.layouts import (
    Layout,
    WellReagent,
    csv_rows,
    field_key,
    layout_from_wells,
    parse_quantity,
)
from lab_etl.plates import GEOMETRY, parse_well, well_name

log = logging.getLogger(__name__)

METADATA_FILE = "ro-crate-metadata.json"


@dataclass(slots=True)
class ElnExperiment:
    """One ELN experiment: one row of ``lab_silver.eln_experiments`` (same fields, same order).

    ``protocol_steps`` and ``plate_ids`` are JSON arrays of strings; ``created_at`` is timezone-aware UTC.
    """

    experiment_id: str
    project: str | None = None
    title: str | None = None
    protocol_name: str | None = None
    protocol_steps: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    plate_ids: str | None = None
    eln_software: str | None = None
    source_file: str = ""


@dataclass(slots=True)
class ElnReagent:
    """A reagent an experiment used, before it is tied to a well (AI4Green reactions name no wells).

    ``role`` is reactant, reagent, solvent, catalyst or product; the join to ``well_reagents`` happens when a
    plate layout names the experiment.
    """

    experiment_id: str
    role: str
    name: str | None = None
    smiles: str | None = None
    amount: float | None = None
    amount_unit: str | None = None
    source_file: str = ""


@dataclass(slots=True)
class ElnExport:
    """What one ELN export holds: experiments, experiment reagents, plate layouts, and drift warnings."""

    experiments: list[ElnExperiment] = field(default_factory=list)
    reagents: list[ElnReagent] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def well_reagents(self) -> list[WellReagent]:
        """Every :class:`~lab_etl.layouts.WellReagent` of every layout."""
        return [reagent for layout in self.layouts for reagent in layout.reagents]

    def experiment(self, experiment_id: str) -> ElnExperiment:
        """One experiment by id; :class:`ParseError` when the export has none of that id."""
        for experiment in self.experiments:
            if experiment.experiment_id == experiment_id:
                return experiment
        raise ParseError(f"the export holds no experiment '{experiment_id}'")


def parse_timestamp(text: object, what: str = "date", source: str = "", line: int | None = None) -> datetime | None:
    """An ISO 8601 date or date-time as an aware UTC datetime; no offset means UTC. None for empty text.

    Examples
    --------
    >>> parse_timestamp("2025-09-16T10:32:54+02:00")
    datetime.datetime(2025, 9, 16, 8, 32, 54, tzinfo=datetime.timezone.utc)
    """
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ParseError(
            f"{what} is '{text}', not an ISO 8601 date (2024-07-18 or 2024-07-18T15:56:12Z)", source, line
        ) from None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


# --------------------------------------------------------------------------------------------------------------
# .eln (RO-Crate) archives


def _types(entity: Mapping[str, Any]) -> set[str]:
    kind = entity.get("@type", [])
    return {kind} if isinstance(kind, str) else {str(k) for k in kind}


def _refs(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class _Crate:
    """The JSON-LD graph of one RO-Crate, indexed by ``@id``."""

    def __init__(self, graph: list[dict[str, Any]]) -> None:
        self.entities = {str(e["@id"]): e for e in graph if isinstance(e, dict) and "@id" in e}

    def get(self, ref: object) -> dict[str, Any] | None:
        if isinstance(ref, dict):
            if "@id" in ref and str(ref["@id"]) in self.entities:
                return self.entities[str(ref["@id"])]
            return ref  # an entity written inline
        return self.entities.get(str(ref)) if ref is not None else None

    def name_of(self, ref: object) -> str | None:
        entity = self.get(ref)
        if entity is None:
            return None
        if entity.get("name"):
            return str(entity["name"])
        parts = [str(entity[k]) for k in ("givenName", "familyName") if entity.get(k)]
        return " ".join(parts) or None


def read_eln_archive(data: bytes, name: str) -> ElnExport:
    """Read an ELN Consortium ``.eln`` archive: one :class:`ElnExperiment` per experiment Dataset.

    An experiment is a ``Dataset`` of the crate other than the root that eLabFTW marks ``genre: experiment``, or
    (ELNs without ``genre``) one with protocol steps, a ``dateCreated`` or an ``author``; eLabFTW's
    ``genre: resource`` entries (instruments, chemicals) are no experiments. Fields:

    - ``experiment_id``: ``identifier``, else the Dataset's folder (``./AI4-001/`` -> ``AI4-001``);
    - ``author``: the ``Person`` entities' names (``givenName familyName``), their ``@id`` when the crate has
      none; several joined by ``; ``;
    - ``protocol_steps``: ``HowToStep`` texts (or their ``HowToDirection`` items) ordered by ``position``;
    - ``project``: the parent Dataset (not the root), a keyword ``Project X``, the category (``about``) or
      AI4Green's workbook;
    - ``created_at``: ``dateCreated`` in UTC (no offset: taken as UTC);
    - ``plate_ids``: values of extra fields (``PropertyValue``) whose name contains "plate";
    - ``eln_software``: the crate's publisher or creating software.

    AI4Green reactions also yield their reactants, reagents, solvents and products as :class:`ElnReagent`.

    Raises :class:`ParseError` when the file is not a zip, has no ``ro-crate-metadata.json``, holds invalid
    JSON or no ``@graph``, or holds no experiment.

    Examples
    --------
    >>> export = read_eln_archive(Path("tests/data/eln/elabftw_export.eln").read_bytes(), "e.eln")  # doctest: +SKIP
    >>> export.experiment("20250916-4af4da4ef50c6512782c3b0b484aad236ccd7591").author  # doctest: +SKIP
    'Nicola Mohr'
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ParseError(
            "not a .eln archive: the file is not a zip (a .eln file is a zip holding ro-crate-metadata.json)", name
        ) from None
    with archive:
        members = [m for m in archive.namelist() if posixpath.basename(m) == METADATA_FILE]
        if not members:
            raise ParseError(f"the archive has no {METADATA_FILE}; it is not an ELN/RO-Crate export", name)
        member = min(members, key=lambda m: m.count("/"))
        root_dir = posixpath.dirname(member)
        try:
            document = json.loads(archive.read(member).decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError(f"{member} is not valid JSON: {exc}", name) from None
        graph = document.get("@graph") if isinstance(document, dict) else None
        if not isinstance(graph, list):
            raise ParseError(f"{member} has no '@graph' list of entities (RO-Crate JSON-LD)", name)
        crate = _Crate(graph)
        export = ElnExport()
        software = _software(crate)
        root_id = _root_id(crate)
        parents = _parents(crate)
        for entity in crate.entities.values():
            if not _is_experiment(entity, root_id):
                continue
            reaction = _ai4green_reaction(crate, entity, archive, root_dir, name)
            experiment = _experiment(crate, entity, parents, root_id, reaction, software, name)
            export.experiments.append(experiment)
            if reaction is not None:
                export.reagents.extend(_ai4green_reagents(reaction, experiment.experiment_id, name))
    if not export.experiments:
        raise ParseError(
            "the crate holds no experiment: no Dataset with genre 'experiment', protocol steps, dateCreated or author",
            name,
        )
    return export


def _software(crate: _Crate) -> str | None:
    descriptor = crate.get(METADATA_FILE) or {}
    publisher = crate.name_of(descriptor.get("sdPublisher"))
    if publisher:
        return publisher
    for entity in crate.entities.values():
        if "CreateAction" in _types(entity) and entity.get("instrument"):
            return crate.name_of(entity["instrument"])
    return None


def _root_id(crate: _Crate) -> str:
    descriptor = crate.get(METADATA_FILE) or {}
    about = descriptor.get("about")
    if isinstance(about, dict) and "@id" in about:
        return str(about["@id"])
    return "./"


def _parents(crate: _Crate) -> dict[str, str]:
    """Dataset id -> id of the Dataset whose ``hasPart`` lists it."""
    parents: dict[str, str] = {}
    for entity in crate.entities.values():
        if "Dataset" in _types(entity):
            for part in _refs(entity.get("hasPart")):
                if isinstance(part, dict) and "@id" in part:
                    parents.setdefault(str(part["@id"]), str(entity["@id"]))
    return parents


def _is_experiment(entity: Mapping[str, Any], root_id: str) -> bool:
    if "Dataset" not in _types(entity) or str(entity["@id"]) == root_id:
        return False
    genre = str(entity.get("genre", "")).strip().lower()
    if genre:
        return genre == "experiment"
    return bool(entity.get("step") or entity.get("dateCreated") or entity.get("author"))


def _experiment(
    crate: _Crate,
    entity: Mapping[str, Any],
    parents: Mapping[str, str],
    root_id: str,
    reaction: Mapping[str, Any] | None,
    software: str | None,
    source: str,
) -> ElnExperiment:
    entity_id = str(entity["@id"])
    identifier = entity.get("identifier")
    if isinstance(identifier, dict):
        identifier = identifier.get("value") or identifier.get("@id")
    if not identifier and reaction is not None:
        identifier = reaction.get("reaction_id")
    experiment_id = str(identifier) if identifier else entity_id.removeprefix("./").strip("/") or entity_id

    authors = []
    for ref in _refs(entity.get("author")):
        person = crate.get(ref)
        label = crate.name_of(ref) if person is not None and person is not ref else None
        if label is None:
            label = str(ref.get("@id")) if isinstance(ref, dict) else str(ref)
        authors.append(label)

    steps = _protocol_steps(crate, entity)
    based_on = entity.get("isBasedOn")
    return ElnExperiment(
        experiment_id=experiment_id,
        project=_project(crate, entity, parents, root_id, reaction),
        title=str(entity["name"]) if entity.get("name") else None,
        protocol_name=crate.name_of(based_on) if based_on else None,
        protocol_steps=json.dumps(steps, ensure_ascii=False) if steps else None,
        author="; ".join(authors) or None,
        created_at=parse_timestamp(entity.get("dateCreated"), f"dateCreated of {entity_id}", source),
        plate_ids=_plate_ids(crate, entity),
        eln_software=software,
        source_file=source,
    )


def _protocol_steps(crate: _Crate, entity: Mapping[str, Any]) -> list[str]:
    steps: list[tuple[float, int, str]] = []
    for order, ref in enumerate(_refs(entity.get("step"))):
        step = crate.get(ref)
        if step is None:
            continue
        texts = [str(step["text"])] if step.get("text") else []
        for item in _refs(step.get("itemListElement")):
            direction = crate.get(item)
            if direction is not None and direction.get("text"):
                texts.append(str(direction["text"]))
        position = step.get("position")
        try:
            rank = float(position) if position is not None else float(order + 1)
        except (TypeError, ValueError):
            rank = float(order + 1)
        if texts:
            steps.append((rank, order, " ".join(texts)))
    return [text for _, _, text in sorted(steps)]


def _project(
    crate: _Crate,
    entity: Mapping[str, Any],
    parents: Mapping[str, str],
    root_id: str,
    reaction: Mapping[str, Any] | None,
) -> str | None:
    parent = parents.get(str(entity["@id"]))
    if parent and parent != root_id:
        named = crate.name_of(parent)
        if named:
            return named
    keywords = entity.get("keywords") or []
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    for keyword in keywords:
        match = re.match(r"^\s*project\s*[:\-]?\s+(.+?)\s*$", str(keyword), re.IGNORECASE)
        if match:
            return match.group(1)
    if reaction is not None and reaction.get("creator_workbook"):
        return str(reaction["creator_workbook"])
    category = crate.name_of(entity.get("about")) if entity.get("about") else None
    return category


def _plate_ids(crate: _Crate, entity: Mapping[str, Any]) -> str | None:
    plates: list[str] = []
    for ref in _refs(entity.get("variableMeasured")):
        value = crate.get(ref)
        if value is None or "plate" not in str(value.get("propertyID", "")).lower():
            continue
        for item in re.split(r"[,;\s]+", str(value.get("value", ""))):
            if item and item not in plates:
                plates.append(item)
    return json.dumps(plates) if plates else None


def _ai4green_reaction(
    crate: _Crate, entity: Mapping[str, Any], archive: zipfile.ZipFile, root_dir: str, source: str
) -> dict[str, Any] | None:
    """AI4Green's ``<id>/<id>.json`` reaction record of an experiment Dataset, when the crate has one."""
    folder = str(entity["@id"]).removeprefix("./").strip("/")
    for ref in _refs(entity.get("hasPart")):
        part = crate.get(ref) or {}
        part_id = str(part.get("@id", ""))
        if not part_id.endswith(".json") or posixpath.basename(part_id) != f"{posixpath.basename(folder)}.json":
            continue
        path = posixpath.normpath(posixpath.join(root_dir, part_id.removeprefix("./")))
        for candidate in (path, unquote(path)):
            if candidate in archive.namelist():
                try:
                    record = json.loads(archive.read(candidate).decode("utf-8-sig"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ParseError(f"{candidate} is not valid JSON: {exc}", source) from None
                if isinstance(record, dict) and "reaction_id" in record:
                    return record
        log.warning("%s: %s lists %s but the archive does not hold it", source, entity["@id"], part_id)
    return None


_AI4GREEN_ROLES = {"reactants": "reactant", "reagents": "reagent", "solvents": "solvent", "products": "product"}


def _ai4green_reagents(reaction: Mapping[str, Any], experiment_id: str, source: str) -> list[ElnReagent]:
    reagents = []
    for key, role in _AI4GREEN_ROLES.items():
        for number, compound in enumerate(reaction.get(key) or [], start=1):
            if not isinstance(compound, dict):
                continue
            amount_key, unit_key = ("amount", "amount_unit") if "amount" in compound else ("volume", "volume_unit")
            where = f"{key[:-1]} {number} of reaction {experiment_id}"
            amount, unit_in_cell = parse_quantity(compound.get(amount_key), amount_key, where, source)
            reagents.append(
                ElnReagent(
                    experiment_id=experiment_id,
                    role=role,
                    name=str(compound["name"]).strip() if compound.get("name") else None,
                    smiles=str(compound["SMILES"]).strip() if compound.get("SMILES") else None,
                    amount=amount,
                    amount_unit=str(compound[unit_key]).strip() if compound.get(unit_key) else unit_in_cell,
                    source_file=source,
                )
            )
    return reagents


# --------------------------------------------------------------------------------------------------------------
# lab_etl's own ELN export (CSV / JSON)

REQUIRED_COLUMNS = ("experiment_id", "plate_id", "well")
EXPERIMENT_COLUMNS = ("project", "title", "protocol_name", "protocol_steps", "author", "date", "eln_software")
WELL_COLUMNS = ("plate_format", "role", "sample_name", "concentration", "concentration_unit")
REAGENT_COLUMNS = ("reagent_role", "reagent_name", "smiles", "chembl_id", "amount", "amount_unit")
_ALIASES = {"created_at": "date", "plate": "plate_id", "experiment": "experiment_id", "sample": "sample_name"}
_KNOWN = {*REQUIRED_COLUMNS, *EXPERIMENT_COLUMNS, *WELL_COLUMNS, *REAGENT_COLUMNS}


@dataclass(slots=True)
class _Row:
    """One flattened row of the export, wherever it came from (a CSV line or a JSON object)."""

    values: dict[str, object]
    where: str
    line: int | None


def read_eln_table(data: bytes, name: str) -> ElnExport:
    """Read lab_etl's ELN export (CSV, or JSON when the name ends ``.json`` or the text starts with ``[``/``{``).

    Returns the experiments, one :class:`~lab_etl.layouts.Layout` per plate (wells mapped as every layout reader
    maps them) whose reagents are the well reagents. The format is described in the module docstring and
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


def _agree(target: dict[str, tuple[object, str]], key: str, value: object, row: _Row, owner: str, source: str) -> None:
    """Record ``value`` for ``key``; two rows that disagree are a ParseError naming both."""
    if key in target and target[key][0] != value:
        raise ParseError(
            f"{owner}: {key} is '{target[key][0]}' on {target[key][1]} but '{value}' here; give one value",
            source,
            row.line,
        )
    target.setdefault(key, (value, row.where))


def _build_export(rows: list[_Row], source: str, export: ElnExport) -> ElnExport:
    experiments: dict[str, dict[str, tuple[object, str]]] = {}
    plates_of: dict[str, list[str]] = {}
    wells: dict[str, dict[str, dict[str, tuple[object, str]]]] = {}  # plate -> well -> field -> value
    well_lines: dict[str, dict[str, int]] = {}
    reagents: dict[tuple[str, str, str], tuple[WellReagent, str]] = {}
    formats: dict[str, int] = {}

    for row in rows:
        values = row.values
        experiment_id = str(values.get("experiment_id", "")).strip()
        if not experiment_id:
            raise ParseError(f"{row.where} has no experiment_id", source, row.line)
        fields = experiments.setdefault(experiment_id, {})
        for key in EXPERIMENT_COLUMNS:
            if key in values:
                _agree(fields, key, values[key], row, f"experiment {experiment_id}", source)
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
        well_fields = wells.setdefault(plate_id, {}).setdefault(well, {})
        well_lines.setdefault(plate_id, {}).setdefault(well, row.line or 0)
        _agree(well_fields, "experiment_id", experiment_id, row, f"plate {plate_id} well {well}", source)
        for key, value in values.items():
            if (key in WELL_COLUMNS and key != "plate_format") or key not in _KNOWN:
                _agree(well_fields, key, value, row, f"plate {plate_id} well {well}", source)
        if any(values.get(k) not in (None, "") for k in REAGENT_COLUMNS):
            reagent = _reagent(values, plate_id, well, experiment_id, row, source)
            reagent_key = (plate_id, well, reagent.reagent_role)
            if reagent_key in reagents:
                raise ParseError(
                    f"plate {plate_id} well {well} has two '{reagent.reagent_role}' reagents "
                    f"({reagents[reagent_key][1]} and {row.where}); number them (reactant_1, reactant_2) or give "
                    "each well one reagent per role",
                    source,
                    row.line,
                )
            reagents[reagent_key] = (reagent, row.where)

    for experiment_id, fields in experiments.items():
        steps = fields.get("protocol_steps", (None, ""))[0]
        if isinstance(steps, str):
            steps = [s.strip() for s in steps.split("|") if s.strip()]
        elif steps is not None and not isinstance(steps, list):
            raise ParseError(f"experiment {experiment_id}: protocol_steps must be a list or '|'-separated text", source)
        date = fields.get("date", (None, ""))
        plates = plates_of.get(experiment_id, [])
        export.experiments.append(
            ElnExperiment(
                experiment_id=experiment_id,
                project=_text(fields.get("project")),
                title=_text(fields.get("title")),
                protocol_name=_text(fields.get("protocol_name")),
                protocol_steps=json.dumps([str(s) for s in steps], ensure_ascii=False) if steps else None,
                author=_text(fields.get("author")),
                created_at=parse_timestamp(date[0], f"date of experiment {experiment_id} ({date[1]})", source),
                plate_ids=json.dumps(plates) if plates else None,
                eln_software=_text(fields.get("eln_software")),
                source_file=source,
            )
        )
    for plate_id, plate_wells in wells.items():
        layout = layout_from_wells(
            {well: {k: v for k, (v, _) in f.items()} for well, f in plate_wells.items()},
            plate_id,
            source,
            plate_format=formats.get(plate_id),
            lines={w: n for w, n in well_lines[plate_id].items() if n},
        )
        layout.reagents = sorted(
            (r for (p, _, _), (r, _) in reagents.items() if p == plate_id), key=lambda r: (r.well, r.reagent_role)
        )
        export.layouts.append(layout)
    return export


def _text(entry: tuple[object, str] | None) -> str | None:
    if entry is None or entry[0] is None:
        return None
    text = str(entry[0]).strip()
    return text or None


def _reagent(
    values: Mapping[str, object], plate_id: str, well: str, experiment_id: str, row: _Row, source: str
) -> WellReagent:
    role = str(values.get("reagent_role", "")).strip()
    if not role:
        raise ParseError(f"{row.where} describes a reagent but has no reagent_role", source, row.line)
    role = re.sub(r"[^0-9a-z]+", "_", role.lower()).strip("_")
    amount, unit_in_cell = parse_quantity(values.get("amount"), f"{role} amount", f"well {well}", source, row.line)
    chembl = str(values.get("chembl_id", "")).strip().upper() or None
    if chembl is not None and not re.fullmatch(r"CHEMBL\d+", chembl):
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
