from __future__ import annotations

from pathlib import Path

import pytest

from lab_etl.contracts import all_tables, contract, load_contract
from lab_etl.errors import ConfigError


def test_every_contract_loads_with_comments_and_valid_keys() -> None:
    tables = all_tables()
    assert {"instrument_readings", "ingest_log", "quarantine", "ingest_runs"} <= set(tables)
    for table in tables:
        c = contract(table)
        assert c.database in {"lab_bronze", "lab_silver", "lab_gold", "lab_reference"}
        assert all(col.comment for col in c.columns)
        assert set(c.natural_key) <= set(c.column_names)


def test_readings_contract_has_the_issue_columns() -> None:
    names = set(contract("instrument_readings").column_names)
    required = {
        "plate_id",
        "well",
        "row_index",
        "column_index",
        "plate_format",
        "measurement",
        "wavelength_nm",
        "read_index",
        "elapsed_s",
        "value",
        "raw_value",
        "unit",
        "flag",
        "vendor",
        "instrument_model",
        "instrument_serial",
        "read_at",
        "source_file",
        "source_sha256",
        "parser",
        "parser_version",
    }
    assert required <= names


def test_readings_contract_matches_the_reading_record() -> None:
    from dataclasses import fields

    from lab_etl.parsers.reading import Reading

    record = {f.name for f in fields(Reading)}
    assert record == set(contract("instrument_readings").column_names) - {"run_id"}


def test_glue_columns_are_the_real_schema() -> None:
    columns = contract("instrument_readings").glue_columns()
    by_name = {c["Name"]: c for c in columns}
    assert by_name["value"]["Type"] == "double" and by_name["read_at"]["Type"] == "timestamp"
    assert by_name["well"]["Comment"].startswith("Canonical well name")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "table: t\ndatabase: d\nlayer: bronze\nnatural_key: [a]\ncolumns:\n  - {name: a, type: text, comment: x}\n",
            "type",
        ),
        ("table: t\ndatabase: d\nlayer: bronze\nnatural_key: [a]\ncolumns:\n  - {name: a, type: int}\n", "no comment"),
        (
            "table: t\ndatabase: d\nlayer: bronze\nnatural_key: [b]\ncolumns:\n  - {name: a, type: int, comment: x}\n",
            "not a column",
        ),
        ("table: t\ndatabase: d\nnatural_key: [a]\ncolumns: []\n", "missing 'layer'"),
    ],
)
def test_bad_contracts_are_refused(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_contract(path)
