"""Plate layout readers: golden values from the real plate maps, wellmap layouts and the pyGecko HTE plate."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab_etl.contracts import contract
from lab_etl.errors import ParseError
from lab_etl.layouts import (
    ROLES,
    Layout,
    WellLayout,
    WellReagent,
    layout_from_wells,
    normalise_role,
    read_hte_plate,
    read_plate_map_csv,
    read_wellmap,
    role_from_sample_name,
)
from lab_etl.plates import GEOMETRY, geometry, parse_well, row_label, well_name


@pytest.fixture(scope="module")
def layouts_dir(data_dir: Path) -> Path:
    return data_dir / "plate_layouts"


@pytest.fixture(scope="module")
def hte_dir(data_dir: Path) -> Path:
    return data_dir / "hte"


def _read(path: Path, **kwargs: object) -> Layout:
    return read_plate_map_csv(path.read_bytes(), path.name, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------- contracts


@pytest.mark.parametrize(("record", "table"), [(WellLayout, "plate_layouts"), (WellReagent, "well_reagents")])
def test_records_have_exactly_the_contract_columns(record: type, table: str) -> None:
    assert [f.name for f in dataclasses.fields(record)] == contract(table).column_names


def test_roles_are_the_contracts_allowed_roles() -> None:
    assert sorted(ROLES) == sorted(contract("plate_layouts").column("role").expect["allowed"])


# ---------------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("sample", "sample"),
        ("Sample", "sample"),
        ("pos", "positive_control"),
        ("positive", "positive_control"),
        ("POSCON", "positive_control"),
        ("max", "positive_control"),
        ("High Control", "positive_control"),
        ("+", "positive_control"),
        ("positive_control", "positive_control"),
        ("neg", "negative_control"),
        ("Negative", "negative_control"),
        ("NEGCON", "negative_control"),
        ("min", "negative_control"),
        ("DMSO", "negative_control"),
        ("vehicle", "negative_control"),
        ("-", "negative_control"),
        ("NTC", "negative_control"),
        ("no RT", "negative_control"),
        ("no cDNA", "negative_control"),
        ("blank", "blank"),
        ("Buffer", "blank"),
        ("empty  medium", "blank"),
        ("std", "standard"),
        ("Standard", "standard"),
        ("cal", "standard"),
        ("calibrator", "standard"),
        ("Std 3", "standard"),
        ("STD_12", "standard"),
        ("", "empty"),
        ("NA", "empty"),
        ("empty", "empty"),
        (None, "empty"),
    ],
)
def test_normalise_role_table(text: str | None, role: str) -> None:
    assert normalise_role(text) == role


def test_normalise_role_rejects_unknown_text_and_lists_the_roles() -> None:
    with pytest.raises(ParseError, match=r"'reference dye' is not a well role; write one of sample, positive_control"):
        normalise_role("reference dye")


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("pRW0041", "sample"),
        ("blank", "blank"),
        ("buffer", "blank"),
        ("NA", "empty"),
        ("DMSO", "negative_control"),
        ("std2", "standard"),
        ("max", "sample"),
        ("-", "sample"),
        ("RNA", "sample"),
        ("Blank B", "blank"),
        ("Standard S1", "standard"),
        ("Negative control N2", "negative_control"),
        ("Sample X1", "sample"),
        ("cpd 12", "sample"),
        ("", "empty"),
    ],
)
def test_sample_names_imply_a_role_only_for_unambiguous_words(name: str, role: str) -> None:
    assert role_from_sample_name(name) == role


# ---------------------------------------------------------------------------------------------------- grids (real)


def test_wellr_96_concentration_grids(layouts_dir: Path) -> None:
    layout = _read(layouts_dir / "plate_layout_96.csv")
    assert (layout.plate_id, layout.plate_format, len(layout.wells)) == ("plate_layout_96", 96, 96)
    assert [w.well for w in layout.wells][:3] == ["A01", "A02", "A03"]
    assert Counter(w.role for w in layout.wells) == {"sample": 72, "empty": 21, "blank": 3}
    a1 = layout.well("A1")
    assert (a1.sample_name, a1.concentration, json.loads(a1.attributes or "{}")) == ("RNA", 1e-06, {"protein": 5e-08})
    assert (a1.row_index, a1.column_index, a1.layout_source) == (1, 1, "plate_layout_96.csv")
    assert layout.well("F12").concentration == 5.65e-12
    assert layout.well("D07").sample_name == "DNA"
    g1 = layout.well("G01")
    assert (g1.role, g1.sample_name, g1.concentration) == ("blank", "buffer", 0.0)
    g4 = layout.well("G04")
    assert (g4.role, g4.sample_name, g4.concentration, g4.attributes) == ("empty", None, None, None)
    assert layout.reagents == []


def test_wellr_384_strain_metainfo_grids(layouts_dir: Path) -> None:
    layout = _read(layouts_dir / "20220929_1steptimer20_metainfo.csv", plate_id="1steptimer20")
    assert (layout.plate_id, layout.plate_format, len(layout.wells)) == ("1steptimer20", 384, 384)
    # 20 strains x 16 rows, a blank column (22), and the NA columns 1, 23, 24
    assert Counter(w.role for w in layout.wells) == {"sample": 320, "blank": 16, "empty": 48}
    b2 = layout.well("B02")
    assert (b2.sample_name, b2.concentration) == ("pRW0041", 1e-06)
    assert json.loads(b2.attributes or "{}") == {"promoter": "PJ23100", "rbs": "wk2"}
    assert layout.well("H05").concentration == 0.2
    p22 = layout.well("P22")
    assert (p22.role, p22.sample_name, p22.concentration) == ("blank", "blank", 0.2)
    assert json.loads(p22.attributes or "{}") == {"promoter": "none", "rbs": "none"}
    a1 = layout.well("A01")
    assert (a1.role, a1.sample_name, a1.concentration, a1.attributes) == ("empty", None, None, None)


# ---------------------------------------------------------------------------------------------------- grids (made)


def test_grid_with_semicolons_decimal_commas_bom_and_crlf() -> None:
    text = (
        "\ufeffconc (uM);1;2;3\r\nA;0,5;1,5;\r\nB;2;NA;1e-3\r\n\r\n"
        "role;1;2;3\r\nA;sample;sample;empty\r\nB;POS;NEG;std\r\n"
    )
    layout = read_plate_map_csv(text.encode("utf-8"), "dose;map.csv", plate_id="P1")
    assert layout.plate_format == 6
    got = {w.well: (w.role, w.concentration, w.concentration_unit) for w in layout.wells}
    assert got == {
        "A01": ("sample", 0.5, "uM"),
        "A02": ("sample", 1.5, "uM"),
        "A03": ("empty", None, None),
        "B01": ("positive_control", 2.0, "uM"),
        "B02": ("negative_control", None, None),
        "B03": ("standard", 0.001, "uM"),
    }


def test_grid_without_field_name_uses_the_field_argument_and_grids_need_no_blank_line() -> None:
    text = b",1,2,3\nA,cpd-1,cpd-2,DMSO\nB,cpd-3,,buffer\nconc_nM,1,2,3\nA,10,20,0\nB,30,,0\n"
    layout = read_plate_map_csv(text, "m.csv", field="compound")
    assert [(w.well, w.role, w.sample_name, w.concentration, w.concentration_unit) for w in layout.wells] == [
        ("A01", "sample", "cpd-1", 10.0, "nM"),
        ("A02", "sample", "cpd-2", 20.0, "nM"),
        ("A03", "negative_control", "DMSO", 0.0, "nM"),
        ("B01", "sample", "cpd-3", 30.0, "nM"),
        ("B02", "empty", None, None, None),
        ("B03", "blank", "buffer", 0.0, "nM"),
    ]


def _grid(rows: list[str], columns: int = 12) -> bytes:
    header = "conc," + ",".join(str(c) for c in range(1, columns + 1))
    body = [f"{label}," + ",".join("1" for _ in range(columns)) for label in rows]
    return "\n".join([header, *body]).encode()


def test_grid_that_skips_a_row_names_the_missing_row() -> None:
    with pytest.raises(ParseError, match=r"m\.csv:5: grid 'conc': row D is missing \(found row E here\)"):
        read_plate_map_csv(_grid(list("ABCEFGHI")), "m.csv")


def test_grid_that_stops_early_names_its_shape() -> None:
    with pytest.raises(ParseError, match=r"grid 'conc' has 7 rows \(A\.\.G\) and 12 columns, which is no standard"):
        read_plate_map_csv(_grid(list("ABCDEFG")), "m.csv")


def test_grid_value_outside_the_plate_is_an_error() -> None:
    data = _grid(list("ABCDEFGH")).replace(b"\nC,1,1,1,1,1,1,1,1,1,1,1,1", b"\nC,1,1,1,1,1,1,1,1,1,1,1,1,7")
    with pytest.raises(ParseError, match=r"m\.csv:4: grid 'conc': a value in column 13 lies outside .* \(well C13\)"):
        read_plate_map_csv(data, "m.csv")


def test_grid_field_given_twice_is_an_error() -> None:
    data = _grid(list("AB"), 3) + b"\n" + _grid(list("AB"), 3)
    with pytest.raises(ParseError, match=r"m\.csv:4: the grid 'conc' appears twice"):
        read_plate_map_csv(data, "m.csv")


def test_unknown_file_is_not_a_plate_map() -> None:
    with pytest.raises(ParseError, match=r"notes\.csv:1: not a plate map"):
        read_plate_map_csv(b"Date,Operator\n2024-01-01,AB\n", "notes.csv")


def test_empty_file_is_an_error() -> None:
    with pytest.raises(ParseError, match="empty"):
        read_plate_map_csv(b"", "x.csv")


# ---------------------------------------------------------------------------------------------------- long CSV


LONG = (
    "Well,Plate,Role,Sample,Concentration,Unit,scaffold_smiles,scaffold_chembl_id,reactant_name,reactant_smiles,"
    "reactant_amount,reactant_amount_unit,catalyst_amount,replicate\n"
    "A1,P1,sample,cpd-1,10,uM,c1ccccc1Br,chembl1234,thiophenol,Sc1ccccc1,22.5,umol,0.3 umol,1\n"
    "a02,P1,DMSO,,,,,,,,,,,2\n"
    "H12,P1,std 1,BSA,250,ng/mL,,,,,,,,\n"
    "A1,P2,neg,,,,,,,,,,,\n"
)


def test_long_csv_maps_roles_reagents_and_attributes() -> None:
    layout = read_plate_map_csv(LONG.encode(), "long.csv", plate_id="P1")
    assert (layout.plate_id, layout.plate_format) == ("P1", 96)
    assert [(w.well, w.role, w.sample_name, w.concentration, w.concentration_unit) for w in layout.wells] == [
        ("A01", "sample", "cpd-1", 10.0, "uM"),
        ("A02", "negative_control", None, None, None),
        ("H12", "standard", "BSA", 250.0, "ng/mL"),
    ]
    assert json.loads(layout.well("A1").attributes or "{}") == {"replicate": 1.0}
    reagents = layout.reagents_of("A1")
    assert sorted(reagents) == ["catalyst", "reactant", "scaffold"]
    assert (reagents["scaffold"].smiles, reagents["scaffold"].chembl_id) == ("c1ccccc1Br", "CHEMBL1234")
    assert (reagents["reactant"].reagent_name, reagents["reactant"].amount, reagents["reactant"].amount_unit) == (
        "thiophenol",
        22.5,
        "umol",
    )
    assert (reagents["catalyst"].amount, reagents["catalyst"].amount_unit) == (0.3, "umol")
    assert all(r.plate_id == "P1" and r.layout_source == "long.csv" for r in layout.reagents)


def test_long_csv_with_several_plates_needs_a_plate_id() -> None:
    with pytest.raises(ParseError, match=r"lists 2 plates \(P1, P2\); pass plate_id= to choose one"):
        read_plate_map_csv(LONG.encode(), "long.csv")
    assert read_plate_map_csv(LONG.encode(), "long.csv", plate_id="P2").well("A1").role == "negative_control"


def test_long_csv_duplicate_well_names_both_lines() -> None:
    data = b"well\tsample\nA1\tx\nB1\ty\na01\tz\n"
    with pytest.raises(ParseError, match=r"dup\.tsv:4: well A01 of plate dup is listed twice \(first on line 2\)"):
        read_plate_map_csv(data, "dup.tsv")


def test_long_csv_well_outside_the_stated_plate_format() -> None:
    with pytest.raises(ParseError, match=r"m\.csv:3: well 'I1' lies outside a 96-well plate"):
        read_plate_map_csv(b"well,sample\nA1,x\nI1,y\n", "m.csv", plate_format=96)
    with pytest.raises(ParseError, match=r"m\.csv:2: well 'Q1' lies outside a 384-well plate"):
        read_plate_map_csv(b"well,plate_format,sample\nQ1,384,x\n", "m.csv")


def test_long_csv_unknown_role_and_bad_chembl_id_name_the_line() -> None:
    with pytest.raises(ParseError, match=r"m\.csv:3: well A02: 'reference' is not a well role"):
        read_plate_map_csv(b"well,role\nA1,pos\nA2,reference\n", "m.csv")
    with pytest.raises(ParseError, match=r"m\.csv:2: ChEMBL id 'aspirin' of scaffold of well A01 is not like CHEMBL25"):
        read_plate_map_csv(b"well,scaffold_chembl_id\nA1,aspirin\n", "m.csv")
    with pytest.raises(ParseError, match=r"m\.csv:2: concentration of well A01 is 'lots', not a number"):
        read_plate_map_csv(b"well,conc\nA1,lots\n", "m.csv")


def test_long_csv_partial_plate_gets_the_smallest_format_holding_it() -> None:
    assert read_plate_map_csv(b"well,sample\nA1,x\nP24,y\n", "m.csv").plate_format == 384


def test_layout_from_wells_rejects_two_spellings_of_one_well() -> None:
    with pytest.raises(ParseError, match=r"wells 'A1' and 'a01' are the same well"):
        layout_from_wells({"A1": {"sample": "x"}, "a01": {"sample": "y"}}, "P", "x.json")


# ---------------------------------------------------------------------------------------------------- hypothesis

_TOKENS = st.text(alphabet="abcdefghijkXYZ0123456789-", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    plate_format=st.sampled_from([6, 24, 96, 384]),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_grid_round_trips_every_cell_to_its_canonical_well(
    plate_format: int, data: st.DataObject, delimiter: str
) -> None:
    shape = geometry(plate_format)
    cells = data.draw(
        st.dictionaries(
            st.tuples(st.integers(1, shape.rows), st.integers(1, shape.columns)), _TOKENS, min_size=1, max_size=30
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["strain", *range(1, shape.columns + 1)])
    for row in range(1, shape.rows + 1):
        label = row_label(row) if data.draw(st.booleans()) else row_label(row).lower()
        writer.writerow(
            [label, *(f"s-{cells.get((row, c), '')}" if (row, c) in cells else "" for c in range(1, shape.columns + 1))]
        )
    layout = read_plate_map_csv(out.getvalue().encode(), "grid.csv")
    assert layout.plate_format == plate_format
    assert len(layout.wells) == plate_format
    for well in layout.wells:
        assert well_name(*parse_well(well.well)) == well.well == well_name(well.row_index, well.column_index)
        expected = cells.get((well.row_index, well.column_index))
        assert well.sample_name == (None if expected is None else f"s-{expected}")
        assert well.role == ("empty" if expected is None else "sample")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_long_csv_any_well_spelling_lands_on_the_canonical_well(data: st.DataObject) -> None:
    positions = data.draw(
        st.lists(st.tuples(st.integers(1, 16), st.integers(1, 24)), min_size=1, max_size=20, unique=True)
    )
    lines = ["well,sample"]
    for row, column in positions:
        label = row_label(row)
        spelling = data.draw(
            st.sampled_from(
                [
                    f"{label}{column}",
                    f"{label}{column:02d}",
                    f"{label.lower()}{column}",
                    f"{label}-{column}",
                    f"{label}:{column:02d}",
                ]
            )
        )
        lines.append(f"{spelling},cpd-{row}-{column}")
    layout = read_plate_map_csv("\n".join(lines).encode(), "long.csv", plate_format=384)
    assert {w.well: w.sample_name for w in layout.wells} == {well_name(r, c): f"cpd-{r}-{c}" for r, c in positions}


# ---------------------------------------------------------------------------------------------------- wellmap


@pytest.fixture()
def bradford(layouts_dir: Path, tmp_path: Path) -> Path:
    """The Bradford layout under its upstream names: its ``[meta] include`` names 'bradford_standards.toml'."""
    shutil.copy(layouts_dir / "wellmap_bradford_assay.toml", tmp_path / "bradford_assay.toml")
    shutil.copy(layouts_dir / "wellmap_bradford_standards.toml", tmp_path / "bradford_standards.toml")
    return tmp_path / "bradford_assay.toml"


def test_wellmap_bradford_assay_with_included_standards(bradford: Path) -> None:
    layout = read_wellmap(bradford, plate_id="bradford-1")
    assert (layout.plate_id, layout.plate_format, len(layout.wells)) == ("bradford-1", 96, 75)
    assert Counter(w.role for w in layout.wells) == {"standard": 27, "sample": 42, "empty": 6}
    standards = {w.well: w.concentration for w in layout.wells if w.role == "standard" and w.row_index == 1}
    assert standards == {
        "A01": 2000.0,
        "A02": 1500.0,
        "A03": 1000.0,
        "A04": 750.0,
        "A05": 500.0,
        "A06": 250.0,
        "A07": 125.0,
        "A08": 25.0,
        "A09": 0.0,
    }
    assert layout.well("C05").concentration_unit == "ug/mL"
    d1, e3, g9 = layout.well("D1"), layout.well("E3"), layout.well("G9")
    assert (d1.role, d1.sample_name, json.loads(d1.attributes or "{}")) == ("sample", "Y37A", {"dilution": 1.0})
    assert (e3.sample_name, json.loads(e3.attributes or "{}")) == ("Y37A", {"dilution": 5.0})
    assert g9.sample_name == "Y45R"
    # rows F-G have a dilution in columns 10-12 but no sample: unused wells
    assert layout.well("G12").role == "empty"


def test_wellmap_qpcr_timecourse_is_a_384_well_layout(layouts_dir: Path) -> None:
    layout = read_wellmap(layouts_dir / "wellmap_qpcr_timecourse.toml")
    assert (layout.plate_id, layout.plate_format, len(layout.wells)) == ("wellmap_qpcr_timecourse", 384, 270)
    assert Counter(w.role for w in layout.wells) == {"sample": 252, "negative_control": 18}
    assert json.loads(layout.well("A1").attributes or "{}") == {
        "ligand": "apo",
        "primers": "gfp",
        "sgrna": "ligRNA-",
        "time": "00:00:00",
    }
    assert json.loads(layout.well("D3").attributes or "{}")["ligand"] == "apo→holo"
    assert json.loads(layout.well("M1").attributes or "{}")["time"] == "00:25:20"  # [block.8x3.M1]
    assert json.loads(layout.well("O16").attributes or "{}")["time"] == "00:30:00"  # [block.8x3.M9]: M..O x 9..16
    assert {(w.well, w.sample_name) for w in layout.wells if w.role == "negative_control" and w.row_index == 1} == {
        ("A05", "no GFP"),
        ("A06", "no GFP"),
        ("A07", "no RT"),
        ("A08", "no RT"),
        ("A17", "no cDNA"),
        ("A18", "no cDNA"),
    }
    assert max(w.row_index for w in layout.wells) == 15  # row O: beyond a 96-well plate


def test_wellmap_missing_include_says_which_file(layouts_dir: Path) -> None:
    # the copy in tests/data carries a wellmap_ prefix, so its include of 'bradford_standards.toml' is missing
    with pytest.raises(ParseError, match=r"a file the layout includes is missing: .*bradford_standards\.toml"):
        read_wellmap(layouts_dir / "wellmap_bradford_assay.toml")


def test_wellmap_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="does not exist"):
        read_wellmap(tmp_path / "nope.toml")


def test_wellmap_several_plates_and_true_control_flag(tmp_path: Path) -> None:
    toml = tmp_path / "two.toml"
    toml.write_text("[plate.P1]\n[plate.P2]\n[well.A1]\nsample = 'x'\n[well.A2]\ncontrol = 'positive'\n")
    with pytest.raises(ParseError, match=r"defines plates \['P1', 'P2'\]; pass plate_id="):
        read_wellmap(toml)
    assert read_wellmap(toml, plate_id="P2").well("A2").role == "positive_control"
    flag = tmp_path / "flag.toml"
    flag.write_text("[well.A1]\ncontrol = true\n")
    with pytest.raises(ParseError, match=r"well A01: control = True does not say which control"):
        read_wellmap(flag)


# ---------------------------------------------------------------------------------------------------- pyGecko HTE


@pytest.fixture(scope="module")
def thiolation(hte_dir: Path) -> Layout:
    return read_hte_plate(
        (hte_dir / "thiolation_plate_layout.csv").read_bytes(),
        (hte_dir / "thiolation_meta_data.json").read_bytes(),
        "thiolation_plate_layout.csv",
        "THIO-1",
        experiment_id="HTE-THIO-001",
    )


def _yields(hte_dir: Path) -> dict[str, str]:
    text = (hte_dir / "thiolation_plate_yield.csv").read_text(encoding="utf-8")
    return {row[""]: row["Analyte"] for row in csv.DictReader(io.StringIO(text)) if row["Analyte"]}


def test_hte_plate_shape_and_reagent_roles(thiolation: Layout) -> None:
    assert (thiolation.plate_id, thiolation.plate_format, len(thiolation.wells)) == ("THIO-1", 96, 96)
    assert Counter(w.role for w in thiolation.wells) == {"sample": 96}
    assert Counter(r.reagent_role for r in thiolation.reagents) == {
        "scaffold": 96,
        "reactant": 96,
        "catalyst": 96,
        "internal_standard": 96,
        "solvent": 72,
        "reagent": 24,
    }
    assert {r.experiment_id for r in thiolation.reagents} == {"HTE-THIO-001"}
    assert json.loads(thiolation.well("A1").attributes or "{}")["wavelength"] == "445 nm"


@pytest.mark.parametrize(
    ("well", "scaffold", "reactant"),
    [
        ("A1", "Cn1c(Cl)c(Cl)nc1", "COC(CCS)=O"),
        ("A11", "Cn1c(Cl)c(Cl)nc1", "SC1=NC2=CC=CC=C2O1"),
        ("B2", "BrC1=NC(C)=CN1C", "SC1CCCCC1"),
        ("F12", "BrC1=CC=C(C2=CC=CC=C2)S1", "SC1=NC2=CC=CC=C2S1"),
        ("H8", "O=C(C1=CC=C(Br)O1)OC", "SC1=CC=NC=C1"),
    ],
)
def test_hte_wells_take_row_and_column_compounds(thiolation: Layout, well: str, scaffold: str, reactant: str) -> None:
    reagents = thiolation.reagents_of(well)
    assert (reagents["scaffold"].smiles, reagents["reactant"].smiles) == (scaffold, reactant)
    assert (reagents["scaffold"].amount, reagents["scaffold"].amount_unit) == (15.0, "umol")  # 100 uL x 0.15 M
    assert (reagents["reactant"].amount, reagents["reactant"].amount_unit) == (22.5, "umol")  # 100 uL x 0.225 M
    assert reagents["scaffold"].reagent_name is None


def test_hte_fixed_stocks_go_to_their_wells(thiolation: Layout) -> None:
    f3, a3 = thiolation.reagents_of("F3"), thiolation.reagents_of("A3")
    assert (f3["reagent"].reagent_name, f3["reagent"].smiles, f3["reagent"].amount) == ("pyridine", "n1ccccc1", 56.25)
    assert "solvent" not in f3 and "reagent" not in a3
    assert (a3["solvent"].reagent_name, a3["solvent"].amount, a3["solvent"].amount_unit) == ("DMA", 50.0, "uL")
    assert (a3["catalyst"].reagent_name, a3["catalyst"].amount, a3["catalyst"].amount_unit) == ("IrF", 0.3, "umol")
    assert (a3["internal_standard"].reagent_name, a3["internal_standard"].amount) == ("dodecane", 15.0)


def test_hte_golden_yields_match_the_row_and_column_compounds(thiolation: Layout, hte_dir: Path) -> None:
    """Every product in the published yields is the scaffold's C-X swapped for the thiol's C-S bond."""
    chem = pytest.importorskip("rdkit.Chem")
    products = _yields(hte_dir)
    assert len(products) >= 60 and products["A1"] == "COC(=O)CCSc1c(Cl)ncn1C"
    for well, product_smiles in products.items():
        reagents = thiolation.reagents_of(well)
        scaffold = chem.MolFromSmiles(reagents["scaffold"].smiles)
        thiol = chem.MolFromSmiles(reagents["reactant"].smiles)
        product = chem.MolFromSmiles(product_smiles)
        # one halogen leaves the scaffold; the thiol's S-H becomes S-C
        assert product.GetNumHeavyAtoms() == scaffold.GetNumHeavyAtoms() + thiol.GetNumHeavyAtoms() - 1, well
        assert product.HasSubstructMatch(thiol), well


def test_hte_wells_without_a_row_compound_have_no_scaffold(hte_dir: Path) -> None:
    layout_csv = b"x,y\r\nBrc1ccccc1,SC\r\n,SCC\r\n"
    meta = json.loads((hte_dir / "thiolation_meta_data.json").read_bytes())
    meta["conditions"]["vessel"]["model"] = "24-well block"
    for stock in meta["stock_solutions"]:
        stock["wells"] = ["all"]
    layout = read_hte_plate(layout_csv, json.dumps(meta).encode(), "small.csv", "S1")
    assert layout.plate_format == 24
    assert set(layout.reagents_of("A1")) >= {"scaffold", "reactant"}
    assert "scaffold" not in layout.reagents_of("B1") and layout.reagents_of("B1")["reactant"].smiles == "SC"
    assert layout.well("B1").role == "sample"
    assert layout.reagents_of("A3") and "reactant" not in layout.reagents_of("A3")
    assert layout.well("C3").role == "blank"  # only the fixed stocks went in


@pytest.mark.parametrize(
    ("layout_csv", "metadata", "message"),
    [
        (b"a,b\n1,2\n", b'{"stock_solutions": [{"compound": "C", "wells": ["all"]}]}', r"needs columns 'x'"),
        (b"x,y\nC,S\n", b"{not json", r"\(metadata\): the HTE metadata is not JSON"),
        (b"x,y\nC,S\n", b'{"conditions": {}}', r"has no 'stock_solutions' list"),
        (
            b"x,y\nC,S\n",
            b'{"stock_solutions": [{"compound": "C"}]}',
            r"stock solution 1 needs a 'compound' and 'wells'",
        ),
        (b"x,y\nC,S\n", b'{"stock_solutions": [{"compound": "C", "wells": ["13"]}]}', r"names column 13, outside"),
    ],
)
def test_hte_errors(layout_csv: bytes, metadata: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        read_hte_plate(layout_csv, metadata, "plate.csv", "P")


def test_every_layout_record_meets_the_contract(thiolation: Layout, layouts_dir: Path, bradford: Path) -> None:
    pattern = contract("plate_layouts").column("well").expect["pattern"]
    layouts = [
        thiolation,
        _read(layouts_dir / "plate_layout_96.csv"),
        _read(layouts_dir / "20220929_1steptimer20_metainfo.csv"),
        read_wellmap(bradford),
        read_wellmap(layouts_dir / "wellmap_qpcr_timecourse.toml"),
    ]
    import re

    for layout in layouts:
        for well in layout.wells:
            assert re.match(pattern, well.well) and well.role in ROLES and well.plate_format in GEOMETRY
            assert well.concentration is None or well.concentration >= 0
            assert well.attributes is None or isinstance(json.loads(well.attributes), dict)
        keys = [(r.plate_id, r.well, r.reagent_role) for r in layout.reagents]
        assert len(keys) == len(set(keys)), "natural key (plate_id, well, reagent_role) must be unique"
