"""Layouts, ELN join and the gold pivot on small hand-made frames (chispa)."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from lab_etl.contracts import contract
from lab_etl.transforms.experiments import join_experiments
from lab_etl.transforms.gold import assay_results_flat, reagents_per_well
from lab_etl.transforms.plate_mapping import map_layouts

pytestmark = pytest.mark.spark


def _readings(spark):  # type: ignore[no-untyped-def]
    schema = contract("instrument_readings").spark_schema()
    base = {c: None for c in schema.names}

    def row(plate: str, well: str, r: int, c: int, value: float, read: int = 1) -> tuple:
        values = dict(
            base,
            plate_id=plate,
            well=well,
            row_index=r,
            column_index=c,
            plate_format=96,
            measurement="yield",
            channel="yield",
            value=value,
            raw_value=str(value),
            unit="%",
            read_index=read,
            source_file="f.csv",
            source_sha256="a" * 64,
            parser="long_csv",
            parser_version="1",
            run_id="r",
            sample_name="SPL",
        )
        return tuple(values[c] for c in schema.names)

    rows = [
        row("THIO-1", "A01", 1, 1, 75.0),
        row("THIO-1", "B02", 2, 2, 23.0),
        row("LOST", "A01", 1, 1, 5.0),
        row("THIO-1", "A01", 1, 1, 70.0, read=2),
    ]
    return spark.createDataFrame(rows, schema)


def _layouts(spark):  # type: ignore[no-untyped-def]
    schema = contract("plate_layouts").spark_schema()
    rows = [
        ("THIO-1", "A01", 1, 1, 96, "sample", "A1 product", None, None, None, None, "layout.csv"),
        ("THIO-1", "B02", 2, 2, 96, "negative_control", "DMSO", None, None, "HTE-1", None, "layout.csv"),
    ]
    return spark.createDataFrame(rows, schema)


def _experiments(spark):  # type: ignore[no-untyped-def]
    schema = contract("eln_experiments").spark_schema()
    rows = [
        ("HTE-0", "other", "t", "p0", None, "x", None, '["THIO-1"]', "eLabFTW", "e.eln"),
        ("HTE-1", "thiolation", "t", "photoredox thiolation", None, "y", None, "[]", "lab_etl", "e.csv"),
    ]
    return spark.createDataFrame(rows, schema)


def test_layout_join_keeps_and_flags_unmapped_readings(spark) -> None:  # type: ignore[no-untyped-def]
    mapped = map_layouts(_readings(spark), _layouts(spark), role_of=lambda name: "sample")
    got = mapped.select("plate_id", "well", "read_index", "role", "sample_name", "experiment_id", "layout_status")
    expected = spark.createDataFrame(
        [
            ("THIO-1", "A01", 1, "sample", "A1 product", None, "mapped"),
            ("THIO-1", "A01", 2, "sample", "A1 product", None, "mapped"),
            ("THIO-1", "B02", 1, "negative_control", "DMSO", "HTE-1", "mapped"),
            ("LOST", "A01", 1, "sample", "SPL", None, "no_layout"),
        ],
        "plate_id string, well string, read_index int, role string, sample_name string, experiment_id string, "
        "layout_status string",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_experiment_from_layout_else_from_the_plate_list(spark) -> None:  # type: ignore[no-untyped-def]
    mapped = map_layouts(_readings(spark), _layouts(spark), role_of=lambda name: "sample")
    joined = join_experiments(mapped, _experiments(spark))
    got = {
        (r.plate_id, r.well, r.read_index): (r.experiment_id, r.protocol_name, r.experiment_status)
        for r in joined.collect()
    }
    assert got[("THIO-1", "B02", 1)] == ("HTE-1", "photoredox thiolation", "joined")  # the layout names it
    assert got[("THIO-1", "A01", 1)] == ("HTE-0", "p0", "joined")  # HTE-0 lists plate THIO-1
    assert got[("LOST", "A01", 1)] == (None, None, "no_experiment")
    assert joined.count() == 4


def test_gold_pivots_reagent_roles_and_keeps_the_last_read(spark) -> None:  # type: ignore[no-untyped-def]
    well_reagents = spark.createDataFrame(
        [
            ("THIO-1", "A01", "scaffold", "imidazole", "Cn1c(Cl)c(Cl)nc1", None, 100.0, "uL", None, "l"),
            ("THIO-1", "A01", "reactant", "thiol", "COC(CCS)=O", None, 100.0, "uL", None, "l"),
            ("THIO-1", "A01", "solvent", "DMA", "CN(C)C(C)=O", None, None, None, None, "l"),
        ],
        contract("well_reagents").spark_schema(),
    )
    reagents = spark.createDataFrame(
        [
            (
                "Cn1c(Cl)c(Cl)nc1",
                "Cn1c(Cl)c(Cl)nc1",
                None,
                None,
                "computed",
                "computed",
                151.0,
                1.8,
                0,
                2,
                0,
                17.8,
                1,
                None,
            ),
            ("COC(CCS)=O", "COC(CCS)=O", None, None, "computed", "computed", 120.17, 0.4, 2, 3, 1, 26.3, 0, None),
        ],
        contract("reagents").spark_schema(),
    )
    per_well = reagents_per_well(well_reagents, reagents).collect()
    assert len(per_well) == 1
    well = per_well[0]
    assert (well.scaffold_smiles, well.scaffold_mw, well.reactant_name, well.reactant_rtb) == (
        "Cn1c(Cl)c(Cl)nc1",
        151.0,
        "thiol",
        2,
    )
    assert well.catalyst_smiles is None

    from pyspark.sql import functions as F

    results = map_layouts(_readings(spark), _layouts(spark), role_of=lambda n: "sample").withColumns(
        {
            "project": F.lit(None).cast("string"),
            "protocol_name": F.lit(None).cast("string"),
            "percent_of_control": F.lit(None).cast("double"),
            "percent_inhibition": F.lit(None).cast("double"),
            "qc_pass": F.lit(None).cast("boolean"),
        }
    )
    flat = assay_results_flat(results, well_reagents, reagents)
    assert flat.columns == contract("assay_results_flat").column_names
    a01 = flat.where("plate_id = 'THIO-1' AND well = 'A01'").collect()
    assert len(a01) == 1 and a01[0].value == 70.0 and a01[0].scaffold_mw == 151.0  # read 2 is the endpoint
    assert flat.count() == 3
