"""Reagent enrichment: by ChEMBL id, by parent InChIKey (salt forms), by RDKit, or unmatched with a reason."""

from __future__ import annotations

import itertools

import pytest

from lab_etl import chem
from lab_etl.contracts import contract
from lab_etl.lakehouse.frames import records_frame
from lab_etl.transforms.chembl import enrich_reagents, match_rates

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def compounds(spark, data_dir):  # type: ignore[no-untyped-def]
    path = data_dir / "chembl" / "EGFR_compounds.csv"
    records = list(itertools.islice(chem.read_chembl_csv(path, "chembl_27", standardise=True), 40))
    assert any(r.chembl_id == "CHEMBL35820" for r in records)
    return records_frame(spark, records, contract("chembl_compounds"))


def test_every_match_route(spark, compounds) -> None:  # type: ignore[no-untyped-def]
    wr = contract("well_reagents")
    rows = [
        ("P", "A01", "scaffold", None, None, "CHEMBL35820", None, None, None, "l"),  # by id
        ("P", "A02", "scaffold", None, "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC.Cl", None, None, None, None, "l"),  # salt
        ("P", "A03", "reactant", "methyl 3-mercaptopropionate", "COC(CCS)=O", None, None, None, None, "l"),
        ("P", "A04", "reactant", None, "C1CC(", None, None, None, None, "l"),  # not a molecule
        ("P", "A05", "reactant", None, None, "CHEMBL999999999", None, None, None, "l"),  # not in the reference
        ("P", "B03", "reactant", "same thiol again", "COC(CCS)=O", None, None, None, None, "l"),
    ]
    reagents = enrich_reagents(spark.createDataFrame(rows, wr.spark_schema()), compounds)
    got = {r.reagent_key: r for r in reagents.collect()}
    assert len(got) == 5  # the thiol is enriched once

    by_id = got["CHEMBL35820"]
    assert (by_id.match_method, by_id.property_source) == ("chembl_id", "chembl")
    salt = got["CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC.Cl"]
    assert (salt.match_method, salt.chembl_id) == ("inchikey", "CHEMBL35820")
    thiol = got["COC(CCS)=O"]
    assert (thiol.match_method, thiol.property_source) == ("computed", "computed")
    assert thiol.mw == pytest.approx(120.17, abs=0.01) and thiol.rtb == 2 and thiol.error is None
    bad = got["C1CC("]
    assert bad.match_method == "unmatched" and "not a valid SMILES" in bad.error and bad.mw is None
    missing = got["CHEMBL999999999"]
    assert missing.match_method == "unmatched" and "not in the reference" in missing.error
    assert match_rates(reagents) == {"chembl_id": 1, "inchikey": 1, "computed": 1, "unmatched": 2}
    assert set(reagents.columns) == set(contract("reagents").column_names)


# A parent and its salt share a standardised parent key; so do two salts whose parent is not in the reference.
# CHEMBL35820 / CHEMBL1204199 are the real free base and hydrochloride; the other ids are made up to set up ties
# a string sort or a first-row pick would get wrong.
_TIES = {
    "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC": (  # real ids: a string sort would pick the salt CHEMBL1204199
        [
            ("CHEMBL35820", "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC"),
            ("CHEMBL1204199", "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC.Cl"),
        ],
        "CHEMBL35820",
    ),
    "CC(=O)Oc1ccccc1C(=O)O": (  # the parent wins over a salt with a lower number
        [("CHEMBL900", "CC(=O)Oc1ccccc1C(=O)O"), ("CHEMBL80", "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")],
        "CHEMBL900",
    ),
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O": (  # no parent in the reference: the lowest number, CHEMBL99 < CHEMBL100
        [
            ("CHEMBL100", "CC(C)Cc1ccc(cc1)C(C)C(=O)[O-].[Na+]"),
            ("CHEMBL99", "CC(C)Cc1ccc(cc1)C(C)C(=O)[O-].[K+]"),
        ],
        "CHEMBL99",
    ),
}


_IBU_K = ("CC(C)Cc1ccc(cc1)C(C)C(=O)[O-].[K+]", "CC(C)Cc1ccc(C(C)C([O-])=O)cc1.[K+]")


def _tie_records() -> list[chem.CompoundRecord]:
    records = []
    for candidates, _ in _TIES.values():
        for chembl_id, smiles in candidates:
            standard = chem.standardise(smiles)
            records.append(
                chem.CompoundRecord(
                    chembl_id,
                    canonical_smiles=smiles,
                    standard_inchi_key=standard.standard_inchi_key,
                    parent_inchi_key=standard.parent_inchi_key,
                    mw_freebase=float(chembl_id.removeprefix("CHEMBL")),  # tells which row gave the properties
                    chembl_release="chembl_27",
                )
            )
    return records


def test_the_python_rule_picks_the_parent_else_the_lowest_number() -> None:
    """The same table as the Spark test below: one rule, two callers."""
    records = _tie_records()
    for order in (records, records[::-1]):
        _, by_parent_key = chem.build_indexes(order)
        chosen = {smiles: by_parent_key[chem.standardise(smiles).parent_inchi_key].chembl_id for smiles in _TIES}
        assert chosen == {smiles: expected for smiles, (_, expected) in _TIES.items()}


@pytest.mark.parametrize("partitions", [1, 3])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
def test_the_spark_path_picks_the_same_record_whatever_the_order(spark, reverse: bool, partitions: int) -> None:  # type: ignore[no-untyped-def]
    records = _tie_records()[::-1] if reverse else _tie_records()
    reference = records_frame(spark, records, contract("chembl_compounds")).repartition(partitions)
    wells = [("P", f"A0{i + 1}", "reactant", None, s, None, None, None, None, "l") for i, s in enumerate(_TIES)]
    # one ChEMBL id drawn two ways in two wells: the reagent keeps one SMILES, the same in every order
    wells += [("P", f"B0{i + 1}", "reactant", None, s, "CHEMBL99", None, None, None, "l") for i, s in enumerate(_IBU_K)]
    layouts = spark.createDataFrame(wells[::-1] if reverse else wells, contract("well_reagents").spark_schema())
    got = {r.reagent_key: r for r in enrich_reagents(layouts.repartition(partitions), reference).collect()}
    by_id = got.pop("CHEMBL99")
    assert (by_id.match_method, by_id.smiles) == ("chembl_id", min(_IBU_K))
    assert {s: (r.match_method, r.chembl_id) for s, r in got.items()} == {
        s: ("inchikey", expected) for s, (_, expected) in _TIES.items()
    }
    assert all(r.mw == float(r.chembl_id.removeprefix("CHEMBL")) for r in got.values())  # properties of that row
