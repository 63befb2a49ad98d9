"""ChEMBL reference compounds, ChEMBL structure standardisation, RDKit descriptors and reagent matching.

Reagents in wells are matched to ChEMBL compounds to attach molecular weight, logP, rotatable bonds ... to
them. The reference rows (:class:`CompoundRecord`, one per ``lab_reference.chembl_compounds`` row) come from
one of ChEMBL's downloads:

- :func:`read_chemreps` — ``chembl_XX_chemreps.txt(.gz)``: structures only;
- :func:`read_chembl_sqlite` — the ``chembl_XX.db`` SQLite release: structures and ChEMBL's own properties;
- :func:`read_chembl_csv` — a CSV extract with ``molecule_chembl_id`` and ``smiles`` (e.g. TeachOpenCADD's).

A reagent is matched (:func:`match_reagent`) by ChEMBL id; else by the standard InChIKey of its *parent*
after ChEMBL's own structure pipeline (:func:`standardise`: ``standardize_mol`` then ``get_parent_mol``, so a
hydrochloride matches its free base); else its descriptors are computed with RDKit (:func:`descriptors`) and
marked ``property_source = computed``.

Everything here is pure Python (RDKit + ``chembl_structure_pipeline``, the ``chem`` extra); nothing touches
Spark. ChEMBL data is CC BY-SA 3.0: "ChEMBL data is from http://www.ebi.ac.uk/chembl - the version of ChEMBL
is chembl_XX" must travel with any table built from it.

Examples
--------
>>> salt = standardise("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")
>>> salt.parent_smiles, salt.parent_inchi_key
('CC(=O)Oc1ccccc1C(=O)O', 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N')
>>> round(descriptors("COC(CCS)=O").mw, 2)
120.17
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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal

from lab_etl.errors import ConfigError, ParseError

try:
    from chembl_structure_pipeline import checker as chembl_checker
    from chembl_structure_pipeline import standardizer as chembl_standardizer
    from rdkit import Chem, rdBase
    from rdkit.Chem import Crippen, rdMolDescriptors
    from rdkit.Chem import Descriptors as RDKitDescriptors
except ImportError as exc:  # pragma: no cover - exercised only on an install without the chem extra
    raise ConfigError(
        f"lab_etl.chem needs RDKit and chembl_structure_pipeline ({exc}); "
        "install them with: pip install 'lab_etl[chem]'"
    ) from exc

log = logging.getLogger(__name__)

PropertySource = Literal["chembl", "computed"]
MatchMethod = Literal["chembl_id", "inchikey", "computed", "unmatched"]

#: Where a file's bytes come from: a path, or the bytes themselves (then pass ``name``).
Source = str | os.PathLike[str] | bytes

#: Header of ChEMBL's ``chembl_XX_chemreps.txt`` (tab-separated), unchanged since ChEMBL 20.
CHEMREPS_COLUMNS = ("chembl_id", "canonical_smiles", "standard_inchi", "standard_inchi_key")

#: How many structures :func:`standardise` and :func:`descriptors` remember (one reagent sits in many wells).
CACHE_SIZE = 65536

_CHEMBL_ID_RE = re.compile(r"^CHEMBL[0-9]+$")
_RELEASE_RE = re.compile(r"^chembl_[0-9]+$")
_INCHI_KEY_RE = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
_GZIP_MAGIC = b"\x1f\x8b"
_ROTATABLE_STRICT = rdMolDescriptors.NumRotatableBondsOptions.Strict

# The property columns of chembl_compounds, in contract order.
_PROPERTY_COLUMNS = ("mw_freebase", "alogp", "rtb", "hba", "hbd", "psa", "aromatic_rings")


@dataclass(frozen=True, slots=True)
class CompoundRecord:
    """One ``lab_reference.chembl_compounds`` row (fields in contract order; see ``schemas/chembl_compounds.yaml``).

    Properties are those of the *parent* compound (salts stripped), as in ChEMBL's ``compound_properties``:
    ``mw_freebase`` in g/mol (average), ``psa`` in Å², counts as integers; each may be null.
    ``property_source`` says who produced the non-null properties: ``chembl`` (ChEMBL's own values, or no
    values at all) or ``computed`` (RDKit, see :func:`descriptors`). ``parent_inchi_key`` is filled only by a
    loader called with ``standardise=True``.

    Examples
    --------
    >>> record = CompoundRecord(chembl_id="CHEMBL25", property_source="chembl", chembl_release="chembl_27",
    ...                         source_file="chembl_27.db", mw_freebase=180.16)
    >>> record.as_row()["mw_freebase"]
    180.16
    """

    chembl_id: str
    pref_name: str | None = None
    canonical_smiles: str | None = None
    standard_inchi_key: str | None = None
    parent_inchi_key: str | None = None
    mw_freebase: float | None = None
    alogp: float | None = None
    rtb: int | None = None
    hba: int | None = None
    hbd: int | None = None
    psa: float | None = None
    aromatic_rings: int | None = None
    property_source: PropertySource = "chembl"
    chembl_release: str = ""
    source_file: str = ""

    def as_row(self) -> dict[str, Any]:
        """The record as a ``{column: value}`` dict in contract column order (ready for a Spark row)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def has_properties(self) -> bool:
        """True when at least one property column holds a value."""
        return any(getattr(self, column) is not None for column in _PROPERTY_COLUMNS)


@dataclass(frozen=True, slots=True)
class Descriptors:
    """RDKit descriptors of a parent structure (see :func:`descriptors` for the exact definitions).

    ``mw`` is the average molecular weight in g/mol (comparable with ChEMBL's ``mw_freebase``),
    ``mw_monoisotopic`` the exact monoisotopic mass in Da (comparable with ChEMBL's ``mw_monoisotopic`` and
    RDKit's ``ExactMolWt``), ``alogp`` Crippen's logP (dimensionless), ``tpsa`` in Å²; the rest are counts.
    """

    mw: float
    alogp: float
    rtb: int
    hba: int
    hbd: int
    tpsa: float
    aromatic_rings: int
    heavy_atoms: int
    mw_monoisotopic: float


@dataclass(frozen=True, slots=True)
class Standardised:
    """A structure after ChEMBL's structure pipeline.

    ``standard_inchi_key`` is the standard InChIKey of the standardised molecule (salts kept, as ChEMBL's
    ``compound_structures.standard_inchi_key``); ``parent_inchi_key`` that of its parent (salts and solvents
    stripped, neutralised, isotopes removed). Either is ``None`` when InChI cannot describe the structure
    (dummy/query atoms). ``issues`` are the pipeline checker's messages for the input, most severe first
    (e.g. ``"InChI: Proton(s) added/removed"``); ``excluded`` is ChEMBL's exclusion flag (structures the
    pipeline leaves as they are, e.g. containing elements it does not standardise).
    """

    input_smiles: str
    parent_smiles: str
    standard_inchi_key: str | None
    parent_inchi_key: str | None
    issues: tuple[str, ...]
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class ReagentMatch:
    """How one reagent was matched to the ChEMBL reference, and the properties it gets.

    ``match_method`` is ``chembl_id`` or ``inchikey`` (then ``compound`` is the ChEMBL record and
    ``property_source`` its source), ``computed`` (no ChEMBL record: ``descriptors`` computed with RDKit,
    ``property_source = computed``) or ``unmatched`` (nothing to match or compute on; ``reason`` says why).
    """

    match_method: MatchMethod
    compound: CompoundRecord | None = None
    descriptors: Descriptors | None = None
    property_source: PropertySource | None = None
    parent_inchi_key: str | None = None
    reason: str | None = None

    @property
    def properties(self) -> dict[str, float | int | None]:
        """The chembl_compounds property columns (``mw_freebase`` ... ``aromatic_rings``) for this reagent."""
        if self.compound is not None:
            return {column: getattr(self.compound, column) for column in _PROPERTY_COLUMNS}
        if self.descriptors is not None:
            return _descriptor_columns(self.descriptors)
        return dict.fromkeys(_PROPERTY_COLUMNS)


# --------------------------------------------------------------------------------------------------------------
# Structures


def _parse_smiles(smiles: str) -> Chem.Mol:
    """An RDKit molecule from SMILES, or :class:`ParseError` that says what RDKit objected to."""
    text = smiles.strip()
    if not text:
        raise ParseError(f"not a valid SMILES: {smiles!r} is empty; give the reagent's structure or its ChEMBL id")
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            raise ParseError(f"not a valid SMILES: {text!r} (syntax error); check brackets, ring closures and atoms")
        try:
            Chem.SanitizeMol(mol)
        except Chem.rdchem.MolSanitizeException as exc:
            raise ParseError(f"not a valid SMILES: {text!r} ({exc}); correct the structure") from None
    if mol.GetNumAtoms() == 0:
        raise ParseError(f"not a valid SMILES: {text!r} has no atoms")
    return mol


def _inchi_key(mol: Chem.Mol) -> str | None:
    with rdBase.BlockLogs():
        key = Chem.MolToInchiKey(mol)
    return key or None


@lru_cache(maxsize=CACHE_SIZE)
def _pipeline(smiles: str) -> tuple[Standardised, Chem.Mol]:
    """ChEMBL's standardize_mol + get_parent_mol, without the checker (``issues`` empty); cached by SMILES."""
    mol = _parse_smiles(smiles)
    try:
        with rdBase.BlockLogs():
            standard = chembl_standardizer.standardize_mol(Chem.Mol(mol))
            parent, excluded = chembl_standardizer.get_parent_mol(standard)
            # get_parent_mol only partly sanitises (no ring info): descriptors and InChI need the full model
            parent = Chem.Mol(parent)
            Chem.SanitizeMol(parent)
            parent_smiles = Chem.MolToSmiles(parent)
    except (RuntimeError, ValueError, Chem.rdchem.MolSanitizeException) as exc:
        raise ParseError(f"ChEMBL structure pipeline cannot standardise {smiles!r}: {exc}") from None
    record = Standardised(
        input_smiles=smiles,
        parent_smiles=parent_smiles,
        standard_inchi_key=_inchi_key(standard),
        parent_inchi_key=_inchi_key(parent),
        issues=(),
        excluded=bool(excluded),
    )
    return record, parent


def _checker_issues(smiles: str) -> tuple[str, ...]:
    """The pipeline checker's messages for the input structure (2D coordinates laid out by RDKit)."""
    with rdBase.BlockLogs():
        molblock = Chem.MolToMolBlock(_parse_smiles(smiles))
        return tuple(message for _penalty, message in chembl_checker.check_molblock(molblock))


@lru_cache(maxsize=CACHE_SIZE)
def standardise(smiles: str) -> Standardised:
    """Standardise a structure with ChEMBL's structure pipeline and give the InChIKeys to match on.

    Parses with RDKit, runs ``chembl_structure_pipeline``'s checker (its messages become ``issues``),
    ``standardize_mol`` and ``get_parent_mol``, and computes the standard InChIKey of the standardised molecule
    and of its parent. Results are cached by SMILES (:data:`CACHE_SIZE` entries): a reagent sits in many wells.

    Parameters
    ----------
    smiles:
        The structure; surrounding whitespace is ignored.

    Returns
    -------
    Standardised
        Parent SMILES, both InChIKeys, checker messages and ChEMBL's exclusion flag.

    Raises
    ------
    ParseError
        ``not a valid SMILES: ...`` when RDKit cannot read the input, or when the pipeline fails on it.

    Examples
    --------
    >>> result = standardise("CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC.Cl")   # CHEMBL1204199, a hydrochloride
    >>> result.parent_smiles
    'CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC'
    >>> result.standard_inchi_key == result.parent_inchi_key
    False
    """
    record, _parent = _pipeline(smiles)
    return dataclasses.replace(record, issues=_checker_issues(smiles))


def _descriptors_of(mol: Chem.Mol) -> Descriptors:
    return Descriptors(
        # RDKit defines these three at import time, so its type stubs do not know them
        mw=RDKitDescriptors.MolWt(mol),  # type: ignore[attr-defined]
        alogp=Crippen.MolLogP(mol),  # type: ignore[attr-defined]
        rtb=rdMolDescriptors.CalcNumRotatableBonds(mol, _ROTATABLE_STRICT),
        hba=rdMolDescriptors.CalcNumHBA(mol),
        hbd=rdMolDescriptors.CalcNumHBD(mol),
        tpsa=rdMolDescriptors.CalcTPSA(mol),
        aromatic_rings=rdMolDescriptors.CalcNumAromaticRings(mol),
        heavy_atoms=mol.GetNumHeavyAtoms(),
        mw_monoisotopic=RDKitDescriptors.ExactMolWt(mol),  # type: ignore[attr-defined]
    )


@lru_cache(maxsize=CACHE_SIZE)
def descriptors(smiles: str) -> Descriptors:
    """RDKit descriptors of the *parent* of a structure (after :func:`standardise`), as ChEMBL computes them.

    Definitions (all on the parent, implicit hydrogens included):

    - ``mw``: average molecular weight, g/mol (``Descriptors.MolWt``) — compare with ChEMBL ``mw_freebase``;
    - ``mw_monoisotopic``: monoisotopic mass, Da (``Descriptors.ExactMolWt``);
    - ``alogp``: Wildman–Crippen logP (``Crippen.MolLogP``);
    - ``rtb``: rotatable bonds, strict definition (``CalcNumRotatableBonds(..., Strict)``: no amide C–N, no
      bonds to triple bonds or terminal groups such as CH3/CF3);
    - ``hba`` / ``hbd``: RDKit's Lipinski-module acceptors/donors (``CalcNumHBA``/``CalcNumHBD``, the same
      functions as ``Lipinski.NumHAcceptors``/``NumHDonors``), *not* the original N+O / NH+OH counts that ChEMBL
      reports as ``hba_lipinski``/``hbd_lipinski``;
    - ``tpsa``: topological polar surface area, Å², N and O only (``CalcTPSA``, as ChEMBL ``psa``);
    - ``aromatic_rings``, ``heavy_atoms``: counts.

    Parameters
    ----------
    smiles:
        The structure.

    Raises
    ------
    ParseError
        For a SMILES RDKit cannot read (see :func:`standardise`).

    Examples
    --------
    >>> aspirin = descriptors("CC(=O)Oc1ccccc1C(=O)O")
    >>> round(aspirin.mw, 2), round(aspirin.alogp, 2), aspirin.rtb, aspirin.hba, aspirin.hbd, round(aspirin.tpsa, 1)
    (180.16, 1.31, 2, 3, 1, 63.6)
    """
    _, parent = _pipeline(smiles)
    return _descriptors_of(parent)


def _descriptor_columns(values: Descriptors) -> dict[str, float | int | None]:
    return {
        "mw_freebase": values.mw,
        "alogp": values.alogp,
        "rtb": values.rtb,
        "hba": values.hba,
        "hbd": values.hbd,
        "psa": values.tpsa,
        "aromatic_rings": values.aromatic_rings,
    }


# --------------------------------------------------------------------------------------------------------------
# Loaders


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
    if not _CHEMBL_ID_RE.match(text):
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
            # only the keys are needed: skipping the checker saves about a quarter of the time per structure
            result = _pipeline(smiles)[0]
            changes["parent_inchi_key"] = result.parent_inchi_key
            if record.standard_inchi_key is None:
                changes["standard_inchi_key"] = result.standard_inchi_key
        if compute:
            missing = {k: v for k, v in _descriptor_columns(descriptors(smiles)).items() if getattr(record, k) is None}
            if missing:
                changes.update(missing)
                changes["property_source"] = "computed"
    except ParseError as exc:
        log.warning("%s: %s left without parent InChIKey/descriptors: %s", where, record.chembl_id, exc)
        return dataclasses.replace(record, **changes) if changes else record
    return dataclasses.replace(record, **changes)


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
    release = _check_release(release)
    name = _source_name(source, name)
    with _open_text(source) as text:
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
            yield _enrich(record, compute=compute, standardise=standardise, name=name, line=line_number)


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
    release = _check_release(release)
    name = _source_name(source, name)
    with _open_text(source) as text:
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
            yield _enrich(record, compute=compute, standardise=standardise, name=name, line=line_number)


# --------------------------------------------------------------------------------------------------------------
# Matching


def _chembl_number(chembl_id: str) -> int:
    return int(chembl_id[len("CHEMBL") :]) if _CHEMBL_ID_RE.match(chembl_id) else 0


def reference_rank(chembl_id: str, standard_inchi_key: str | None, match_key: str | None) -> tuple[bool, int]:
    """Which of several records sharing ``match_key`` a reagent matches: the lowest rank (the one rule, also run
    by the Spark path in :mod:`lab_etl.transforms.chembl`). The record that *is* the parent comes first, then the
    lowest ChEMBL number (``CHEMBL25`` before ``CHEMBL100``: numbers, not strings)."""
    return (standard_inchi_key != match_key, _chembl_number(chembl_id))


def build_indexes(
    records: Iterable[CompoundRecord],
) -> tuple[dict[str, CompoundRecord], dict[str, CompoundRecord]]:
    """The two look-ups :func:`match_reagent` takes: by ChEMBL id and by parent InChIKey.

    Several ChEMBL records share a parent (the free base and its salts); the parent key then points to the
    record that *is* the parent (its ``standard_inchi_key`` equals its ``parent_inchi_key``), else to the one
    with the lowest ChEMBL number, so the choice does not depend on file order. Records without
    ``parent_inchi_key`` (loaded without ``standardise=True``) are only in the id index; a warning says how many.

    Examples
    --------
    >>> by_id, by_parent_key = build_indexes(read_chembl_csv(  # doctest: +SKIP
    ...     "tests/data/chembl/EGFR_compounds.csv", "chembl_27", standardise=True))
    """
    by_id: dict[str, CompoundRecord] = {}
    by_parent_key: dict[str, CompoundRecord] = {}
    without_key = 0

    def rank(record: CompoundRecord) -> tuple[bool, int]:
        return reference_rank(record.chembl_id, record.standard_inchi_key, record.parent_inchi_key)

    for record in records:
        by_id.setdefault(record.chembl_id, record)
        key = record.parent_inchi_key
        if key is None:
            without_key += 1
            continue
        current = by_parent_key.get(key)
        if current is None or rank(record) < rank(current):
            by_parent_key[key] = record
    if without_key:
        log.warning(
            "%d ChEMBL records have no parent_inchi_key and cannot be matched by structure; load with standardise=True",
            without_key,
        )
    return by_id, by_parent_key


def match_reagent(
    smiles: str | None,
    chembl_id: str | None,
    by_id: Mapping[str, CompoundRecord],
    by_parent_key: Mapping[str, CompoundRecord],
) -> ReagentMatch:
    """Match one reagent to the ChEMBL reference: by ChEMBL id, else parent InChIKey, else compute with RDKit.

    1. ``chembl_id`` (trimmed, upper-cased) found in ``by_id`` -> ``chembl_id``;
    2. the parent InChIKey of ``smiles`` after :func:`standardise` found in ``by_parent_key`` -> ``inchikey``
       (a salt or a differently drawn SMILES finds its parent compound);
    3. otherwise the reagent's own :func:`descriptors` -> ``computed``, ``property_source = computed``;
    4. neither a known id nor a usable SMILES -> ``unmatched``, with ``reason`` (an invalid SMILES is reported
       there rather than raised, so one bad well does not stop a plate).

    Pure: no I/O; the standardisation is cached by SMILES.

    Parameters
    ----------
    smiles:
        The reagent's structure, or None.
    chembl_id:
        The reagent's ChEMBL id (``CHEMBL25``), or None.
    by_id, by_parent_key:
        The reference, from :func:`build_indexes`.

    Examples
    --------
    >>> match = match_reagent("COC(CCS)=O", None, {}, {})
    >>> match.match_method, round(match.descriptors.mw, 2), match.property_source
    ('computed', 120.17, 'computed')
    """
    wanted_id = chembl_id.strip().upper() if chembl_id else None
    if wanted_id and wanted_id in by_id:
        compound = by_id[wanted_id]
        return ReagentMatch(
            "chembl_id",
            compound=compound,
            property_source=compound.property_source,
            parent_inchi_key=compound.parent_inchi_key,
        )
    not_found = f"ChEMBL id {wanted_id} is not in the reference" if wanted_id else "no ChEMBL id"
    if smiles is None or not smiles.strip():
        return ReagentMatch("unmatched", reason=f"{not_found} and no SMILES")
    try:
        standard = standardise(smiles)
    except ParseError as exc:
        return ReagentMatch("unmatched", reason=f"{not_found}; {exc}")
    key = standard.parent_inchi_key
    if key is not None and key in by_parent_key:
        compound = by_parent_key[key]
        return ReagentMatch(
            "inchikey", compound=compound, property_source=compound.property_source, parent_inchi_key=key
        )
    return ReagentMatch(
        "computed",
        descriptors=descriptors(smiles),
        property_source="computed",
        parent_inchi_key=key,
        reason=f"{not_found} and parent InChIKey {key} is not in the reference",
    )
