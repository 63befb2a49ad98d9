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
