"""Reagent matching: which ChEMBL record a well's reagent is, by ChEMBL id, else parent InChIKey, else none.

:func:`build_indexes` turns the reference into two look-ups; :func:`match_reagent` is the rule, pure and
cached through :func:`~lab_etl.chem.structures.standardise_unchecked`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from lab_etl.chem.records import CHEMBL_ID_RE, CompoundRecord, ReagentMatch
from lab_etl.chem.structures import descriptors, standardise_unchecked
from lab_etl.errors import ParseError

log = logging.getLogger(__name__)


def _chembl_number(chembl_id: str) -> int:
    return int(chembl_id[len("CHEMBL") :]) if CHEMBL_ID_RE.match(chembl_id) else 0


def reference_rank(chembl_id: str, standard_inchi_key: str | None, match_key: str | None) -> tuple[bool, int]:
    """Which of several records sharing ``match_key`` a reagent matches: the lowest rank (the one rule, also run
    by the Spark path in :mod:`lab_etl.transforms.chembl`). The record that *is* the parent comes first, then the
    lowest ChEMBL number (``CHEMBL25`` before ``CHEMBL100``: numbers, not strings).

    Examples
    --------
    >>> sorted(["CHEMBL100", "CHEMBL25"], key=lambda i: reference_rank(i, "K", "K"))
    ['CHEMBL25', 'CHEMBL100']
    """
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
        standard = standardise_unchecked(smiles)  # the parent key alone: no checker messages needed
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
