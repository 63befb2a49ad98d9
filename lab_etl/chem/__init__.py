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

====================  =========================================================================================
module                holds
====================  =========================================================================================
``records``           :class:`CompoundRecord`, :class:`Descriptors`, :class:`Standardised`, :class:`ReagentMatch`
``structures``        RDKit and the ChEMBL structure pipeline: :func:`standardise`, :func:`descriptors`
``chembl_downloads``  the three ChEMBL loaders above
``matching``          :func:`build_indexes`, :func:`match_reagent`
====================  =========================================================================================

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

from lab_etl.chem.chembl_downloads import (
    CHEMREPS_COLUMNS,
    CSV_PROPERTY_COLUMNS,
    CSV_REQUIRED_COLUMNS,
    Source,
    read_chembl_csv,
    read_chembl_sqlite,
    read_chemreps,
)
from lab_etl.chem.matching import build_indexes, match_reagent, reference_rank
from lab_etl.chem.records import (
    PROPERTY_COLUMNS,
    CompoundRecord,
    Descriptors,
    MatchMethod,
    PropertySource,
    ReagentMatch,
    Standardised,
)
from lab_etl.chem.structures import CACHE_SIZE, descriptors, standardise, standardise_unchecked

__all__ = [
    "CACHE_SIZE",
    "CHEMREPS_COLUMNS",
    "CSV_PROPERTY_COLUMNS",
    "CSV_REQUIRED_COLUMNS",
    "PROPERTY_COLUMNS",
    "CompoundRecord",
    "Descriptors",
    "MatchMethod",
    "PropertySource",
    "ReagentMatch",
    "Source",
    "Standardised",
    "build_indexes",
    "descriptors",
    "match_reagent",
    "read_chembl_csv",
    "read_chembl_sqlite",
    "read_chemreps",
    "reference_rank",
    "standardise",
    "standardise_unchecked",
]
