"""The chemistry records: ChEMBL reference rows, RDKit descriptors, standardised structures, reagent matches.

Plain frozen dataclasses with no RDKit in them, so anything may hold or pass them around.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

PropertySource = Literal["chembl", "computed"]
MatchMethod = Literal["chembl_id", "inchikey", "computed", "unmatched"]

#: A ChEMBL compound id: ``CHEMBL`` and digits (``CHEMBL25``).
CHEMBL_ID_RE = re.compile(r"^CHEMBL[0-9]+$")

#: The property columns of chembl_compounds, in contract order.
PROPERTY_COLUMNS = ("mw_freebase", "alogp", "rtb", "hba", "hbd", "psa", "aromatic_rings")


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
        return any(getattr(self, column) is not None for column in PROPERTY_COLUMNS)


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
            return {column: getattr(self.compound, column) for column in PROPERTY_COLUMNS}
        if self.descriptors is not None:
            return descriptor_columns(self.descriptors)
        return dict.fromkeys(PROPERTY_COLUMNS)


def descriptor_columns(values: Descriptors) -> dict[str, float | int | None]:
    """RDKit descriptors under the ``chembl_compounds`` property column names (``tpsa`` -> ``psa`` ...)."""
    return {
        "mw_freebase": values.mw,
        "alogp": values.alogp,
        "rtb": values.rtb,
        "hba": values.hba,
        "hbd": values.hbd,
        "psa": values.tpsa,
        "aromatic_rings": values.aromatic_rings,
    }
