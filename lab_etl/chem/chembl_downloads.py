"""ChEMBL downloads as :class:`~lab_etl.chem.records.CompoundRecord` objects, one per ``chembl_compounds`` row.

- :func:`read_chemreps` -- ``chembl_XX_chemreps.txt(.gz)``: structures only;
- :func:`read_chembl_sqlite` -- the ``chembl_XX.db`` SQLite release: structures and ChEMBL's own properties;
- :func:`read_chembl_csv` -- a CSV extract with ``molecule_chembl_id`` and ``smiles`` (e.g. TeachOpenCADD's).

Each loader streams its file (gzip detected), names the file and line of any bad row, and can fill parent
InChIKeys and missing properties from the structures (:mod:`lab_etl.chem.structures`).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from lab_etl.chem.records import CHEMBL_ID_RE, CompoundRecord, descriptor_columns
from lab_etl.chem.structures import descriptors, standardise_unchecked
from lab_etl.errors import ConfigError, ParseError

log = logging.getLogger(__name__)

#: Where a file's bytes come from: a path, or the bytes themselves (then pass ``name``).
Source = str | os.PathLike[str] | bytes

#: Header of ChEMBL's ``chembl_XX_chemreps.txt`` (tab-separated), unchanged since ChEMBL 20.
CHEMREPS_COLUMNS = ("chembl_id", "canonical_smiles", "standard_inchi", "standard_inchi_key")

_RELEASE_RE = re.compile(r"^chembl_[0-9]+$")
_INCHI_KEY_RE = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
_GZIP_MAGIC = b"\x1f\x8b"


def _check_release(release: str) -> str:
    if not isinstance(release, str) or not _RELEASE_RE.match(release):
        raise ConfigError(f"ChEMBL release {release!r} is not of the form 'chembl_27'; pass e.g. release='chembl_27'")
    return release


def _source_name(source: Source, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, bytes):
        raise ConfigError("reading ChEMBL data from bytes needs name= (the download's file name, kept as source_file)")
    return Path(source).name


def _open_text(source: Source) -> IO[str]:
    """A text stream over a path or bytes, gunzipped when the data starts with the gzip magic number."""
    stream: io.BufferedIOBase
    if isinstance(source, bytes):
        data = io.BytesIO(source)
        stream = gzip.GzipFile(fileobj=data, mode="rb") if source[:2] == _GZIP_MAGIC else data
    else:
        try:
            with open(source, "rb") as probe:
                head = probe.read(2)
            stream = gzip.open(source, "rb") if head == _GZIP_MAGIC else open(source, "rb")
        except OSError as exc:
            raise ParseError(f"cannot open ChEMBL file: {exc.strerror}", source=str(source)) from None
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


#: What a damaged download raises while it is read (truncated gzip, not UTF-8).
_READ_ERRORS = (EOFError, gzip.BadGzipFile, UnicodeDecodeError)


def _lines(text: IO[str], name: str) -> Iterator[str]:
    """The stream's lines; a damaged download becomes a :class:`ParseError` naming the file."""
    try:
        yield from text
    except _READ_ERRORS as exc:
        raise ParseError(
            f"cannot read the file ({type(exc).__name__}: {exc}); the download may be damaged, fetch it again", name
        ) from None


def _chembl_id(value: str | None, name: str, line: int | None) -> str:
    text = (value or "").strip()
    if not CHEMBL_ID_RE.match(text):
        raise ParseError(f"{text!r} is not a ChEMBL id (CHEMBL followed by digits); fix or drop the row", name, line)
    return text


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


def _number(value: Any, kind: type[int] | type[float], column: str, name: str, line: int | None) -> Any:
    """``value`` as ``kind`` (None for blank/NULL); :class:`ParseError` naming the column otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "nan", "none", "null")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParseError(f"column {column}: {value!r} is not a number", name, line) from None
    if kind is int:
        if not number.is_integer():
            raise ParseError(f"column {column}: {value!r} is not a whole number", name, line)
        return int(number)
    return number


def _enrich(record: CompoundRecord, *, compute: bool, standardise: bool, name: str, line: int | None) -> CompoundRecord:
    """Fill ``parent_inchi_key`` and/or missing properties from the record's SMILES, as the loader was asked.

    A structure RDKit or the pipeline cannot handle is logged with its file, line and id and left unfilled:
    one odd organometallic must not stop a two-million-row load.
    """
    smiles = record.canonical_smiles
    if smiles is None or not (compute or standardise):
        return record
    changes: dict[str, Any] = {}
    where = f"{name}:{line}" if line is not None else name
    try:
        if standardise:
            result = standardise_unchecked(smiles)
            changes["parent_inchi_key"] = result.parent_inchi_key
            if record.standard_inchi_key is None:
                changes["standard_inchi_key"] = result.standard_inchi_key
        if compute:
            missing = {k: v for k, v in descriptor_columns(descriptors(smiles)).items() if getattr(record, k) is None}
            if missing:
                changes.update(missing)
                changes["property_source"] = "computed"
    except ParseError as exc:
        log.warning("%s: %s left without parent InChIKey/descriptors: %s", where, record.chembl_id, exc)
        return dataclasses.replace(record, **changes) if changes else record
    return dataclasses.replace(record, **changes)


#: Reads the records of an open text download, each with its line number: ``(text, name, release)``.
_RecordReader = Callable[[IO[str], str, str], Iterator[tuple[CompoundRecord, int]]]


def _read_text(
    source: Source, release: str, name: str | None, records: _RecordReader, *, compute: bool, standardise: bool
) -> Iterator[CompoundRecord]:
    """The records ``records`` reads from a text download (path or bytes, gzip detected), enriched as asked."""
    release = _check_release(release)
    name = _source_name(source, name)
    with _open_text(source) as text:
        for record, line in records(text, name, release):
            yield _enrich(record, compute=compute, standardise=standardise, name=name, line=line)


def read_chemreps(
    source: Source,
    release: str,
    *,
    name: str | None = None,
    compute: bool = False,
    standardise: bool = False,
) -> Iterator[CompoundRecord]:
    """Compound records from ChEMBL's ``chembl_XX_chemreps.txt`` or ``.txt.gz`` (streamed, gzip detected).

    The file is tab-separated with the header ``chembl_id canonical_smiles standard_inchi standard_inchi_key``
    and carries no properties. With ``compute=False`` the property columns stay null and ``property_source`` is
    ``chembl`` (nothing was computed: the nulls are ChEMBL's absence of values, to be joined from the SQLite
    release's ``compound_properties``). With ``compute=True`` they are RDKit values of the parent
    (:func:`descriptors`) and ``property_source`` is ``computed``.

    Parameters
    ----------
    source:
        Path of the download, or its bytes (then ``name`` is required).
    release:
        The ChEMBL release, ``chembl_27``; stored in ``chembl_release``.
    name:
        ``source_file`` of every row; defaults to the path's file name.
    compute:
        Compute the properties with RDKit (about 10 ms per structure).
    standardise:
        Fill ``parent_inchi_key`` with :func:`standardise` (about 10 ms per structure), needed to match by InChIKey.

    Raises
    ------
    ParseError
        Wrong header, a line without four fields, or a malformed ChEMBL id (file and line named).
    ConfigError
        A malformed ``release``, or bytes without ``name``.

    Examples
    --------
    >>> data = (b"chembl_id\\tcanonical_smiles\\tstandard_inchi\\tstandard_inchi_key\\n"
    ...         b"CHEMBL25\\tCC(=O)Oc1ccccc1C(=O)O\\tInChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/"
    ...         b"h2-5H,1H3,(H,11,12)\\tBSYNRYMUTXBXSQ-UHFFFAOYSA-N\\n")
    >>> [r.chembl_id for r in read_chemreps(data, "chembl_27", name="chembl_27_chemreps.txt")]
    ['CHEMBL25']
    """
    return _read_text(source, release, name, _chemreps_records, compute=compute, standardise=standardise)


def _chemreps_records(text: IO[str], name: str, release: str) -> Iterator[tuple[CompoundRecord, int]]:
    """The records of a chemreps file, each with its line number."""
    lines = _lines(text, name)
    header = next(lines, "").rstrip("\r\n").split("\t")
    if tuple(h.strip() for h in header) != CHEMREPS_COLUMNS:
        raise ParseError(
            f"not a ChEMBL chemreps file: header is {header!r}, expected {'/'.join(CHEMREPS_COLUMNS)} "
            "(tab-separated); pass chembl_XX_chemreps.txt(.gz) from ChEMBL's downloads",
            name,
            1,
        )
    for line_number, line in enumerate(lines, start=2):
        line = line.rstrip("\r\n")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != len(CHEMREPS_COLUMNS):
            raise ParseError(
                f"expected {len(CHEMREPS_COLUMNS)} tab-separated fields, found {len(fields)}; "
                "the file may be truncated or not tab-separated",
                name,
                line_number,
            )
        chembl_id, smiles, _inchi, inchi_key = (_blank_to_none(f) for f in fields)
        if inchi_key is not None and not _INCHI_KEY_RE.match(inchi_key):
            raise ParseError(f"{inchi_key!r} is not a standard InChIKey", name, line_number)
        record = CompoundRecord(
            chembl_id=_chembl_id(chembl_id, name, line_number),
            canonical_smiles=smiles,
            standard_inchi_key=inchi_key,
            property_source="chembl",
            chembl_release=release,
            source_file=name,
        )
        yield record, line_number


#: ChEMBL SQLite tables and the columns the reference load reads from each (names as in ChEMBL's schema).
CHEMBL_SQLITE_COLUMNS: dict[str, tuple[str, ...]] = {
    "molecule_dictionary": ("molregno", "chembl_id", "pref_name"),
    "compound_structures": ("molregno", "canonical_smiles", "standard_inchi_key"),
    "compound_properties": ("molregno", "mw_freebase", "alogp", "rtb", "hba", "hbd", "psa", "aromatic_rings"),
}

_CHEMBL_SQLITE_QUERY = """
SELECT md.chembl_id, md.pref_name, cs.canonical_smiles, cs.standard_inchi_key,
       cp.mw_freebase, cp.alogp, cp.rtb, cp.hba, cp.hbd, cp.psa, cp.aromatic_rings
FROM molecule_dictionary AS md
LEFT JOIN compound_structures AS cs ON cs.molregno = md.molregno
LEFT JOIN compound_properties AS cp ON cp.molregno = md.molregno
ORDER BY md.molregno
"""


def _check_sqlite_schema(connection: sqlite3.Connection, name: str, release: str) -> None:
    for table, columns in CHEMBL_SQLITE_COLUMNS.items():
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if not present:
            raise ParseError(
                f"not a ChEMBL SQLite release: no table {table}; pass chembl_XX.db from chembl_XX_sqlite.tar.gz",
                name,
            )
        missing = [c for c in columns if c not in present]
        if missing:
            raise ParseError(f"table {table} lacks columns {missing}; is this a ChEMBL SQLite release?", name)
    # ChEMBL's SQLite carries its release in version.name ('ChEMBL_27'); catch a release= that contradicts it.
    has_version = connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='version'").fetchone()
    if has_version:
        names = [str(row[0]) for row in connection.execute("SELECT name FROM version") if row[0]]
        numbers = {m.group(0) for n in names if (m := re.search(r"[0-9]+", n))}
        if numbers and release.split("_")[1] not in numbers:
            raise ConfigError(f"{name}: the database says it is {', '.join(names)}, but release={release!r} was given")


def read_chembl_sqlite(
    path: str | os.PathLike[str],
    release: str,
    *,
    compute: bool = False,
    standardise: bool = False,
) -> Iterator[CompoundRecord]:
    """Compound records from ChEMBL's SQLite release (``chembl_XX.db``), with ChEMBL's own properties.

    Joins ``molecule_dictionary`` (chembl_id, pref_name) to ``compound_structures`` (canonical_smiles,
    standard_inchi_key) and ``compound_properties`` (mw_freebase, alogp, rtb, hba, hbd, psa, aromatic_rings)
    on ``molregno``; molecules without a structure (biologics) or without properties keep nulls. The database
    is opened read-only and streamed in ``molregno`` order. ``property_source`` is ``chembl``; with
    ``compute=True`` a row that has a structure but *no* ChEMBL property at all gets RDKit values and
    ``computed`` (ChEMBL values are never overwritten or mixed with computed ones).

    Parameters
    ----------
    path:
        The ``chembl_XX.db`` file.
    release:
        ``chembl_27``; checked against the database's ``version`` table when it has one.
    compute, standardise:
        As in :func:`read_chemreps`.

    Raises
    ------
    ParseError
        Not a SQLite file, or a ChEMBL table/column missing (named).
    ConfigError
        ``release`` malformed or contradicting the database's ``version`` table.

    Examples
    --------
    >>> for record in read_chembl_sqlite("chembl_27/chembl_27_sqlite/chembl_27.db", "chembl_27"):  # doctest: +SKIP
    ...     print(record.chembl_id, record.mw_freebase)
    """
    release = _check_release(release)
    name = Path(path).name
    if not Path(path).is_file():
        raise ParseError(
            "no such ChEMBL SQLite file; pass the chembl_XX.db extracted from chembl_XX_sqlite.tar.gz", name
        )
    connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            _check_sqlite_schema(connection, name, release)
            cursor = connection.execute(_CHEMBL_SQLITE_QUERY)
        except sqlite3.DatabaseError as exc:
            raise ParseError(f"not a readable SQLite database ({exc})", name) from None
        for row in cursor:
            chembl_id, pref_name, smiles, inchi_key, mw, alogp, rtb, hba, hbd, psa, aromatic_rings = row
            label = f"{name} (chembl_id {chembl_id})"
            record = CompoundRecord(
                chembl_id=_chembl_id(chembl_id, name, None),
                pref_name=_blank_to_none(pref_name),
                canonical_smiles=_blank_to_none(smiles),
                standard_inchi_key=_blank_to_none(inchi_key),
                mw_freebase=_number(mw, float, "mw_freebase", label, None),
                alogp=_number(alogp, float, "alogp", label, None),
                rtb=_number(rtb, int, "rtb", label, None),
                hba=_number(hba, int, "hba", label, None),
                hbd=_number(hbd, int, "hbd", label, None),
                psa=_number(psa, float, "psa", label, None),
                aromatic_rings=_number(aromatic_rings, int, "aromatic_rings", label, None),
                property_source="chembl",
                chembl_release=release,
                source_file=name,
            )
            yield _enrich(
                record,
                compute=compute and not record.has_properties,
                standardise=standardise,
                name=label,
                line=None,
            )
    finally:
        connection.close()


#: Columns of a CSV extract: required ones, and optional RDKit property columns -> chembl_compounds columns.
CSV_REQUIRED_COLUMNS = ("molecule_chembl_id", "smiles")
CSV_PROPERTY_COLUMNS: dict[str, tuple[str, type[int] | type[float]]] = {
    "n_hba": ("hba", int),
    "n_hbd": ("hbd", int),
    "logp": ("alogp", float),
}


def read_chembl_csv(
    source: Source,
    release: str,
    name: str | None = None,
    *,
    compute: bool = False,
    standardise: bool = False,
) -> Iterator[CompoundRecord]:
    """Compound records from a CSV extract of ChEMBL with ``molecule_chembl_id`` and ``smiles`` columns.

    Built for TeachOpenCADD's EGFR extracts (``tests/data/chembl``); other columns are ignored, except the
    RDKit property columns of the ``*_lipinski.csv`` extract: ``n_hba`` -> ``hba``, ``n_hbd`` -> ``hbd``,
    ``logp`` -> ``alogp`` (RDKit ``NumHAcceptors``/``NumHDonors``/``MolLogP`` of the extract's SMILES, so
    ``property_source`` is ``computed`` for rows that carry them). Its ``molecular_weight`` is RDKit's
    *monoisotopic* ``ExactMolWt``, not an average weight, so it is not used as ``mw_freebase``.
    ``compute=True`` fills the properties still missing with :func:`descriptors` (``computed``); the extract's
    values are kept. ``canonical_smiles`` is the extract's SMILES; ``standard_inchi_key`` is filled only with
    ``standardise=True`` (from the standardised structure, as ChEMBL's is).

    Parameters
    ----------
    source:
        Path of the CSV (or ``.csv.gz``), or its bytes (then ``name`` is required).
    release:
        The ChEMBL release the extract was taken from, ``chembl_27``.
    name:
        ``source_file`` of every row; defaults to the path's file name.
    compute, standardise:
        As in :func:`read_chemreps`.

    Raises
    ------
    ParseError
        A required column missing, a malformed ChEMBL id or a non-numeric property (file and line named).

    Examples
    --------
    >>> records = read_chembl_csv("tests/data/chembl/EGFR_compounds_lipinski.csv", "chembl_27")
    >>> first = next(records)
    >>> first.chembl_id, first.hba, first.hbd, first.property_source
    ('CHEMBL63786', 3, 1, 'computed')
    """
    return _read_text(source, release, name, _csv_records, compute=compute, standardise=standardise)


def _csv_records(text: IO[str], name: str, release: str) -> Iterator[tuple[CompoundRecord, int]]:
    """The records of a CSV extract, each with its line number."""
    reader = csv.DictReader(_lines(text, name))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in CSV_REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ParseError(
            f"CSV extract lacks columns {missing} (has {columns}); it needs molecule_chembl_id and smiles", name, 1
        )
    reader.fieldnames = columns
    property_columns = {c: spec for c, spec in CSV_PROPERTY_COLUMNS.items() if c in columns}
    for row in reader:
        line_number = reader.line_num
        values = {
            target: _number(row.get(column), kind, column, name, line_number)
            for column, (target, kind) in property_columns.items()
        }
        has_values = any(v is not None for v in values.values())
        record = CompoundRecord(
            chembl_id=_chembl_id(row.get("molecule_chembl_id"), name, line_number),
            canonical_smiles=_blank_to_none(row.get("smiles")),
            property_source="computed" if has_values else "chembl",
            chembl_release=release,
            source_file=name,
            **values,
        )
        yield record, line_number
