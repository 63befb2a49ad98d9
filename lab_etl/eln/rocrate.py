"""ELN Consortium ``.eln`` archives (a zip holding an RO-Crate ``ro-crate-metadata.json``): :func:`read_eln_archive`.

As exported by eLabFTW, AI4Green, Chemotion, RSpace and others: one experiment per experiment Dataset of the
crate, plus AI4Green's reaction reagents.
"""

from __future__ import annotations

import io
import json
import logging
import posixpath
import re
import zipfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from lab_etl.eln.model import ElnExperiment, ElnExport, ElnReagent, parse_timestamp
from lab_etl.errors import ParseError
from lab_etl.layouts.fields import parse_quantity

log = logging.getLogger(__name__)

METADATA_FILE = "ro-crate-metadata.json"


def _types(entity: Mapping[str, Any]) -> set[str]:
    kind = entity.get("@type", [])
    return {kind} if isinstance(kind, str) else {str(k) for k in kind}


def _refs(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class _Crate:
    """The JSON-LD graph of one RO-Crate, indexed by ``@id``, with its root Dataset's id and each Dataset's parent."""

    def __init__(self, graph: list[dict[str, Any]]) -> None:
        self.entities = {str(e["@id"]): e for e in graph if isinstance(e, dict) and "@id" in e}
        self.root_id = _root_id(self)
        self.parents = _parents(self)

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
        for entity in crate.entities.values():
            if not _is_experiment(entity, crate.root_id):
                continue
            reaction = _ai4green_reaction(crate, entity, archive, root_dir, name)
            experiment = _experiment(crate, entity, reaction, software, name)
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
        project=_project(crate, entity, reaction),
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
    reaction: Mapping[str, Any] | None,
) -> str | None:
    parent = crate.parents.get(str(entity["@id"]))
    if parent and parent != crate.root_id:
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
