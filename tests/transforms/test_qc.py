"""Plate mapping and QC on a real Gen5 plate (8 POSCON, 8 NEGCON wells), checked against a hand computation."""

from __future__ import annotations

import statistics

import pytest
from chispa import assert_df_equality

from lab_etl.contracts import contract
from lab_etl.lakehouse.frames import records_frame
from lab_etl.parsers.registry import parse_bytes
from lab_etl.transforms.plate_mapping import map_layouts
from lab_etl.transforms.qc import QcThresholds, normalise, plate_qc

pytestmark = pytest.mark.spark

ROLES = {"POSCON": "positive_control", "NEGCON": "negative_control"}


def _role(name: str) -> str:
    return ROLES.get(name, "sample")


@pytest.fixture(scope="module")
def gen5(spark, data_dir):  # type: ignore[no-untyped-def]
    path = data_dir / "instruments" / "agilent_gen5" / "endpoint_singleplate.txt"
    parsed = parse_bytes(path.read_bytes(), path.name)
    readings = records_frame(spark, parsed.readings, contract("instrument_readings"), run_id="t")
    layouts = spark.createDataFrame([], contract("plate_layouts").spark_schema())
    return parsed.readings, map_layouts(readings, layouts, role_of=_role)


def test_roles_come_from_the_instrument_sample_names_without_a_layout(gen5) -> None:  # type: ignore[no-untyped-def]
    readings, mapped = gen5
    counts = {r.role: r["count"] for r in mapped.groupBy("role").count().collect()}
    assert counts == {"positive_control": 8, "negative_control": 8, "sample": 80}
    assert mapped.where("layout_status != 'no_layout'").count() == 0
    assert mapped.count() == len(readings)
    edges = mapped.where("is_edge").select("well").collect()
    assert len(edges) == 2 * 12 + 2 * 6 and {"A01", "H12", "D01", "E12"} <= {r.well for r in edges}


def test_z_prime_matches_a_hand_computation(gen5) -> None:  # type: ignore[no-untyped-def]
    readings, mapped = gen5
    pos = [r.value for r in readings if r.sample_name == "POSCON"]
    neg = [r.value for r in readings if r.sample_name == "NEGCON"]
    expected = 1 - 3 * (statistics.stdev(pos) + statistics.stdev(neg)) / abs(
        statistics.mean(pos) - statistics.mean(neg)
    )
    qc = plate_qc(mapped).collect()
    assert len(qc) == 1
    row = qc[0]
    assert row.z_prime == pytest.approx(expected, rel=1e-12)
    assert row.signal_to_background == pytest.approx(statistics.mean(pos) / statistics.mean(neg))
    assert row.positive_cv_pct == pytest.approx(100 * statistics.stdev(pos) / statistics.mean(pos))
    assert (row.wells, row.positive_controls, row.negative_controls, row.flagged_wells) == (96, 8, 8, 0)
    samples = [r for r in readings if r.sample_name not in ROLES]
    edge = [r.value for r in samples if r.row_index in (1, 8) or r.column_index in (1, 12)]
    inner = [r.value for r in samples if r not in edge and not (r.row_index in (1, 8) or r.column_index in (1, 12))]
    assert row.edge_effect_pct == pytest.approx(
        100 * (statistics.mean(edge) - statistics.mean(inner)) / statistics.mean(inner)
    )
    assert row.qc_pass == (
        expected >= 0.5 and row.positive_cv_pct <= 20 and row.negative_cv_pct <= 20 and abs(row.edge_effect_pct) <= 20
    )


def test_thresholds_decide_pass_and_reasons(gen5) -> None:  # type: ignore[no-untyped-def]
    _, mapped = gen5
    strict = plate_qc(mapped, QcThresholds(min_z_prime=0.99, max_control_cv_pct=0.1)).collect()[0]
    assert strict.qc_pass is False and "Z' below 0.99" in strict.qc_reasons and "CV above 0.1%" in strict.qc_reasons


def test_normalised_values_follow_the_controls(gen5) -> None:  # type: ignore[no-untyped-def]
    readings, mapped = gen5
    qc = plate_qc(mapped)
    normalised = normalise(mapped, qc)
    neg = statistics.mean(r.value for r in readings if r.sample_name == "NEGCON")
    pos = statistics.mean(r.value for r in readings if r.sample_name == "POSCON")
    a1 = next(r for r in readings if r.well == "A01")
    row = normalised.where("well = 'A01'").collect()[0]
    assert row.percent_of_control == pytest.approx(100 * a1.value / neg)
    assert row.percent_inhibition == pytest.approx(100 * (neg - a1.value) / (neg - pos))
    controls = normalised.where("role = 'negative_control'").agg({"percent_inhibition": "avg"}).collect()[0][0]
    assert controls == pytest.approx(0.0, abs=1e-9)


def test_plate_without_controls_is_not_judged(spark) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ("s", "f.csv", "P", f"A{c:02d}", 1, c, 96, "yield", "yield", 1, float(c), None, "sample", c in (1, 12))
        for c in range(1, 13)
    ]
    frame = spark.createDataFrame(
        rows,
        "source_sha256 string, source_file string, plate_id string, well string, row_index int, column_index int, "
        "plate_format int, measurement string, "
        "channel string, read_index int, value double, flag string, role string, is_edge boolean",
    )
    qc = plate_qc(frame).select("plate_id", "wells", "z_prime", "qc_pass", "qc_reasons")
    expected = spark.createDataFrame(
        [("P", 12, None, None, "fewer than two positive and two negative controls: not judged")],
        "plate_id string, wells bigint, z_prime double, qc_pass boolean, qc_reasons string",
    )
    assert_df_equality(qc, expected, ignore_nullable=True)
