"""lab_etl.chem: ChEMBL loaders, ChEMBL structure-pipeline standardisation, RDKit descriptors, reagent matching.

Real data: TeachOpenCADD's EGFR extracts of ChEMBL 27 (tests/data/chembl) and the pyGecko thiolation plate
(tests/data/hte). Standardisation costs ~8 ms a structure, so the tests standardise at most a few hundred.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import sqlite3
from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import Lipinski

from lab_etl.chem import (
    CompoundRecord,
    ReagentMatch,
    build_indexes,
    descriptors,
    match_reagent,
    read_chembl_csv,
    read_chembl_sqlite,
    read_chemreps,
    standardise,
)
from lab_etl.contracts import contract
from lab_etl.errors import ConfigError, ParseError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
ASPIRIN_KEY = "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
ASPIRIN_INCHI = "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)"
# EGFR set, ChEMBL 27: CHEMBL35820 (line 3 of EGFR_compounds.csv) and its hydrochloride CHEMBL1204199 (line 80).
FREE_BASE = "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC"
HYDROCHLORIDE = "CCOc1cc2ncnc(Nc3cccc(Br)c3)c2cc1OCC.Cl"
FREE_BASE_KEY = "YXOXHAUUTIOBDA-UHFFFAOYSA-N"
HYDROCHLORIDE_KEY = "ORUPOBWCXJTTRX-UHFFFAOYSA-N"


@pytest.fixture(scope="module")
def chembl_dir(data_dir: Path) -> Path:
    return data_dir / "chembl"


@pytest.fixture(scope="module")
def egfr_head(chembl_dir: Path) -> bytes:
    """The header and first 120 compounds of EGFR_compounds.csv (holds CHEMBL35820 and its salt CHEMBL1204199)."""
    lines = (chembl_dir / "EGFR_compounds.csv").read_bytes().splitlines(keepends=True)
    return b"".join(lines[:121])


@pytest.fixture(scope="module")
def egfr_index(egfr_head: bytes) -> tuple[dict[str, CompoundRecord], dict[str, CompoundRecord]]:
    records = read_chembl_csv(egfr_head, "chembl_27", "EGFR_compounds.csv", standardise=True)
    return build_indexes(records)


# ------------------------------------------------------------------------------------------------ records


def test_compound_record_fields_are_the_contract_columns_in_order() -> None:
    fields = [f.name for f in dataclasses.fields(CompoundRecord)]
    assert fields == contract("chembl_compounds").column_names


def test_as_row_keeps_contract_order_and_values() -> None:
    record = CompoundRecord("CHEMBL25", mw_freebase=180.16, chembl_release="chembl_27", source_file="x.db")
    row = record.as_row()
    assert list(row) == contract("chembl_compounds").column_names
    assert row["chembl_id"] == "CHEMBL25" and row["mw_freebase"] == 180.16 and row["property_source"] == "chembl"
    assert record.has_properties and not CompoundRecord("CHEMBL1").has_properties


# ------------------------------------------------------------------------------------------------ standardise


def test_standardise_strips_the_sodium_salt_to_aspirin() -> None:
    result = standardise("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")
    assert result.parent_smiles == ASPIRIN
    assert result.parent_inchi_key == ASPIRIN_KEY
    # the standardised molecule keeps the salt: its key is sodium aspirinate's, not aspirin's
    assert result.standard_inchi_key == "JZLOKWGVGHYBKD-UHFFFAOYSA-M"
    assert result.issues == ("InChI: Proton(s) added/removed",)
    assert result.excluded is False


def test_standardise_hydrochloride_of_a_real_egfr_compound() -> None:
    salt, base = standardise(HYDROCHLORIDE), standardise(FREE_BASE)
    assert (salt.standard_inchi_key, salt.parent_inchi_key) == (HYDROCHLORIDE_KEY, FREE_BASE_KEY)
    assert (base.standard_inchi_key, base.parent_inchi_key) == (FREE_BASE_KEY, FREE_BASE_KEY)
    assert salt.parent_smiles == base.parent_smiles == FREE_BASE
    assert salt.issues == ()


def test_standardise_neutralises_a_zwitterion_drawn_charged() -> None:
    # glycine drawn as its zwitterion has the same parent as neutral glycine
    assert standardise("[NH3+]CC(=O)[O-]").parent_inchi_key == standardise("NCC(=O)O").parent_inchi_key


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("C1CC", "syntax error"),
        ("CC(C)(C)(C)(C)C", "Explicit valence"),
        ("c1cccc1", "kekulize"),
        ("c1ccccc1c", "non-ring atom 6 marked aromatic"),
        ("", "is empty"),
        ("   ", "is empty"),
    ],
)
def test_standardise_rejects_invalid_smiles(smiles: str, reason: str) -> None:
    with pytest.raises(ParseError, match="not a valid SMILES") as info:
        standardise(smiles)
    assert reason.lower() in str(info.value).lower()


def test_standardise_is_cached_by_smiles() -> None:
    smiles = "OC(=O)c1ccccc1O"  # salicylic acid, used nowhere else in the tests
    before = standardise.cache_info()
    first, second = standardise(smiles), standardise(smiles)
    after = standardise.cache_info()
    assert first is second
    assert after.misses == before.misses + 1 and after.hits == before.hits + 1


def test_standardise_without_inchi_gives_no_key() -> None:
    # a dummy atom (R group) has no standard InChI: the key is None rather than an empty string
    result = standardise("*c1ccccc1")
    assert result.parent_inchi_key is None and result.standard_inchi_key is None


# ------------------------------------------------------------------------------------------------ descriptors


def test_descriptors_of_aspirin_match_chembl_25() -> None:
    # CHEMBL25 (aspirin) in ChEMBL: mw_freebase 180.16, alogp 1.31, rtb 2, hba 3, hbd 1, psa 63.60,
    # aromatic_rings 1, heavy_atoms 13, mw_monoisotopic 180.0423
    d = descriptors(ASPIRIN)
    assert d.mw == pytest.approx(180.159, abs=1e-3)
    assert d.mw_monoisotopic == pytest.approx(180.042259, abs=1e-6)
    assert d.alogp == pytest.approx(1.3101, abs=1e-4)
    assert (d.rtb, d.hba, d.hbd, d.aromatic_rings, d.heavy_atoms) == (2, 3, 1, 1, 13)
    assert d.tpsa == pytest.approx(63.60, abs=0.01)


def test_descriptors_are_of_the_parent() -> None:
    # sodium aspirinate: mw is aspirin's (ChEMBL's mw_freebase), not the salt's 202.14
    assert descriptors("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]") == descriptors(ASPIRIN)
    assert descriptors(HYDROCHLORIDE).mw == pytest.approx(388.265, abs=1e-3)


def test_descriptors_rejects_invalid_smiles() -> None:
    with pytest.raises(ParseError, match="not a valid SMILES: 'C1CC'"):
        descriptors("C1CC")


def test_descriptors_match_the_lipinski_extract(chembl_dir: Path) -> None:
    """Like with like: the extract's molecular_weight is ExactMolWt, logp Crippen, n_hbd RDKit's donors."""
    with (chembl_dir / "EGFR_compounds_lipinski.csv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if "." not in row["smiles"]][:100]
    assert len(rows) == 100
    for row in rows:
        d = descriptors(row["smiles"])
        where = row["molecule_chembl_id"]
        assert d.mw_monoisotopic == pytest.approx(float(row["molecular_weight"]), abs=1e-6), where
        assert d.alogp == pytest.approx(float(row["logp"]), abs=1e-6), where
        assert d.hbd == int(row["n_hbd"]), where
        # the extract's n_hba is RDKit's older Lipinski.NumHAcceptors, the HAcceptorSmarts count (it counts
        # pyrrole-type aromatic n and nitro O); chem uses today's CalcNumHBA, so compare like with like
        extract_mol = Chem.MolFromSmiles(row["smiles"])
        assert len(extract_mol.GetSubstructMatches(Lipinski.HAcceptorSmarts)) == int(row["n_hba"]), where


def test_hba_definition_differs_from_the_extract_for_pyrrole_type_nitrogen() -> None:
    # CHEMBL176582 (lipinski extract line 7: n_hba 5): the N-methyl imidazole n is no acceptor for CalcNumHBA
    assert descriptors("Cn1cnc2cc3ncnc(Nc4cccc(Br)c4)c3cc21").hba == 4


# ------------------------------------------------------------------------------------------------ CSV extracts


def test_read_chembl_csv_full_egfr_extract(chembl_dir: Path) -> None:
    records = list(read_chembl_csv(chembl_dir / "EGFR_compounds.csv", "chembl_27"))
    assert len(records) == 5568
    assert len({r.chembl_id for r in records}) == 5568
    first = records[0]
    assert first == CompoundRecord(
        chembl_id="CHEMBL63786",
        canonical_smiles="Brc1cccc(Nc2ncnc3cc4ccccc4cc23)c1",
        property_source="chembl",
        chembl_release="chembl_27",
        source_file="EGFR_compounds.csv",
    )
    assert all(not r.has_properties and r.property_source == "chembl" for r in records)


def test_read_chembl_csv_lipinski_extract_carries_rdkit_values(chembl_dir: Path) -> None:
    records = list(read_chembl_csv(str(chembl_dir / "EGFR_compounds_lipinski.csv"), "chembl_27"))
    assert len(records) == 4635
    first = records[0]
    assert (first.chembl_id, first.hba, first.hbd) == ("CHEMBL63786", 3, 1)
    assert first.alogp == pytest.approx(5.2891, abs=1e-6)
    assert first.mw_freebase is None  # the extract's molecular_weight is monoisotopic, not mw_freebase
    assert {r.property_source for r in records} == {"computed"}


def test_read_chembl_csv_compute_fills_only_missing_properties(chembl_dir: Path) -> None:
    lines = (chembl_dir / "EGFR_compounds_lipinski.csv").read_bytes().splitlines(keepends=True)
    records = list(read_chembl_csv(b"".join(lines[:10]), "chembl_27", "lipinski_head.csv", compute=True))
    assert len(records) == 9
    by_id = {r.chembl_id: r for r in records}
    kept = by_id["CHEMBL176582"]  # line 7
    assert kept.hba == 5  # the extract's value kept, although CalcNumHBA gives 4
    assert kept.mw_freebase == pytest.approx(354.211, abs=1e-3)
    assert (kept.rtb, kept.aromatic_rings) == (2, 4)
    assert kept.psa == pytest.approx(55.63, abs=0.01)
    assert all(r.property_source == "computed" and r.source_file == "lipinski_head.csv" for r in records)


def test_read_chembl_csv_standardise_fills_both_keys(egfr_head: bytes) -> None:
    records = {r.chembl_id: r for r in read_chembl_csv(egfr_head, "chembl_27", "EGFR_compounds.csv", standardise=True)}
    assert len(records) == 120
    salt = records["CHEMBL1204199"]
    assert (salt.standard_inchi_key, salt.parent_inchi_key) == (HYDROCHLORIDE_KEY, FREE_BASE_KEY)
    assert records["CHEMBL35820"].parent_inchi_key == FREE_BASE_KEY
    assert all(r.parent_inchi_key and r.standard_inchi_key for r in records.values())


def test_read_chembl_csv_reads_gzip_by_content(egfr_head: bytes, tmp_path: Path) -> None:
    path = tmp_path / "EGFR_head.csv.gz"
    path.write_bytes(gzip.compress(egfr_head))
    plain = list(read_chembl_csv(egfr_head, "chembl_27", "EGFR_head.csv.gz"))
    assert list(read_chembl_csv(path, "chembl_27")) == plain
    assert len(plain) == 120 and plain[1].chembl_id == "CHEMBL35820"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"chembl,smiles\nCHEMBL25,CCO\n", r"x\.csv:1: CSV extract lacks columns \['molecule_chembl_id'\]"),
        (b"molecule_chembl_id,smiles\nCHEMBL25,CCO\nCHEBI:15365,CCO\n", r"x\.csv:3: 'CHEBI:15365' is not a ChEMBL"),
        (b"molecule_chembl_id,smiles,n_hba\nCHEMBL25,CCO,three\n", r"x\.csv:2: column n_hba: 'three' is not a number"),
        (b"molecule_chembl_id,smiles,n_hba\nCHEMBL25,CCO,2.5\n", r"x\.csv:2: column n_hba: '2.5' is not a whole"),
    ],
)
def test_read_chembl_csv_errors_name_file_and_line(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(read_chembl_csv(data, "chembl_27", "x.csv"))


def test_loaders_check_release_name_and_file() -> None:
    with pytest.raises(ConfigError, match="release '27' is not of the form 'chembl_27'"):
        list(read_chembl_csv(b"molecule_chembl_id,smiles\n", "27", "x.csv"))
    with pytest.raises(ConfigError, match="needs name="):
        list(read_chemreps(b"chembl_id\tcanonical_smiles\tstandard_inchi\tstandard_inchi_key\n", "chembl_27"))
    with pytest.raises(ParseError, match="cannot open ChEMBL file"):
        list(read_chembl_csv("/nonexistent/EGFR.csv", "chembl_27"))


def test_loader_logs_and_keeps_rows_whose_structure_cannot_be_read(caplog: pytest.LogCaptureFixture) -> None:
    data = b"molecule_chembl_id,smiles\nCHEMBL1,C1CC\nCHEMBL25,CC(=O)Oc1ccccc1C(=O)O\n"
    with caplog.at_level("WARNING", logger="lab_etl.chem"):
        records = list(read_chembl_csv(data, "chembl_27", "odd.csv", standardise=True, compute=True))
    assert [r.parent_inchi_key for r in records] == [None, ASPIRIN_KEY]
    assert records[0].mw_freebase is None and records[0].property_source == "chembl"
    assert "odd.csv:2: CHEMBL1" in caplog.text and "not a valid SMILES" in caplog.text


# ------------------------------------------------------------------------------------------------ chemreps


def _chemreps() -> bytes:
    salt_inchi = Chem.MolToInchi(Chem.MolFromSmiles(HYDROCHLORIDE))
    lines = [
        "chembl_id\tcanonical_smiles\tstandard_inchi\tstandard_inchi_key",
        f"CHEMBL25\t{ASPIRIN}\t{ASPIRIN_INCHI}\t{ASPIRIN_KEY}",
        f"CHEMBL1204199\t{HYDROCHLORIDE}\t{salt_inchi}\t{HYDROCHLORIDE_KEY}",
    ]
    return ("\n".join(lines) + "\n").encode()


def test_read_chemreps_without_properties() -> None:
    records = list(read_chemreps(_chemreps(), "chembl_27", name="chembl_27_chemreps.txt"))
    assert [r.chembl_id for r in records] == ["CHEMBL25", "CHEMBL1204199"]
    aspirin = records[0]
    assert (aspirin.canonical_smiles, aspirin.standard_inchi_key) == (ASPIRIN, ASPIRIN_KEY)
    assert aspirin.parent_inchi_key is None and not aspirin.has_properties
    assert (aspirin.property_source, aspirin.chembl_release, aspirin.source_file) == (
        "chembl",
        "chembl_27",
        "chembl_27_chemreps.txt",
    )


def test_read_chemreps_gz_path_with_compute_and_standardise(tmp_path: Path) -> None:
    path = tmp_path / "chembl_27_chemreps.txt.gz"
    path.write_bytes(gzip.compress(_chemreps()))
    aspirin, salt = read_chemreps(path, "chembl_27", compute=True, standardise=True)
    assert aspirin.source_file == "chembl_27_chemreps.txt.gz"
    assert aspirin.parent_inchi_key == ASPIRIN_KEY and aspirin.property_source == "computed"
    assert aspirin.mw_freebase == pytest.approx(180.159, abs=1e-3) and aspirin.rtb == 2
    # ChEMBL's key of the salt is that of the standardised salt: our standardise agrees with it
    assert salt.standard_inchi_key == standardise(HYDROCHLORIDE).standard_inchi_key == HYDROCHLORIDE_KEY
    assert salt.parent_inchi_key == FREE_BASE_KEY
    assert salt.mw_freebase == pytest.approx(descriptors(FREE_BASE).mw)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"chembl_id,canonical_smiles,standard_inchi,standard_inchi_key\n", r"chemreps\.txt:1: not a ChEMBL chemreps"),
        (
            b"chembl_id\tcanonical_smiles\tstandard_inchi\tstandard_inchi_key\nCHEMBL25\tCCO\tInChI=1S\n",
            r":2: expected 4",
        ),
        (
            b"chembl_id\tcanonical_smiles\tstandard_inchi\tstandard_inchi_key\nCHEMBL25\tCCO\tInChI=1S/x\tLSDPWZHWYPCBBB\n",
            r":2: 'LSDPWZHWYPCBBB' is not a standard InChIKey",
        ),
    ],
)
def test_read_chemreps_errors(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(read_chemreps(data, "chembl_27", name="chemreps.txt"))


# ------------------------------------------------------------------------------------------------ SQLite


def _build_chembl_sqlite(path: Path, version: str = "ChEMBL_27") -> Path:
    """A three-molecule ChEMBL SQLite with ChEMBL's real table and column names (a subset of the columns)."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE version (name VARCHAR(50) PRIMARY KEY, creation_date DATE, comments VARCHAR(2000));
        CREATE TABLE molecule_dictionary (
            molregno BIGINT PRIMARY KEY, pref_name VARCHAR(255), chembl_id VARCHAR(20) NOT NULL,
            max_phase SMALLINT, molecule_type VARCHAR(30), structure_type VARCHAR(10));
        CREATE TABLE compound_structures (
            molregno BIGINT PRIMARY KEY, molfile TEXT, standard_inchi VARCHAR(4000),
            standard_inchi_key VARCHAR(27) NOT NULL, canonical_smiles VARCHAR(4000));
        CREATE TABLE compound_properties (
            molregno BIGINT PRIMARY KEY, mw_freebase NUMERIC(9, 2), alogp NUMERIC(9, 2), hba INTEGER,
            hbd INTEGER, psa NUMERIC(9, 2), rtb INTEGER, ro3_pass VARCHAR(3), num_ro5_violations SMALLINT,
            full_mwt NUMERIC(9, 2), aromatic_rings INTEGER, heavy_atoms INTEGER, mw_monoisotopic NUMERIC(11, 4),
            hba_lipinski INTEGER, hbd_lipinski INTEGER);
        """
    )
    db.execute("INSERT INTO version VALUES (?, '2020-05-18', 'ChEMBL Release 27')", (version,))
    db.executemany(
        "INSERT INTO molecule_dictionary VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1280, "ASPIRIN", "CHEMBL25", 4, "Small molecule", "MOL"),
            (2, None, "CHEMBL1204199", None, "Small molecule", "MOL"),
            (3, "TRASTUZUMAB", "CHEMBL1201585", 4, "Antibody", "SEQ"),
        ],
    )
    db.executemany(
        "INSERT INTO compound_structures VALUES (?, NULL, ?, ?, ?)",
        [(1280, ASPIRIN_INCHI, ASPIRIN_KEY, ASPIRIN), (2, None, HYDROCHLORIDE_KEY, HYDROCHLORIDE)],
    )
    db.execute(
        "INSERT INTO compound_properties (molregno, mw_freebase, alogp, hba, hbd, psa, rtb, aromatic_rings, "
        "heavy_atoms, full_mwt) VALUES (1280, 180.16, 1.31, 3, 1, 63.60, 2, 1, 13, 180.16)"
    )
    db.commit()
    db.close()
    return path


def test_read_chembl_sqlite_joins_the_three_tables(tmp_path: Path) -> None:
    path = _build_chembl_sqlite(tmp_path / "chembl_27.db")
    records = list(read_chembl_sqlite(path, "chembl_27"))
    # molregno order: the salt (2), the antibody (3), aspirin (1280)
    assert [r.chembl_id for r in records] == ["CHEMBL1204199", "CHEMBL1201585", "CHEMBL25"]
    salt, antibody, aspirin = records
    assert aspirin == CompoundRecord(
        chembl_id="CHEMBL25",
        pref_name="ASPIRIN",
        canonical_smiles=ASPIRIN,
        standard_inchi_key=ASPIRIN_KEY,
        mw_freebase=180.16,
        alogp=1.31,
        rtb=2,
        hba=3,
        hbd=1,
        psa=63.6,
        aromatic_rings=1,
        property_source="chembl",
        chembl_release="chembl_27",
        source_file="chembl_27.db",
    )
    assert isinstance(aspirin.rtb, int) and isinstance(aspirin.mw_freebase, float)
    assert antibody.pref_name == "TRASTUZUMAB" and antibody.canonical_smiles is None and not antibody.has_properties
    assert salt.standard_inchi_key == HYDROCHLORIDE_KEY and not salt.has_properties


def test_read_chembl_sqlite_compute_never_mixes_with_chembl_values(tmp_path: Path) -> None:
    path = _build_chembl_sqlite(tmp_path / "chembl_27.db")
    salt, antibody, aspirin = read_chembl_sqlite(path, "chembl_27", compute=True, standardise=True)
    assert aspirin.property_source == "chembl" and aspirin.alogp == 1.31  # ChEMBL's, not Crippen's 1.3101
    assert aspirin.parent_inchi_key == ASPIRIN_KEY
    assert salt.property_source == "computed" and salt.mw_freebase == pytest.approx(388.265, abs=1e-3)
    assert salt.parent_inchi_key == FREE_BASE_KEY
    assert antibody.property_source == "chembl" and antibody.parent_inchi_key is None


def test_read_chembl_sqlite_checks_release_and_schema(tmp_path: Path) -> None:
    path = _build_chembl_sqlite(tmp_path / "chembl_27.db")
    with pytest.raises(ConfigError, match="says it is ChEMBL_27, but release='chembl_33'"):
        list(read_chembl_sqlite(path, "chembl_33"))
    db = sqlite3.connect(path)
    db.execute("DROP TABLE compound_properties")
    db.commit()
    db.close()
    with pytest.raises(ParseError, match=r"chembl_27\.db: not a ChEMBL SQLite release: no table compound_properties"):
        list(read_chembl_sqlite(path, "chembl_27"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ParseError, match=r"junk\.db: not a readable SQLite database"):
        list(read_chembl_sqlite(junk, "chembl_27"))
    with pytest.raises(ParseError, match=r"missing\.db: no such ChEMBL SQLite file"):
        list(read_chembl_sqlite(tmp_path / "missing.db", "chembl_27"))


# ------------------------------------------------------------------------------------------------ matching


def test_build_indexes_points_the_parent_key_at_the_parent(egfr_index) -> None:  # type: ignore[no-untyped-def]
    by_id, by_parent_key = egfr_index
    assert len(by_id) == 120
    assert by_parent_key[FREE_BASE_KEY].chembl_id == "CHEMBL35820"  # not its hydrochloride CHEMBL1204199
    salt_first = build_indexes([by_id["CHEMBL1204199"], by_id["CHEMBL35820"]])[1]
    assert salt_first[FREE_BASE_KEY].chembl_id == "CHEMBL35820"


def test_build_indexes_warns_about_records_without_parent_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="lab_etl.chem"):
        by_id, by_parent_key = build_indexes([CompoundRecord("CHEMBL25"), CompoundRecord("CHEMBL1")])
    assert set(by_id) == {"CHEMBL25", "CHEMBL1"} and by_parent_key == {}
    assert "2 ChEMBL records have no parent_inchi_key" in caplog.text


def test_match_by_chembl_id_wins(egfr_index) -> None:  # type: ignore[no-untyped-def]
    by_id, by_parent_key = egfr_index
    match = match_reagent(HYDROCHLORIDE, " chembl1204199 ", by_id, by_parent_key)
    assert match.match_method == "chembl_id"
    assert match.compound is not None and match.compound.chembl_id == "CHEMBL1204199"
    assert match.property_source == "chembl" and match.descriptors is None


def test_match_salt_to_its_parent_by_inchikey(egfr_index) -> None:  # type: ignore[no-untyped-def]
    by_id, by_parent_key = egfr_index
    # a hydrobromide drawn differently, with an id the reference does not hold
    match = match_reagent("Br.CCOc1cc2c(cc1OCC)c(Nc1cccc(Br)c1)ncn2", "CHEMBL999999999", by_id, by_parent_key)
    assert match.match_method == "inchikey"
    assert match.compound is not None and match.compound.chembl_id == "CHEMBL35820"
    assert match.parent_inchi_key == FREE_BASE_KEY
    assert match.properties == dict.fromkeys(
        ("mw_freebase", "alogp", "rtb", "hba", "hbd", "psa", "aromatic_rings")
    )  # the CSV extract has none


def test_match_unmatched_reasons() -> None:
    assert match_reagent(None, None, {}, {}) == ReagentMatch("unmatched", reason="no ChEMBL id and no SMILES")
    bad = match_reagent("C1CC", "CHEMBL25", {}, {})
    assert bad.match_method == "unmatched" and bad.property_source is None
    assert bad.reason is not None and "CHEMBL25 is not in the reference" in bad.reason
    assert "not a valid SMILES: 'C1CC'" in bad.reason


#: pyGecko thiolation plate reagents (tests/data/hte/thiolation_plate_layout.csv) -> RDKit average MW (g/mol),
#: and the catalogue MW from the molecular formula (IUPAC weights; RDKit's S weight differs by < 0.01).
THIOLATION_MW = {
    "COC(CCS)=O": (120.17, 120.17),  # methyl 3-mercaptopropionate, C4H8O2S
    "SC1CCCCC1": (116.23, 116.22),  # cyclohexanethiol, C6H12S
    "SCC1=CC=CC=C1": (124.21, 124.20),  # benzyl mercaptan, C7H8S
    "SC1=CC=C(Cl)C=C1": (144.63, 144.62),  # 4-chlorothiophenol, C6H5ClS
    "SC1=CC=CC=C1Br": (189.08, 189.07),  # 2-bromothiophenol, C6H5BrS
    "SC1=CC=CC(OC)=C1": (140.21, 140.20),  # 3-methoxythiophenol, C7H8OS
    "SC1=CC=C(N)C=C1": (125.20, 125.19),  # 4-aminothiophenol, C6H7NS
    "SC1=CC=NC=C1": (111.17, 111.16),  # 4-mercaptopyridine, C5H5NS
    "SC1=NC=CC=N1": (112.16, 112.15),  # 2-mercaptopyrimidine, C4H4N2S
    "SC1=CC=CC=N1": (111.17, 111.16),  # 2-mercaptopyridine, C5H5NS
    "SC1=NC2=CC=CC=C2O1": (151.19, 151.19),  # 2-mercaptobenzoxazole, C7H5NOS
    "SC1=NC2=CC=CC=C2S1": (167.26, 167.25),  # 2-mercaptobenzothiazole, C7H5NS2
    "Cn1c(Cl)c(Cl)nc1": (151.00, 150.99),  # 4,5-dichloro-1-methylimidazole, C4H4Cl2N2
    "O=C(C1=CC=C(Br)O1)OC": (205.01, 205.01),  # methyl 5-bromo-2-furoate, C6H5BrO3
}


def test_thiolation_reagents_come_out_computed(data_dir: Path, egfr_index) -> None:  # type: ignore[no-untyped-def]
    by_id, by_parent_key = egfr_index
    with (data_dir / "hte" / "thiolation_plate_layout.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    halides = [r["x"] for r in rows if r["x"]]
    thiols = [r["y"] for r in rows if r["y"]]
    assert (len(halides), len(thiols)) == (8, 12)
    matches = {smiles: match_reagent(smiles, None, by_id, by_parent_key) for smiles in halides + thiols}
    assert {m.match_method for m in matches.values()} == {"computed"}
    assert {m.property_source for m in matches.values()} == {"computed"}
    for smiles, (rdkit_mw, catalogue_mw) in THIOLATION_MW.items():
        values = matches[smiles].descriptors
        assert values is not None
        assert round(values.mw, 2) == rdkit_mw, smiles
        assert values.mw == pytest.approx(catalogue_mw, abs=0.015), smiles
    ester = matches["COC(CCS)=O"]
    assert ester.properties["mw_freebase"] == pytest.approx(120.17, abs=0.005)
    assert ester.properties["psa"] == pytest.approx(26.30, abs=0.01)  # ester O's only; thiol S is not in TPSA
    assert (ester.properties["rtb"], ester.properties["hba"], ester.properties["hbd"]) == (2, 3, 1)
    assert ester.parent_inchi_key == "LDTLDBDUBGAEDT-UHFFFAOYSA-N"


def test_match_reagent_is_pure_over_its_mappings(egfr_index) -> None:  # type: ignore[no-untyped-def]
    by_id, by_parent_key = egfr_index
    before = (dict(by_id), dict(by_parent_key))
    first = match_reagent(HYDROCHLORIDE, None, by_id, by_parent_key)
    second = match_reagent(HYDROCHLORIDE, None, by_id, by_parent_key)
    assert first == second and first.match_method == "inchikey"
    assert (by_id, by_parent_key) == before


def test_truncated_gzip_download_is_a_parse_error() -> None:
    damaged = gzip.compress(_chemreps())[:-20]
    with pytest.raises(ParseError, match=r"chembl_27_chemreps\.txt\.gz: cannot read the file \(EOFError"):
        list(read_chemreps(damaged, "chembl_27", name="chembl_27_chemreps.txt.gz"))
