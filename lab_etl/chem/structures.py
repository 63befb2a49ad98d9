"""RDKit structures: ChEMBL's structure pipeline (:func:`standardise`) and RDKit descriptors (:func:`descriptors`).

The only module of :mod:`lab_etl.chem` that talks to RDKit and ``chembl_structure_pipeline`` (the ``chem``
extra); a missing install is a :class:`~lab_etl.errors.ConfigError` saying what to install. Both functions are
cached by SMILES: one reagent sits in many wells.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from lab_etl.chem.records import Descriptors, Standardised
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

#: How many structures :func:`standardise` and :func:`descriptors` remember (one reagent sits in many wells).
CACHE_SIZE = 65536

_ROTATABLE_STRICT = rdMolDescriptors.NumRotatableBondsOptions.Strict


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


def standardise_unchecked(smiles: str) -> Standardised:
    """:func:`standardise` without the checker (``issues`` empty): for bulk loads that need only the InChIKeys.

    Skipping the checker saves about a quarter of the time per structure; cached like :func:`standardise`.
    """
    return _pipeline(smiles)[0]


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
