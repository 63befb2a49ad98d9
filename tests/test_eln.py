"""ELN readers: the real eLabFTW and AI4Green .eln exports, and lab_etl's own CSV/JSON ELN export."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab_etl.contracts import contract
from lab_etl.eln import ElnExperiment, ElnExport, parse_timestamp, read_eln_archive, read_eln_table
from lab_etl.errors import ParseError
from lab_etl.layouts import read_hte_plate

GOLD_MASTER = "20250916-4af4da4ef50c6512782c3b0b484aad236ccd7591"
ENZYME = "20250916-96ce1b1268b62a7e083ce8b1afa3fda5dd6e26a5"


@pytest.fixture(scope="module")
def eln_dir(data_dir: Path) -> Path:
    return data_dir / "eln"


@pytest.fixture(scope="module")
def elabftw(eln_dir: Path) -> ElnExport:
    return read_eln_archive((eln_dir / "elabftw_export.eln").read_bytes(), "elabftw_export.eln")


@pytest.fixture(scope="module")
def ai4green(eln_dir: Path) -> ElnExport:
    name = "ai4green_export_workbook-2024-08-27.eln"
    return read_eln_archive((eln_dir / name).read_bytes(), name)


@pytest.fixture(scope="module")
def hte_csv(eln_dir: Path) -> ElnExport:
    return read_eln_table((eln_dir / "hte_thiolation_eln.csv").read_bytes(), "hte_thiolation_eln.csv")


def test_experiment_record_has_exactly_the_contract_columns() -> None:
    assert [f.name for f in dataclasses.fields(ElnExperiment)] == contract("eln_experiments").column_names


# ---------------------------------------------------------------------------------------------------- eLabFTW


def test_elabftw_experiments_exclude_resources(elabftw: ElnExport) -> None:
    titles = [e.title for e in elabftw.experiments]
    assert len(titles) == 11
    assert "Video microscope Bravo" not in titles  # genre "resource": an instrument, not an experiment
    assert {"Gold master experiment", "Synthesis of Aspirin", "フルーツフライの食性に関する研究"} <= set(titles)
    assert "Transfection of p103Δ12-22 into RPE-1 Actin-RFP" in titles
    assert {e.eln_software for e in elabftw.experiments} == {"eLabFTW"}
    assert {e.source_file for e in elabftw.experiments} == {"elabftw_export.eln"}
    assert elabftw.reagents == [] and elabftw.layouts == []


def test_elabftw_gold_master_experiment(elabftw: ElnExport) -> None:
    gold = elabftw.experiment(GOLD_MASTER)
    assert gold.title == "Gold master experiment"
    assert gold.author == "Nicola Mohr"
    assert json.loads(gold.protocol_steps or "[]") == ["a step", "another step"]
    assert gold.created_at == datetime(2025, 9, 16, 8, 32, 54, tzinfo=UTC)  # 10:32:54+02:00
    assert gold.project == "Demo"
    assert gold.plate_ids is None and gold.protocol_name is None


def test_elabftw_authors_resolve_to_person_names(elabftw: ElnExport) -> None:
    authors = {e.title: e.author for e in elabftw.experiments}
    assert authors["Synthesis of Aspirin"] == "Avis Gutkowski"
    assert authors["Testing the eLabFTW lab notebook"] == "Lee Schoen"
    assert authors["An example experiment"] == "Neva Heaney"
    assert not any("person://" in (a or "") for a in authors.values())
    steps = [e for e in elabftw.experiments if e.protocol_steps]
    assert [e.experiment_id for e in steps] == [GOLD_MASTER]  # only the gold master has HowToSteps


def test_elabftw_project_from_keyword_else_category(elabftw: ElnExport) -> None:
    assert elabftw.experiment(ENZYME).project == "ENZYTEMP"  # keyword "Project ENZYTEMP" beats category "Enzymo"
    projects = {e.title: e.project for e in elabftw.experiments}
    assert projects["Synthesis of Aspirin"] == "Synthesis"
    assert projects["Facilis illum sed reprehenderit."] == "Molecular biology"
    assert projects["フルーツフライの食性に関する研究"] == "ハエ"
    created = {e.title: e.created_at for e in elabftw.experiments}
    assert created["Facilis illum sed reprehenderit."] == datetime(2025, 9, 16, 8, 32, 50, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- AI4Green


def test_ai4green_reaction(ai4green: ElnExport) -> None:
    (reaction,) = ai4green.experiments
    assert (reaction.experiment_id, reaction.title, reaction.author) == ("AI4-001", "Amidation", "Joe Davies")
    assert reaction.created_at == datetime(2024, 7, 18, 15, 56, 12, tzinfo=UTC)  # no offset in the crate: UTC
    assert (reaction.project, reaction.eln_software) == ("Export workbook", "AI4Green")
    assert reaction.protocol_steps is None


def test_ai4green_reagents(ai4green: ElnExport) -> None:
    got = [(r.role, r.name, r.smiles, r.amount, r.amount_unit) for r in ai4green.reagents]
    assert got == [
        ("reactant", "Benzoic Acid", "O=C(O)c1ccccc1", 0.82, "mmol"),
        ("reactant", "Ethylamine", "CCN", 1.64, "mmol"),
        ("reagent", "Diisopropylamine", "CC(C)NC(C)C", 1.15, "mmol"),
        (
            "reagent",
            "O-(7-Azabenzotriazol-1-yl)-N,N,N',N'-tetramethyluronium hexafluorophosphate",
            "CN(C)C(=[O+]n1nnc2cccnc21)N(C)C.F[P-](F)(F)(F)(F)F",
            0.98,
            "mmol",
        ),
        ("solvent", "Dimethylformamide", "CN(C)C=O", 1.0, "mL"),
        ("product", "N-Ethylbenzamide", "CCN=C(O)c1ccccc1", 0.82, "mmol"),
    ]
    assert {r.experiment_id for r in ai4green.reagents} == {"AI4-001"}


# ---------------------------------------------------------------------------------------------------- broken archives


def _eln(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def _crate(*entities: dict[str, object]) -> str:
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"}},
        {"@id": "./", "@type": "Dataset", "hasPart": [{"@id": e["@id"]} for e in entities if e["@type"] == "Dataset"]},
        *entities,
    ]
    return json.dumps({"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PDF-1.4 not a zip", r"x\.eln: not a \.eln archive: the file is not a zip"),
        (_eln({"export/readme.txt": "hi"}), r"the archive has no ro-crate-metadata\.json"),
        (_eln({"export/ro-crate-metadata.json": "{not json"}), r"export/ro-crate-metadata\.json is not valid JSON"),
        (_eln({"ro-crate-metadata.json": '{"@context": "x"}'}), r"has no '@graph' list"),
        (_eln({"e/ro-crate-metadata.json": _crate()}), r"the crate holds no experiment"),
        (
            _eln({"e/ro-crate-metadata.json": _crate({"@id": "./r/", "@type": "Dataset", "genre": "resource"})}),
            r"the crate holds no experiment",
        ),
    ],
)
def test_broken_archives(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        read_eln_archive(data, "x.eln")


def test_unknown_author_keeps_its_id_and_steps_follow_position() -> None:
    crate = _crate(
        {
            "@id": "./exp-1/",
            "@type": "Dataset",
            "name": "Plate run",
            "author": [{"@id": "#ann"}, {"@id": "https://orcid.org/0000-0001"}],
            "dateCreated": "2024-03-01T12:00:00Z",
            "step": [{"@id": "#s2"}, {"@id": "#s1"}],
            "variableMeasured": [{"@id": "#pv"}],
            "isBasedOn": {"@id": "#protocol"},
        },
        {"@id": "#ann", "@type": "Person", "givenName": "Ann", "familyName": "Lee"},
        {"@id": "#s1", "@type": "HowToStep", "position": 1, "text": "seed cells"},
        {"@id": "#s2", "@type": "HowToStep", "position": 2, "itemListElement": {"@id": "#d2"}},
        {"@id": "#d2", "@type": "HowToDirection", "text": "add compound"},
        {"@id": "#pv", "@type": "PropertyValue", "propertyID": "Plate barcodes", "value": "PL-1, PL-2"},
        {"@id": "#protocol", "@type": "CreativeWork", "name": "Cell viability v2"},
    )
    export = read_eln_archive(_eln({"run/ro-crate-metadata.json": crate}), "run.eln")
    (experiment,) = export.experiments
    assert experiment.experiment_id == "exp-1"
    assert experiment.author == "Ann Lee; https://orcid.org/0000-0001"
    assert json.loads(experiment.protocol_steps or "[]") == ["seed cells", "add compound"]
    assert json.loads(experiment.plate_ids or "[]") == ["PL-1", "PL-2"]
    assert experiment.protocol_name == "Cell viability v2"
    assert experiment.created_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- lab_etl export


def test_hte_eln_csv_experiment(hte_csv: ElnExport) -> None:
    (experiment,) = hte_csv.experiments
    assert experiment.experiment_id == "HTE-THIO-001"
    assert experiment.author == "Felix Katzenburg"
    assert json.loads(experiment.plate_ids or "[]") == ["THIO-1"]
    steps = json.loads(experiment.protocol_steps or "[]")
    assert len(steps) == 8 and steps[0].startswith("Dispense heteroarene in DMA (0.15 M, 100 uL) to rows A-H")
    assert experiment.created_at == datetime(2024, 6, 3, 7, 0, tzinfo=UTC)
    assert hte_csv.warnings == []


def test_hte_eln_csv_layout_equals_the_real_hte_plate(hte_csv: ElnExport, data_dir: Path) -> None:
    hte = data_dir / "hte"
    real = read_hte_plate(
        (hte / "thiolation_plate_layout.csv").read_bytes(),
        (hte / "thiolation_meta_data.json").read_bytes(),
        "thiolation_plate_layout.csv",
        "THIO-1",
        experiment_id="HTE-THIO-001",
    )
    (layout,) = hte_csv.layouts
    assert (layout.plate_id, layout.plate_format, len(layout.wells)) == ("THIO-1", 96, 96)
    assert {w.experiment_id for w in layout.wells} == {"HTE-THIO-001"}

    def key(r: object) -> tuple[object, ...]:
        fields = dataclasses.asdict(r)  # type: ignore[call-overload]
        return tuple(v for k, v in fields.items() if k != "layout_source")

    assert sorted(map(key, hte_csv.well_reagents)) == sorted(map(key, real.reagents))
    a1 = layout.reagents_of("A1")
    assert (a1["scaffold"].smiles, a1["reactant"].smiles) == ("Cn1c(Cl)c(Cl)nc1", "COC(CCS)=O")


def test_hte_eln_json_equals_csv(hte_csv: ElnExport, eln_dir: Path) -> None:
    from_json = read_eln_table((eln_dir / "hte_thiolation_eln.json").read_bytes(), "hte_thiolation_eln.csv")
    assert from_json.experiments == hte_csv.experiments
    assert from_json.layouts == hte_csv.layouts
    assert from_json.warnings == []


def test_unknown_column_is_kept_in_attributes_with_a_warning(eln_dir: Path) -> None:
    lines = (eln_dir / "hte_thiolation_eln.csv").read_text(encoding="utf-8").splitlines()
    drifted = [lines[0] + ",Yield %"] + [line + ",75" if ",A01," in line else line + "," for line in lines[1:]]
    export = read_eln_table("\n".join(drifted).encode(), "drift.csv")
    assert export.warnings == ["drift.csv: unknown column 'yield' kept in the well attributes"]
    assert json.loads(export.layouts[0].well("A1").attributes or "{}") == {"yield": 75.0}
    assert export.layouts[0].well("A2").attributes is None


def test_missing_required_column_is_named() -> None:
    with pytest.raises(ParseError, match=r"e\.csv:1: the ELN export lacks required column\(s\) well; the header"):
        read_eln_table(b"experiment_id,plate_id,reagent_role\nE1,P1,scaffold\n", "e.csv")


def test_experiment_only_rows_semicolons_and_bom() -> None:
    data = "\ufeffExperiment_ID;Project;Author;Date;Plate_ID;Well;Role;Concentration;Concentration_Unit\n"
    data += "E1;Kinase;Ann Lee;2024-05-01T10:00:00+02:00;;;;;\nE1;;;;P1;B3;DMSO;0,1;%\nE2;Other;;;;;;;\n"
    export = read_eln_table(data.encode(), "e.csv")
    assert [(e.experiment_id, e.project, e.author, e.plate_ids) for e in export.experiments] == [
        ("E1", "Kinase", "Ann Lee", '["P1"]'),
        ("E2", "Other", None, None),
    ]
    assert export.experiments[0].created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    well = export.layouts[0].well("B3")
    assert (well.role, well.concentration, well.concentration_unit, well.experiment_id) == (
        "negative_control",
        0.1,
        "%",
        "E1",
    )


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (
            "experiment_id,author,plate_id,well\nE1,Ann,,\nE1,Bob,,\n",
            r"e\.csv:3: experiment E1: author is 'Ann' on line 2 but 'Bob' here",
        ),
        (
            "experiment_id,plate_id,well,reagent_role,smiles\nE1,P1,A1,scaffold,C\nE1,P1,A01,scaffold,CC\n",
            r"e\.csv:3: plate P1 well A01 has two 'scaffold' reagents \(line 2 and line 3\)",
        ),
        (
            "experiment_id,date,plate_id,well\nE1,yesterday,,\n",
            r"e\.csv: date of experiment E1 \(line 2\) is 'yesterday', not an ISO 8601 date",
        ),
        ("experiment_id,plate_id,well\nE1,P1,\n", r"e\.csv:2: line 2 gives a plate without a well"),
        (
            "experiment_id,plate_id,well\nE1,P1,Z99\n",
            r"e\.csv: plate P1: no standard plate holds a well at row 26, column 99; check the well names",
        ),
        ("experiment_id,plate_id,well,chembl_id,reagent_role\nE1,P1,A1,CHEBI:15365,x\n", r"is not like CHEMBL25"),
        ("experiment_id,plate_id,well,role\nE1,P1,A1,mystery\n", r"well A01: 'mystery' is not a well role"),
        ("experiment_id,plate_id,well,smiles\nE1,P1,A1,CCO\n", r"describes a reagent but has no reagent_role"),
    ],
)
def test_eln_table_errors(csv_text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        read_eln_table(csv_text.encode(), "e.csv")


def test_eln_json_errors_and_drift() -> None:
    with pytest.raises(ParseError, match="not valid JSON"):
        read_eln_table(b"{oops", "e.json")
    with pytest.raises(ParseError, match="needs an 'experiments' list"):
        read_eln_table(b'{"experiment": {}}', "e.json")
    document = {
        "experiments": [
            {
                "experiment_id": "E9",
                "protocol_steps": ["mix | shake", "read"],
                "plates": [{"plate_id": "P9", "wells": [{"well": "C4", "role": "pos", "operator_note": "tilted"}]}],
            }
        ]
    }
    export = read_eln_table(json.dumps(document).encode(), "e.json")
    assert json.loads(export.experiments[0].protocol_steps or "[]") == ["mix | shake", "read"]
    assert export.warnings == ["e.json: unknown field 'operator_note' kept in the well attributes"]
    assert json.loads(export.layouts[0].well("C4").attributes or "{}") == {"operator_note": "tilted"}


def test_parse_timestamp() -> None:
    assert parse_timestamp("2024-07-18 15:56:12") == datetime(2024, 7, 18, 15, 56, 12, tzinfo=UTC)
    assert parse_timestamp("2024-07-18") == datetime(2024, 7, 18, tzinfo=UTC)
    assert parse_timestamp("2025-01-02T00:00:00+01:00") == datetime(2025, 1, 1, 23, 0, tzinfo=UTC)
    assert parse_timestamp("") is None


def test_the_documented_examples_read_as_documented() -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "eln_export.md").read_text(encoding="utf-8")
    csv_block = re.search(r"```csv\n(.*?)```", doc, re.S)
    json_block = re.search(r"```json\n(.*?)```", doc, re.S)
    assert csv_block and json_block
    from_csv = read_eln_table(csv_block.group(1).encode(), "doc.csv")
    from_json = read_eln_table(json_block.group(1).encode(), "doc.json")
    for export in (from_csv, from_json):
        first = export.experiment("E-001")
        assert (first.author, json.loads(first.plate_ids or "[]")) == ("Ann Lee", ["P-17"])
        assert json.loads(first.protocol_steps or "[]") == ["dispense", "incubate 1 h", "read"]
        assert first.created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
        (layout,) = export.layouts
        assert (layout.plate_format, [w.role for w in layout.wells]) == (384, ["sample", "negative_control"])
        (reagent,) = export.well_reagents
        assert (reagent.well, reagent.reagent_role, reagent.smiles, reagent.amount) == (
            "A01",
            "scaffold",
            "c1ccncc1",
            10.0,
        )
        assert export.warnings == []
    assert [e.experiment_id for e in from_csv.experiments] == ["E-001", "E-002"]
