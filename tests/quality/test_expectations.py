"""Suites generated from the table contracts: every contract, the science rules, raw configs and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import great_expectations as gx
import pytest
import yaml

from lab_etl.contracts import all_tables, contract, load_contract, schemas_dir
from lab_etl.errors import ConfigError
from lab_etl.quality.expectations import (
    ORIGINS,
    SCIENCE_EXPECTATIONS,
    expectation_columns,
    expectation_key,
    kwargs_json,
    suite_for,
)


def _by_type(suite: gx.ExpectationSuite, kind: str) -> list[dict]:
    return [dict(e.configuration.kwargs) for e in suite.expectations if e.expectation_type == kind]


@pytest.mark.parametrize("table", all_tables())
def test_every_contract_yields_a_valid_suite(table: str) -> None:
    table_contract = contract(table)
    suite = suite_for(table_contract)

    assert suite.name == table_contract.qualified_name
    # Round trip through Great Expectations' own serialisation: every expectation is a valid 1.x config.
    rebuilt = gx.ExpectationSuite(**{k: v for k, v in suite.to_json_dict().items() if k in ("name", "expectations")})
    assert len(rebuilt.expectations) == len(suite.expectations)
    assert {e.meta["origin"] for e in suite.expectations} <= set(ORIGINS)
    assert all(e.meta["why"] for e in suite.expectations)

    not_null = {kw["column"] for kw in _by_type(suite, "expect_column_values_to_not_be_null")}
    assert not_null == {c.name for c in table_contract.columns if not c.nullable}
    regexes = {kw["column"]: kw["regex"] for kw in _by_type(suite, "expect_column_values_to_match_regex")}
    assert regexes == {c.name: c.expect["pattern"] for c in table_contract.columns if "pattern" in c.expect}
    in_set = {kw["column"]: kw["value_set"] for kw in _by_type(suite, "expect_column_values_to_be_in_set")}
    assert in_set == {c.name: c.expect["allowed"] for c in table_contract.columns if "allowed" in c.expect}
    ranged = {
        c.name: (c.expect.get("min"), c.expect.get("max"))
        for c in table_contract.columns
        if "min" in c.expect or "max" in c.expect
    }
    between = {
        kw["column"]: (kw.get("min_value"), kw.get("max_value"))
        for kw in _by_type(suite, "expect_column_values_to_be_between")
        if "row_condition" not in kw or kw["row_condition"] is None
    }
    assert {name: between[name] for name in ranged} == ranged

    key = list(table_contract.natural_key)
    if len(key) == 1:
        assert {"column": key[0]} in [
            {"column": kw["column"]} for kw in _by_type(suite, "expect_column_values_to_be_unique")
        ]
    else:
        assert [kw["column_list"] for kw in _by_type(suite, "expect_compound_columns_to_be_unique")] == [key]
    assert [kw["min_value"] for kw in _by_type(suite, "expect_table_row_count_to_be_between")] == [1]
    assert _by_type(suite, "expect_table_columns_to_match_set")[0]["column_set"] == table_contract.column_names


def test_instrument_readings_suite_spells_out_the_contract() -> None:
    suite = suite_for(contract("instrument_readings"))
    kinds = [e.expectation_type for e in suite.expectations]

    assert kinds.count("expect_column_values_to_not_be_null") == 13
    well = next(e for e in suite.expectations if e.expectation_type.endswith("match_regex") and e.column == "well")
    assert well.regex == "^([A-Z]|A[A-F])(0[1-9]|[1-4][0-9])$"
    assert "schemas/instrument_readings.yaml column 'well'" in well.meta["why"]
    key = _by_type(suite, "expect_compound_columns_to_be_unique")
    assert key == [{"column_list": ["source_sha256", "plate_id", "well", "measurement", "channel", "read_index"]}]
    flags = _by_type(suite, "expect_column_values_to_be_in_set")
    assert {"column": "flag", "value_set": ["overflow", "underflow", "missing", "invalid", "saturated", "masked"]} in [
        {"column": kw["column"], "value_set": kw["value_set"]} for kw in flags
    ]


def test_yield_science_rule_is_conditioned_on_the_measurement() -> None:
    suite = suite_for(contract("assay_results_flat"))
    science = [e for e in suite.expectations if e.meta["origin"] == "science"]

    assert len(science) == 1
    rule = json.loads(kwargs_json(science[0].configuration.kwargs))
    assert rule == {
        "column": "value",
        "max_value": 100.0,
        "min_value": 0.0,
        "row_condition": {
            "column": {"name": "measurement"},
            "operator": "==",
            "parameter": "yield",
            "type": "comparison",
        },
    }
    assert "percentage" in science[0].meta["why"]


def test_science_rule_already_in_the_contract_is_kept_once() -> None:
    suite = suite_for(contract("plate_qc"))
    z_prime = [kw for kw in _by_type(suite, "expect_column_values_to_be_between") if kw["column"] == "z_prime"]
    pairs = _by_type(suite, "expect_column_pair_values_a_to_be_greater_than_b")

    assert len(z_prime) == 1 and z_prime[0]["max_value"] == 1
    assert [(kw["column_A"], kw["column_B"]) for kw in pairs] == [
        ("wells", "flagged_wells"),
        ("wells", "positive_controls"),
        ("wells", "negative_controls"),
    ]


def test_science_rules_name_real_columns() -> None:
    for table, rules in SCIENCE_EXPECTATIONS.items():
        names = contract(table).column_names
        for rule in rules:
            assert set(expectation_columns(rule["type"], rule["kwargs"])) <= set(names), (table, rule)


def _contract_with(tmp_path: Path, expectations: list[dict]) -> Path:
    raw = yaml.safe_load((schemas_dir() / "plate_qc.yaml").read_text(encoding="utf-8"))
    raw["expectations"] = expectations
    path = tmp_path / "plate_qc.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_contract_yaml_expectations_are_honoured(tmp_path: Path) -> None:
    path = _contract_with(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "signal_to_background", "min_value": 0},
                "meta": {"why": "a ratio of two positive means"},
            }
        ],
    )
    suite = suite_for(load_contract(path))

    rule = next(e for e in suite.expectations if e.meta["origin"] == "contract_yaml")
    assert rule.expectation_type == "expect_column_values_to_be_between"
    assert rule.column == "signal_to_background" and rule.min_value == 0
    assert rule.meta["why"] == "a ratio of two positive means"


def test_extra_configs_are_added_and_duplicates_dropped() -> None:
    table = contract("ingest_runs")
    plain = suite_for(table)
    extra = [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "files_seen", "min_value": 0}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "run_id"}},  # already generated
    ]
    suite = suite_for(table, extra=extra)

    assert len(suite.expectations) == len(plain.expectations) + 1
    added = suite.expectations[-1]
    assert (added.expectation_type, added.column, added.meta["origin"]) == (
        "expect_column_values_to_be_between",
        "files_seen",
        "extra",
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "expect_the_impossible", "kwargs": {}}, "extra expectation 1 ('expect_the_impossible')"),
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "z_score", "min_value": 0}},
            "column(s) z_score not in schemas/plate_qc.yaml",
        ),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "wells"}}, "min_value and max_value"),
        ({"kwargs": {"column": "wells"}}, "must be a mapping with a 'type'"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "wells"}, "why": "x"}, "unknown keys"),
    ],
)
def test_bad_configs_raise_config_error_naming_the_entry(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        suite_for(contract("plate_qc"), extra=[config])
    assert str(raised.value).startswith("lab_gold.plate_qc: extra expectation 1")
    assert message in str(raised.value)


def test_bad_contract_yaml_expectation_names_its_position(tmp_path: Path) -> None:
    good = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "wells"}}
    bad = {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "plate", "regex": "^P"}}
    path = _contract_with(tmp_path, [good, bad])

    with pytest.raises(ConfigError, match=r"lab_gold.plate_qc: contract expectation 2 .*column\(s\) plate not in"):
        suite_for(load_contract(path))


def test_expectation_key_ignores_batch_id_and_none() -> None:
    key = expectation_key("expect_column_values_to_be_between", {"column": "z", "max_value": 1})
    same = expectation_key("expect_column_values_to_be_between", {"column": "z", "max_value": 1, "min_value": None})
    other = expectation_key("expect_column_values_to_be_between", {"column": "z", "max_value": 2})

    assert key == same != other
    assert len(key) == 16 and int(key, 16) >= 0
    assert expectation_key("t", {"column": "a", "batch_id": "b1"}) == expectation_key("t", {"column": "a"})
